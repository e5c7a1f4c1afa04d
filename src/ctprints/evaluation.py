"""The evaluation tables: ``results/<dataset>/evaluation/task2.tsv`` (rule ``evaluate_task2``,
:func:`ctprints.metrics.attribution_metrics`) and ``task1.tsv`` (rule ``evaluate_task1``,
:func:`evaluation_table`, written here: every Task 1 run on dev, the control and the test images,
resampled by patient, or by pseudo-patient where the test patients are unknown).

:data:`COLUMNS` is the contract between those writers and their readers, the summary
(:mod:`ctprints.summary`) and the study (:mod:`ctprints.study`): every column either reads.
:func:`task1_run_name` names a Task 1 row as its run file is named.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ctprints.metrics import hindsight_f1, membership_metrics
from ctprints.submission import read_run

log = logging.getLogger(__name__)

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


# ----------------------------------------------------------------------------- task 1's table


def _patients_of(frame, labels) -> tuple[np.ndarray | None, str]:
    """The resampling units of a split's rows (patients, or pseudo-patients of test images) and
    their kind; None and "image" where there are none (score files without a unit column fall
    back to the patients their folds used). A pseudo-patient holding both labels is split by
    label: membership is per patient, and the evaluation, which reads the truth, may."""
    if "unit_kind" not in frame:
        if frame.grouping.iloc[0] == "patient" and frame.patient.notna().all():
            return frame.patient.astype(str).to_numpy(), "patient"
        return None, "image"
    kind = frame.unit_kind.iloc[0]
    if kind == "image":
        return None, "image"
    units = frame.unit.astype(str).to_numpy()
    if kind == "pseudo-patient":
        units = np.char.add(units, np.char.add("_", np.asarray(labels, dtype=int).astype(str)))
    return units, kind


def _attack_rows(
    group, embedder, scores_path, truth_path, runs, settings, test_units=None
) -> list[dict]:
    """The rows of one score file (:func:`group_scores`): every attack on cv_dev, control and
    test; ``runs`` maps each attack, in order, to its run file (the test images' hard labels)."""
    import pandas as pd

    scores = pd.read_csv(scores_path, dtype={"image_id": str})
    dev = scores[scores.split == "dev"]
    control = scores[scores.split == "control"]
    test = _with_units(scores[scores.split == "test"], test_units)
    truth = read_run(truth_path, task=1, expected_ids=test.image_id)
    test_labels = [int(truth[i]) for i in test.image_id]
    rows = []
    for attack, run_path in runs.items():
        predicted = read_run(run_path, task=1, expected_ids=test.image_id)
        common = {"group": group, "attack": attack, "features": embedder}
        for split, frame, labels, hard in (
            ("cv_dev", dev, dev.label.astype(int), None),
            ("control", control, control.label.astype(int), None),
            ("test", test, test_labels, [int(predicted[i]) for i in test.image_id]),
        ):
            if frame.empty:  # AutoGluon's score files have no control
                continue
            patient_ids, unit = _patients_of(frame, labels)
            result = membership_metrics(
                labels, frame[attack], hard, patient_ids=patient_ids, unit=unit, **settings
            )
            if hard is not None:
                result |= _label_figures(labels, frame[attack], hard)
            rows.append({**common, "split": split, "grouping": frame.grouping.iloc[0], **result})
        row = rows[-1]
        log.info(
            "%s %s %s: test AUC %.3f, F1 %.3f (%.0f%% labelled used; in hindsight %.3f)",
            group,
            embedder,
            attack,
            row["auc"],
            row["f1"],
            100 * row["share_used"],
            row["hindsight_f1"],
        )
    return rows


def _label_figures(labels, scores, predicted) -> dict:
    """What the hard labels did: the share labelled used, and, for reference only, the F1 of the
    best threshold on these test scores in hindsight and of labelling every image used."""
    labels = np.asarray(labels, dtype=int)
    return {
        "share_used": float(np.mean(predicted)),
        "hindsight_f1": hindsight_f1(labels, np.asarray(scores)),
        "all_used_f1": float(2 * labels.sum() / (len(labels) + labels.sum())),
    }


def _with_units(frame, test_units):
    """``frame`` with the unit columns of the group's attack scores (``test_units``: image_id ->
    (unit, kind)) where it has none of its own (the AutoGluon score files)."""
    if "unit_kind" in frame or not test_units:
        return frame
    units = [test_units.get(i, (i, "image")) for i in frame.image_id]
    kinds = {kind for _, kind in units}
    kind = kinds.pop() if len(kinds) == 1 else "image"
    return frame.assign(unit=[u for u, _ in units] if kind != "image" else None, unit_kind=kind)


def _test_units(path) -> dict:
    """image_id -> (unit, unit_kind) of the test rows of a group_scores file."""
    import pandas as pd

    scores = pd.read_csv(path, dtype={"image_id": str, "unit": str})
    test = scores[scores.split == "test"]
    if "unit_kind" not in test:
        return {}
    return dict(zip(test.image_id, zip(test.unit, test.unit_kind, strict=True), strict=True))


def _paper_rows(
    group, embedder, fraction, scores_path, run_path, truth_path, settings, test_units=None
):
    """The rows of one paper score file (:func:`ctprints.paper.paper_group_scores`): the honest
    hold-out (where it holds both classes; empty at fraction 1) and the test images."""
    import pandas as pd

    scores = pd.read_csv(scores_path, dtype={"image_id": str})
    predicted = read_run(run_path, task=1)
    test = scores[scores.split == "test"]
    dev = scores[scores.split == "dev"]
    truth = read_run(truth_path, task=1, expected_ids=test.image_id)
    common = {
        "group": group,
        "attack": f"paper_f{fraction}",
        "features": embedder,
        "autogluon_val_auc": scores.autogluon_val_auc.iloc[0],
    }
    rows = []
    if len(set(dev.label)) == 2:
        labels = dev.label.astype(int)
        patient_ids, unit = _patients_of(dev, labels)
        result = membership_metrics(
            labels, dev.paper, None, patient_ids=patient_ids, unit=unit, **settings
        )
        rows.append({**common, "split": "holdout_dev", "grouping": dev.grouping.iloc[0], **result})
    labels = [int(truth[i]) for i in test.image_id]
    hard = [int(predicted[i]) for i in test.image_id]
    patient_ids, unit = _patients_of(_with_units(test, test_units), labels)
    result = membership_metrics(
        labels, test.paper, hard, patient_ids=patient_ids, unit=unit, **settings
    )
    result |= _label_figures(labels, test.paper, hard)
    rows.append({**common, "split": "test", "grouping": scores.grouping.iloc[0], **result})
    log.info(
        "%s paper f%s %s: AutoGluon's validation AUC %.3f, test AUC %.3f",
        group,
        fraction,
        embedder,
        common["autogluon_val_auc"],
        result["auc"],
    )
    return rows


def evaluation_table(
    truth: Mapping[str, str],
    scores: Mapping[tuple[str, str], str],
    runs: Mapping[tuple[str, str], Mapping[str, str]],
    paper: Mapping[tuple[str, str, str], str],
    paper_runs: Mapping[tuple[str, str, str], str],
    autogluon: Mapping[tuple[str, str], str] | None = None,
    autogluon_runs: Mapping[tuple[str, str], str] | None = None,
    n_boot: int = 1000,
    n_permutations: int = 999,
    seed: int = 0,
):
    """Task 1's evaluation table: every attack's cv_dev, control and test metrics
    (:func:`ctprints.metrics.membership_metrics`) per group and feature space, then the paper's
    runs' holdout_dev and test metrics.

    Files by key, so that nothing depends on their order: ``truth`` group -> ground-truth run
    file; ``scores`` (group, embedder) -> score file of :func:`group_scores`; ``runs`` (group,
    embedder) -> attack -> the attack's run file; ``paper`` (group, embedder, fraction) -> score
    file of :func:`ctprints.paper.paper_group_scores` and ``paper_runs`` (same key) -> its run
    file; ``autogluon`` (group, embedder) -> score file of
    :func:`ctprints.paper.autogluon_cv_scores` and ``autogluon_runs`` (same key) -> its run
    file (attack ``autogluon``). Rows follow the order of ``scores`` (and of each ``runs``
    mapping's attacks), then of ``autogluon``, then of ``paper``. Test rows also give the share
    labelled used and, for reference only, the hindsight-best and all-used F1.
    """
    import pandas as pd

    settings = {"n_boot": n_boot, "n_permutations": n_permutations, "seed": seed}
    rows = []
    # every run of a group is resampled by the same test units: those of its first score file
    units = {}
    for (group, _), path in scores.items():
        units.setdefault(group, _test_units(path))
    for (group, embedder), path in scores.items():
        rows += _attack_rows(group, embedder, path, truth[group], runs[group, embedder], settings)
    for (group, embedder), path in (autogluon or {}).items():
        run = {"autogluon": autogluon_runs[group, embedder]}
        rows += _attack_rows(group, embedder, path, truth[group], run, settings, units.get(group))
    for (group, embedder, fraction), path in paper.items():
        run = paper_runs[group, embedder, fraction]
        rows += _paper_rows(
            group, embedder, fraction, path, run, truth[group], settings, units.get(group)
        )
    return pd.DataFrame(rows)
