"""Rule paper_task1: the paper's AutoGluon pair classifier for one group, feature space and
fraction; honest held-out scores beside the validation score AutoGluon reports."""

import pandas as pd

from ctprints.manifest import read_manifest
from ctprints.membership import group_rows, read_patients
from ctprints.paper import paper_group_scores
from ctprints.runlog import configure

log = configure(snakemake.log[0])
params, wildcards = snakemake.params, snakemake.wildcards
parts = group_rows(read_manifest(snakemake.input.manifest), wildcards.group, wildcards.dataset)
scores, info = paper_group_scores(
    parts,
    pd.read_parquet(snakemake.input.embeddings).set_index("key"),
    fraction=float(wildcards.fraction),
    path=snakemake.output.model,
    patients=read_patients(params.patients, parts) if params.patients else None,
    k=params.k,
    components=params.pca,
    presets=params.presets,
    time_limit=params.time_limit,
    seed=params.seed,
    threads=snakemake.threads,
)
scores.to_csv(snakemake.output.scores, index=False, float_format="%.6g")
log.info("%s", info)
