"""Scores of run files against ground truth, with bootstrap confidence intervals."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import (
    accuracy_score,
    adjusted_rand_score,
    confusion_matrix,
    f1_score,
    normalized_mutual_info_score,
)


def hungarian_accuracy(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """Accuracy after the best one-to-one renaming of predicted labels (label-free)."""
    truth_names, truth_index = np.unique(np.asarray(truth, dtype=str), return_inverse=True)
    predicted_names, predicted_index = np.unique(
        np.asarray(predicted, dtype=str), return_inverse=True
    )
    counts = np.zeros((len(predicted_names), len(truth_names)), dtype=np.int64)
    np.add.at(counts, (predicted_index, truth_index), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / len(truth_index))


def bootstrap_ci(
    truth: Sequence, predicted: Sequence, metric, n_boot: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Percentile 95% interval of ``metric(truth, predicted)`` over resampled rows."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    rng = np.random.default_rng(seed)
    values = [
        metric(truth[index], predicted[index])
        for index in (rng.integers(0, len(truth), len(truth)) for _ in range(n_boot))
    ]
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def task2_scores(truth: Sequence[str], predicted: Sequence[str], seed: int = 0) -> dict:
    """Accuracy and macro-F1 of the submitted names (label-sensitive, like the official scores),
    ARI, NMI and Hungarian accuracy (label-free), and a bootstrap 95% CI for accuracy."""
    truth = np.asarray(truth, dtype=str)
    predicted = np.asarray(predicted, dtype=str)
    low, high = bootstrap_ci(truth, predicted, accuracy_score, seed=seed)
    return {
        "n": len(truth),
        "accuracy": float(accuracy_score(truth, predicted)),
        "accuracy_ci_low": low,
        "accuracy_ci_high": high,
        "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
        "ari": float(adjusted_rand_score(truth, predicted)),
        "nmi": float(normalized_mutual_info_score(truth, predicted)),
        "hungarian_accuracy": hungarian_accuracy(truth, predicted),
    }


def confusion(truth: Sequence[str], predicted: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Confusion counts (rows: truth, columns: predicted) over the union of names, sorted."""
    names = sorted(set(map(str, truth)) | set(map(str, predicted)))
    return confusion_matrix(list(map(str, truth)), list(map(str, predicted)), labels=names), names
