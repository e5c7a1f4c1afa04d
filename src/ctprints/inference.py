"""Statistical inference with the patient as the unit: the one place for resampling and tests.

Slices of one patient are near-copies, so every interval and p-value of Task 1, of the audit and
of the study resamples or permutes whole units (patients, pseudo-patients where patients are
unknown, or seeds), never single images.

- :func:`unit_index`: each row's unit as 0..U-1, and each unit's 0/1 label.
- :func:`cluster_draws`, :func:`rows_of`, :func:`percentile_interval`: the cluster bootstrap.
- :func:`labellings`, :func:`permutation_p`, :func:`p_floor`: permutation tests of whole units,
  exact where the labellings can be enumerated.
- :func:`max_t_p`: Westfall and Young's max-T p-value of the best of several statistics.
- :func:`holm`: Holm's step-down adjustment of several p-values.
- :func:`clopper_pearson`: the exact interval of a binomial proportion.
- :func:`auc_bounds`: one-sided confidence bounds of an AUC between two sets of independent
  units (Newcombe's score interval), valid where the AUC is 0 or 1.
- :func:`sign_flips`, :func:`sign_flip_test`: paired comparisons over independent units (seeds,
  datasets): the one-sided sign-flip permutation test, stratified, with max-T over candidates.
- :func:`mcnemar_p`: the exact one-sided McNemar test of two classifiers on the same images.
- :func:`mean_interval`: the t interval of a mean over independent units.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np


def unit_index(
    labels: np.ndarray, units=None, error: type[Exception] = ValueError
) -> tuple[np.ndarray, int, np.ndarray]:
    """Each row's unit as 0..U-1 (``units`` None: every row is its own unit), the number of units
    U and each unit's 0/1 label. A unit holding both labels raises ``error``: membership is per
    patient."""
    labels = np.asarray(labels, dtype=int)
    if units is None:
        index = np.arange(len(labels))
    else:
        index = np.unique(np.asarray(units, dtype=str), return_inverse=True)[1]
    n_units = int(index.max()) + 1 if len(index) else 0
    unit_label = np.zeros(n_units, dtype=int)
    unit_label[index] = labels
    if not np.array_equal(unit_label[index], labels):
        raise error("a patient has both member and holdout images; membership is per patient")
    return index, n_units, unit_label


def cluster_draws(unit_label: np.ndarray, n_boot: int, rng: np.random.Generator) -> list:
    """``n_boot`` bootstrap resamples of the units (arrays of unit numbers drawn with
    replacement), each holding both labels; resamples with one label only are drawn again."""
    unit_label = np.asarray(unit_label, dtype=int)
    n_units = len(unit_label)
    if unit_label.min() == unit_label.max():
        raise ValueError("a bootstrap of members against holdout needs units of both labels")
    draws: list[np.ndarray] = []
    while len(draws) < n_boot:
        drawn = rng.integers(0, n_units, n_units)
        if 0 < unit_label[drawn].sum() < n_units:
            draws.append(drawn)
    return draws


def rows_of(index: np.ndarray, n_units: int) -> Callable[[np.ndarray], np.ndarray]:
    """drawn units -> the rows of all of them (with repeats), for a cluster bootstrap."""
    order = np.argsort(index, kind="stable")
    counts = np.bincount(index, minlength=n_units)
    starts = np.r_[0, np.cumsum(counts)[:-1]]

    def rows(drawn: np.ndarray) -> np.ndarray:
        sizes = counts[drawn]
        offsets = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        return order[np.repeat(starts[drawn], sizes) + offsets]

    return rows


def percentile_interval(values, level: float = 0.95) -> tuple[float, float]:
    """The two-sided percentile interval of bootstrap ``values`` at ``level``; NaN without any."""
    values = np.asarray(values, dtype=np.float64)
    if not len(values):
        return math.nan, math.nan
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def labellings(
    unit_label: np.ndarray, n_permutations: int, rng: np.random.Generator
) -> tuple[np.ndarray, bool]:
    """Labellings of the units for a permutation test, and whether they are exact.

    Where the units can be labelled in at most ``n_permutations`` ways (C(units, members)),
    every labelling, the observed one among them, so that the p-value is exact and needs no
    random draws: count / labellings. Otherwise ``n_permutations`` random shuffles, for
    (1 + count) / (1 + permutations).
    """
    unit_label = np.asarray(unit_label, dtype=int)
    n_units, n_members = len(unit_label), int(unit_label.sum())
    if math.comb(n_units, n_members) <= n_permutations:
        chosen = np.array(list(itertools.combinations(range(n_units), n_members)), dtype=int)
        exact = np.zeros((len(chosen), n_units), dtype=int)
        np.put_along_axis(exact, chosen, 1, axis=1)
        return exact, True
    return rng.permuted(np.tile(unit_label, (n_permutations, 1)), axis=1), False


def permutation_p(permuted: np.ndarray, observed: float, exact: bool) -> float:
    """The one-sided permutation p of ``observed`` among the statistics of the labellings of
    :func:`labellings`: count / labellings where they are exact, else (1 + count) / (1 + B)."""
    permuted = np.asarray(permuted, dtype=np.float64)
    count = int((permuted >= observed - 1e-12 * max(1.0, abs(observed))).sum())
    return count / len(permuted) if exact else (1 + count) / (1 + len(permuted))


def max_t_p(observed: float, permuted_by_candidate: np.ndarray, exact: bool) -> float:
    """Westfall and Young's max-T p-value of a chosen statistic ``observed`` (the best of the
    candidates): its rank among the labellings' best value over every candidate.
    ``permuted_by_candidate`` is (candidates, labellings)."""
    best = np.max(np.atleast_2d(permuted_by_candidate), axis=0)
    return permutation_p(best, observed, exact)


def p_floor(unit_label: np.ndarray, n_permutations: int) -> float:
    """The smallest p-value a permutation test of these units can give: 1 / C(units, members)
    where every labelling is enumerated, else 1 / (1 + permutations)."""
    n_units, n_members = len(unit_label), int(np.sum(unit_label))
    count = math.comb(n_units, n_members)
    return 1 / count if count <= n_permutations else 1 / (1 + n_permutations)


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the order given (NaN stays NaN and is not
    counted): they control the family-wise error rate over the finite p-values."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    m = len(order)
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adjusted, 1.0)
    return out


def clopper_pearson(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper-Pearson) two-sided interval of ``successes`` of ``n`` at ``level``;
    NaN where n is 0."""
    from scipy.stats import beta

    if n <= 0:
        return math.nan, math.nan
    tail = (1 - level) / 2
    low = 0.0 if successes <= 0 else float(beta.ppf(tail, successes, n - successes + 1))
    high = 1.0 if successes >= n else float(beta.ppf(1 - tail, successes + 1, n - successes))
    return low, high


