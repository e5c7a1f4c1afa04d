"""Task 1's honest evaluation: out-of-fold scores never see the held-out images, the control
stays at chance, folds keep patients together, thresholds come from dev labels, and the
evaluation table reads its files by key."""

import numpy as np
import pandas as pd
import pytest
from conftest import memorised_population

from ctprints.attacks import MembershipError, Reference, make_attack
from ctprints.evaluation import evaluation_table
from ctprints.labelling import (
    choose_threshold,
    constant_defect,
    cross_validated_labels,
    hard_labels,
    label_images,
    select_run,
)
from ctprints.membership import (
    Labelled,
    cross_fitted_scores,
    cross_validated_scores,
    final_scores,
    folds,
    read_patients,
)
from ctprints.metrics import hard_metrics, hindsight_f1, membership_metrics
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
    patient_ids = np.repeat(["p1", "p2", "p3", "p4", "p5"], 4)
    grouped = folds(np.repeat([1, 1, 0, 0, 0], 4), 2, seed=0, patient_ids=patient_ids)
    for patient in set(patient_ids):
        assert len(set(grouped[patient_ids == patient])) == 1
    # Two used patients: each fold gets one, never both.
    assert grouped[0] != grouped[4]


def test_grouped_cross_validation_uses_at_most_as_many_folds_as_patients() -> None:
    used, not_used, synthetic = memorised_population(n_used=16, n_not=16)
    patient_ids = np.r_[np.repeat(["u1", "u2"], 8), np.repeat(["n1", "n2", "n3", "n4"], 4)]
    labelled = Labelled(
        np.vstack([used, not_used]),
        np.r_[np.ones(16), np.zeros(16)].astype(int),
        patient_ids=patient_ids,
    )
    scores = cross_validated_scores(["gan_leaks", "monte_carlo"], labelled, synthetic, n_folds=5)
    assert all(np.isfinite(v).all() for v in scores.values())
    one = Labelled(labelled.X[8:], labelled.y[8:], patient_ids=patient_ids[8:])
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
    # Halfway between the lowest score labelled used and the next lower one.
    assert choose_threshold(scores, labels, "youden") == pytest.approx(0.5)
    # Prior-matched: a quarter of the dev images used -> the top quarter is labelled used.
    prior = choose_threshold(scores, np.array([0, 0, 0, 0, 0, 0, 1, 1]), "prior")
    assert (scores >= prior).sum() == 2
    with pytest.raises(MembershipError, match="unknown threshold rule 'median'"):
        choose_threshold(scores, labels, "median")


def test_metric_thresholds_maximise_the_challenge_metric_on_dev() -> None:
    scores = np.arange(1, 11) / 10
    labels = np.array([0, 0, 1, 0, 1, 0, 0, 1, 0, 1])  # ascending scores
    # F1 rewards recall: it labels the top 8 used (F1 8/12), above the top 3 (F1 4/7), where
    # Youden's TPR - FPR ties (1/3 both) and takes the top 3, and so does kappa.
    assert choose_threshold(scores, labels, "f1") == pytest.approx(0.25)
    assert choose_threshold(scores, labels, "kappa") == pytest.approx(0.75)
    assert choose_threshold(scores, labels, "youden") == pytest.approx(0.75)
    # Never below every dev score: at least one image is left "not used", even where labelling
    # all of them used would score higher on dev (F1 18/19, against 16/18 at the lowest cut).
    tied = np.array([1, 1, 1, 1, 1, 1, 1, 0, 1, 1])
    assert choose_threshold(scores, tied, "f1") == pytest.approx(0.15)
    # One score for every dev image (an epsilon-ball count of 0): no ranking, all used.
    assert choose_threshold(np.zeros(4), np.array([0, 1, 0, 1]), "kappa") == 0.0


