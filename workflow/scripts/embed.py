"""Rules embed_fingerprint and embed_cnn: embed every image of the manifest."""

import pandas as pd
import torch

from ctprints.embed import embed_manifest
from ctprints.io import atomic_output
from ctprints.runlog import configure

log = configure(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
manifest = pd.read_parquet(snakemake.input.manifest)
frame = embed_manifest(
    manifest,
    snakemake.wildcards.embedder,
    weights=snakemake.params.weights,
    seed=snakemake.params.seed,
    device=snakemake.params.device,
    batch_size=snakemake.resources.batch_size,
    workers=snakemake.threads,
)
with atomic_output(snakemake.output.embeddings) as temporary:
    frame.to_parquet(temporary, index=False)
log.info("%d images, %d features", len(frame), frame.shape[1] - 2)
