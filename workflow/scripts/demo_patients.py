"""Rule demo_patients: render every planned phantom patient's slices into one npz."""

import sys

# Under `--sdm conda` the rule's environment has the dependencies but not ctprints itself, so
# import the library from this checkout.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")

import numpy as np  # noqa: E402

from ctprints.demo.generate import render_patients  # noqa: E402
from ctprints.runlog import configure  # noqa: E402

log = configure(snakemake.log[0])
real = render_patients(
    snakemake.params.patients,
    snakemake.params.slices_per_patient,
    snakemake.params.image_size,
    snakemake.params.window,
    workers=snakemake.threads,
)
np.savez(snakemake.output.real, **real)
log.info("rendered %d slices of %d patients", len(real["images"]), len(snakemake.params.patients))
