"""Scores of run files against ground truth, with bootstrap confidence intervals.

Task 1 (membership, :func:`membership_metrics`): ROC AUC and TPR at 1% FPR of attack scores,
F1, kappa and accuracy of hard labels, a (patient-)cluster bootstrap and a permutation test.
Task 2 (attribution, :func:`attribution_metrics`): label-sensitive and label-free agreement of
generator names.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ctprints.attacks import MembershipError
from ctprints.inference import (
    cluster_draws,
    percentile_interval,
    permutation_p,
    rows_of,
    unit_index,
)

# scipy.optimize and sklearn.metrics are imported where task 2 needs them: the task 1 rules that
# import this module (every run file) start about 0.5 s sooner without them.

# ----------------------------------------------------------------------------- task 1: membership


def auc(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ROC AUC (Mann-Whitney, ties counted half) of each row of (B, N) labels and scores."""
    from scipy.stats import rankdata

    labels = np.atleast_2d(np.asarray(labels, dtype=bool))
    ranks = rankdata(np.atleast_2d(scores), axis=1)
    positives = labels.sum(axis=1)
    negatives = labels.shape[1] - positives
    rank_sum = (ranks * labels).sum(axis=1)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def tpr_at_fpr(labels: np.ndarray, scores: np.ndarray, fpr_limit: float = 0.01) -> float:
    """The highest TPR with FPR at most ``fpr_limit``: the share of used images scoring above
    the (k+1)-th highest not-used score, k = floor(fpr_limit * not-used images)."""
    labels, scores = np.asarray(labels, dtype=bool), np.asarray(scores, dtype=np.float64)
    negatives = np.sort(scores[~labels])[::-1]
    allowed = int(math.floor(fpr_limit * len(negatives) + 1e-9))
    if allowed >= len(negatives):
        return 1.0
    return float(np.mean(scores[labels] > negatives[allowed]))


def hard_metrics(labels: np.ndarray, predicted: np.ndarray) -> dict[str, np.ndarray]:
    """F1 of "used", Cohen's kappa and accuracy of each row of (B, N) labels and predictions."""
    labels = np.atleast_2d(labels).astype(bool)
    predicted = np.atleast_2d(predicted).astype(bool)
    n = labels.shape[1]
    tp = (labels & predicted).sum(axis=1)
    fp = (~labels & predicted).sum(axis=1)
    fn = (labels & ~predicted).sum(axis=1)
    tn = n - tp - fp - fn
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        observed = (tp + tn) / n
        expected = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / n**2
        kappa = np.where(expected < 1, (observed - expected) / (1 - expected), 0.0)
    return {"f1": f1, "kappa": kappa, "accuracy": observed}


def hindsight_f1(labels: np.ndarray, scores: np.ndarray) -> float:
    """The F1 of "used" of the best threshold on these very scores, chosen with their labels:
    a reference for what a threshold could reach, never a way to choose one."""
    labels = np.asarray(labels, dtype=bool)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    sorted_scores = np.asarray(scores, dtype=np.float64)[order]
    tp = np.cumsum(labels[order])
    labelled = np.arange(1, len(labels) + 1)
    # Only cut between distinct scores: tied images take one label.
    cut = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    f1 = 2 * tp / (labelled + labels.sum())
    return float(f1[cut].max())


