"""The membership audit: does a generator's synthetic set give away which real patients trained it?

A data owner holds the synthetic CT images of a generator, the real patients that trained it
(members, the "used" folder) and real holdout patients (the "not used" folder). The audit scores
every real image with the black-box attacks of :mod:`ctprints.attacks`, cross-validated as in
:mod:`ctprints.membership`, and compares members with holdout patients.

- :func:`check_budget`: the privacy budget (:data:`BUDGET_DEFAULTS`) checked and completed.
- :func:`dev_inputs`: the dev rows (used, then not used) and their patients, checked.
- :func:`candidate_scores`: out-of-fold scores of every attack in every feature space, for the
  dev images and for the member-vs-member control.
- :func:`choose`: the attack and feature space with the best cross-validated AUC.
- :func:`risk_table`, :func:`patient_table`: per image and per patient risk and evidence (score,
  rank, empirical p-value against the holdout, nearest synthetic image, distance, SSIM).
- :func:`dcr_share`: the share of synthetic images whose nearest real image is a member.
- :func:`statistics`: AUC and TPR at low FPR with patient-bootstrap intervals, the DCR share
  with its interval, and a permutation test of "members are closer to the synthetic set".
- :func:`verdict`: pass or fail against the budget, with one line that says why.
- :func:`threshold_at_fpr`, :func:`plot_evidence`, :func:`plot_scores`: figures.
- :func:`stats_frame`, :func:`folder_hashes`, :func:`report_markdown`: the statistics table,
  the digest of every input folder and the one-page report.
- :func:`run_audit` and :func:`write_audit`: all of the above for one group (rule audit_group
  and ``benchmarks/bench_audit.py`` call these two).

Every failure is an :class:`AuditError` whose message names the group (and file or key).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ctprints.attacks import MembershipError, _scaler, ssim
from ctprints.config import schema_defaults
from ctprints.errors import AuditError
from ctprints.metrics import auc, tpr_at_fpr
from ctprints.neighbours import nearest, pairwise_distances

if TYPE_CHECKING:
    from pandas import DataFrame

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- the budget


# The schema's defaults of audit.budget, the one place they are written.
BUDGET_DEFAULTS: dict = schema_defaults("audit.budget")
DECIDE_ON = ("lower", "point", "upper")


def check_budget(budget: dict | None, key: str = "audit.budget") -> dict:
    """:data:`BUDGET_DEFAULTS` updated with ``budget``, checked: max_auc in [0.5, 1], the
    max_tpr_* in [0, 1] or None (not judged), alpha in (0, 0.5], decide_on lower, point or upper.
    Unknown keys and values out of range raise :class:`AuditError` naming ``<key>.<name>``."""
    budget = dict(budget or {})
    unknown = sorted(set(budget) - set(BUDGET_DEFAULTS))
    if unknown:
        raise AuditError(
            f"{key}.{unknown[0]}: unknown budget key; known: {', '.join(BUDGET_DEFAULTS)}"
        )
    merged = {**BUDGET_DEFAULTS, **budget}

    def number(name: str, low: float, high: float, open_low: bool = False, none: bool = False):
        value = merged[name]
        if value is None and none:
            return
        interval = f"{'(' if open_low else '['}{low:g}, {high:g}]"
        wanted = f"a number in {interval}" + (" or null" if none else "")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AuditError(f"{key}.{name}: {value!r} is not {wanted}")
        if not (low < value <= high if open_low else low <= value <= high):
            raise AuditError(f"{key}.{name}: {value!r} is not {wanted}")

    number("max_auc", 0.5, 1.0)
    number("max_tpr_at_1pct_fpr", 0.0, 1.0, none=True)
    number("max_tpr_at_0_1pct_fpr", 0.0, 1.0, none=True)
    number("alpha", 0.0, 0.5, open_low=True)
    if merged["decide_on"] not in DECIDE_ON:
        raise AuditError(
            f"{key}.decide_on: {merged['decide_on']!r} is not one of {', '.join(DECIDE_ON)}"
        )
    return merged


# ----------------------------------------------------------------------------- scores


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
    not used 0) and on the member-vs-member control (:func:`ctprints.membership._control`).

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
        _control,
        cross_validated_scores,
        dev_labelled,
        dev_patient_ids,
        dev_rows,
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
        control = _control(labelled, n_used, n_folds, seed)
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


def _units(labels: np.ndarray, patients: np.ndarray | None) -> tuple[np.ndarray, int, np.ndarray]:
    """The unit (patient, or image where patients are unknown) of each row as 0..U-1, the
    number of units U, and each unit's label; raise where a unit holds both labels."""
    if patients is None:
        units = np.arange(len(labels))
    else:
        units = np.unique(np.asarray(patients, dtype=str), return_inverse=True)[1]
    n_units = int(units.max()) + 1
    unit_member = np.zeros(n_units, dtype=int)
    unit_member[units] = labels
    if not np.array_equal(unit_member[units], labels):
        raise AuditError("a patient has both member and holdout images; membership is per patient")
    return units, n_units, unit_member


def _labellings(
    unit_member: np.ndarray, n_permutations: int, rng: np.random.Generator
) -> tuple[np.ndarray, bool]:
    """Member labellings of the units for a permutation test, and whether they are exact.

    Where the units can be labelled in at most ``n_permutations`` ways (C(units, members)),
    every labelling, the observed one among them, so that the p-value is exact and needs no
    random draws: count / labellings. Otherwise ``n_permutations`` random shuffles, for
    (1 + count) / (1 + permutations).
    """
    n_units, n_members = len(unit_member), int(unit_member.sum())
    if math.comb(n_units, n_members) <= n_permutations:
        chosen = np.array(list(itertools.combinations(range(n_units), n_members)), dtype=int)
        exact = np.zeros((len(chosen), n_units), dtype=int)
        np.put_along_axis(exact, chosen, 1, axis=1)
        return exact, True
    return rng.permuted(np.tile(unit_member, (n_permutations, 1)), axis=1), False


