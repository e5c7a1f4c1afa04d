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
from ctprints.audit.gate import leak_auc
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


def _unit_mean(frame: DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Dev rows of one candidate -> (unit names, unit labels, the mean score of each unit's
    slices, whether the units are patients: else images, where patients are unknown)."""
    rows = frame.sort_values("image_id", kind="stable")
    by_patient = "patient" in rows and bool(rows["patient"].notna().all())
    owners = (rows["patient"] if by_patient else rows["image_id"]).astype(str).to_numpy()
    index, n_units, unit_label = unit_index(rows["label"].to_numpy(dtype=int), owners, AuditError)
    scores = rows["score"].to_numpy(dtype=np.float64)
    means = np.bincount(index, weights=scores, minlength=n_units) / np.bincount(index)
    return np.unique(owners), unit_label, means, by_patient


def unit_scores(
    candidates: DataFrame, choice: DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """The patient-level attack of every candidate of the ``choice`` table, in its order: (K, U)
    scores (a unit's score is the mean of its dev slices' out-of-fold scores), each unit's name
    and 0/1 label, and whether the units are patients (else images)."""
    dev = candidates[candidates["split"] == "dev"]
    matrix = []
    for embedder, attack in zip(choice["embedder"], choice["attack"], strict=True):
        frame = dev[(dev["embedder"] == embedder) & (dev["attack"] == attack)]
        names, unit_label, means, by_patient = _unit_mean(frame)
        matrix.append(means)
    return np.array(matrix), names, unit_label, by_patient


def unit_frame(candidates: DataFrame) -> DataFrame:
    """Every candidate's patient-level scores on the dev split and on the control (units.tsv):
    embedder, attack, split, unit (the patient, or the image where the split names none),
    label, score (the mean of the unit's slices' out-of-fold scores), slices."""
    frame = candidates.assign(
        unit=candidates["patient"].where(candidates["patient"].notna(), candidates["image_id"])
    )
    keys = ["embedder", "attack", "split", "unit"]
    return (
        frame.groupby(keys, sort=False)
        .agg(label=("label", "first"), score=("score", "mean"), slices=("score", "size"))
        .reset_index()
    )


def choose(
    candidates: DataFrame, attack: str | None, embedder: str | None, group: str
) -> tuple[str, str, DataFrame]:
    """The attack and feature space the page shows evidence for: the best AUC by patient (a
    patient's score is the mean over its slices; images where patients are unknown; in the
    better of the score's two directions, :func:`ctprints.audit.gate.leak_auc`), ties to the
    best cross-validated AUC by image, then to the first in candidate order.

    ``attack`` and ``embedder`` (None: free) restrict the choice; one that was not scored raises
    :class:`AuditError` naming ``audit.attack`` or ``audit.embedder``. Returns (attack, embedder,
    table) where the table holds the candidates allowed by the restriction, one row per
    (embedder, attack): auc_by_patient, cv_auc (by image, dev), control_auc (by image,
    member-vs-member control, NaN without one) and chosen, best first.

    The best of N candidates has an AUC biased upward (a winner's curse); the gate's bounds are
    simultaneous over every candidate, so the verdict does not depend on this choice.
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
        dev = frame[frame["split"] == "dev"]
        if not np.isfinite(dev["score"].to_numpy(dtype=np.float64)).all():
            log.warning("%s in %s: non-finite scores; left out of the choice", method, name)
            continue
        _, unit_label, means, _ = _unit_mean(dev)
        control = frame[frame["split"] == "control"]
        rows.append(
            {
                "embedder": name,
                "attack": method,
                "auc_by_patient": leak_auc(unit_label, means),
                "cv_auc": float(auc(dev["label"], dev["score"])[0]),
                "control_auc": float(auc(control["label"], control["score"])[0])
                if len(control)
                else math.nan,
            }
        )
    if not rows:
        raise AuditError(f"task1 group {group}: no candidate attack gave finite scores")
    table = pd.DataFrame(rows).sort_values(
        ["auc_by_patient", "cv_auc"], ascending=False, kind="stable"
    )
    table = table.reset_index(drop=True)
    table["chosen"] = table.index == 0
    return str(table["attack"].iloc[0]), str(table["embedder"].iloc[0]), table


def selection_p(
    matrix: np.ndarray, unit_label: np.ndarray, n_permutations: int = 999, seed: int = 0
) -> float:
    """The permutation p-value of the best candidate's AUC by patient, adjusted for picking the
    best of the (K, U) ``matrix``'s candidates (:func:`unit_scores`; Westfall and Young's
    max-T): the share of labellings of whole units whose best AUC over every candidate reaches
    the observed best, exact where every labelling is enumerated
    (:func:`ctprints.inference.labellings`). It tests "no leak at all" (AUC 0.5), not the
    budget, so it is evidence beside the gate rather than part of it. The scores are held fixed
    although their cross-validation used the true labels, so the p-value is approximate.
    """
    labelled, exact = labellings(unit_label, n_permutations, np.random.default_rng(seed))
    observed = float(np.max(auc(np.broadcast_to(unit_label, matrix.shape), matrix)))
    by_candidate = np.array(
        [auc(labelled, np.broadcast_to(scores, labelled.shape)) for scores in matrix]
    )
    return max_t_p(observed, by_candidate, exact)