class SizeShifted:
    """An attack whose scale moves with its reference: the first feature minus 0.1 per
    reference image, as calibration distances and epsilon-ball counts move when a refit
    attack's reference sets grow."""

    def fit(self, reference: Reference):
        self.shift_ = 0.1 * (len(reference.used) + len(reference.not_used))
        return self

    def score(self, queries, images=None):
        return queries[:, 0] - self.shift_


def _shifted_population(seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(40), np.zeros(40)].astype(int)
    dev = Labelled(np.c_[y + rng.normal(0, 0.3, 80), rng.normal(size=80)], y)
    truth = np.r_[np.ones(20), np.zeros(20)].astype(int)
    test = np.c_[truth + rng.normal(0, 0.3, 40), rng.normal(size=40)]
    return dev, test, truth


def test_cross_fitted_test_scores_share_the_out_of_fold_scale_that_refit_scores_lose() -> None:
    dev, test, truth = _shifted_population()
    make = lambda name, settings: SizeShifted()  # noqa: E731
    fitted = cross_fitted_scores(["shifted"], dev, dev.X, queries=test, make=make)
    # Refit on all 80 dev images: 1.6 lower than the out-of-fold scores (64 images in the
    # reference), more than the gap between used and not-used images.
    refit = SizeShifted().fit(Reference(dev.X, dev.X[dev.y == 0], dev.X[dev.y == 1])).score(test)
    dev_scores = fitted.dev["shifted"]
    before = hard_labels(refit, choose_threshold(dev_scores, dev.y, "youden"))
    assert before.min() == before.max() == 0  # every test image alike: "not used"
    after, threshold, rank_share = label_images(dev_scores, dev.y, fitted.queries["shifted"])
    assert rank_share is None  # the threshold itself cut the cross-fitted scores
    # The labels follow the ranking: every image labelled used outscores every other one.
    scores = fitted.queries["shifted"]
    assert scores[after == 1].min() > scores[after == 0].max()
    assert hard_metrics(truth, after)["f1"][0] >= 0.9
    assert 0.3 <= after.mean() <= 0.7
    # The same folds as the out-of-fold scores: each fold's attack scored the test images.
    np.testing.assert_array_equal(fitted.fold, folds(dev.y, 5, 0))
    assert constant_defect(dev_scores, dev.y, before).startswith("every test image is labelled")
    assert constant_defect(dev_scores, dev.y, after) is None
    # Where the scale still moves, the labels go by rank: the dev share at the threshold.
    guarded = label_images(dev_scores, dev.y, refit)
    assert guarded.rank_share == pytest.approx(np.mean(dev_scores >= guarded.threshold))
    assert refit[guarded.labels == 1].min() > refit[guarded.labels == 0].max()
    assert hard_metrics(truth, guarded.labels)["f1"][0] >= 0.85


def test_meta_is_cross_fitted_fold_by_fold() -> None:
    used, not_used, synthetic = memorised_population()
    labelled = Labelled(np.vstack([used[:40], not_used[:40]]), np.r_[np.ones(40), np.zeros(40)])
    queries = np.vstack([used[40:], not_used[40:]])
    names = ["gan_leaks", "domias", "meta"]
    fitted = cross_fitted_scores(names, labelled, synthetic, queries=queries)
    truth = np.r_[np.ones(20), np.zeros(20)].astype(int)
    labels = label_images(fitted.dev["meta"], labelled.y, fitted.queries["meta"]).labels
    assert hard_metrics(truth, labels)["f1"][0] >= 0.8
    # Without queries, the dev scores are the same out-of-fold scores.
    np.testing.assert_allclose(
        cross_validated_scores(names, labelled, synthetic)["meta"],
        fitted.dev["meta"],
    )


