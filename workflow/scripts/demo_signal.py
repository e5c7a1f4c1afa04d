"""Rule demo_signal: evidence that the benchmark carries signal (realism, families, membership)."""

import sys

# Under `--sdm conda` the rule's environment has the dependencies but not ctprints itself, so
# import the library from this checkout.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")


import pandas as pd  # noqa: E402

from ctprints.demo.generate import load_benchmark  # noqa: E402
from ctprints.demo.scenarios import Plan  # noqa: E402
from ctprints.demo.signal import signal_report  # noqa: E402
from ctprints.runlog import configure  # noqa: E402

log = configure(snakemake.log[0])
plan = Plan.from_dict(snakemake.params.plan)
real, samples = load_benchmark(snakemake.input.real, snakemake.input.samples)
table = pd.DataFrame(signal_report(plan, real, samples))
table.to_csv(snakemake.output.table, sep="\t", index=False, float_format="%.4f")
log.info("signal report:\n%s", table.to_string(index=False))