def _auc_variance(theta: np.ndarray, n_members: int, n_holdout: int) -> np.ndarray:
    """Hanley and McNeil's variance of an AUC ``theta`` with Newcombe's (2006) N* = (m + n) / 2
    - 1 in place of both m - 1 and n - 1."""
    star = (n_members + n_holdout) / 2 - 1
    spread = (1 - theta) / (2 - theta) + theta / (1 + theta)
    return theta * (1 - theta) * (1 + star * spread) / (n_members * n_holdout)


def auc_bounds(value, n_members: int, n_holdout: int, z: float):
    """One-sided confidence bounds (low, high) of an AUC of ``n_members`` against ``n_holdout``
    independent units at normal quantile ``z`` (for example 1.645: each bound holds with 95%):
    the thetas at which (value - theta)^2 = z^2 var(theta) (Newcombe 2006, method 5, a score
    interval), so that a bound is informative where the AUC is 0 or 1. ``value`` and the counts
    may be arrays, which broadcast (then so do the bounds); found by bisection to 1e-9; NaN
    where a side has no units."""
    values = np.asarray(value, dtype=np.float64)
    n_members, n_holdout = np.asarray(n_members), np.asarray(n_holdout)
    values = np.broadcast_arrays(values, n_members, n_holdout)[0].astype(np.float64)
    empty = (n_members <= 0) | (n_holdout <= 0)
    n_members, n_holdout = np.maximum(n_members, 1), np.maximum(n_holdout, 1)

    def outside(theta):  # the score statistic exceeds z at theta
        return (values - theta) ** 2 > z**2 * _auc_variance(theta, n_members, n_holdout)

    # low: the smallest theta in [0, value] inside; high: the largest in [value, 1]
    lo, hi = np.zeros_like(values), values.copy()  # outside at lo (where it is), inside at hi
    top_lo, top_hi = values.copy(), np.ones_like(values)  # inside at top_lo, outside at top_hi
    for _ in range(40):
        middle = (lo + hi) / 2
        out = outside(middle)
        lo, hi = np.where(out, middle, lo), np.where(out, hi, middle)
        middle = (top_lo + top_hi) / 2
        out = outside(middle)
        top_lo, top_hi = np.where(out, top_lo, middle), np.where(out, middle, top_hi)
    low = np.where(outside(np.zeros_like(values)), hi, 0.0)
    high = np.where(outside(np.ones_like(values)), top_lo, 1.0)
    low = np.where(np.isfinite(values) & ~empty, low, np.nan)
    high = np.where(np.isfinite(values) & ~empty, high, np.nan)
    if values.ndim == 0:
        return float(low), float(high)
    return low, high