def test_patient_consistent_labels_give_every_slice_of_a_patient_one_label() -> None:
    dev_scores = np.array([0.9, 0.8, 0.7, 0.2, 0.1, 0.3, 0.6, 0.4])
    dev_labels = np.array([1, 1, 1, 0, 0, 0, 1, 0])
    dev_units = ["a", "a", "b", "c", "c", "d", "b", "d"]
    # The dev patients' means (0.85, 0.65 used; 0.15, 0.35 not) put the threshold at 0.5.
    # Patient x straddles it slice by slice; its mean (0.6) is above it.
    scores = np.array([0.3, 0.9, 0.1, 0.2, 0.9])
    units = ["x", "x", "y", "y", "z"]
    labels, threshold, _ = label_images(dev_scores, dev_labels, scores, "youden", dev_units, units)
    assert threshold == pytest.approx(0.5)
    assert labels.tolist() == [1, 1, 0, 0, 1]
    by_image = label_images(dev_scores, dev_labels, scores).labels
    assert by_image[0] != by_image[1]


def test_cross_validated_labels_cut_each_fold_by_the_other_folds_threshold() -> None:
    scores = np.array([0.9, 0.8, 0.2, 0.1, 5.9, 5.8, 5.2, 5.1])
    labels = np.array([1, 1, 0, 0, 1, 1, 0, 0])
    fold = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    # Each fold's threshold comes from the other fold, on another scale: the threshold alone
    # labels fold 0 all "not used" and fold 1 all "used"; by rank, the dev share (a half).
    assert cross_validated_labels(scores, labels, fold, "youden").tolist() == labels.tolist()
    alone = [hard_labels(scores[fold == k], 0.5 + 5 * (1 - k)) for k in (0, 1)]
    assert np.concatenate(alone).tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    # On one scale, each fold's labels follow its scores.
    steady = np.array([0.9, 0.8, 0.2, 0.1, 0.85, 0.75, 0.25, 0.15])
    assert cross_validated_labels(steady, labels, fold).tolist() == labels.tolist()


def test_the_submitted_run_is_chosen_by_cross_validated_dev_f1_not_auc() -> None:
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0] * 2)
    fold = np.repeat([0, 1], 8)
    # ranked: each fold ranked perfectly, but fold 1 sits on another scale, so a threshold
    # from one fold fails in the other
    in_fold = np.array([4, 3, 2, 1.5, 1, 0.5, 0.2, 0.1])
    ranked = np.r_[in_fold, in_fold + 2]  # pooled AUC 0.87
    # steady: a lower AUC (0.75), one scale
    steady = np.tile([4, 3, 0.3, 0.25, 1, 0.5, 0.2, 0.1], 2)
    frame = lambda values: pd.DataFrame({"score": values, "label": labels, "fold": fold})  # noqa: E731
    table = select_run({"ranked": frame(ranked), "steady": frame(steady)}, "f1")
    rows = table.set_index("run")
    assert rows.loc["ranked", "dev_auc"] > rows.loc["steady", "dev_auc"]
    assert rows.loc["steady", "dev_f1"] > rows.loc["ranked", "dev_f1"]
    assert table.query("chosen").run.tolist() == ["steady"]
    assert "cross-validated dev F1" in table.query("chosen").reason.iloc[0]
    fixed = select_run({"ranked": frame(ranked), "steady": frame(steady)}, "kappa", fixed="ranked")
    assert fixed.query("chosen").run.tolist() == ["ranked"]
    assert "fixed by task1.run" in fixed.query("chosen").reason.iloc[0]
    with pytest.raises(MembershipError, match="unknown metric 'auc'"):
        select_run({"ranked": frame(ranked)}, "auc")
    with pytest.raises(MembershipError, match="'other' is not among the runs"):
        select_run({"ranked": frame(ranked)}, "f1", fixed="other")
    with pytest.raises(MembershipError, match="ranked: dev rows without a fold"):
        select_run({"ranked": frame(ranked).assign(fold=None)}, "f1")


