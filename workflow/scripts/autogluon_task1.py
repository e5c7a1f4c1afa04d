"""Rule autogluon_task1: the paper's AutoGluon pair classifier on equal terms with the attacks:
every dev image, the attacks' folds, out-of-fold dev scores and cross-fitted test scores."""

import tempfile

import pandas as pd

from ctprints.manifest import read_manifest
from ctprints.membership import group_rows, read_patients
from ctprints.paper import autogluon_cv_scores
from ctprints.runlog import configure

log = configure(snakemake.log[0])
params, wildcards = snakemake.params, snakemake.wildcards
parts = group_rows(read_manifest(snakemake.input.manifest), wildcards.group, wildcards.dataset)
# The fold models are needed only to score: they live in a temporary folder.
with tempfile.TemporaryDirectory(dir=snakemake.resources.tmpdir) as models:
    scores = autogluon_cv_scores(
        parts,
        pd.read_parquet(snakemake.input.embeddings).set_index("key"),
        path=models,
        patients=read_patients(params.patients, parts) if params.patients else None,
        n_folds=params.folds,
        seed=params.seed,
        k=params.k,
        components=params.pca,
        presets=params.presets,
        time_limit=params.time_limit,
        threads=snakemake.threads,
    )
scores.to_csv(snakemake.output.scores, index=False, float_format="%.6g")
log.info(
    "%d folds by %s; AutoGluon's own validation AUC, mean over folds, %.3f",
    scores.fold.max() + 1,
    scores.grouping.iloc[0],
    scores.autogluon_val_auc.iloc[0],
)