def sign_flips(n: int, n_flips: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Sign vectors (flips, n) of +-1 for a sign-flip test of ``n`` paired units, and whether they
    are exact: every one of the 2^n where that is at most ``n_flips`` (the observed all-ones
    among them), else ``n_flips`` random ones."""
    if 2**n <= n_flips:
        grid = np.array(list(itertools.product((1, -1), repeat=n)), dtype=np.int8)
        return grid.reshape(2**n, n), True
    return rng.choice(np.array([1, -1], dtype=np.int8), size=(n_flips, n)), False


def sign_flip_test(
    differences, strata=None, n_flips: int = 100_000, seed: int = 0
) -> dict[str, np.ndarray | float | bool]:
    """One-sided paired test that candidates beat a reference: ``differences`` (units, K) holds
    each unit's candidate-minus-reference score for K candidates (a 1-D array is one candidate).

    Under the null each unit's difference is symmetric about 0, so its sign can be flipped;
    every candidate gets the same flips, which keeps their dependence. Each candidate's
    statistic is the mean over ``strata`` (for example scenarios; None: one stratum) of the
    stratum's mean difference, divided by the flip-invariant root of its summed squares, so that
    candidates on different spreads compete fairly in the max-T step.

    Returns ``statistic`` (the weighted mean difference per candidate), ``p`` (each candidate's
    own p), ``p_max_t`` (Westfall and Young's max-T p, adjusted over the K candidates: it holds
    for the best one even when it was picked for being best), ``floor`` (the smallest p the
    units allow: 1 / 2^units where exact, else 1 / (1 + flips)) and ``exact``. Units with a zero
    difference in every candidate add nothing but still count in the floor's units."""
    d = np.asarray(differences, dtype=np.float64)
    if d.ndim == 1:
        d = d[:, None]
    if d.ndim != 2 or len(d) == 0 or not np.isfinite(d).all():
        raise ValueError("differences must be a finite (units, candidates) array with units")
    n = len(d)
    strata = np.zeros(n, dtype=int) if strata is None else np.asarray(strata)
    if len(strata) != n:
        raise ValueError(f"strata has {len(strata)} entries for {n} units")
    names, index, counts = np.unique(strata, return_inverse=True, return_counts=True)
    weight = 1.0 / (len(names) * counts[index])  # mean over strata of the stratum means
    signs, exact = sign_flips(n, n_flips, np.random.default_rng(seed))
    weighted = d * weight[:, None]
    scale = np.sqrt((weighted**2).sum(axis=0))
    scale = np.where(scale > 0, scale, 1.0)
    observed = weighted.sum(axis=0)
    flipped = (signs @ weighted) / scale  # (flips, K), standardised
    standard = observed / scale
    tol = 1e-12
    if exact:
        p = (flipped >= standard - tol).mean(axis=0)
        p_max = (flipped.max(axis=1)[:, None] >= standard - tol).mean(axis=0)
        floor = 1 / 2**n
    else:
        b = len(flipped)
        p = (1 + (flipped >= standard - tol).sum(axis=0)) / (1 + b)
        p_max = (1 + (flipped.max(axis=1)[:, None] >= standard - tol).sum(axis=0)) / (1 + b)
        floor = 1 / (1 + b)
    return {
        "statistic": observed,
        "p": p,
        "p_max_t": np.maximum(p_max, p),
        "floor": floor,
        "exact": exact,
    }


def mcnemar_p(first_correct, second_correct) -> float:
    """The exact one-sided McNemar p that the first classifier is right more often than the
    second on the same images: of the images where exactly one is right, the binomial(0.5)
    chance that the first is right on at least as many as observed. 1.0 where they never
    disagree."""
    from scipy.stats import binom

    first = np.asarray(first_correct, dtype=bool)
    second = np.asarray(second_correct, dtype=bool)
    if first.shape != second.shape:
        raise ValueError(f"{first.shape} and {second.shape}: not the same images")
    wins, losses = int((first & ~second).sum()), int((~first & second).sum())
    if wins + losses == 0:
        return 1.0
    return float(binom.sf(wins - 1, wins + losses, 0.5))


def mean_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """The mean of independent units' ``values`` and its two-sided Student t interval at
    ``level``: (mean, low, high); the bounds are NaN with fewer than 2 values."""
    from scipy.stats import t

    values = np.asarray(values, dtype=np.float64)
    mean = float(values.mean()) if len(values) else math.nan
    if len(values) < 2:
        return mean, math.nan, math.nan
    half = float(
        t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    )
    return mean, mean - half, mean + half
