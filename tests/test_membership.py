"""Task 1's honest evaluation: out-of-fold scores never see the held-out images, the control
stays at chance, folds keep patients together, thresholds come from dev labels, and the
evaluation table reads its files by key."""

import numpy as np
import pandas as pd
import pytest
from conftest import memorised_population

from ctprints.attacks import MembershipError, Reference, make_attack
from ctprints.membership import (
    Labelled,
    choose_threshold,
    cross_validated_scores,
    evaluation_table,
    final_scores,
    folds,
)
from ctprints.metrics import membership_metrics
from ctprints.submission import write_run


def test_cross_validation_never_scores_an_image_with_itself_in_the_reference() -> None:
    # Not-used images duplicated in the reference would score -inf for gan_leaks_cal's
    # calibration term if the held-out fold leaked into the reference.
    used, not_used, synthetic = memorised_population()
    labelled = Labelled(np.vstack([used, not_used]), np.r_[np.ones(60), np.zeros(60)].astype(int))
    scores = cross_validated_scores(["gan_leaks_cal", "meta", "gan_leaks"], labelled, synthetic)
    from sklearn.metrics import roc_auc_score

    assert set(scores) == {"gan_leaks", "gan_leaks_cal", "meta"}
    for values in scores.values():
        assert np.isfinite(values).all()
        assert roc_auc_score(labelled.y, values) > 0.85
    # A leaking reference would put every not-used image at distance 0 from the reference.
    leaky = make_attack("gan_leaks_cal").fit(Reference(synthetic, not_used, used))
    assert roc_auc_score(labelled.y, leaky.score(labelled.X)) > roc_auc_score(
        labelled.y, scores["gan_leaks_cal"]
    )


def test_member_vs_member_control_stays_near_chance() -> None:
    used, _, synthetic = memorised_population(n_used=120)
    # Both halves were used for training: nothing distinguishes them.
    control = Labelled(used, np.r_[np.ones(60), np.zeros(60)].astype(int))
    scores = cross_validated_scores(["gan_leaks", "gan_leaks_cal", "domias"], control, synthetic)
    for name, values in scores.items():
        result = membership_metrics(control.y, values, n_boot=200, n_permutations=200)
        assert result["auc_ci_low"] < 0.5 < result["auc_ci_high"], name
        assert result["p_value"] > 0.05, name


def test_folds_are_seeded_stratified_and_keep_groups_together() -> None:
    labels = np.array([1] * 4 + [0] * 6)
    fold = folds(labels, 3, seed=0)
    assert sorted(np.bincount(fold)) == [3, 3, 4]
    np.testing.assert_array_equal(fold, folds(labels, 3, seed=0))
    for k in range(3):  # every training complement holds both classes
        assert set(labels[fold != k]) == {0, 1}
    groups = np.repeat(["p1", "p2", "p3", "p4", "p5"], 4)
    grouped = folds(np.repeat([1, 1, 0, 0, 0], 4), 2, seed=0, groups=groups)
    for patient in set(groups):
        assert len(set(grouped[groups == patient])) == 1
    # Two used patients: each fold gets one, never both.
    assert grouped[0] != grouped[4]


def test_grouped_cross_validation_uses_at_most_as_many_folds_as_patients() -> None:
    used, not_used, synthetic = memorised_population(n_used=16, n_not=16)
    groups = np.r_[np.repeat(["u1", "u2"], 8), np.repeat(["n1", "n2", "n3", "n4"], 4)]
    labelled = Labelled(
        np.vstack([used, not_used]), np.r_[np.ones(16), np.zeros(16)].astype(int), groups=groups
    )
    scores = cross_validated_scores(["gan_leaks", "monte_carlo"], labelled, synthetic, n_folds=5)
    assert all(np.isfinite(v).all() for v in scores.values())
    one = Labelled(labelled.X[8:], labelled.y[8:], groups=groups[8:])
    with pytest.raises(MembershipError, match="at least 2 used and 2 not-used patients"):
        cross_validated_scores(["gan_leaks"], one, synthetic)


