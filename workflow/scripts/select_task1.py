"""Rule select_task1: the submitted run of one group, chosen on dev by the challenge's metric
(cross-validated F1 or kappa, the same folds for every candidate), or the configured run."""

import sys

# Under `--sdm conda` the rule's environment has the dependencies but not ctprints itself, so
# import the library from this checkout.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")

import shutil  # noqa: E402

import pandas as pd  # noqa: E402

from ctprints.io import atomic_output  # noqa: E402
from ctprints.labelling import select_run  # noqa: E402
from ctprints.paths import input_key  # noqa: E402
from ctprints.runlog import configure  # noqa: E402

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
