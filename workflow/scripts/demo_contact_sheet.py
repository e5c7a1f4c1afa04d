"""Rule demo_contact_sheet: real slices beside samples of every generator."""

import numpy as np

from ctprints.demo.generate import load_demo_data
from ctprints.demo.scenarios import Plan
from ctprints.plots import contact_sheet
from ctprints.runlog import configure

log = configure(snakemake.log[0])
plan = Plan.from_dict(snakemake.params.plan)
real, samples = load_demo_data(snakemake.input.real, snakemake.input.samples)
# One slice from each of eight patients, so the row shows how patients differ.
first = np.unique(real["patient"], return_index=True)[1][:8]
rows = {"real (phantom)": real["images"][np.sort(first)]}
for name, drawn in samples.items():
    rows[f"{name}\n{plan.instances[name].family}"] = drawn["test"][:8]
contact_sheet(rows, snakemake.output.sheet)
log.info("contact sheet with %d rows", len(rows))
