"""Rule run_file_task1: hard labels of one attack's test scores, thresholded on dev labels only."""

import sys

# Under `--sdm conda` the rule's environment has the dependencies but not ctprints itself, so
# import the library from this checkout.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")

import pandas as pd  # noqa: E402

from ctprints.membership import choose_threshold, hard_labels  # noqa: E402
from ctprints.runlog import configure  # noqa: E402
from ctprints.submission import write_run  # noqa: E402

log = configure(snakemake.log[0])
# The score column: the attack's, or `paper` for the paper's AutoGluon runs.
attack = snakemake.wildcards.get("attack", "paper")
scores = pd.read_csv(snakemake.input.scores, dtype={"image_id": str})
dev = scores[scores.split == "dev"]
test = scores[scores.split == "test"]
if len(set(dev.label)) < 2:
    # fraction 1: every dev image trained the model, so none is left to choose a threshold on
    threshold = 0.5
    log.info("no held-out dev images: threshold 0.5 on the predicted probability")
else:
    threshold = choose_threshold(dev[attack], dev.label.astype(int), snakemake.params.threshold)
labels = hard_labels(test[attack], threshold)
write_run(snakemake.output.run, list(test.image_id), list(labels), task=1)
log.info(
    "%s threshold %.6g from %d dev images; %d of %d test images labelled used",
    snakemake.params.threshold,
    threshold,
    len(dev),
    int(labels.sum()),
    len(labels),
)