def _p_value(permuted_stats: np.ndarray, observed: float, exact: bool) -> float:
    """The one-sided permutation p of ``observed`` among the statistics of the labellings."""
    count = int((permuted_stats >= observed - 1e-12 * max(1.0, abs(observed))).sum())
    return count / len(permuted_stats) if exact else (1 + count) / (1 + len(permuted_stats))


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
    (:func:`_labellings`). Each criterion of :func:`verdict` is guarded by its own statistic, so
    that a few patients found with certainty (a high TPR at low FPR beside an AUC near 0.5) are
    not hidden behind the AUC. With one candidate these are plain permutation tests. The scores
    are held fixed although their cross-validation used the true labels (folds, the not-used
    reference of some attacks), so the p-values are approximate. Few patients bound them from
    below: :func:`p_floor`.
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
            units, _, unit_member = _units(labels, rows["patient"] if known else None)
        matrix.append(rows["score"].to_numpy(dtype=np.float64))
    labellings, exact = _labellings(unit_member, n_permutations, np.random.default_rng(seed))
    permuted = labellings[:, units]
    chosen = matrix[0]  # the choice table is sorted: its first row is the chosen attack
    out = {}
    for name, statistic in SELECTED.items():
        observed = float(statistic(labels[None, :], chosen)[0])
        best = np.max([statistic(permuted, scores) for scores in matrix], axis=0)
        out[name] = _p_value(best, observed, exact)
    return out


def p_floor(unit_member: np.ndarray, n_permutations: int) -> float:
    """The smallest p-value a permutation test of these units can give: 1 / C(units, members)
    where every labelling is enumerated, else 1 / (1 + permutations). When it is not below
    alpha, no test can fail, and :func:`verdict` says "inconclusive" instead of "pass"."""
    n_units, n_members = len(unit_member), int(np.sum(unit_member))
    labellings = math.comb(n_units, n_members)
    return 1 / labellings if labellings <= n_permutations else 1 / (1 + n_permutations)


# ----------------------------------------------------------------------------- evidence


def _nearest_synthetic(synthetic_features: np.ndarray, real_features: np.ndarray):
    """Distance (R,) and index (R,) of each real image's nearest synthetic image, in the feature
    space standardised with the synthetic set's statistics."""
    scale = _scaler(np.asarray(synthetic_features))
    distances, indices = nearest(scale(synthetic_features), scale(real_features))
    return distances[:, 0], indices[:, 0]


def risk_table(
    dev: DataFrame,
    labels: np.ndarray,
    scores: np.ndarray,
    patients: np.ndarray | None,
    real_features: np.ndarray,
    synthetic_features: np.ndarray,
    synthetic_ids: list[str],
    real_pixels: np.ndarray | None,
    synthetic_pixels: np.ndarray | None,
) -> DataFrame:
    """One row per real dev image (rows of ``dev``, in order with the arrays), sorted by rank:
    image_id, patient (the image itself where patients are unknown), member (1, 0 holdout),
    score, rank (1 = highest score, ties share the lowest rank), p_value, percentile,
    nearest_synthetic, distance, ssim.

    p_value is the empirical p-value of the score against the holdout images: (1 + holdout
    scoring >= s) / (1 + holdout) for members; a holdout image leaves out its own patient's
    images (itself where patients are unknown): (1 + others scoring >= s) / (1 + others).
    percentile is 100 x the share of holdout scores strictly below s. The nearest synthetic
    image and the (Euclidean) distance are in the feature space standardised with the synthetic
    set's statistics; ssim compares the pixels ((N, H, W) uint8 in the order of the rows; None:
    NaN) of the real image and that synthetic image.
    """
    import pandas as pd
    from scipy.stats import rankdata

    labels = np.asarray(labels, dtype=int)
    scores = np.asarray(scores, dtype=np.float64)
    holdout = np.sort(scores[labels == 0])
    n_holdout = len(holdout)
    at_least = n_holdout - np.searchsorted(holdout, scores, side="left")  # holdout >= s
    below = np.searchsorted(holdout, scores, side="left")  # holdout < s
    p_value = (1 + at_least) / (1 + n_holdout)
    # A holdout image is compared with the holdout images of other patients only: its own
    # patient's slices are near-copies of it, which no member is ever compared with.
    owners = np.arange(len(scores)).astype(str) if patients is None else np.asarray(patients, str)
    for i in np.flatnonzero(labels == 0):
        others = (labels == 0) & (owners != owners[i])
        p_value[i] = (1 + np.sum(scores[others] >= scores[i])) / (1 + np.sum(others))
    distance, nearest = _nearest_synthetic(synthetic_features, real_features)
    if real_pixels is None or synthetic_pixels is None:
        similarity = np.full(len(scores), np.nan)
    else:
        similarity = np.array(
            [
                ssim(image, synthetic_pixels[index][None])[0]
                for image, index in zip(real_pixels, nearest, strict=True)
            ]
        )
    image_ids = np.asarray(dev["image_id"], dtype=str)
    table = pd.DataFrame(
        {
            "image_id": image_ids,
            "patient": image_ids if patients is None else np.asarray(patients, dtype=str),
            "member": labels,
            "score": scores,
            "rank": rankdata(-scores, method="min").astype(int),
            "p_value": p_value,
            "percentile": 100 * below / max(n_holdout, 1),
            "nearest_synthetic": np.asarray(synthetic_ids, dtype=str)[nearest],
            "distance": distance.astype(np.float64),
            "ssim": similarity,
        }
    )
    return table.sort_values("rank", kind="stable").reset_index(drop=True)


