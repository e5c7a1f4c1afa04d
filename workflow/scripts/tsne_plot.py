"""Rule tsne_plot: the paper's Figures 1 and 2 for one embedder."""

import pandas as pd

from ctprints.plots import tsne_figure
from ctprints.runlog import configure

configure(snakemake.log[0])
tsne_figure(
    pd.read_parquet(snakemake.input.coordinates),
    snakemake.output.figure,
    snakemake.wildcards.embedder,
)
