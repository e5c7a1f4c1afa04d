"""The audit's evidence of one chosen attack: per image and per patient risk, and the set-level
statistics with their patient-level intervals and tests.

- :func:`risk_table`, :func:`patient_table`: per image and per patient risk and evidence (score,
  rank, empirical p-value against the holdout, nearest synthetic image, distance, SSIM).
- :func:`statistics`: the AUC by image with its patient-bootstrap interval, and the
  permutation test of "members are closer to the synthetic set" (:func:`distance_test`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ctprints.attacks import ssim, synthetic_scaler
from ctprints.errors import AuditError
from ctprints.inference import (
    cluster_draws,
    holm,
    labellings,
    p_floor,
    percentile_interval,
    rows_of,
    unit_index,
)
from ctprints.metrics import auc
from ctprints.neighbours import nearest

if TYPE_CHECKING:
    from pandas import DataFrame


def nearest_synthetic(synthetic_features: np.ndarray, real_features: np.ndarray):
    """Distance (R,) and index (R,) of each real image's nearest synthetic image, in the feature
    space standardised with the synthetic set's statistics."""
    scale = synthetic_scaler(np.asarray(synthetic_features))
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
    score, rank (1 = highest score, ties share the lowest rank), p_value_by_image, percentile,
    nearest_synthetic, distance, ssim.

    p_value_by_image is the empirical p-value of the score against the holdout images: (1 + holdout
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
    distance, nearest = nearest_synthetic(synthetic_features, real_features)
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
            "p_value_by_image": p_value,
            "percentile": 100 * below / max(n_holdout, 1),
            "nearest_synthetic": np.asarray(synthetic_ids, dtype=str)[nearest],
            "distance": distance.astype(np.float64),
            "ssim": similarity,
        }
    )
    return table.sort_values("rank", kind="stable").reset_index(drop=True)


def patient_table(risk: DataFrame) -> DataFrame:
    """Per patient of a :func:`risk_table` (an image where patients are unknown): patient,
    member, slices, score (the mean of its slices' scores: the patient-level attack), max_score,
    p_value, p_holm, min_distance, max_ssim; sorted by score, highest first.

    p_value is the patient's score against the holdout patients' scores, (1 + holdout >= s) /
    (1 + holdout), a holdout patient leaving itself out; p_holm adjusts it over every patient of
    the table (Holm), so that a p_holm below alpha singles a patient out with a family-wise
    error rate of alpha over the patients.
    """
    table = (
        risk.groupby("patient", sort=False)
        .agg(
            member=("member", "first"),
            slices=("image_id", "size"),
            score=("score", "mean"),
            max_score=("score", "max"),
            min_distance=("distance", "min"),
            max_ssim=("ssim", "max"),
        )
        .reset_index()
    )
    scores = table["score"].to_numpy(dtype=np.float64)
    holdout = np.sort(scores[table["member"].to_numpy() == 0])
    at_least = len(holdout) - np.searchsorted(holdout, scores, side="left")
    own = (table["member"].to_numpy() == 0).astype(int)  # a holdout patient is not its own peer
    table["p_value"] = (1 + at_least - own) / (1 + len(holdout) - own)
    table["p_holm"] = holm(table["p_value"].to_numpy())
    columns = ["patient", "member", "slices", "score", "max_score", "p_value", "p_holm"]
    table = table[[*columns, "min_distance", "max_ssim"]]
    return table.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


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
    """The evidence beside the gate for one attack's dev scores, as a flat JSON-ready dict.

    - auc_by_image: the AUC over slices, with a (1 - alpha) percentile interval (``_low``,
      ``_high``) from a bootstrap that resamples patients with replacement (images where
      ``patients`` is None) and keeps resamples holding both classes;
    - permutation_p: one-sided permutation test of "members are closer to the synthetic set than
      holdout patients": per patient the mean over its slices of the distance to the nearest
      synthetic image; T = mean over holdout patients - mean over members (dcr_holdout_mean -
      dcr_member_mean), by :func:`distance_test` in every feature space of ``spaces`` (name ->
      (synthetic, real) features; None: the given features alone) with its min-P correction;
      permutation_p_spaces holds each space's uncorrected p; p_floor the smallest p these
      patients allow (:func:`ctprints.inference.p_floor`);
    - n_members, n_holdout (images), member_patients, holdout_patients (None where patients are
      unknown), resampled ("patient" or "image") and alpha.

    ``real_features`` are the rows of ``labels`` (1 member, 0 holdout) in order. Deterministic
    for a seed.
    """
    labels = np.asarray(labels, dtype=int)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.min() == labels.max():
        raise AuditError("the audit statistics need both member and holdout images")
    units, n_units, unit_member = unit_index(labels, patients, AuditError)
    rows = rows_of(units, n_units)
    draws = cluster_draws(unit_member, n_boot, np.random.default_rng(seed))
    boot = [float(auc(labels[rows(drawn)], scores[rows(drawn)])[0]) for drawn in draws]
    low, high = percentile_interval(boot, 1 - alpha)
    out: dict = {
        "auc_by_image": float(auc(labels, scores)[0]),
        "auc_by_image_low": low,
        "auc_by_image_high": high,
    }
    distance, _ = nearest_synthetic(synthetic_features, real_features)
    per_unit = np.bincount(units, weights=distance, minlength=n_units) / np.bincount(units)
    n_member_units = int(unit_member.sum())
    spaces = spaces or {"features": (synthetic_features, real_features)}
    corrected, by_space = distance_test(labels, patients, spaces, n_permutations, seed)
    return out | {
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
    units, n_units, unit_member = unit_index(labels, patients, AuditError)
    labelled, exact = labellings(unit_member, n_permutations, np.random.default_rng(seed))
    if exact:
        observed = int(np.flatnonzero((labelled == unit_member).all(axis=1))[0])
    else:
        labelled, observed = np.vstack([unit_member[None], labelled]), 0
    counts = np.bincount(units, minlength=n_units)
    n_members = int(unit_member.sum())
    p_values = {}
    for name, (synthetic, real) in spaces.items():
        distance, _ = nearest_synthetic(synthetic, real)
        per_unit = np.bincount(units, weights=distance, minlength=n_units) / counts
        member_sum = labelled @ per_unit
        t = (per_unit.sum() - member_sum) / (n_units - n_members) - member_sum / n_members
        ordered = np.sort(t)
        tolerance = 1e-12 * np.maximum(1.0, np.abs(t))
        at_least = len(t) - np.searchsorted(ordered, t - tolerance, side="left")
        p_values[name] = at_least / len(t)
    smallest = np.min(np.vstack(list(p_values.values())), axis=0)
    corrected = float(np.mean(smallest <= smallest[observed] * (1 + 1e-12)))
    return corrected, {name: float(p[observed]) for name, p in p_values.items()}
