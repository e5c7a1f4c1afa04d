"""The audit's candidate attacks: their out-of-fold scores, the choice of the best, and the
permutation p-values of the chosen attack adjusted for that choice.

- :func:`dev_inputs`: the dev rows (used, then not used) and their patients, checked.
- :func:`candidate_scores`: out-of-fold scores of every attack in every feature space, for the
  dev images and for the member-vs-member control.
- :func:`choose`: the attack and feature space with the best cross-validated AUC.
- :func:`selection_p`: max-T permutation p-values of the chosen attack.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ctprints.attacks import MembershipError
from ctprints.errors import AuditError
from ctprints.inference import labellings, max_t_p, unit_index
from ctprints.metrics import auc

if TYPE_CHECKING:
    from pandas import DataFrame

log = logging.getLogger(__name__)


def dev_inputs(
    parts: dict, patients: dict[str, str] | None, group: str
) -> tuple[DataFrame, np.ndarray | None]:
    """The dev rows of a group's parts (:func:`ctprints.membership.group_rows`), used then not
    used, and the patient of each row (None where patients are unknown).

    Raises :class:`AuditError` naming the group when there are fewer than 2 used or 2 holdout
    patients (images where patients are unknown), or when a patient is on both sides.
    """
    from ctprints.membership import dev_patient_ids, dev_rows

    dev = dev_rows(parts)
    patient_ids = dev_patient_ids(dev, patients)
    n_used = len(parts["used"])
    units = np.asarray(dev["image_id"], dtype=str) if patient_ids is None else patient_ids
    used, holdout = set(units[:n_used]), set(units[n_used:])
    unit = "images" if patient_ids is None else "patients"
    if len(used) < 2 or len(holdout) < 2:
        raise AuditError(
            f"task1 group {group}: the audit needs at least 2 used and 2 holdout {unit}, "
            f"found {len(used)} used and {len(holdout)} holdout"
        )
    both = sorted(used & holdout)
    if both:
        raise AuditError(
            f"task1 group {group}: patient {both[0]} has both used and holdout images; "
            "membership is per patient"
        )
    return dev, patient_ids


def candidate_scores(
    parts: dict,
    features_by_embedder: dict[str, DataFrame],
    attacks: list[str],
    n_folds: int = 5,
    seed: int = 0,
    settings: dict | None = None,
    read_pixels: Callable | None = None,
    patients: dict[str, str] | None = None,
) -> DataFrame:
    """Out-of-fold scores of every attack in every feature space, on the dev images (used 1,
    not used 0) and on the member-vs-member control (:func:`ctprints.membership.member_control`).

    ``features_by_embedder`` maps an embedder to its embeddings frame indexed by key;
    ``read_pixels(paths)`` gives (N, H, W) uint8 images and is called (once for the dev and once
    for the synthetic images) only when ssim_max is among the attacks. Folds keep each patient's
    slices together where patients are known and enough of them (as in
    :func:`ctprints.membership.group_scores`). A control that cannot be cross-validated (fewer
    than 4 used images) is left out, with a warning.

    Returns a long DataFrame: embedder, attack, split (dev, control), image_id, key, patient,
    label, score. patient is None where patients are unknown, and on control rows also where
    the control's halves are of images rather than whole patients (fewer than 4 used patients),
    so that a patient is never on both sides of a control.
    """
    import pandas as pd

    from ctprints.membership import (
        cross_validated_scores,
        dev_labelled,
        dev_patient_ids,
        dev_rows,
        member_control,
        part_features,
    )

    needs_pixels = "ssim_max" in attacks
    dev = dev_rows(parts)
    dev_pixels = read_pixels(list(dev["path"])) if needs_pixels else None
    synthetic_pixels = read_pixels(list(parts["generated"]["path"])) if needs_pixels else None
    patient_ids = dev_patient_ids(dev, patients)
    n_used = len(parts["used"])
    frames = []
    for embedder, features in features_by_embedder.items():
        synthetic = part_features(features, parts["generated"])
        _, labelled = dev_labelled(parts, features, lambda _: dev_pixels, patients, n_folds)
        common = (synthetic, synthetic_pixels, n_folds, seed, settings)
        dev_scores = cross_validated_scores(attacks, labelled, *common)
        splits = [("dev", dev, labelled.y, patient_ids, dev_scores)]
        control = member_control(labelled, n_used, n_folds, seed)
        try:
            control_scores = cross_validated_scores(attacks, control, *common)
        except MembershipError as error:
            log.warning("%s: no member-vs-member control (%s)", embedder, error)
        else:
            splits.append(
                ("control", parts["used"], control.y, control.patient_ids, control_scores)
            )
        for split, rows, labels, patient, scores in splits:
            for attack in attacks:
                frame = rows[["image_id", "key"]].reset_index(drop=True).copy()
                frame.insert(0, "split", split)
                frame.insert(0, "attack", attack)
                frame.insert(0, "embedder", embedder)
                frame["patient"] = None if patient is None else patient
                frame["label"] = np.asarray(labels, dtype=int)
                frame["score"] = scores[attack]
                frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def choose(
    candidates: DataFrame, attack: str | None, embedder: str | None, group: str
) -> tuple[str, str, DataFrame]:
    """The attack and feature space to audit with: the best cross-validated dev AUC.

    ``attack`` and ``embedder`` (None: free) restrict the choice; one that was not scored raises
    :class:`AuditError` naming ``audit.attack`` or ``audit.embedder``. Returns (attack, embedder,
    table) where the table holds the candidates allowed by the restriction, one row per
    (embedder, attack): cv_auc (dev), control_auc (member-vs-member control, NaN without one)
    and chosen, sorted by cv_auc, highest first; ties go to the first in candidate order.

    Choosing the best of N candidates biases its AUC upward (a winner's curse): with no leak at
    all the best of N chance-level AUCs is above 0.5. That is why the report gives the control's
    best AUC over the same candidates (``control_best_auc``, the table's highest control_auc):
    the chosen dev AUC means something only where it clearly exceeds that.
    """
    import pandas as pd

    for name, value in (("attack", attack), ("embedder", embedder)):
        known = list(dict.fromkeys(candidates[name]))
        if value is not None and value not in known:
            raise AuditError(
                f"audit.{name}: {value!r} was not scored for task1 group {group}; "
                f"scored: {', '.join(map(str, known))}"
            )
    allowed = candidates
    if attack is not None:
        allowed = allowed[allowed["attack"] == attack]
    if embedder is not None:
        allowed = allowed[allowed["embedder"] == embedder]
    rows = []
    for (name, method), frame in allowed.groupby(["embedder", "attack"], sort=False):
        dev_scores = frame.loc[frame["split"] == "dev", "score"].to_numpy(dtype=np.float64)
        if not np.isfinite(dev_scores).all():
            log.warning("%s in %s: non-finite scores; left out of the choice", method, name)
            continue
        value = {}
        for split in ("dev", "control"):
            part = frame[frame["split"] == split]
            value[split] = float(auc(part["label"], part["score"])[0]) if len(part) else math.nan
        rows.append(
            {
                "embedder": name,
                "attack": method,
                "cv_auc": value["dev"],
                "control_auc": value["control"],
            }
        )
    if not rows:
        raise AuditError(f"task1 group {group}: no candidate attack gave finite scores")
    table = pd.DataFrame(rows).sort_values("cv_auc", ascending=False, kind="stable")
    table = table.reset_index(drop=True)
    table["chosen"] = table.index == 0
    return str(table["attack"].iloc[0]), str(table["embedder"].iloc[0]), table


def _tpr_rows(labels: np.ndarray, scores: np.ndarray, fpr_limit: float) -> np.ndarray:
    """:func:`ctprints.metrics.tpr_at_fpr` of each row of (B, N) 0/1 labels, one score vector."""
    labels = labels.astype(bool)
    negatives = np.sort(np.where(labels, -np.inf, scores), axis=1)[:, ::-1]
    n_negative = (~labels).sum(axis=1)
    allowed = np.floor(fpr_limit * n_negative + 1e-9).astype(int)
    rows = np.arange(len(labels))
    threshold = negatives[rows, np.minimum(allowed, labels.shape[1] - 1)]
    found = ((scores[None, :] > threshold[:, None]) & labels).sum(axis=1)
    tpr = found / np.maximum(labels.sum(axis=1), 1)
    return np.where(allowed >= n_negative, 1.0, tpr)


SELECTED = {  # statistic -> its function of (B, N) labels and one score vector
    "auc": lambda labels, scores: auc(labels, np.broadcast_to(scores, labels.shape)),
    "tpr_at_1pct_fpr": lambda labels, scores: _tpr_rows(labels, scores, 0.01),
    "tpr_at_0_1pct_fpr": lambda labels, scores: _tpr_rows(labels, scores, 0.001),
}


def selection_p(
    candidates: DataFrame, choice: DataFrame, n_permutations: int = 999, seed: int = 0
) -> dict[str, float]:
    """Permutation p-values of the chosen attack's AUC and TPR at 1% and 0.1% FPR, each adjusted
    for picking the best of the ``choice`` table's candidates (Westfall and Young's max-T).

    Each permutation relabels whole patients (images where patients are unknown); for each
    statistic it takes the highest value over every candidate's fixed out-of-fold scores, and p
    is the share of permutations whose maximum reaches the chosen attack's value:
    (1 + count) / (1 + permutations), or count / labellings where every labelling is enumerated
    (:func:`ctprints.inference.labellings`). Each criterion of the verdict is guarded by its own
    statistic, so that a few patients found with certainty (a high TPR at low FPR beside an AUC
    near 0.5) are not hidden behind the AUC. With one candidate these are plain permutation
    tests. The scores are held fixed although their cross-validation used the true labels
    (folds, the not-used reference of some attacks), so the p-values are approximate. Few
    patients bound them from below: :func:`ctprints.inference.p_floor`.
    """
    dev = candidates[candidates["split"] == "dev"]
    matrix = []
    labels = units = unit_member = None
    for name, method in zip(choice["embedder"], choice["attack"], strict=True):
        rows = dev[(dev["embedder"] == name) & (dev["attack"] == method)]
        rows = rows.sort_values("image_id", kind="stable")
        if labels is None:
            labels = rows["label"].to_numpy(dtype=int)
            known = rows["patient"].notna().all()
            units, _, unit_member = unit_index(
                labels, rows["patient"] if known else None, AuditError
            )
        matrix.append(rows["score"].to_numpy(dtype=np.float64))
    labelled, exact = labellings(unit_member, n_permutations, np.random.default_rng(seed))
    permuted = labelled[:, units]
    chosen = matrix[0]  # the choice table is sorted: its first row is the chosen attack
    out = {}
    for name, statistic in SELECTED.items():
        observed = float(statistic(labels[None, :], chosen)[0])
        by_candidate = np.array([statistic(permuted, scores) for scores in matrix])
        out[name] = max_t_p(observed, by_candidate, exact)
    return out
