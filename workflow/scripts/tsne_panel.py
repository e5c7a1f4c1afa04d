"""Rule tsne_panel: t-SNE maps of all embedders side by side."""

import pandas as pd

from ctprints.plots import tsne_panel
from ctprints.runlog import configure

configure(snakemake.log[0])
frames = {
    name: pd.read_parquet(path)
    for name, path in zip(snakemake.params.embedders, snakemake.input.coordinates, strict=True)
}
tsne_panel(frames, snakemake.output.figure)
