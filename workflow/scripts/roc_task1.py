"""Rule roc_task1: ROC curves of every attack for one group and feature space (test images)."""

import pandas as pd

from ctprints.plots import roc_figure
from ctprints.runlog import configure
from ctprints.submission import read_run

configure(snakemake.log[0])
scores = pd.read_csv(snakemake.input.scores, dtype={"image_id": str})
test = scores[scores.split == "test"]
truth = read_run(snakemake.input.truth, task=1, expected_ids=test.image_id)
labels = [int(truth[i]) for i in test.image_id]
curves = {attack: (labels, test[attack].to_numpy()) for attack in snakemake.params.attacks}
w = snakemake.wildcards
roc_figure(curves, snakemake.output.figure, f"{w.dataset} {w.group}, {w.embedder} features (test)")
