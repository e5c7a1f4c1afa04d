"""Every output path pattern of the workflow (:class:`Paths`, :data:`PATHS`) and the helpers that
fill them in, name keyed rule inputs and build wildcard constraints.

Standard library only: the Snakefile, every script and the tests import it without pulling in
the analysis libraries.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

DEMO_ROOT = "data/{dataset}"  # where a `builder: demo` dataset is written
STUDY = "study"  # results/study/ holds the study's leaderboard, so no dataset may take the name


@dataclass(frozen=True)
class Paths:
    """Every output path pattern of the workflow, each named once.

    A rule writes a pattern (filling some wildcards with :func:`fill`), and every other place that
    needs the file formats the same pattern.
    """

    demo_real: str = "results/{dataset}/build/real.npz"
    demo_model: str = "results/{dataset}/build/generators/{instance}/model.pt"
    demo_history: str = "results/{dataset}/build/generators/{instance}/history.tsv"
    demo_samples: str = "results/{dataset}/build/generators/{instance}/samples.npz"
    demo_folder: str = DEMO_ROOT + "/{task}"
    demo_truth: str = DEMO_ROOT + "/ground_truth/{name}.csv"
    # Every Task 1 group's truth in one table, which rule demo_task1_truth splits per group.
    demo_task1_truth: str = "results/{dataset}/build/task1_truth.csv"
    demo_signal: str = "results/{dataset}/build/signal.tsv"
    demo_contact_sheet: str = "results/{dataset}/contact_sheet.png"
    manifest: str = "results/{dataset}/manifest.parquet"
    embeddings: str = "results/{dataset}/embeddings/{embedder}.parquet"
    tsne: str = "results/{dataset}/task2/tsne/{embedder}.parquet"
    tsne_plot: str = "results/{dataset}/task2/plots/tsne_{embedder}.png"
    tsne_panel: str = "results/{dataset}/task2/plots/tsne_panel.png"
    clusters: str = "results/{dataset}/task2/clusters/{method}/{embedder}.csv"
    learner: str = "results/{dataset}/task2/models/{arch}_{size}/{round}/export.pkl"
    train_metrics: str = "results/{dataset}/task2/models/{arch}_{size}/{round}/metrics.csv"
    predictions: str = "results/{dataset}/task2/predictions/{run}.csv"
    pseudo: str = "results/{dataset}/task2/pseudo/{arch}_{size}.csv"
    task2_run: str = "results/{dataset}/submissions/task2/{run}.csv"
    task1_scores: str = "results/{dataset}/task1/{group}/scores/{embedder}.csv"
    autogluon: str = "results/{dataset}/task1/{group}/autogluon/{paper}"
    paper_scores: str = "results/{dataset}/task1/{group}/paper/{paper}.csv"
    # The pair classifier on equal terms with the attacks: every dev image, the same folds.
    autogluon_cv_scores: str = "results/{dataset}/task1/{group}/autogluon_cv/{paper_embedder}.csv"
    # Every candidate run's cross-validated dev F1 and kappa, and which run is submitted.
    task1_selection: str = "results/{dataset}/task1/{group}/selection.tsv"
    task1_submitted: str = "results/{dataset}/submissions/task1/{group}/submitted.csv"
    task1_run: str = "results/{dataset}/submissions/task1/{group}/{run}.csv"
    truth_check: str = "results/{dataset}/evaluation/truth_check/{task}.tsv"
    table: str = "results/{dataset}/evaluation/{task}.tsv"
    paired: str = "results/{dataset}/evaluation/task2_paired.tsv"
    table_html: str = "results/{dataset}/evaluation/{task}.html"
    confusion: str = "results/{dataset}/evaluation/confusion/task2_{run}.png"
    roc: str = "results/{dataset}/evaluation/roc/task1_{group}_{embedder}.png"
    summary: str = "results/{dataset}/summary.md"
    audit: str = "results/{dataset}/audit/{group}/{name}"  # name: one of AUDIT_FILES
    calibration: str = "results/{dataset}/audit/{group}/calibration/{name}"  # CALIBRATION_FILES
    family_calibration: str = "results/{dataset}/audit/family_calibration.tsv"
    leaderboard: str = f"results/{STUDY}/leaderboard.tsv"
    leaderboard_md: str = f"results/{STUDY}/leaderboard.md"
    leaderboard_plot: str = f"results/{STUDY}/leaderboard.png"
    leaderboard_task1_plot: str = f"results/{STUDY}/leaderboard_task1.png"
    primary: str = f"results/{STUDY}/primary.tsv"
    frozen: str = f"results/{STUDY}/frozen.json"


PATHS = Paths()
# What rule audit writes per group (docs/task1-and-audit.md).
AUDIT_FILES = {
    "risk": "risk.csv",
    "patients": "patients.csv",
    "attacks": "attacks.tsv",
    "units": "units.tsv",
    "statistics": "statistics.tsv",
    "verdict": "verdict.json",
    "evidence": "evidence.png",
    "scores": "scores.png",
    "report": "report.md",
}

# What rule audit_calibration_group writes per group (target audit_calibration).
CALIBRATION_FILES = {
    "rates": "rates.tsv",
    "to_pass": "to_pass.tsv",
    "figure": "rates.png",
}


def fill(pattern: str, **parts: str) -> str:
    """``pattern`` with the named wildcards replaced and every other wildcard left in place.

    ``fill(PATHS.task2_run, run="{method}_{embedder}")`` is the pattern rule run_file_task2
    writes; ``fill(PATHS.task2_run, dataset="demo", run="openset_spectrum")`` is one file.
    """
    for name, value in parts.items():
        pattern = pattern.replace("{" + name + "}", str(value))
    return pattern


def one_of(names) -> str:
    """A wildcard regex matching exactly these names (and nothing when there are none)."""
    return "|".join(re.escape(name) for name in names) or "(?!)"


def input_key(kind: str, *parts: str) -> str:
    """The name of one keyed rule input, e.g. ``input_key("scores", "group1", "spectrum")``.

    A rule with a variable number of inputs names each one with this function (in its input
    function) and its script looks each one up the same way, so nothing depends on input order.
    """
    return "__".join([kind, *parts])


def export_library(src: str) -> None:
    """Put ``src`` (the checkout's ``src/`` folder) first on ``PYTHONPATH``, once, so that every
    process the workflow starts imports this checkout's ctprints: a rule's script in the venv or
    in an ``--sdm conda`` environment (the envs install the dependencies only) and a cluster job.
    """
    parts = [part for part in os.environ.get("PYTHONPATH", "").split(os.pathsep) if part]
    if src not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([src, *parts])
