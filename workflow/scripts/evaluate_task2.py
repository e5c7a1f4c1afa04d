"""Rule evaluate_task2: score every embedder x method against the task 2 ground truth."""

import sys

# Under `--sdm conda` the rule's environment has the dependencies but not ctprints itself, so
# import the library from this checkout.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")

import pandas as pd  # noqa: E402

from ctprints.metrics import task2_scores  # noqa: E402
from ctprints.runlog import configure  # noqa: E402
from ctprints.submission import read_run  # noqa: E402

log = configure(snakemake.log[0])
truth = None
rows = []
paths = iter(snakemake.input.clusters)
for method in snakemake.params.methods:
    for embedder in snakemake.params.embedders:
        clusters = pd.read_csv(next(paths), dtype={"image_id": str, "label": str})
        test = clusters[clusters.split == "test"]
        if truth is None:  # the truth must name exactly the test images
            truth = read_run(snakemake.input.truth, task=2, expected_ids=test.image_id)
        predicted = dict(zip(test.image_id, test.label, strict=True))
        ids = sorted(truth)
        scores = task2_scores(
            [truth[i] for i in ids], [predicted[i] for i in ids], seed=snakemake.params.seed
        )
        rows.append({"method": method, "embedder": embedder, **scores})
table = pd.DataFrame(rows).sort_values(["accuracy", "nmi"], ascending=False)
table.to_csv(snakemake.output.table, sep="\t", index=False, float_format="%.4f")
log.info("task 2 scores:\n%s", table.to_string(index=False))
