"""Rule demo_generator: train one planned generator on its patients and draw its samples."""

import numpy as np
import pandas as pd
import torch

from ctprints.demo.generate import train_generator
from ctprints.demo.scenarios import Instance
from ctprints.runlog import configure

log = configure(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
instance = Instance(**snakemake.params.instance)
with np.load(snakemake.input.real) as archive:
    real = {key: archive[key] for key in archive.files}
log.info(
    "training %s (%s) on %d patients, %d steps",
    instance.name,
    instance.family,
    len(instance.patients),
    snakemake.params.steps,
)
model, samples = train_generator(
    instance,
    real,
    image_size=snakemake.params.image_size,
    steps=snakemake.params.steps,
    batch_size=snakemake.params.batch_size,
    base_channels=snakemake.params.base_channels,
    device=snakemake.params.device,
)
model.save(snakemake.output.model)
pd.DataFrame(model.history_).to_csv(snakemake.output.history, sep="\t", index=False)
np.savez(snakemake.output.samples, **samples)
log.info("device %s; samples %s", model.device_, {k: len(v) for k, v in samples.items()})
