"""Rule task1_paper: the paper's AutoGluon pair classifier for one group, feature space and
fraction; honest held-out scores beside the validation score AutoGluon reports."""

import sys

# Under `--sdm conda` the rule's environment has the dependencies but not ctprints itself, so
# import the library from this checkout.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ctprints.embed import feature_matrix  # noqa: E402
from ctprints.manifest import read_manifest  # noqa: E402
from ctprints.membership import group_rows, paper_autogluon, read_patients  # noqa: E402
from ctprints.runlog import configure  # noqa: E402

log = configure(snakemake.log[0])
sys.stdout = sys.stderr  # AutoGluon's progress goes to the log as well
params, wildcards = snakemake.params, snakemake.wildcards
parts = group_rows(read_manifest(snakemake.input.manifest), wildcards.group, wildcards.dataset)
features = pd.read_parquet(snakemake.input.embeddings).set_index("key")


def matrix(part):
    return feature_matrix(features.loc[list(part["key"])].reset_index())


dev = pd.concat([parts["used"], parts["not_used"]], ignore_index=True)
groups = None
if params.patients:
    patients = read_patients(params.patients, parts)
    groups = np.array([patients[i] for i in dev["image_id"]])
held_out, held_scores, test_scores, info = paper_autogluon(
    matrix(parts["used"]),
    matrix(parts["not_used"]),
    matrix(parts["generated"]),
    matrix(parts["test"]),
    fraction=float(wildcards.fraction),
    path=snakemake.output.model,
    k=params.k,
    components=params.pca,
    presets=params.presets,
    time_limit=params.time_limit,
    seed=params.seed,
    threads=snakemake.threads,
    groups=groups,
)
dev_labels = [1] * len(parts["used"]) + [0] * len(parts["not_used"])
frames = [
    pd.DataFrame(
        {
            "key": dev["key"][held_out],
            "image_id": dev["image_id"][held_out],
            "split": "dev",
            "label": pd.array(dev_labels, dtype="Int64")[held_out],
            "paper": held_scores,
            "patient": None if groups is None else groups[held_out],
        }
    ),
    pd.DataFrame(
        {
            "key": parts["test"]["key"].to_numpy(),
            "image_id": parts["test"]["image_id"].to_numpy(),
            "split": "test",
            "label": pd.array([None] * len(parts["test"]), dtype="Int64"),
            "paper": test_scores,
        }
    ),
]
scores = pd.concat(frames, ignore_index=True)
for name, value in info.items():
    scores[name] = value
# AutoGluon's own validation split is by pair; the hold-out is by patient where known.
scores["grouping"] = "image" if groups is None else "patient"
scores.to_csv(snakemake.output.scores, index=False, float_format="%.6g")
log.info("%s", info)
