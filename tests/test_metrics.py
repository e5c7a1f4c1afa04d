"""Task 1 metrics: exact on known cases, equal to scikit-learn's, intervals that cover chance."""

import numpy as np
import pytest

from ctprints.metrics import image_correct, membership_metrics, paired_task2, tpr_at_fpr


def test_metrics_and_intervals() -> None:
    labels = np.r_[np.ones(50), np.zeros(50)].astype(int)
    perfect = membership_metrics(
        labels, labels + 0.0, predicted=labels, n_boot=100, n_permutations=99
    )
    assert perfect["auc"] == perfect["f1"] == perfect["kappa"] == perfect["accuracy"] == 1.0
    assert perfect["tpr_at_1fpr"] == 1.0 and perfect["p_value"] == pytest.approx(0.01)
    noise = np.random.default_rng(0).normal(size=100)
    chance = membership_metrics(
        labels, noise, predicted=(noise > 0).astype(int), n_boot=300, n_permutations=300
    )
    assert chance["auc_ci_low"] < 0.5 < chance["auc_ci_high"] and chance["p_value"] > 0.05
    assert tpr_at_fpr(np.array([0, 0, 1, 1]), np.array([0.1, 0.9, 0.8, 0.2])) == 0.0


def test_fast_metrics_match_scikit_learn() -> None:
    from sklearn.metrics import (
        accuracy_score,
        cohen_kappa_score,
        f1_score,
        roc_auc_score,
        roc_curve,
    )

    from ctprints.metrics import auc

    rng = np.random.default_rng(3)
    for _ in range(20):
        labels = rng.integers(0, 2, 150)
        labels[:2] = [0, 1]
        scores = np.round(labels + rng.normal(0, 1.2, 150), 1)  # with ties
        predicted = (scores > 0.5).astype(int)
        assert auc(labels, scores)[0] == pytest.approx(roc_auc_score(labels, scores))
        fpr, tpr, _ = roc_curve(labels, scores)
        assert tpr_at_fpr(labels, scores) == pytest.approx(tpr[fpr <= 0.01].max())
        result = membership_metrics(labels, scores, predicted, n_boot=100, n_permutations=99)
        assert result["f1"] == pytest.approx(f1_score(labels, predicted))
        assert result["kappa"] == pytest.approx(cohen_kappa_score(labels, predicted))
        assert result["accuracy"] == pytest.approx(accuracy_score(labels, predicted))


def test_confusion_counts_match_sklearn_over_the_union_of_names() -> None:
    from sklearn.metrics import confusion_matrix

    from ctprints.metrics import confusion

    rng = np.random.default_rng(0)
    truth = rng.choice(["model_1", "model_2", "model_3"], 200)
    predicted = rng.choice(["model_1", "model_2", "model_4", "new"], 200)
    counts, names = confusion(truth, predicted)
    assert names == ["model_1", "model_2", "model_3", "model_4", "new"]
    assert (counts == confusion_matrix(truth, predicted, labels=names)).all()
    assert (
        counts.sum() == 200 and counts[names.index("model_3")].sum() == (truth == "model_3").sum()
    )


def test_runs_are_paired_with_the_baselines_on_the_same_images() -> None:
    """Hand-counted: run a is right on images 0-4, the baseline on 0-1 and 5: a wins on 2, 3,
    4 and loses on 5, so McNemar's one-sided p is P(Binomial(4, 1/2) >= 3) = 5/16."""
    truth = ["x"] * 4 + ["y"] * 4
    runs = {
        "a": ["x", "x", "x", "x", "y", "x", "x", "x"],
        "base": ["x", "x", "y", "y", "x", "y", "x", "x"],
    }
    table = paired_task2(truth, runs, ["base", "missing"])
    row = table.iloc[0]
    assert len(table) == 1 and (row.run, row.baseline, row.unit) == ("a", "base", "image")
    assert (row.wins, row.losses, row.n) == (3, 1, 8)
    assert row.difference == pytest.approx(5 / 8 - 3 / 8)
    assert row.p == pytest.approx(5 / 16) and row.p_holm == pytest.approx(5 / 16)
    # two unseen generators: new names are matched before images are counted right
    truth = ["k", "u", "u", "v", "v"]
    assert image_correct(truth, ["k", "n1", "n1", "n2", "n2"], known=["k"]).all()
    unmatched = image_correct(truth, ["k", "n1", "n1", "n2", "n2"])  # names as given
    assert unmatched.tolist() == [True, False, False, False, False]