def test_final_scores_fit_on_all_labelled_images() -> None:
    used, not_used, synthetic = memorised_population()
    labelled = Labelled(np.vstack([used[:40], not_used[:40]]), np.r_[np.ones(40), np.zeros(40)])
    oof = cross_validated_scores(["gan_leaks", "domias", "meta"], labelled, synthetic)
    queries = np.vstack([used[40:], not_used[40:]])
    scores = final_scores(
        ["gan_leaks", "domias", "meta"], labelled, synthetic, queries, labelled_scores=oof
    )
    from sklearn.metrics import roc_auc_score

    truth = np.r_[np.ones(20), np.zeros(20)]
    assert all(roc_auc_score(truth, s) > 0.8 for s in scores.values())
    with pytest.raises(MembershipError, match="meta needs"):
        final_scores(["gan_leaks", "meta"], labelled, synthetic, queries)


def test_thresholds_come_from_dev_labels_only() -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert choose_threshold(scores, labels, "youden") == pytest.approx(0.6)
    # Prior-matched: a quarter of the dev images used -> the top quarter is labelled used.
    prior = choose_threshold(scores, np.array([0, 0, 0, 0, 0, 0, 1, 1]), "prior")
    assert (scores >= prior).sum() == 2
    with pytest.raises(MembershipError, match="unknown threshold rule 'median'"):
        choose_threshold(scores, labels, "median")


def _score_file(path, columns, rng, paper: bool = False):
    """A score file like group_scores' (or paper_group_scores'): dev, control and test rows."""
    dev_labels = [1, 0] * 6
    splits = [("dev", dev_labels)] + ([] if paper else [("control", dev_labels)])
    frames = [
        pd.DataFrame({"image_id": [f"{split}{i}" for i in range(12)], "split": split, "label": y})
        for split, y in splits
    ]
    frames.append(pd.DataFrame({"image_id": [f"t{i}" for i in range(8)], "split": "test"}))
    table = pd.concat(frames, ignore_index=True)
    table["grouping"] = "image"
    table["patient"] = None
    for name in columns:
        table[name] = rng.normal(size=len(table))
    if paper:
        table["autogluon_val_auc"] = 0.99
    table.to_csv(path, index=False)
    return str(path)


def test_evaluation_table_reads_every_file_by_its_key(tmp_path) -> None:
    rng = np.random.default_rng(0)
    tests, truth_labels = [f"t{i}" for i in range(8)], [1, 0] * 4
    write_run(tmp_path / "truth.csv", tests, truth_labels, task=1)
    write_run(tmp_path / "right.csv", tests, truth_labels, task=1)
    write_run(tmp_path / "wrong.csv", tests, [1 - y for y in truth_labels], task=1)
    right, wrong = str(tmp_path / "right.csv"), str(tmp_path / "wrong.csv")
    attacks = ["gan_leaks", "domias"]
    scores = {
        ("g1", embedder): _score_file(tmp_path / f"{embedder}.csv", attacks, rng)
        for embedder in ("spectrum", "pixels")
    }
    # Only domias in spectrum features has the right run file: its test accuracy must be 1.
    runs = {key: {"gan_leaks": wrong, "domias": wrong} for key in scores}
    runs["g1", "spectrum"] = {"gan_leaks": wrong, "domias": right}
    paper = {("g1", "pixels", "0.5"): _score_file(tmp_path / "paper.csv", ["paper"], rng, True)}
    table = evaluation_table(
        truth={"g1": str(tmp_path / "truth.csv")},
        scores=scores,
        runs=runs,
        paper=paper,
        paper_runs={("g1", "pixels", "0.5"): right},
        n_boot=20,
        n_permutations=19,
    )
    splits = ("cv_dev", "control", "test")
    order = [(e, a, s) for _, e in scores for a in attacks for s in splits]
    order += [("pixels", "paper_autogluon_f0.5", s) for s in ("holdout_dev", "test")]
    assert list(zip(table.features, table.attack, table.split, strict=True)) == order
    test = table[table.split == "test"].set_index(["features", "attack"]).accuracy
    assert test.to_dict() == {
        ("spectrum", "gan_leaks"): 0.0,
        ("spectrum", "domias"): 1.0,
        ("pixels", "gan_leaks"): 0.0,
        ("pixels", "domias"): 0.0,
        ("pixels", "paper_autogluon_f0.5"): 1.0,
    }
    assert (table.autogluon_val_auc.dropna() == 0.99).all() and (table.group == "g1").all()
