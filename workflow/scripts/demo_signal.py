"""Rule demo_signal: evidence that the demo data carry signal (realism, families, membership)."""

import pandas as pd

from ctprints.demo.generate import load_demo_data
from ctprints.demo.scenarios import Plan
from ctprints.demo.signal import signal_report
from ctprints.runlog import configure

log = configure(snakemake.log[0])
plan = Plan.from_dict(snakemake.params.plan)
real, samples = load_demo_data(snakemake.input.real, snakemake.input.samples)
table = pd.DataFrame(signal_report(plan, real, samples))
table.to_csv(snakemake.output.table, sep="\t", index=False, float_format="%.4f")
log.info("signal report:\n%s", table.to_string(index=False))
