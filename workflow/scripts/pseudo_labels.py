"""Rule pseudo_labels: the test images round 1 learns as the unseen generator."""

import pandas as pd

from ctprints.runlog import configure
from ctprints.train import from_clusters, weakest

log = configure(snakemake.log[0])
params = snakemake.params
if params.source == "weakest":
    predictions = pd.read_csv(snakemake.input.predictions, dtype={"image_id": str, "label": str})
    pseudo = weakest(predictions, params.n_images, params.label)
    log.info(
        "%d of %d test images with the lowest maximum probability (<= %.4f) labelled %s",
        len(pseudo),
        len(predictions),
        pseudo["confidence"].max(),
        params.label,
    )
else:
    clusters = pd.read_csv(snakemake.input.clusters, dtype={"image_id": str, "label": str})
    pseudo = from_clusters(clusters, params.known)
    log.info("part 1 named %s", pseudo["label"].value_counts().to_dict())
pseudo.to_csv(snakemake.output.pseudo, index=False, float_format="%.6f")
