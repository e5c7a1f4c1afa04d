"""The statistics module: cluster bootstrap, permutation tests of whole units, max-T, Holm and
exact intervals follow their definitions, and the AUC bounds hold their level by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from ctprints import inference
from ctprints.inference import (
    auc_bounds,
    clopper_pearson,
    cluster_draws,
    holm,
    labellings,
    max_t_p,
    p_floor,
    percentile_interval,
    permutation_p,
    rows_of,
    unit_index,
)
from ctprints.metrics import auc


def test_unit_index_numbers_patients_and_refuses_one_on_both_sides() -> None:
    index, n_units, unit_label = unit_index([1, 1, 0, 0, 1], ["b", "b", "a", "c", "d"])
    assert n_units == 4 and list(index) == [1, 1, 0, 2, 3]
    assert list(unit_label) == [0, 1, 0, 1]
    assert list(unit_index([1, 0, 1])[0]) == [0, 1, 2]  # no patients: every row is a unit

    class Refused(ValueError):
        pass

    with pytest.raises(Refused, match="both member and holdout"):
        unit_index([1, 0], ["a", "a"], Refused)


def test_cluster_draws_hold_both_labels_and_rows_follow_the_drawn_units() -> None:
    index, n_units, unit_label = unit_index([1, 1, 0, 0, 0, 1], ["a", "a", "b", "b", "c", "d"])
    draws = cluster_draws(unit_label, 200, np.random.default_rng(0))
    assert len(draws) == 200
    assert all(0 < unit_label[d].sum() < len(d) for d in draws)
    rows = rows_of(index, n_units)
    for drawn in draws[:20]:
        expected = np.concatenate([np.flatnonzero(index == u) for u in drawn])
        np.testing.assert_array_equal(rows(drawn), expected)
    with pytest.raises(ValueError, match="both labels"):
        cluster_draws(np.array([1, 1, 1]), 5, np.random.default_rng(0))
    assert percentile_interval([]) == (pytest.approx(math.nan, nan_ok=True),) * 2
    assert percentile_interval(np.arange(101), 0.9) == pytest.approx((5.0, 95.0))


def test_exact_labellings_enumerate_every_choice_and_give_the_exact_p() -> None:
    unit_label = np.array([1, 1, 0, 0])
    labelled, exact = labellings(unit_label, 999, np.random.default_rng(0))
    assert exact and labelled.shape == (6, 4)  # C(4, 2)
    assert (labelled.sum(axis=1) == 2).all() and len({tuple(r) for r in labelled}) == 6
    # The observed labelling is the most extreme of 6: p = 1/6, which is also the floor.
    statistic = labelled @ np.array([3.0, 2.0, 1.0, 0.0])
    assert permutation_p(statistic, 5.0, exact=True) == pytest.approx(1 / 6)
    assert p_floor(unit_label, 999) == pytest.approx(1 / 6)
    shuffled, exact = labellings(np.array([1] * 10 + [0] * 10), 99, np.random.default_rng(0))
    assert not exact and shuffled.shape == (99, 20)
    assert p_floor(np.array([1] * 10 + [0] * 10), 99) == pytest.approx(1 / 100)
    # Random shuffles: (1 + count) / (1 + B), the observed value counted once.
    assert permutation_p(np.array([0.1, 0.5, 0.9]), 0.5, exact=False) == pytest.approx(3 / 4)


def test_max_t_p_ranks_the_chosen_value_among_the_best_of_every_candidate() -> None:
    permuted = np.array([[0.1, 0.7, 0.2, 0.3], [0.6, 0.1, 0.2, 0.8]])  # (candidates, labellings)
    # The best per labelling is 0.6, 0.7, 0.2, 0.8: two of four reach 0.65.
    assert max_t_p(0.65, permuted, exact=True) == pytest.approx(2 / 4)
    assert max_t_p(0.65, permuted[:1], exact=True) == pytest.approx(1 / 4)


def test_holm_adjusts_step_down_and_leaves_missing_values_out() -> None:
    adjusted = holm([0.01, 0.04, 0.03, 0.005, math.nan])
    np.testing.assert_allclose(adjusted[:4], [0.03, 0.06, 0.06, 0.02])
    assert math.isnan(adjusted[4])
    assert holm([0.5, 0.9])[1] == 1.0  # capped at 1


def test_clopper_pearson_is_the_exact_binomial_interval() -> None:
    low, high = clopper_pearson(200, 200)
    assert high == 1.0 and low == pytest.approx(0.025 ** (1 / 200))  # 0.982: 200 of 200
    low, high = clopper_pearson(0, 10)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 10))
    low, high = clopper_pearson(5, 10)
    assert low == pytest.approx(0.187086, abs=1e-5) and high == pytest.approx(0.812914, abs=1e-5)
    assert all(math.isnan(v) for v in clopper_pearson(0, 0))


def test_auc_bounds_hold_their_level_and_inform_at_a_perfect_auc() -> None:
    """Simulated normal shifts with a true AUC of 0.75 (and 0.5): each one-sided 95% bound of
    20 against 20 units misses the truth at most about 5% of the time (3 Monte-Carlo errors)."""
    rng = np.random.default_rng(0)
    m = n = 20
    z = norm.ppf(0.95)
    for true_auc in (0.5, 0.75):
        shift = math.sqrt(2) * norm.ppf(true_auc)
        sims = 2000
        members = rng.normal(shift, 1.0, (sims, m))
        holdout = rng.normal(0.0, 1.0, (sims, n))
        labels = np.r_[np.ones(m), np.zeros(n)]
        values = auc(np.broadcast_to(labels, (sims, m + n)), np.hstack([members, holdout]))
        bounds = np.array([auc_bounds(v, m, n, z) for v in values])
        limit = 0.05 + 3 * math.sqrt(0.05 * 0.95 / sims)
        assert np.mean(bounds[:, 0] > true_auc) <= limit, true_auc
        assert np.mean(bounds[:, 1] < true_auc) <= limit, true_auc
    low, high = auc_bounds(1.0, 8, 8, z)
    assert high == 1.0 and 0.6 < low < 0.95
    assert all(math.isnan(v) for v in auc_bounds(0.7, 0, 5, z))


# ----------------------------------------------------------------------------- paired comparisons


def test_sign_flip_p_is_the_share_of_the_eight_flips_at_least_as_large() -> None:
    # +-0.3 +-0.1 +-0.2 over the 8 flips: 0.6, 0.2, 0.4, 0, 0, -0.4, -0.2, -0.6; observed 0.4
    result = inference.sign_flip_test([0.3, -0.1, 0.2])
    assert result["exact"] and result["floor"] == 1 / 8
    assert result["p"][0] == pytest.approx(2 / 8)
    assert inference.sign_flip_test([0.1, 0.2, 0.3])["p"][0] == pytest.approx(1 / 8)


def test_sign_flip_max_t_adjusts_each_candidate_by_the_best_of_both() -> None:
    # standardised statistics per flip (c1 = [0.3, -0.1, 0.2], c2 = [0.1, 0.1, 0.1]); the
    # flips' maxima are 1.732, 0.577, 1.604, 0.535, 0.577, -0.577, 0, -1.069, and the observed
    # values 1.069 (c1) and 1.732 (c2)
    result = inference.sign_flip_test(np.array([[0.3, 0.1], [-0.1, 0.1], [0.2, 0.1]]))
    assert result["p"].tolist() == pytest.approx([2 / 8, 1 / 8])
    assert result["p_max_t"].tolist() == pytest.approx([2 / 8, 1 / 8])
    # a third candidate that does well on the flips c1 lost raises c1's adjusted p only
    three = inference.sign_flip_test(np.array([[0.3, 0.1, -0.3], [-0.1, 0.1, 0.3], [0.2, 0.1, 0]]))
    assert three["p"][0] == pytest.approx(2 / 8) and three["p_max_t"][0] > 2 / 8


def test_sign_flip_strata_weigh_each_stratum_alike() -> None:
    # stratum means a: 1, b: -1, so the statistic is 0; weights 1/4, 1/4, 1/2 give flip sums
    # 0, 1, -0.5, 0.5, -0.5, 0.5, -1, 0: five of eight at least 0
    result = inference.sign_flip_test([1.0, 1.0, -1.0], strata=["a", "a", "b"])
    assert result["statistic"][0] == pytest.approx(0.0)
    assert result["p"][0] == pytest.approx(5 / 8)
    # without strata the sum is 1; the flip sums are 1, 3, -1, 1, -1, 1, -3, -1
    assert inference.sign_flip_test([1.0, 1.0, -1.0])["p"][0] == pytest.approx(4 / 8)


def test_sign_flip_draws_at_random_beyond_the_exact_limit() -> None:
    rng = np.random.default_rng(0)
    null = rng.normal(size=(40, 400))  # 400 independent null candidates
    result = inference.sign_flip_test(null, n_flips=999, seed=1)
    assert not result["exact"] and result["floor"] == 1 / 1000
    assert (result["p_max_t"] >= result["p"]).all()
    # each candidate's own p holds its level (0.05 +- 3 standard errors of 400 draws)
    assert 0.017 < (result["p"] < 0.05).mean() < 0.083
    strong = inference.sign_flip_test(np.abs(null[:, :3]) + 0.5, n_flips=999)
    assert strong["p_max_t"].max() == pytest.approx(1 / 1000)


def test_sign_flip_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="finite"):
        inference.sign_flip_test([0.1, np.nan])
    with pytest.raises(ValueError, match="strata has 1 entries for 2 units"):
        inference.sign_flip_test([0.1, 0.2], strata=["a"])


def test_mcnemar_counts_only_the_images_where_the_two_disagree() -> None:
    first = np.array([1, 1, 1, 1, 1, 0, 1, 0, 1], dtype=bool)
    second = np.array([0, 0, 0, 0, 0, 1, 1, 0, 1], dtype=bool)
    # 5 wins, 1 loss: P(X >= 5 | 6, 0.5) = 7 / 64
    assert inference.mcnemar_p(first, second) == pytest.approx(7 / 64)
    assert inference.mcnemar_p(second, first) == pytest.approx(63 / 64)
    assert inference.mcnemar_p(first, first) == 1.0
    with pytest.raises(ValueError, match="not the same images"):
        inference.mcnemar_p(first, second[:3])


def test_mean_interval_is_students_t() -> None:
    mean, low, high = inference.mean_interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and (low, high) == pytest.approx((2 - 2.4841, 2 + 2.4841), abs=1e-4)
    assert np.isnan(inference.mean_interval([1.0])[1])
