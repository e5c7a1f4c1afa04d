"""Rule ensemble_task2: the mean class probabilities of the architectures of one round."""

import sys

# Under `--sdm conda` the rule's environment has the dependencies but not ctprints itself, so
# import the library from this checkout.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")

import pandas as pd  # noqa: E402

from ctprints.runlog import configure  # noqa: E402
from ctprints.train import ensemble  # noqa: E402

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
