"""Rule select_task1: the submitted run of one group, chosen on dev by the challenge's metric
(cross-validated F1 or kappa, the same folds for every candidate), or the configured run."""

import shutil

import pandas as pd

from ctprints.io import atomic_output
from ctprints.labelling import select_run
from ctprints.paths import input_key
from ctprints.runlog import configure

log = configure(snakemake.log[0])
params = snakemake.params
candidates = {}
for run, column in params.runs.items():  # run name -> its score column
    scores = pd.read_csv(snakemake.input[input_key("scores", run)], dtype={"image_id": str})
    dev = scores[scores.split == "dev"]
    candidates[run] = dev.assign(score=dev[column])
table = select_run(candidates, params.metric, params.threshold, params.fixed)
chosen = table[table.chosen].iloc[0]
with atomic_output(snakemake.output.selection) as path:
    table.to_csv(path, sep="\t", index=False, float_format="%.4f")
shutil.copyfile(snakemake.input[input_key("run", chosen.run)], snakemake.output.submitted)
log.info(
    "submitted %s: %s (dev %s %.3f, dev AUC %.3f)",
    chosen.run,
    chosen.reason,
    params.metric,
    chosen[f"dev_{params.metric}"],
    chosen.dev_auc,
)
