"""Task 1's hard labels: thresholds chosen on dev scores only, the labels they give, and the
choice of the submitted run.

- :func:`choose_threshold`: a threshold from labelled (dev) out-of-fold scores by one of
  :data:`THRESHOLD_RULES` (the challenge's metric, F1 or kappa, by default).
- :func:`label_images`: hard labels of cross-fitted test scores, per image or per patient, by
  rank where a threshold would label every image alike; :func:`cross_validated_labels` labels
  dev images fold by fold as a run file would label unseen ones.
- :func:`select_run`: the submitted run of a group, chosen on dev by cross-validated F1 or kappa.
- :func:`constant_defect`: the message for a run file whose labels are all alike although its
  dev AUC says the scores carry a signal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from ctprints.errors import MembershipError

THRESHOLD_RULES = ("f1", "kappa", "youden", "prior")


def _metric_cut(scores: np.ndarray, labels: np.ndarray, metric: str) -> float:
    """The cut that maximises ``metric`` (F1 of used, or Cohen's kappa) of ``score >= cut`` on
    the labelled scores, halfway between two consecutive distinct scores, so that at least one
    labelled image falls on each side; ties go to the lowest cut (the most images used). Where
    every score is the same, that score: every image used."""
    order = np.argsort(-scores, kind="stable")
    ranked, y = scores[order], labels[order].astype(np.float64)
    n, positives = len(y), y.sum()
    # k = the number labelled used, where the cut can fall between ranked[k - 1] and ranked[k]
    k = np.flatnonzero(ranked[:-1] > ranked[1:]) + 1
    if len(k) == 0:  # one score for every image: no ranking; F1 is best with all used
        return float(ranked[0])
    tp = np.cumsum(y)[k - 1]
    fp, fn = k - tp, positives - tp
    if metric == "f1":
        value = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    else:
        observed = (tp + (n - positives - fp)) / n
        chance = (positives * k + (n - positives) * (n - k)) / n**2
        value = (observed - chance) / np.where(chance < 1, 1 - chance, 1)
    best = k[np.flatnonzero(value >= value.max() - 1e-12)[-1]]
    return float((ranked[best - 1] + ranked[best]) / 2)


def choose_threshold(scores: np.ndarray, labels: np.ndarray, rule: str = "f1") -> float:
    """A score threshold from labelled (dev) scores only; ``score >= threshold`` means used.

    ``f1`` and ``kappa`` maximise the challenge's metric on the labelled scores (the cut between
    two of them, the lowest of equal ones: at least one image on each side). ``youden``
    maximises TPR - FPR, halfway between the lowest score it labels used and the next lower one;
    ``prior`` labels as many images used as the dev share of used images. The test set's
    balance is never looked at.
    """
    from sklearn.metrics import roc_curve

    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels)
    if rule in ("f1", "kappa"):
        return _metric_cut(scores, labels, rule)
    if rule == "youden":
        fpr, tpr, thresholds = roc_curve(labels, scores, drop_intermediate=False)
        best = int(np.argmax(tpr - fpr))
        cut = min(thresholds[best], np.max(scores))
        below = thresholds[best + 1] if best + 1 < len(thresholds) else cut
        return float((cut + below) / 2)
    if rule == "prior":
        share = float(np.mean(labels == 1))
        return float(np.quantile(scores, 1 - share))
    raise MembershipError(f"unknown threshold rule {rule!r}; known: {', '.join(THRESHOLD_RULES)}")


def hard_labels(scores: np.ndarray, threshold: float) -> np.ndarray:
    return (np.asarray(scores) >= threshold).astype(int)


def top_share(scores: np.ndarray, share: float) -> np.ndarray:
    """1 for the ``share`` of highest scores (at least one image, and at least one left out)."""
    scores = np.asarray(scores, dtype=np.float64)
    count = int(np.clip(round(share * len(scores)), 1, max(len(scores) - 1, 1)))
    out = np.zeros(len(scores), dtype=int)
    out[np.argsort(-scores, kind="stable")[:count]] = 1
    return out


def _by_unit(scores: np.ndarray, units: Sequence | None) -> tuple[np.ndarray, np.ndarray]:
    """Mean score per unit (patient or pseudo-patient; each row its own unit without units) and
    each row's unit index."""
    scores = np.asarray(scores, dtype=np.float64)
    if units is None:
        return scores, np.arange(len(scores))
    _, inverse = np.unique(np.asarray(units, dtype=str), return_inverse=True)
    return np.bincount(inverse, scores) / np.bincount(inverse), inverse


class Labelling(NamedTuple):
    """Hard labels (1 used), the dev threshold, and the dev share used at that threshold where
    the labels went by rank instead (``None`` where the threshold cut the scores)."""

    labels: np.ndarray
    threshold: float
    rank_share: float | None


