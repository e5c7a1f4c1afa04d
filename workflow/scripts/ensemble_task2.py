"""Rule ensemble_task2: the mean class probabilities of the architectures of one round."""

import pandas as pd

from ctprints.runlog import configure
from ctprints.train import ensemble

log = configure(snakemake.log[0])
frames = [
    pd.read_csv(path, dtype={"image_id": str, "label": str}) for path in snakemake.input.predictions
]
mean = ensemble(frames)
mean.to_csv(snakemake.output.predictions, index=False, float_format="%.6f")
for path, frame in zip(snakemake.input.predictions, frames, strict=True):
    agreement = (frame["label"] == mean["label"]).mean()
    log.info("%s agrees with the ensemble on %.1f%% of the test images", path, 100 * agreement)
log.info("ensemble labels: %s", mean["label"].value_counts().to_dict())
