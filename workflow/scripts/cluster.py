"""Rule cluster: attribute every task 2 image with one method on one embedder's features."""

import pandas as pd

from ctprints.attribution import make_method, task2_real_rows, task2_rows
from ctprints.runlog import configure

log = configure(snakemake.log[0])
manifest = pd.read_parquet(snakemake.input.manifest)
features = pd.read_parquet(snakemake.input.features)
rows, X = task2_rows(manifest, features)
method = make_method(
    snakemake.wildcards.method,
    snakemake.params.n_generators,
    snakemake.params.settings,
    snakemake.params.new_label,
    snakemake.params.seed,
)
if snakemake.wildcards.method == "subsets":
    # The real images each generator was trained on (real/<subset>/), read like the rows above.
    real, real_X = task2_real_rows(manifest, features)
    counts = real["label"].value_counts().sort_index()
    log.info("real images per subset (%d in all):\n%s", len(real), counts.to_string())
    method.fit(X, list(rows["label"]), real_X=real_X, real_labels=list(real["label"]))
else:
    method.fit(X, list(rows["label"]))
rows["cluster"] = method.clusters_
rows["label"] = method.labels_
rows[["key", "image_id", "split", "cluster", "label"]].to_csv(
    snakemake.output.clusters, index=False
)
log.info("cluster names: %s", {int(k): str(v) for k, v in method.mapping_.items()})
for name in ("threshold_", "validation_balanced_accuracy_", "nearest_subset_accuracy_"):
    if hasattr(method, name):
        log.info("%s = %.4f", name, getattr(method, name))
if snakemake.params.n_generators is None:  # unknown: what the method estimated
    for name in ("n_generators_", "n_new_"):
        if hasattr(method, name):
            log.info("%s (estimated) = %d", name, getattr(method, name))
log.info("test labels:\n%s", rows[rows.split == "test"].label.value_counts().to_string())
