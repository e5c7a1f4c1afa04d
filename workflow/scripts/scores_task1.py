"""Rule scores_task1: every membership attack's scores for one group in one feature space."""

import numpy as np
import pandas as pd

from ctprints.io import read_image
from ctprints.manifest import read_manifest
from ctprints.membership import group_rows, group_scores, read_patients
from ctprints.runlog import configure

log = configure(snakemake.log[0])
params = snakemake.params
parts = group_rows(
    read_manifest(snakemake.input.manifest), snakemake.wildcards.group, snakemake.wildcards.dataset
)
log.info("%s", {role: len(part) for role, part in parts.items()})
features = pd.read_parquet(snakemake.input.embeddings).set_index("key")
patients = None
if params.patients:
    patients = read_patients(params.patients, parts)
    log.info("%d dev patients in %s", len(set(patients.values())), params.patients)
scores = group_scores(
    parts,
    features,
    params.attacks,
    n_folds=params.folds,
    seed=params.seed,
    settings=params.settings,
    read_pixels=lambda paths: np.stack([read_image(path) for path in paths]),
    patients=patients,
)
scores.to_csv(snakemake.output.scores, index=False, float_format="%.6g")
log.info(
    "cross-validation grouped by %s (dev), by %s (control)",
    scores.grouping[scores.split == "dev"].iloc[0],
    scores.grouping[scores.split == "control"].iloc[0],
)
