"""Rule demo_patients: render every planned phantom patient's slices into one npz."""

import numpy as np

from ctprints.demo.generate import render_patients
from ctprints.runlog import configure

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