def membership_metrics(
    labels: np.ndarray,
    scores: np.ndarray,
    predicted: np.ndarray | None = None,
    n_boot: int = 1000,
    n_permutations: int = 999,
    seed: int = 0,
    patient_ids: Sequence | None = None,
    unit: str = "patient",
) -> dict:
    """ROC AUC, TPR at 1% FPR and, with hard labels, F1 of "used", Cohen's kappa and accuracy;
    each with a bootstrap 95% CI (resamples holding both classes); and a one-sided permutation
    p-value for the AUC, (1 + #permuted AUC >= AUC) / (1 + permutations).

    With ``patient_ids`` (the patient of each row; membership is per patient) the bootstrap
    resamples patients and the permutation test permutes patients' labels: slices of one patient
    are not independent, and treating them as such gives intervals and p-values that are far too
    small. ``unit`` names them in the ``resampled`` column ("patient", "pseudo-patient").
    """
    labels = np.asarray(labels, dtype=int)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.min() == labels.max():
        raise MembershipError("scoring needs both used and not-used images")
    rng = np.random.default_rng(seed)
    units, n_units, unit_label = unit_index(labels, patient_ids, MembershipError)
    rows = rows_of(units, n_units)
    samples = [rows(drawn) for drawn in cluster_draws(unit_label, n_boot, rng)]
    values = {
        "auc": (auc(labels, scores)[0], np.array([auc(labels[i], scores[i])[0] for i in samples])),
        "tpr_at_1fpr": (
            tpr_at_fpr(labels, scores),
            np.array([tpr_at_fpr(labels[i], scores[i]) for i in samples]),
        ),
    }
    if predicted is not None:
        predicted = np.asarray(predicted, dtype=int)
        whole = hard_metrics(labels, predicted)
        resampled = [hard_metrics(labels[i], predicted[i]) for i in samples]
        values |= {
            name: (whole[name][0], np.array([r[name][0] for r in resampled])) for name in whole
        }
    out: dict = {"n": len(labels), "n_used": int(labels.sum())}
    for name, (value, boot) in values.items():
        low, high = percentile_interval(boot, 0.95)
        out |= {name: float(value), f"{name}_ci_low": float(low), f"{name}_ci_high": float(high)}
    permuted = np.array([rng.permutation(unit_label)[units] for _ in range(n_permutations)])
    permuted_auc = auc(permuted, np.broadcast_to(scores, permuted.shape))
    out["p_value"] = permutation_p(permuted_auc, out["auc"], exact=False)
    out["resampled"] = unit if patient_ids is not None else "image"
    return out


# ----------------------------------------------------------------------------- task 2: attribution


