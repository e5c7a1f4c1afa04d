"""Rule tsne_panel: t-SNE maps of all embedders side by side."""

import sys

# Under `--sdm conda` the rule's environment has the dependencies but not ctprints itself, so
# import the library from this checkout.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")

import pandas as pd  # noqa: E402

from ctprints.plots import tsne_panel  # noqa: E402
from ctprints.runlog import configure  # noqa: E402

configure(snakemake.log[0])
frames = {
    name: pd.read_parquet(path)
    for name, path in zip(snakemake.params.embedders, snakemake.input.coordinates, strict=True)
}
tsne_panel(frames, snakemake.output.figure)