def patient_table(risk: DataFrame) -> DataFrame:
    """Per patient of a :func:`risk_table`: patient, member, slices, max_score, mean_score,
    min_p_value, min_distance, max_ssim; sorted by max_score, highest first."""
    table = (
        risk.groupby("patient", sort=False)
        .agg(
            member=("member", "first"),
            slices=("image_id", "size"),
            max_score=("score", "max"),
            mean_score=("score", "mean"),
            min_p_value=("p_value", "min"),
            min_distance=("distance", "min"),
            max_ssim=("ssim", "max"),
        )
        .reset_index()
    )
    return table.sort_values("max_score", ascending=False, kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------------------- statistics


def dcr_share(
    synthetic_features: np.ndarray, real_features: np.ndarray, member: np.ndarray
) -> tuple[float, float]:
    """The share of synthetic images whose nearest real image (distance to closest record, in
    the feature space standardised with the synthetic set's statistics) is a member, and the
    share expected without leakage, members / (members + holdout) in images."""
    member = np.asarray(member, dtype=bool)
    scale = _scaler(np.asarray(synthetic_features))
    _, indices = nearest(scale(real_features), scale(synthetic_features))
    return float(member[indices[:, 0]].mean()), float(member.mean())


def _unit_distances(
    synthetic: np.ndarray, real: np.ndarray, units: np.ndarray, n_units: int, chunk: int = 512
) -> np.ndarray:
    """(S, U) float32: each (scaled) synthetic image's distance to the nearest image of each
    unit (patient), computed in chunks of synthetic rows so that memory stays bounded."""

    order = np.argsort(units, kind="stable")
    starts = np.searchsorted(units[order], np.arange(n_units))
    real = real[order]
    out = np.empty((len(synthetic), n_units), dtype=np.float32)
    for start in range(0, len(synthetic), chunk):
        distances = pairwise_distances(synthetic[start : start + chunk], real)
        out[start : start + chunk] = np.minimum.reduceat(distances, starts, axis=1)
    return out


def _rows_of(units: np.ndarray, n_units: int) -> Callable[[np.ndarray], np.ndarray]:
    """drawn units -> the rows of all of them (with repeats), for a cluster bootstrap."""
    order = np.argsort(units, kind="stable")
    counts = np.bincount(units, minlength=n_units)
    starts = np.r_[0, np.cumsum(counts)[:-1]]

    def rows(drawn: np.ndarray) -> np.ndarray:
        sizes = counts[drawn]
        offsets = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        return order[np.repeat(starts[drawn], sizes) + offsets]

    return rows


def _shares(matrix: np.ndarray, unit_member: np.ndarray, draws: list[np.ndarray]) -> np.ndarray:
    """The DCR share of each resample of units: per synthetic image the nearest drawn unit is
    looked up among its K nearest units first (one of them is drawn almost always), and only
    where none of them is, among all drawn units."""
    n_units = matrix.shape[1]
    k = min(n_units, 32)
    nearest = np.argpartition(matrix, k - 1, axis=1)[:, :k] if k < n_units else None
    if nearest is not None:
        order = np.argsort(np.take_along_axis(matrix, nearest, axis=1), axis=1)
        nearest = np.take_along_axis(nearest, order, axis=1)
    else:
        nearest = np.argsort(matrix, axis=1)
    rows = np.arange(len(matrix))
    shares = np.empty(len(draws))
    for b, drawn in enumerate(draws):
        present = np.zeros(n_units, dtype=bool)
        present[drawn] = True
        hits = present[nearest]
        first = hits.argmax(axis=1)
        closest = nearest[rows, first]
        missed = ~hits[rows, first]
        if missed.any():
            closest[missed] = np.where(present, matrix[missed], np.inf).argmin(axis=1)
        shares[b] = unit_member[closest].mean()
    return shares


def statistics(
    labels: np.ndarray,
    scores: np.ndarray,
    patients: np.ndarray | None,
    synthetic_features: np.ndarray,
    real_features: np.ndarray,
    n_boot: int = 1000,
    n_permutations: int = 999,
    seed: int = 0,
    alpha: float = 0.05,
    spaces: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> dict:
    """The audit's set-level statistics of one attack's dev scores, as a flat JSON-ready dict.

    - auc, tpr_at_1pct_fpr, tpr_at_0_1pct_fpr (:func:`ctprints.metrics.auc`,
      :func:`ctprints.metrics.tpr_at_fpr`), each with a (1 - alpha) percentile interval
      (``_low``, ``_high``) from one bootstrap that resamples patients with replacement
      (images where ``patients`` is None) and keeps resamples holding both classes;
    - dcr_share and dcr_expected (:func:`dcr_share`), with an interval from the same resamples
      of real patients;
    - permutation_p: one-sided permutation test of "members are closer to the synthetic set than
      holdout patients": per patient the mean over its slices of the distance to the nearest
      synthetic image; T = mean over holdout patients - mean over members (dcr_holdout_mean -
      dcr_member_mean), by :func:`distance_test` in every feature space of ``spaces`` (name ->
      (synthetic, real) features; None: the given features alone) with its min-P correction;
      permutation_p_spaces holds each space's uncorrected p;
    - n_members, n_holdout (images), member_patients, holdout_patients (None where patients are
      unknown), resampled ("patient" or "image") and alpha.

    ``real_features`` are the rows of ``labels`` (1 member, 0 holdout) in order. Deterministic
    for a seed.
    """
    labels = np.asarray(labels, dtype=int)
    scores = np.asarray(scores, dtype=np.float64)
    real_features = np.asarray(real_features)
    synthetic_features = np.asarray(synthetic_features)
    if labels.min() == labels.max():
        raise AuditError("the audit statistics need both member and holdout images")
    units, n_units, unit_member = _units(labels, patients)
    rng = np.random.default_rng(seed)
    draws: list[np.ndarray] = []
    while len(draws) < n_boot:
        drawn = rng.integers(0, n_units, n_units)
        if 0 < unit_member[drawn].sum() < n_units:
            draws.append(drawn)
    rows = _rows_of(units, n_units)
    measures = {
        "auc": lambda y, s: float(auc(y, s)[0]),
        "tpr_at_1pct_fpr": lambda y, s: tpr_at_fpr(y, s, fpr_limit=0.01),
        "tpr_at_0_1pct_fpr": lambda y, s: tpr_at_fpr(y, s, fpr_limit=0.001),
    }
    boot = {name: np.empty(len(draws)) for name in measures}
    for b, drawn in enumerate(draws):
        index = rows(drawn)
        for name, measure in measures.items():
            boot[name][b] = measure(labels[index], scores[index])
    quantiles = [100 * alpha / 2, 100 * (1 - alpha / 2)]
    out: dict = {}
    for name, measure in measures.items():
        low, high = np.percentile(boot[name], quantiles) if draws else (math.nan, math.nan)
        out |= {
            name: measure(labels, scores),
            f"{name}_low": float(low),
            f"{name}_high": float(high),
        }

    share, expected = dcr_share(synthetic_features, real_features, labels)
    scale = _scaler(synthetic_features)
    matrix = _unit_distances(scale(synthetic_features), scale(real_features), units, n_units)
    shares = _shares(matrix, unit_member, draws)
    low, high = np.percentile(shares, quantiles) if draws else (math.nan, math.nan)
    out |= {"dcr_share": share, "dcr_share_low": float(low), "dcr_share_high": float(high)}
    out["dcr_expected"] = expected

    distance, _ = _nearest_synthetic(synthetic_features, real_features)
    per_unit = np.bincount(units, weights=distance, minlength=n_units) / np.bincount(units)
    n_member_units = int(unit_member.sum())
    spaces = spaces or {"features": (synthetic_features, real_features)}
    corrected, by_space = distance_test(labels, patients, spaces, n_permutations, seed)
    out |= {
        "permutation_p": corrected,
        "permutation_p_spaces": by_space,
        "p_floor": p_floor(unit_member, n_permutations),
        "dcr_member_mean": float(per_unit[unit_member == 1].mean()),
        "dcr_holdout_mean": float(per_unit[unit_member == 0].mean()),
        "n_members": int(labels.sum()),
        "n_holdout": int((labels == 0).sum()),
        "member_patients": None if patients is None else n_member_units,
        "holdout_patients": None if patients is None else n_units - n_member_units,
        "resampled": "image" if patients is None else "patient",
        "alpha": float(alpha),
    }
    return out


def distance_test(
    labels: np.ndarray,
    patients: np.ndarray | None,
    spaces: dict[str, tuple[np.ndarray, np.ndarray]],
    n_permutations: int = 999,
    seed: int = 0,
) -> tuple[float, dict[str, float]]:
    """The patient-level test of "members are closer to the synthetic set" in every feature
    space at once, corrected for looking in several (min-P, Westfall and Young).

    ``spaces``: name -> (synthetic features, real features in the order of ``labels``). Per space
    the statistic is :func:`statistics`' (mean over holdout patients minus mean over members of
    each patient's mean distance to the nearest synthetic image). Every labelling (enumerated
    where there are at most ``n_permutations``, else the observed one and ``n_permutations``
    shuffles) gets a p-value per space; the corrected p is the share of labellings whose smallest
    p reaches the observed smallest. Returns (corrected p, the uncorrected p of each space).
    """
    labels = np.asarray(labels, dtype=int)
    units, n_units, unit_member = _units(labels, patients)
    labellings, exact = _labellings(unit_member, n_permutations, np.random.default_rng(seed))
    if exact:
        observed = int(np.flatnonzero((labellings == unit_member).all(axis=1))[0])
    else:
        labellings, observed = np.vstack([unit_member[None], labellings]), 0
    counts = np.bincount(units, minlength=n_units)
    n_members = int(unit_member.sum())
    p_values = {}
    for name, (synthetic, real) in spaces.items():
        distance, _ = _nearest_synthetic(synthetic, real)
        per_unit = np.bincount(units, weights=distance, minlength=n_units) / counts
        member_sum = labellings @ per_unit
        t = (per_unit.sum() - member_sum) / (n_units - n_members) - member_sum / n_members
        ordered = np.sort(t)
        tolerance = 1e-12 * np.maximum(1.0, np.abs(t))
        at_least = len(t) - np.searchsorted(ordered, t - tolerance, side="left")
        p_values[name] = at_least / len(t)
    smallest = np.min(np.vstack(list(p_values.values())), axis=0)
    corrected = float(np.mean(smallest <= smallest[observed] * (1 + 1e-12)))
    return corrected, {name: float(p[observed]) for name, p in p_values.items()}


# ----------------------------------------------------------------------------- the verdict


CRITERIA = {  # criterion -> budget key
    "auc": "max_auc",
    "tpr_at_1pct_fpr": "max_tpr_at_1pct_fpr",
    "tpr_at_0_1pct_fpr": "max_tpr_at_0_1pct_fpr",
}
_COMPARED = {"lower": "low", "point": "value", "upper": "high"}
_WORDS = {"low": " lower bound", "value": "", "high": " upper bound"}


def _plain(value):
    """JSON-ready: numpy scalars and arrays as Python numbers and lists, recursively."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _pair(value: float, limit: float) -> tuple[str, str]:
    """Two numbers with two decimals, or more where two would print them alike."""
    for digits in range(2, 7):
        shown = f"{value:.{digits}f}", f"{limit:.{digits}f}"
        if shown[0] != shown[1]:
            return shown
    return shown


def verdict(
    stats: dict,
    budget: dict,
    control: dict | None = None,
    selected_p: dict[str, float] | None = None,
    **context,
) -> dict:
    """Pass or fail of :func:`statistics` against a :func:`check_budget` budget.

    One criterion per budget limit that is not null: auc, tpr_at_1pct_fpr and tpr_at_0_1pct_fpr
    pass when the number chosen by decide_on is at most the limit ("lower": the interval's lower
    end, so that only data showing the budget exceeded fail; "point": the value; "upper": the
    upper end, so that the whole interval must be within budget), and "permutation" fails when
    permutation_p < alpha. Each criterion: name, value, low, high, budget, compared (low, value
    or high), compared_value, passed.

    ``selected_p`` (:func:`selection_p`, a p-value per statistic) guards the attack's criteria
    under decide_on lower and point: an AUC or TPR over its bound fails only where that
    statistic beats chance after the choice of the best of N attacks (its p < alpha). Without
    the guard, the best of 24 attacks on 2 member patients reaches an AUC near 1 on data without
    any leakage (docs/task1-and-audit.md). Under "upper" no guard applies: the whole interval
    must be within budget.

    Where the patients allow no p-value below alpha (``stats["p_floor"]`` >= alpha, e.g. 2
    members and 2 holdout patients: 1/6), no test can fail, and a group that fails no criterion
    is "inconclusive", not "pass"; audit_gate fails on it. The overall chance of failing a group
    without leakage is above alpha, since any failed criterion fails the group.

    Returns a JSON-ready dict: verdict ("pass" or "fail"), failed (names), reason (one line,
    named after ``context["group"]`` where given), criteria, budget, control (where given) and
    ``context``.
    """
    compared = _COMPARED[budget["decide_on"]]
    criteria = []
    for name, key in CRITERIA.items():
        if budget.get(key) is None:
            continue
        numbers = {
            "value": stats[name],
            "low": stats.get(f"{name}_low"),
            "high": stats.get(f"{name}_high"),
        }
        value = numbers[compared]
        over = not value <= budget[key]  # NaN is over budget
        guard = None if selected_p is None or compared == "high" else selected_p[name]
        chance = guard is not None and over and guard >= budget["alpha"]
        criteria.append(
            {
                "name": name,
                **numbers,
                "budget": budget[key],
                "compared": compared,
                "compared_value": value,
                "selected_p": guard,
                "passed": bool(not over or chance),
            }
        )
    p_value = stats["permutation_p"]
    criteria.append(
        {
            "name": "permutation",
            "value": p_value,
            "low": None,
            "high": None,
            "budget": budget["alpha"],
            "compared": "value",
            "compared_value": p_value,
            "passed": bool(p_value >= budget["alpha"]),
        }
    )
    failed = [criterion["name"] for criterion in criteria if not criterion["passed"]]
    name = context.get("group", "the audit")
    if failed:
        reasons = []
        for criterion in criteria:
            if criterion["passed"]:
                continue
            if criterion["name"] == "permutation":
                reasons.append(f"permutation p {p_value:.3g} < {budget['alpha']:g}")
            else:
                value, limit = _pair(criterion["compared_value"], criterion["budget"])
                word = _WORDS[criterion["compared"]]
                reason = f"{criterion['name']}{word} {value} > {limit}"
                if criterion["selected_p"] is not None:
                    reason += f" (selection-adjusted p {criterion['selected_p']:.3g})"
                reasons.append(reason)
        reason = f"{name} fails: {'; '.join(reasons)}"
    else:
        reason = f"{name} passes {len(criteria)} criteria"
        over = [
            f"{c['name']} (p {c['selected_p']:.3g})"
            for c in criteria
            if c.get("selected_p") is not None and c["passed"] and c["compared_value"] > c["budget"]
        ]
        if over:
            reason += (
                f" ({', '.join(over)} over budget but not beyond chance after choosing the best "
                f"attack: selection-adjusted p >= {budget['alpha']:g})"
            )
        floor = stats.get("p_floor")
        if floor is not None and floor >= budget["alpha"]:
            reason = (
                f"{name} is inconclusive: with these patients no p-value can be below "
                f"{floor:.3g}, which is not below alpha {budget['alpha']:g}, so no test could "
                "fail; audit more patients"
            )
    floor = stats.get("p_floor")
    inconclusive = not failed and floor is not None and floor >= budget["alpha"]
    result = {
        "verdict": "fail" if failed else "inconclusive" if inconclusive else "pass",
        "failed": failed,
        "reason": reason,
        "criteria": criteria,
        "budget": dict(budget),
    }
    if control is not None:
        result["control"] = control
    return _plain({**result, **context})


# ----------------------------------------------------------------------------- figures


def _pyplot():
    """matplotlib's pyplot, writing files only."""
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on clusters or CI
    import matplotlib.pyplot as plt

    return plt


def threshold_at_fpr(scores_holdout: np.ndarray, fpr: float = 0.01) -> float:
    """The score above which (strictly) at most ``fpr`` of the holdout images lie: the
    (k+1)-th highest holdout score, k = floor(fpr x holdout), as in
    :func:`ctprints.metrics.tpr_at_fpr`; -inf where every holdout image may lie above."""
    negatives = np.sort(np.asarray(scores_holdout, dtype=np.float64))[::-1]
    allowed = int(math.floor(fpr * len(negatives) + 1e-9))
    return float(negatives[allowed]) if allowed < len(negatives) else -math.inf


def plot_evidence(
    risk: DataFrame,
    real_pixels_by_id: dict[str, np.ndarray],
    synthetic_pixels_by_id: dict[str, np.ndarray],
    k: int,
    path: str | Path,
) -> None:
    """The ``k`` riskiest real images (the top of a :func:`risk_table`), one row each: the real
    image, its nearest synthetic image and their absolute difference, captioned with the image,
    patient, member or holdout, distance, SSIM and score rank."""
    plt = _pyplot()
    top = risk.sort_values("rank", kind="stable").head(max(k, 0))
    rows = max(len(top), 1)
    figure, axes = plt.subplots(rows, 3, figsize=(7.2, 2.75 * rows), squeeze=False)
    for axis in axes.ravel():
        axis.set_xticks([])
        axis.set_yticks([])
    if top.empty:
        axes[0, 1].text(0.5, 0.5, "no images", ha="center", va="center")
    for row, item in enumerate(top.itertuples(index=False)):
        real = np.asarray(real_pixels_by_id[item.image_id])
        synthetic = np.asarray(synthetic_pixels_by_id[item.nearest_synthetic])
        difference = np.abs(real.astype(np.int16) - synthetic.astype(np.int16))
        panels = (
            (real, f"real {item.image_id}", 255),
            (synthetic, f"synthetic {item.nearest_synthetic}", 255),
            (difference, f"|difference| (max {int(difference.max())})", max(difference.max(), 1)),
        )
        for axis, (image, title, top_value) in zip(axes[row], panels, strict=True):
            axis.imshow(image, cmap="gray", vmin=0, vmax=top_value, interpolation="nearest")
            axis.set_title(title, fontsize=7)
        side = "member" if item.member == 1 else "holdout"
        axes[row, 1].set_xlabel(
            f"{item.image_id}, patient {item.patient}, {side}: distance {item.distance:.3g}, "
            f"SSIM {item.ssim:.3f}, score rank {item.rank}",
            fontsize=7,
        )
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_scores(
    risk: DataFrame, threshold: float, path: str | Path, label: str = "threshold"
) -> None:
    """Overlaid histograms of the member and holdout scores of a :func:`risk_table`, with a
    vertical line at ``threshold`` (e.g. :func:`threshold_at_fpr`) named ``label``."""
    plt = _pyplot()
    scores = risk["score"].to_numpy(dtype=np.float64)
    finite = scores[np.isfinite(scores)]
    bins = np.histogram_bin_edges(finite if len(finite) else [0.0, 1.0], bins=30)
    figure, axis = plt.subplots(figsize=(5.2, 3.6))
    for member, name, colour in ((1, "members (used)", "C3"), (0, "holdout (not used)", "C0")):
        values = risk.loc[risk["member"] == member, "score"].to_numpy(dtype=np.float64)
        values = values[np.isfinite(values)]
        axis.hist(values, bins=bins, alpha=0.55, color=colour, label=f"{name}, n={len(values)}")
    if np.isfinite(threshold):
        axis.axvline(threshold, color="black", lw=1.0, ls="--", label=f"{label} {threshold:.3g}")
    axis.set_xlabel("attack score (higher: more likely used)")
    axis.set_ylabel("images")
    axis.legend(fontsize=7, loc="best", frameon=False)
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


# ----------------------------------------------------------------------------- the report


MEASURES = {  # statistics key -> what the report calls it
    "auc": "AUC",
    "tpr_at_1pct_fpr": "TPR at 1% FPR",
    "tpr_at_0_1pct_fpr": "TPR at 0.1% FPR",
    "selection_p_auc": "AUC permutation p, adjusted for the choice of attack",
    "selection_p_tpr_at_1pct_fpr": "TPR at 1% FPR permutation p, adjusted likewise",
    "selection_p_tpr_at_0_1pct_fpr": "TPR at 0.1% FPR permutation p, adjusted likewise",
    "p_floor": "smallest p-value these patients allow",
    "permutation_p": "permutation p (members closer; every feature space, min-P corrected)",
    "dcr_share": "synthetic images nearest a member",
    "dcr_expected": "expected without leakage",
    "dcr_member_mean": "mean distance, members",
    "dcr_holdout_mean": "mean distance, holdout",
    "n_members": "member images",
    "n_holdout": "holdout images",
    "member_patients": "member patients",
    "holdout_patients": "holdout patients",
}


def folder_hashes(rows: DataFrame) -> dict[str, str]:
    """folder -> sha256 of the manifest rows' images in it, for the report: the digest of the
    sorted lines "file name<TAB>file sha256" (the manifest's digests of the files' bytes), so
    that it changes when any image is added, removed, renamed or changed."""
    import hashlib

    lines: dict[str, list[str]] = {}
    for path, digest in zip(rows["path"], rows["sha256"], strict=True):
        folder, _, name = str(path).replace("\\", "/").rpartition("/")
        lines.setdefault(folder, []).append(f"{name}\t{digest}\n")
    return {
        folder: hashlib.sha256("".join(sorted(entries)).encode()).hexdigest()
        for folder, entries in sorted(lines.items())
    }


def stats_frame(stats: dict, control: dict | None) -> DataFrame:
    """The statistics table (statistics.tsv): measure, value, low, high, control, control_low,
    control_high, one row per :data:`MEASURES` key (NaN where a number does not apply)."""
    import pandas as pd

    def number(source: dict | None, key: str) -> float:
        value = None if source is None else source.get(key)
        return math.nan if value is None else float(value)

    return pd.DataFrame(
        [
            {
                "measure": measure,
                "value": number(stats, measure),
                "low": number(stats, f"{measure}_low"),
                "high": number(stats, f"{measure}_high"),
                "control": number(control, measure),
                "control_low": number(control, f"{measure}_low"),
                "control_high": number(control, f"{measure}_high"),
            }
            for measure in MEASURES
        ]
    )


def _cell(value) -> str:
    """A table cell: numbers with 3 significant digits, integers whole, NaN and None empty."""
    if value is None or (isinstance(value, float | np.floating) and math.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else ""
    if isinstance(value, int | np.integer) or (
        isinstance(value, float | np.floating) and float(value).is_integer() and abs(value) >= 1
    ):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return f"{value:.3g}"
    return str(value).replace("|", "\\|")


def _table(header: list[str], rows: list[list]) -> list[str]:
    """Markdown table lines."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]


def _interval(low, high) -> str:
    """ "low to high", or nothing where there is no interval."""
    return "" if _cell(low) == "" else f"{_cell(low)} to {_cell(high)}"


def report_markdown(
    group: str,
    verdict: dict,
    stats_table: DataFrame,
    choice: DataFrame,
    patients_top: DataFrame,
    settings: dict,
    hashes: dict[str, str],
    figures: dict[str, str],
    patients_known: bool,
) -> str:
    """The audit's one-page Markdown report: the verdict and its reason first, the statistics
    (:func:`stats_frame`) beside the control's and the budget, the figures (``figures``: caption
    -> file name relative to the report), the riskiest patients (top 10 of ``patients_top``),
    the attack choice (:func:`choose`), the settings, the sha256 of every input folder and the
    limitations. Without a patients file (``patients_known`` False) a warning near the top says
    that slices were treated as independent."""
    budget = verdict.get("budget", {})
    alpha = budget.get("alpha")
    independence = (
        "No patients file was given: every slice was treated as an independent patient. Slices "
        "of one patient are correlated, so the intervals are too narrow and the p-value too "
        "small; give a patients file (image_id,patient) for an honest audit."
    )
    lines = [f"# Membership audit: {group}", ""]
    lines += [f"**Verdict: {verdict['verdict'].upper()}**: {verdict['reason']}", ""]
    if not patients_known:
        lines += [f"> **Warning.** {independence}", ""]
    for criterion in verdict.get("criteria", []):
        word = "within budget" if criterion["passed"] else "over budget"
        if criterion["name"] == "permutation":
            lines.append(
                f"- permutation p {_cell(criterion['value'])}: {word} "
                f"(fails below alpha {_cell(criterion['budget'])})"
            )
        else:
            which = _WORDS[criterion["compared"]].strip() or "value"
            over = criterion["compared_value"] > criterion["budget"]
            if criterion["passed"] and over:
                word = "over budget, but within chance after the choice of attack"
            guard = criterion.get("selected_p")
            lines.append(
                f"- {MEASURES.get(criterion['name'], criterion['name'])}: {which} "
                f"{_cell(criterion['compared_value'])}, budget {_cell(criterion['budget'])}"
                + ("" if guard is None else f", selection-adjusted p {_cell(guard)}")
                + f": {word}"
            )
    lines += ["", "## Statistics", ""]
    limits = {
        name: f"<= {_cell(budget[key])}"
        for name, key in CRITERIA.items()
        if budget.get(key) is not None
    }
    if alpha is not None:
        limits["permutation_p"] = f">= {_cell(alpha)}"
        for name in CRITERIA:
            limits[f"selection_p_{name}"] = f"guards {MEASURES[name]} at {_cell(alpha)}"
        limits["p_floor"] = f"< {_cell(alpha)}, or no test can fail"
    level = f"{100 * (1 - alpha):g}% " if alpha is not None else ""
    header = ["measure", "value", f"{level}interval", "control", "control interval", "budget"]
    rows = [
        [
            MEASURES.get(row.measure, row.measure),
            row.value,
            _interval(row.low, row.high),
            row.control,
            _interval(row.control_low, row.control_high),
            limits.get(row.measure, ""),
        ]
        for row in stats_table.itertuples(index=False)
    ]
    lines += _table(header, rows)
    lines += [
        "",
        "The control splits the members into two halves, both used: an attack that separates "
        "them measures something other than membership. It has half as many patients a side "
        "(and splits images, not patients, where there are fewer than 4 members), so it shows "
        "how noisy these numbers are rather than a calibrated chance level; the "
        "selection-adjusted p-values are the calibrated test.",
    ]
    floor = stats_table.set_index("measure")["value"].get("p_floor")
    if floor is not None and not math.isnan(floor):
        lines += [
            "",
            f"With these patients no permutation p-value can be below {_cell(floor)}"
            + (
                f", which is not below alpha {_cell(alpha)}: no test could fail this group, "
                "and its verdict is inconclusive."
                if alpha is not None and floor >= alpha
                else "."
            ),
        ]
    if figures:
        lines += ["", "## Figures"]
        for caption, name in figures.items():
            lines += ["", f"![{caption}]({name})"]
    lines += ["", "## Riskiest patients", ""]
    top = patients_top.head(10)
    lines += _table(list(top.columns), top.to_numpy(dtype=object).tolist())
    lines += ["", "## Attack choice", ""]
    lines += _table(list(choice.columns), choice.to_numpy(dtype=object).tolist())
    control_best = choice["control_auc"].max() if "control_auc" in choice else math.nan
    lines += [
        "",
        f"The chosen attack is the best of {len(choice)} by cross-validated AUC, which biases "
        f"its AUC upward; the best control AUC over the same candidates is "
        f"{_cell(control_best) or 'not available'}. The verdict judges the AUC and TPR only "
        "where their permutation p, adjusted for this choice (max-T), is below alpha.",
        "",
        "## Settings",
        "",
    ]
    lines += [f"- {name}: {value}" for name, value in settings.items()]
    if "budget" not in settings:
        judged = {k: "not judged" if v is None else v for k, v in budget.items()}
        lines += [f"- budget: {', '.join(f'{k} {v}' for k, v in judged.items())}"]
    lines += ["", "## Inputs (sha256)", ""]
    lines += _table(["folder", "sha256"], [[folder, digest] for folder, digest in hashes.items()])
    lines += [
        "",
        "## Limitations",
        "",
        "- A black-box attack that finds nothing is not a proof of privacy: a stronger attack, "
        "or one with access to the generator, may still find members.",
        "- The result holds only for this feature space and these attacks.",
        "- Choosing the best of several attacks biases its AUC upward; the selection-adjusted "
        "p-values correct for it, and the distance test is corrected for running in every "
        "feature space.",
        "- Any failed criterion fails the group, so without leakage a group fails somewhat more "
        "often than alpha. The permutation tests hold the out-of-fold scores fixed although "
        "their cross-validation used the true labels, so their p-values are approximate.",
        "- The interval's lower end of a two-sided (1 - alpha) interval is a one-sided test at "
        "alpha / 2: decide_on lower is conservative in that respect.",
        "- PASS means that these attacks found no leakage beyond chance on these patients; it "
        "does not mean private.",
    ]
    if not patients_known:
        lines.append(f"- {independence}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- one whole audit


@dataclass
class Audit:
    """Everything one group's audit found (:func:`run_audit`); :func:`write_audit` writes it."""

    group: str
    dev: DataFrame  # the dev rows, used then not used
    synthetic: DataFrame  # the synthetic rows
    choice: DataFrame  # the candidates of :func:`choose`
    risk: DataFrame
    patients: DataFrame  # :func:`patient_table`
    stats: dict
    control: dict | None
    verdict: dict
    real_pixels: np.ndarray
    synthetic_pixels: np.ndarray
    settings: dict  # what the page lists under "Settings"
    patients_known: bool


def run_audit(
    parts: dict,
    features_by_embedder: dict[str, DataFrame],
    patients: dict[str, str] | None,
    read_pixels: Callable,
    group: str,
    attacks: list[str],
    budget: dict,
    attack: str | None = None,
    embedder: str | None = None,
    n_folds: int = 5,
    seed: int = 0,
    attack_settings: dict | None = None,
    n_boot: int = 1000,
    n_permutations: int = 999,
    **context,
) -> Audit:
    """The whole audit of one group from its dev rows (``parts`` of
    :func:`ctprints.membership.group_rows`), its embeddings by embedder and its patients
    (image_id -> patient, or None: images): candidate scores, the choice, the risk tables, the
    statistics and the control's, the selection-adjusted p and the verdict (``context`` goes
    into the verdict, e.g. the dataset). ``budget`` is checked here."""
    from ctprints.membership import part_features

    budget = check_budget(budget)
    generated = parts["generated"]
    if "split" in generated.columns:  # the dev folder's synthetic images only, as documented
        parts = {**parts, "generated": generated[generated["split"] == "dev"]}
    if parts["generated"].empty:
        raise AuditError(f"task1 group {group}: no synthetic images in the dev folder")
    dev, dev_patients = dev_inputs(parts, patients, group)
    candidates = candidate_scores(
        parts, features_by_embedder, attacks, n_folds, seed, attack_settings, read_pixels, patients
    )
    attack, embedder, choice = choose(candidates, attack, embedder, group)
    log.info("attack %s in %s (cross-validated AUC %.3f)", attack, embedder, choice.cv_auc.iloc[0])
    chosen = candidates[(candidates.attack == attack) & (candidates.embedder == embedder)]
    scored = chosen[chosen.split == "dev"].set_index("image_id").loc[list(dev.image_id)]
    labels, scores = scored.label.astype(int).to_numpy(), scored.score.to_numpy()
    synthetic = parts["generated"]
    real_features = part_features(features_by_embedder[embedder], dev)
    synthetic_features = part_features(features_by_embedder[embedder], synthetic)
    real_pixels, synthetic_pixels = read_pixels(list(dev.path)), read_pixels(list(synthetic.path))
    risk = risk_table(
        dev,
        labels,
        scores,
        dev_patients,
        real_features,
        synthetic_features,
        list(synthetic.image_id),
        real_pixels,
        synthetic_pixels,
    )
    # The distance test in every candidate feature space, corrected for looking in several:
    # in the chosen attack's space alone it would follow the choice (docs/task1-and-audit.md).
    spaces = {
        name: (part_features(frame, synthetic), part_features(frame, dev))
        for name, frame in features_by_embedder.items()
        if name in set(choice["embedder"])
    }
    resampling = dict(n_boot=n_boot, n_permutations=n_permutations, seed=seed)
    resampling["alpha"] = budget["alpha"]
    stats = statistics(
        labels, scores, dev_patients, synthetic_features, real_features, spaces=spaces, **resampling
    )
    # The member-vs-member control: the used images in two halves, both members (halves of whole
    # patients where there are enough used patients, else of images, without a patient column).
    control_rows = chosen[chosen.split == "control"]
    control = None
    if len(control_rows):
        position = {image_id: i for i, image_id in enumerate(dev.image_id)}
        by_patient = control_rows.patient.notna().all()
        rows = [position[image_id] for image_id in control_rows.image_id]
        control = statistics(
            control_rows.label.astype(int).to_numpy(),
            control_rows.score.to_numpy(),
            control_rows.patient.astype(str).to_numpy() if by_patient else None,
            synthetic_features,
            real_features[rows],
            spaces={name: (syn, real[rows]) for name, (syn, real) in spaces.items()},
            **resampling,
        )
        control["best_auc"] = float(choice.control_auc.max())
    else:
        log.warning("too few used images for the member-vs-member control; reported without it")
    adjusted = selection_p(candidates, choice, n_permutations, seed)
    stats |= {f"selection_p_{name}": value for name, value in adjusted.items()}
    decision = verdict(
        stats,
        budget,
        control,
        selected_p=adjusted,
        group=group,
        attack=attack,
        embedder=embedder,
        patients_known=patients is not None,
        **context,
    )
    log.info("%s", decision["reason"])
    settings = {
        **context,
        "attack": attack,
        "feature space": embedder,
        "folds": n_folds,
        "seed": seed,
        "bootstrap resamples": n_boot,
        "permutations": n_permutations,
        "budget": json.dumps(budget),
        "distance test p per feature space (uncorrected)": ", ".join(
            f"{name} {value:.3g}" for name, value in stats["permutation_p_spaces"].items()
        ),
    }
    return Audit(
        group,
        dev,
        synthetic,
        choice,
        risk,
        patient_table(risk),
        stats,
        control,
        decision,
        real_pixels,
        synthetic_pixels,
        settings,
        patients is not None,
    )


def write_audit(
    result: Audit, outputs: dict[str, str | Path], k: int = 12, files: tuple[str, ...] = ()
) -> None:
    """Every file of one audit (``outputs``: the names of ``ctprints.paths.AUDIT_FILES`` -> path;
    the page links the figures by their file names, so they belong beside it). ``files`` (for
    example the patients file, which decides membership) are hashed on the page beside the
    image folders."""
    import hashlib

    import pandas as pd

    result.choice.to_csv(outputs["attacks"], sep="\t", index=False, float_format="%.4f")
    result.risk.to_csv(outputs["risk"], index=False, float_format="%.6g")
    result.patients.to_csv(outputs["patients"], index=False, float_format="%.6g")
    table = stats_frame(result.stats, result.control)
    table.to_csv(outputs["statistics"], sep="\t", index=False, float_format="%.4f")
    Path(outputs["verdict"]).write_text(json.dumps(result.verdict, indent=2))
    plot_evidence(
        result.risk,
        dict(zip(result.dev.image_id, result.real_pixels, strict=True)),
        dict(zip(result.synthetic.image_id, result.synthetic_pixels, strict=True)),
        k,
        outputs["evidence"],
    )
    holdout = result.risk.score[result.risk.member == 0].to_numpy()
    plot_scores(result.risk, threshold_at_fpr(holdout, 0.01), outputs["scores"])
    page = report_markdown(
        result.group,
        result.verdict,
        table,
        result.choice,
        result.patients.head(10),
        result.settings,
        folder_hashes(pd.concat([result.dev, result.synthetic]))
        | {path: hashlib.sha256(Path(path).read_bytes()).hexdigest() for path in files},
        {name: Path(outputs[name]).name for name in ("evidence", "scores")},
        result.patients_known,
    )
    Path(outputs["report"]).write_text(page)