def hungarian_accuracy(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """Accuracy after the best one-to-one renaming of predicted labels (label-free)."""
    from scipy.optimize import linear_sum_assignment

    truth_names, truth_index = np.unique(np.asarray(truth, dtype=str), return_inverse=True)
    predicted_names, predicted_index = np.unique(
        np.asarray(predicted, dtype=str), return_inverse=True
    )
    counts = np.zeros((len(predicted_names), len(truth_names)), dtype=np.int64)
    np.add.at(counts, (predicted_index, truth_index), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / len(truth_index))


def match_unseen(
    truth: Sequence[str], predicted: Sequence[str], known: Sequence[str]
) -> np.ndarray:
    """The predicted names with the new ones (not in ``known``) renamed to the truth's unseen
    generators by the one-to-one matching that names the most images right (Hungarian). A
    method cannot know which of two unseen generators the truth calls ``model_4``, so where the
    truth has several, its new names are scored up to that renaming; a new name left unmatched
    can name no image right."""
    from scipy.optimize import linear_sum_assignment

    truth = np.asarray(truth, dtype=str)
    predicted = np.asarray(predicted, dtype=str)
    known = set(map(str, known))
    unseen = sorted(set(truth) - known)
    new = sorted(set(predicted) - known)
    if not unseen or not new:
        return predicted
    counts = np.array([[np.sum((predicted == p) & (truth == t)) for t in unseen] for p in new])
    rows, cols = linear_sum_assignment(counts, maximize=True)
    rename = {p: f"unmatched:{p}" for p in new}
    rename |= {new[r]: unseen[c] for r, c in zip(rows, cols, strict=True)}
    return np.array([rename.get(p, p) for p in predicted], dtype=str)


def _scored(truth: np.ndarray, predicted, known) -> tuple[np.ndarray, str]:
    """The predicted names as scored, and how: matched to the truth's unseen generators where
    it names two or more (:func:`match_unseen`), else as given."""
    predicted = np.asarray(predicted, dtype=str)
    if known is not None and len(set(truth) - set(map(str, known))) >= 2:
        return match_unseen(truth, predicted, known), "unseen matched"
    return predicted, "names"


def image_correct(
    truth: Sequence[str], predicted: Sequence[str], known: Sequence[str] | None = None
) -> np.ndarray:
    """Per test image, whether its name is right as :func:`attribution_metrics` scores it."""
    truth = np.asarray(truth, dtype=str)
    return truth == _scored(truth, predicted, known)[0]


def paired_task2(
    truth: Sequence[str],
    runs: dict[str, Sequence[str]],
    baselines: Sequence[str],
    known: Sequence[str] | None = None,
):
    """Every run against each baseline run on the same test images: run, baseline, unit
    ("image"), n, wins (images only the run names right), losses, difference (accuracy
    difference), p (exact one-sided McNemar that the run is right more often,
    :func:`ctprints.inference.mcnemar_p`) and p_holm (Holm over every row of the table). A
    baseline is not set against itself; baselines not among ``runs`` are left out."""
    import pandas as pd

    from ctprints.inference import holm, mcnemar_p

    correct = {run: image_correct(truth, predicted, known) for run, predicted in runs.items()}
    rows = []
    for baseline in [b for b in baselines if b in correct]:
        for run, right in correct.items():
            if run == baseline:
                continue
            base = correct[baseline]
            rows.append(
                {
                    "run": run,
                    "baseline": baseline,
                    "unit": "image",
                    "n": len(right),
                    "wins": int((right & ~base).sum()),
                    "losses": int((~right & base).sum()),
                    "difference": float(right.mean() - base.mean()),
                    "p": mcnemar_p(right, base),
                }
            )
    table = pd.DataFrame(
        rows, columns=["run", "baseline", "unit", "n", "wins", "losses", "difference", "p"]
    )
    table["p_holm"] = holm(table["p"].to_numpy()) if len(table) else []
    return table


def attribution_metrics(
    truth: Sequence[str],
    predicted: Sequence[str],
    known: Sequence[str] | None = None,
) -> dict:
    """Accuracy and macro-F1 of the submitted names (label-sensitive, like the official scores),
    ARI, NMI and Hungarian accuracy (label-free), and the exact (Clopper-Pearson) 95% interval
    of the accuracy over the test images.

    With ``known`` (the training labels) and a truth naming two or more unseen generators, the
    new names are first matched to them (:func:`match_unseen`) and ``scoring`` says "unseen
    matched"; otherwise names are scored as given ("names")."""
    from sklearn.metrics import (
        accuracy_score,
        adjusted_rand_score,
        f1_score,
        normalized_mutual_info_score,
    )

    from ctprints.inference import clopper_pearson

    truth = np.asarray(truth, dtype=str)
    predicted, scoring = _scored(truth, predicted, known)
    correct = int((truth == predicted).sum())
    low, high = clopper_pearson(correct, len(truth))
    return {
        "n": len(truth),
        "accuracy": float(accuracy_score(truth, predicted)),
        "accuracy_ci_low": low,
        "accuracy_ci_high": high,
        "scoring": scoring,
        "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
        "ari": float(adjusted_rand_score(truth, predicted)),
        "nmi": float(normalized_mutual_info_score(truth, predicted)),
        "hungarian_accuracy": hungarian_accuracy(truth, predicted),
    }


def confusion(truth: Sequence[str], predicted: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Confusion counts (rows: truth, columns: predicted) over the union of names, sorted."""
    truth, predicted = list(map(str, truth)), list(map(str, predicted))
    names = sorted(set(truth) | set(predicted))
    index = {name: k for k, name in enumerate(names)}
    counts = np.zeros((len(names), len(names)), dtype=np.int64)
    np.add.at(counts, ([index[t] for t in truth], [index[p] for p in predicted]), 1)
    return counts, names
