"""Rule tsne: 2-D openTSNE map of the task 2 images of one embedder."""

import pandas as pd

from ctprints.attribution import task2_rows, tsne_coordinates
from ctprints.io import atomic_output
from ctprints.runlog import configure

log = configure(snakemake.log[0])
rows, X = task2_rows(
    pd.read_parquet(snakemake.input.manifest), pd.read_parquet(snakemake.input.embeddings)
)
coordinates = tsne_coordinates(
    X,
    perplexity=snakemake.params.perplexity,
    n_iter=snakemake.params.n_iter,
    pca=snakemake.params.pca,
    seed=snakemake.params.seed,
    threads=snakemake.threads,
    verbose=True,  # openTSNE's progress goes to the rule's log with the rest of stdout
)
rows["tsne_1"], rows["tsne_2"] = coordinates[:, 0], coordinates[:, 1]
with atomic_output(snakemake.output.coordinates) as temporary:
    rows.to_parquet(temporary, index=False)
log.info("t-SNE of %d images (%d features)", len(rows), X.shape[1])
