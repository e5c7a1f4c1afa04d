"""Rule demo_contact_sheet: real slices beside samples of every generator."""

import sys

# Under `--sdm conda` the rule's environment has the dependencies but not ctprints itself, so
# import the library from this checkout.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")


import numpy as np  # noqa: E402

from ctprints.demo.generate import load_benchmark  # noqa: E402
from ctprints.demo.scenarios import Plan  # noqa: E402
from ctprints.plots import contact_sheet  # noqa: E402
from ctprints.runlog import configure  # noqa: E402

log = configure(snakemake.log[0])
plan = Plan.from_dict(snakemake.params.plan)
real, samples = load_benchmark(snakemake.input.real, snakemake.input.samples)
# One slice from each of eight patients, so the row shows how patients differ.
first = np.unique(real["patient"], return_index=True)[1][:8]
rows = {"real (phantom)": real["images"][np.sort(first)]}
for name, drawn in samples.items():
    rows[f"{name}\n{plan.instances[name].family}"] = drawn["test"][:8]
contact_sheet(rows, snakemake.output.sheet)
log.info("contact sheet with %d rows", len(rows))
