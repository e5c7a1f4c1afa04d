"""Rule tsne_plot: the paper's Figures 1 and 2 for one embedder."""

import sys

# Under `--sdm conda` the rule's environment has the dependencies but not ctprints itself, so
# import the library from this checkout.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")

import pandas as pd  # noqa: E402

from ctprints.plots import tsne_figure  # noqa: E402
from ctprints.runlog import configure  # noqa: E402

configure(snakemake.log[0])
tsne_figure(
    pd.read_parquet(snakemake.input.coordinates),
    snakemake.output.figure,
    snakemake.wildcards.embedder,
)