def label_images(
    dev_scores: np.ndarray,
    dev_labels: np.ndarray,
    scores: np.ndarray,
    rule: str = "f1",
    dev_units: Sequence | None = None,
    units: Sequence | None = None,
) -> Labelling:
    """Hard labels of ``scores`` from a threshold chosen on labelled dev scores only
    (:func:`choose_threshold`).

    The dev scores must be on the scale of ``scores``: out-of-fold dev scores with cross-fitted
    test scores (:func:`ctprints.membership.cross_fitted_scores`). Where the threshold would
    still label every image alike (most often an F1 cut so low on dev that every new image
    clears it), the share of dev images it labels used is labelled used by rank instead, and
    ``rank_share`` says so. With ``units`` (the patient, or pseudo-patient, of each image) an
    image takes its unit's label: the unit's mean score against a threshold chosen on the dev
    units' mean scores (``dev_units``; each dev image its own unit without).
    """
    dev_labels = np.asarray(dev_labels, dtype=int)
    dev_values, dev_index = _by_unit(dev_scores, dev_units)
    first = np.unique(dev_index, return_index=True)[1]
    threshold = choose_threshold(dev_values, dev_labels[first], rule)
    values, index = _by_unit(scores, units)
    labels = hard_labels(values, threshold)
    share = float(np.mean(dev_values >= threshold))
    if len(values) > 1 and labels.min() == labels.max() and 0 < share < 1:
        return Labelling(top_share(values, share)[index], threshold, share)
    return Labelling(labels[index], threshold, None)


def cross_validated_labels(
    scores: np.ndarray,
    labels: np.ndarray,
    fold: np.ndarray,
    rule: str = "f1",
    units: Sequence | None = None,
) -> np.ndarray:
    """Hard labels of out-of-fold dev scores as a run file would label new images: fold k's
    images are cut by a threshold chosen on the other folds' scores (:func:`label_images`)."""
    scores, labels, fold = np.asarray(scores), np.asarray(labels, dtype=int), np.asarray(fold)
    units = None if units is None else np.asarray(units, dtype=str)
    out = np.zeros(len(scores), dtype=int)
    for k in np.unique(fold):
        train, test = fold != k, fold == k
        out[test] = label_images(
            scores[train],
            labels[train],
            scores[test],
            rule,
            None if units is None else units[train],
            None if units is None else units[test],
        ).labels
    return out


DEFECT_AUC = 0.6


def constant_defect(dev_scores, dev_labels, labels) -> str | None:
    """A message when a run file's labels are all alike although its out-of-fold dev AUC is
    over :data:`DEFECT_AUC`: the scores carry a signal that the labels throw away."""
    from ctprints.metrics import auc

    labels = np.asarray(labels)
    if labels.min() != labels.max():
        return None
    dev_auc = float(auc(np.asarray(dev_labels, dtype=int), np.asarray(dev_scores))[0])
    if dev_auc <= DEFECT_AUC:
        return None
    word = "used" if labels[0] else "not used"
    return (
        f"every test image is labelled {word}, although the cross-validated dev AUC is "
        f"{dev_auc:.3f} (> {DEFECT_AUC})"
    )


SELECT_METRICS = ("f1", "kappa")


def select_run(
    candidates: Mapping,
    metric: str = "f1",
    rule: str = "f1",
    fixed: str | None = None,
):
    """The submitted run of one group, chosen on dev by the challenge's metric.

    ``candidates`` maps each run name to a DataFrame of its dev rows (columns ``score``,
    ``label`` and ``fold``; out-of-fold scores, every candidate with the same folds). Each is
    labelled as its run file labels the test images, fold by fold
    (:func:`cross_validated_labels`), and scored
    with the challenge's ``metric`` (F1 of "used" or Cohen's kappa). The best is chosen, ties
    broken by the higher dev AUC, then by name; ``fixed`` (a configured run) overrides the
    choice, and the table says so. Returns a DataFrame, one row per run: run, dev_auc, dev_f1,
    dev_kappa, dev_share_used, chosen (bool) and reason.
    """
    import pandas as pd

    from ctprints.metrics import auc, hard_metrics

    if metric not in SELECT_METRICS:
        raise MembershipError(f"unknown metric {metric!r}; known: {', '.join(SELECT_METRICS)}")
    rows = []
    for run, dev in candidates.items():
        folds_seen = dev["fold"].to_numpy()
        if pd.isna(folds_seen).any():
            raise MembershipError(f"{run}: dev rows without a fold; it was not cross-validated")
        labels = dev["label"].astype(int).to_numpy()
        predicted = cross_validated_labels(dev["score"], labels, folds_seen.astype(int), rule)
        hard = hard_metrics(labels, predicted)
        rows.append(
            {
                "run": run,
                "dev_auc": float(auc(labels, dev["score"].to_numpy())[0]),
                "dev_f1": float(hard["f1"][0]),
                "dev_kappa": float(hard["kappa"][0]),
                "dev_share_used": float(predicted.mean()),
            }
        )
    table = pd.DataFrame(rows)
    ranked = table.sort_values(
        [f"dev_{metric}", "dev_auc", "run"], ascending=[False, False, True], kind="stable"
    )
    best = ranked.iloc[0]["run"]
    if fixed is not None and fixed not in set(table["run"]):
        runs = ", ".join(table.run)
        raise MembershipError(f"task1.run: {fixed!r} is not among the runs ({runs})")
    chosen = fixed or best
    table["chosen"] = table["run"] == chosen
    what = f"cross-validated dev {'F1' if metric == 'f1' else 'kappa'}"
    table["reason"] = ""
    table.loc[table.chosen, "reason"] = (
        f"fixed by task1.run (the best {what} is {best})"
        if fixed
        else f"highest {what} of {len(table)} runs, same folds for all"
    )
    return table
