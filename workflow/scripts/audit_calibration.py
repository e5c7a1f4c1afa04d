"""Rule audit_calibration_group: the gate's pass, fail and inconclusive rates on simulated groups
resampled from one audit's member-vs-member control (ctprints.audit.calibration)."""

import json
from pathlib import Path

import pandas as pd

from ctprints.audit.calibration import calibrate, plot_rates, pool_of, to_pass_table
from ctprints.runlog import configure

log = configure(snakemake.log[0])
params, output = snakemake.params, snakemake.output
verdict = json.loads(Path(snakemake.input.verdict).read_text())
units = pd.read_csv(snakemake.input.units, sep="\t")
pool = pool_of(units, snakemake.wildcards.group)
log.info("%d candidates, %d control units to resample", *pool.shape)
budget, n_groups = verdict["budget"], verdict["n_groups"]
rates = calibrate(
    pool, verdict["members"], verdict["holdout"], budget, params.sims, n_groups, params.seed
)
rates.to_csv(output.rates, sep="\t", index=False, float_format="%.4f")
to_pass = to_pass_table(pool, budget, params.sims, n_groups, params.seed)
to_pass.to_csv(output.to_pass, sep="\t", index=False)
plot_rates(rates, verdict["alpha_group"], output.figure)
log.info("rates:\n%s\nto pass:\n%s", rates.to_string(), to_pass.to_string())
