"""Task 1 attacks: each finds planted membership, the control stays at chance, metrics are right."""

import numpy as np
import pytest

from ctprints.membership import (
    ATTACKS,
    Labelled,
    MembershipError,
    Reference,
    SsimMax,
    available_attacks,
    choose_threshold,
    cross_validated_scores,
    final_scores,
    folds,
    make_attack,
    ssim,
    task1_scores,
    tpr_at_fpr,
)


def _population(seed: int = 0, n_used: int = 60, n_not: int = 60, dims: int = 8):
    """A generator that memorised its training images: samples are noisy copies of them."""
    rng = np.random.default_rng(seed)
    used = rng.normal(size=(n_used, dims))
    not_used = rng.normal(size=(n_not, dims))
    copies = used[rng.integers(0, n_used, 400)] + 0.3 * rng.normal(size=(400, dims))
    fresh = rng.normal(size=(200, dims))  # and some generic samples
    return used, not_used, np.vstack([copies, fresh])


def _images(features: np.ndarray, seed: int, size: int = 16) -> np.ndarray:
    """Images whose content follows the features, so that SSIM sees what the features see."""
    basis = np.random.default_rng(seed).normal(size=(features.shape[1], size * size))
    pixels = 128 + 25 * features @ basis / np.sqrt(features.shape[1])
    return np.clip(pixels, 0, 255).astype(np.uint8).reshape(-1, size, size)


@pytest.mark.parametrize(
    ("name", "settings", "floor"),
    [
        ("gan_leaks", {}, 0.95),
        ("gan_leaks_cal", {}, 0.85),
        ("monte_carlo", {}, 0.85),
        ("domias", {"components": 8}, 0.75),  # KDE is the weakest in 8-D, as expected
    ],
)
def test_feature_attacks_find_memorised_images(name, settings, floor) -> None:
    from sklearn.metrics import roc_auc_score

    used, not_used, synthetic = _population()
    reference = Reference(synthetic, not_used[:30], used[:30])
    attack = make_attack(name, settings).fit(reference)
    held_out = np.vstack([used[30:], not_used[30:]])
    labels = np.r_[np.ones(30), np.zeros(30)]
    assert roc_auc_score(labels, attack.score(held_out)) > floor


def test_ssim_max_finds_memorised_images_and_the_prefilter_agrees_with_brute_force() -> None:
    used, not_used, synthetic = _population(dims=6)
    images = _images(np.vstack([used, not_used, synthetic]), seed=1)
    used_img, not_img, synthetic_img = images[:60], images[60:120], images[120:]
    reference = Reference(synthetic, not_used, used, synthetic_images=synthetic_img)
    queries = np.vstack([used, not_used])
    query_images = np.concatenate([used_img, not_img])
    fast = SsimMax(candidates=20).fit(reference).score(queries, query_images)
    exact = SsimMax(candidates=None).fit(reference).score(queries, query_images)
    from sklearn.metrics import roc_auc_score

    labels = np.r_[np.ones(60), np.zeros(60)]
    assert roc_auc_score(labels, exact) > 0.85
    assert np.mean(np.isclose(fast, exact)) > 0.9  # the nearest 20 hold the best match
    assert (fast <= exact + 1e-12).all()


def test_ssim_matches_known_values() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (32, 32), dtype=np.uint8)
    assert ssim(image, image[None])[0] == pytest.approx(1.0)
    noisy = np.clip(image + rng.normal(0, 40, image.shape), 0, 255).astype(np.uint8)
    value = ssim(image, np.stack([noisy, 255 - image]))
    assert 0 < value[0] < 0.9 and value[1] < 0


def test_ssim_max_rejects_size_mismatch() -> None:
    used, not_used, synthetic = _population(dims=4)
    reference = Reference(synthetic, not_used, used, _images(synthetic, 0, size=16))
    attack = SsimMax().fit(reference)
    with pytest.raises(MembershipError, match="query images are 8x8 but the synthetic images "):
        attack.score(used[:2], _images(used[:2], 0, size=8))


def test_unknown_attack_lists_the_known_ones() -> None:
    with pytest.raises(MembershipError, match="unknown attack 'logan'; known: domias, gan_leaks"):
        make_attack("logan")
    assert set(available_attacks()) == {*ATTACKS, "meta"}


def test_cross_validation_never_scores_an_image_with_itself_in_the_reference() -> None:
    # Not-used images duplicated in the reference would score -inf for gan_leaks_cal's
    # calibration term if the held-out fold leaked into the reference.
    used, not_used, synthetic = _population()
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
    used, _, synthetic = _population(n_used=120)
    # Both halves were used for training: nothing distinguishes them.
    control = Labelled(used, np.r_[np.ones(60), np.zeros(60)].astype(int))
    scores = cross_validated_scores(["gan_leaks", "gan_leaks_cal", "domias"], control, synthetic)
    for name, values in scores.items():
        result = task1_scores(control.y, values, n_boot=200, n_permutations=200)
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
    used, not_used, synthetic = _population(n_used=16, n_not=16)
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
    used, not_used, synthetic = _population()
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


def test_metrics_and_intervals() -> None:
    labels = np.r_[np.ones(50), np.zeros(50)].astype(int)
    perfect = task1_scores(labels, labels + 0.0, predicted=labels, n_boot=100, n_permutations=99)
    assert perfect["auc"] == perfect["f1"] == perfect["kappa"] == perfect["accuracy"] == 1.0
    assert perfect["tpr_at_1fpr"] == 1.0 and perfect["p_value"] == pytest.approx(0.01)
    noise = np.random.default_rng(0).normal(size=100)
    chance = task1_scores(
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

    from ctprints.membership import auc

    rng = np.random.default_rng(3)
    for _ in range(20):
        labels = rng.integers(0, 2, 150)
        labels[:2] = [0, 1]
        scores = np.round(labels + rng.normal(0, 1.2, 150), 1)  # with ties
        predicted = (scores > 0.5).astype(int)
        assert auc(labels, scores)[0] == pytest.approx(roc_auc_score(labels, scores))
        fpr, tpr, _ = roc_curve(labels, scores)
        assert tpr_at_fpr(labels, scores) == pytest.approx(tpr[fpr <= 0.01].max())
        result = task1_scores(labels, scores, predicted, n_boot=100, n_permutations=99)
        assert result["f1"] == pytest.approx(f1_score(labels, predicted))
        assert result["kappa"] == pytest.approx(cohen_kappa_score(labels, predicted))
        assert result["accuracy"] == pytest.approx(accuracy_score(labels, predicted))
