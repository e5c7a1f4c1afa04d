"""The statistics module: cluster bootstrap, permutation tests of whole units, max-T, Holm and
exact intervals follow their definitions, and the AUC bounds hold their level by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

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