def test_hindsight_f1_is_the_best_cut_of_the_scores() -> None:
    labels = np.array([1, 0, 1, 1, 0, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.2, 0.1])
    # top 4: tp 3, fp 1 -> 6/7; every image used: 6/9
    assert hindsight_f1(labels, scores) == pytest.approx(6 / 7)
    # Tied scores are never split.
    assert hindsight_f1(np.array([1, 0]), np.array([0.5, 0.5])) == pytest.approx(2 / 3)


def test_a_patients_file_lists_every_test_image_or_none(tmp_path) -> None:
    parts = {
        "used": pd.DataFrame({"image_id": ["u1"]}),
        "not_used": pd.DataFrame({"image_id": ["n1"]}),
        "test": pd.DataFrame({"image_id": ["t1", "t2"]}),
    }
    path = tmp_path / "patients.csv"
    path.write_text("image_id,patient\nu1,A\nn1,B\nt1,C\nt2,C\n")
    assert read_patients(str(path), parts) == {"u1": "A", "n1": "B", "t1": "C", "t2": "C"}
    path.write_text("image_id,patient\nu1,A\nn1,B\nt1,C\n")
    with pytest.raises(MembershipError, match=r"patients.csv: lists patients for 1 of 2 test"):
        read_patients(str(path), parts)
    path.write_text("image_id,patient\nu1,A\nn1,B\n")
    assert read_patients(str(path), parts) == {"u1": "A", "n1": "B"}


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
    order += [("pixels", "paper_f0.5", s) for s in ("holdout_dev", "test")]
    assert list(zip(table.features, table.attack, table.split, strict=True)) == order
    test = table[table.split == "test"].set_index(["features", "attack"]).accuracy
    assert test.to_dict() == {
        ("spectrum", "gan_leaks"): 0.0,
        ("spectrum", "domias"): 1.0,
        ("pixels", "gan_leaks"): 0.0,
        ("pixels", "domias"): 0.0,
        ("pixels", "paper_f0.5"): 1.0,
    }
    assert (table.autogluon_val_auc.dropna() == 0.99).all() and (table.group == "g1").all()


def test_test_rows_are_resampled_by_pseudo_patient_where_the_score_files_say_so(tmp_path) -> None:
    """The attack score file records pseudo-patients of the 8 test images (4 of 2 slices; one
    of them holds a used and a not-used image). Every test row of the group, the paper's too,
    is resampled by them, and the mixed one is split by label rather than refused."""
    rng = np.random.default_rng(1)
    tests, truth_labels = [f"t{i}" for i in range(8)], [1, 1, 0, 0, 1, 0, 0, 0]
    write_run(tmp_path / "truth.csv", tests, truth_labels, task=1)
    write_run(tmp_path / "run.csv", tests, truth_labels, task=1)
    path = _score_file(tmp_path / "scores.csv", ["gan_leaks"], rng)
    table = pd.read_csv(path)
    table["unit"] = table.image_id
    table["unit_kind"] = np.where(table.split == "test", "pseudo-patient", "image")
    table.loc[table.split == "test", "unit"] = [f"pseudo_{i // 2}" for i in range(8)]
    table.to_csv(path, index=False)
    paper = _score_file(tmp_path / "paper.csv", ["paper"], rng, True)
    run = str(tmp_path / "run.csv")
    result = evaluation_table(
        truth={"g1": str(tmp_path / "truth.csv")},
        scores={("g1", "pixels"): path},
        runs={("g1", "pixels"): {"gan_leaks": run}},
        paper={("g1", "pixels", "0.5"): paper},
        paper_runs={("g1", "pixels", "0.5"): run},
        n_boot=20,
        n_permutations=19,
    )
    keys = zip(result.attack, result.split, strict=True)
    resampled = dict(zip(keys, result.resampled, strict=True))
    assert resampled["gan_leaks", "test"] == "pseudo-patient"
    assert resampled["paper_f0.5", "test"] == "pseudo-patient"
    assert resampled["gan_leaks", "cv_dev"] == "image"
