"""Rule roc_task1: ROC curves of every attack for one group and feature space (test images)."""

import sys

# Under `--sdm conda` the rule's environment has the dependencies but not ctprints itself, so
# import the library from this checkout.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")

import pandas as pd  # noqa: E402

from ctprints.plots import roc_figure  # noqa: E402
from ctprints.runlog import configure  # noqa: E402
from ctprints.submission import read_run  # noqa: E402

configure(snakemake.log[0])
scores = pd.read_csv(snakemake.input.scores, dtype={"image_id": str})
test = scores[scores.split == "test"]
truth = read_run(snakemake.input.truth, task=1, expected_ids=test.image_id)
labels = [int(truth[i]) for i in test.image_id]
curves = {attack: (labels, test[attack].to_numpy()) for attack in snakemake.params.attacks}
w = snakemake.wildcards
roc_figure(curves, snakemake.output.figure, f"{w.dataset} {w.group}, {w.embedder} features (test)")
