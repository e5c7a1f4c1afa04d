"""The evaluation tables as their readers see them: ``results/<dataset>/evaluation/task2.tsv``
(rule ``evaluate_task2``, :func:`ctprints.metrics.attribution_metrics`) and ``task1.tsv`` (rule
``evaluate_task1``, :func:`ctprints.membership.evaluation_table`).

:data:`COLUMNS` is the contract between those writers and their readers, the summary
(:mod:`ctprints.summary`) and the study (:mod:`ctprints.study`): every column either reads.
:func:`task1_run_name` names a Task 1 row as its run file is named.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

COLUMNS = {
    "task2": [
        "run",
        "method",
        "features",
        "n",
        "accuracy",
        "accuracy_ci_low",
        "accuracy_ci_high",
        "hungarian_accuracy",
        "ari",
    ],
    "task1": [
        "group",
        "attack",
        "features",
        "split",
        "n",
        "n_used",
        "auc",
        "auc_ci_low",
        "auc_ci_high",
        "f1",
        "f1_ci_low",
        "f1_ci_high",
        "kappa",
        "kappa_ci_low",
        "kappa_ci_high",
        "share_used",
        "hindsight_f1",
        "autogluon_val_auc",
    ],
}


def read_evaluation(path: str | Path, task: str, error: type[ValueError]) -> pd.DataFrame:
    """The ``task`` evaluation table at ``path``; ``error`` (the reader's error class) names the
    file and every missing column of :data:`COLUMNS`."""
    table = pd.read_csv(path, sep="\t")
    missing = [column for column in COLUMNS[task] if column not in table.columns]
    if missing:
        raise error(f"{path}: no column(s) {', '.join(missing)} in this {task} table")
    return table


def task1_run_name(attack: str, features: str) -> str:
    """A Task 1 run's name as in its run file: ``<attack>_<features>`` (the paper's attack is
    ``paper_f<fraction>``, so its run is ``paper_f0.5_spectrum``)."""
    return f"{attack}_{features}"
