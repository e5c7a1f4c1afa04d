"""The gate's calibration harness: leaks of a chosen size, rates with their Monte-Carlo errors,
the control pool read from units.tsv, and what a pass costs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ctprints.audit.calibration import (
    _pairwise_auc,
    calibrate,
    family_rates,
    family_table,
    leak_shift,
    patients_to_pass,
    plot_rates,
    pool_of,
    rates,
    to_pass_table,
)
from ctprints.audit.gate import check_budget
from ctprints.errors import AuditError


def _pool(k: int = 4, units: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=units)
    return 0.6 * shared + 0.8 * rng.normal(size=(k, units))


def test_leak_shift_gives_the_chosen_auc() -> None:
    pool = np.random.default_rng(1).exponential(size=50)
    for target in (0.6, 0.8, 0.95):
        assert _pairwise_auc(pool + leak_shift(pool, target), pool) == pytest.approx(
            target, abs=2e-3
        )
    assert leak_shift(pool, 0.5) == 0.0


def test_rates_keep_the_promises_and_carry_their_errors() -> None:
    budget = check_budget({})
    pool = _pool()
    none = rates(pool, 24, 24, 0.5, budget, 200, seed=2)
    assert none["fail"] <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 200)
    assert sum(none[o] for o in ("pass", "fail", "inconclusive")) == pytest.approx(1.0)
    assert none["fail_se"] == pytest.approx(np.sqrt(none["fail"] * (1 - none["fail"]) / 200))
    leak = rates(pool, 24, 24, 0.95, budget, 50, seed=3)
    assert leak["fail"] >= 0.9


def test_calibrate_covers_every_size_and_leak() -> None:
    table = calibrate(_pool(), 5, 7, check_budget({}), 20, n_groups=3)
    sizes = list(dict.fromkeys(zip(table.members, table.holdout, strict=True)))
    assert sizes == [(8, 8), (24, 24), (60, 60), (5, 7)]
    assert sorted(set(table.leak_auc)) == [0.5, 0.6, 0.7, 0.8, 0.9]
    assert (table.sims == 20).all()
    small = table[(table.members == 5) & (table.leak_auc == 0.5)].iloc[0]
    assert small["pass"] == 0.0  # 5 + 7 patients can never show an AUC under 0.6


def test_what_a_pass_costs(tmp_path) -> None:
    budget = check_budget({})
    pool = _pool()
    needed = patients_to_pass(pool, budget, 20, seed=4)
    assert needed is not None and needed > 60
    table = to_pass_table(pool, budget, 20, seed=4)
    assert list(table.setting) == [
        "as configured", "max_auc 0.65", "max_auc 0.7", "max_auc 0.75",
        "AUC only (no TPR budget)", "one candidate (the best)",
    ]  # fmt: skip
    assert table.tpr_budget.tolist() == [True, True, True, True, False, True]
    values = table.patients_per_side.tolist()
    assert values[0] == needed and values[1] <= values[0] and values[3] <= values[2]
    assert values[4] <= values[0]  # a criterion less can only make a pass easier
    assert values[5] <= values[0]  # fewer candidates, narrower simultaneous bounds
    assert patients_to_pass(pool, budget, 20, top=50) is None
    plot_rates(calibrate(pool, 8, 8, budget, 10), 0.05, tmp_path / "rates.png")
    assert (tmp_path / "rates.png").read_bytes()[:4] == b"\x89PNG"


def test_the_pool_is_the_control_best_candidate_first() -> None:
    rows = []
    for attack, dev_scores in (("weak", [0.5, 0.4, 0.6, 0.5]), ("strong", [0.9, 0.8, 0.1, 0.2])):
        for unit, (label, score) in enumerate(zip([1, 1, 0, 0], dev_scores, strict=True)):
            rows.append(("e", attack, "dev", f"p{unit}", label, score))
        for unit in range(2):
            rows.append(
                ("e", attack, "control", f"p{unit}", unit, 10.0 if attack == "strong" else 1.0)
            )
    units = pd.DataFrame(rows, columns=["embedder", "attack", "split", "unit", "label", "score"])
    pool = pool_of(units, "g")
    assert pool.shape == (2, 2) and (pool[0] == 10.0).all()
    with pytest.raises(AuditError, match="task1 group g: no member-vs-member control"):
        pool_of(units[units.split == "dev"], "g")


def _limit(alpha: float, sims: int) -> float:
    return alpha + 3 * np.sqrt(alpha * (1 - alpha) / sims)


def test_an_audit_of_three_groups_keeps_its_promises_family_wise() -> None:
    """Three groups at exactly the budget (AUC 0.6, TPR at 1% FPR estimable at 150 holdout):
    each group fails at most alpha / 3 of the time and the audit any group at most alpha. The
    gate that held the holdout's 1% threshold fixed failed one such group 4.0% of the time
    (above this per-group limit, 3.6%), and 6.0% of audits."""
    budget = check_budget({})
    rng = np.random.default_rng(0)
    pools = [rng.normal(size=(1, 200)) for _ in range(3)]
    sims = 400
    found = family_rates(pools, [(150, 150)] * 3, 0.6, budget, sims, seed=1)
    assert found["worst_fail"] <= _limit(0.05 / 3, sims), found
    assert found["any_fail"] <= _limit(0.05, sims) and found["any_pass"] <= _limit(0.05, sims)
    assert found["any_fail"] >= found["worst_fail"]  # any group: at least the worst one's
    assert found["any_fail_se"] == pytest.approx(
        np.sqrt(found["any_fail"] * (1 - found["any_fail"]) / sims)
    )


def test_the_family_table_covers_own_counts_and_every_size() -> None:
    budget = check_budget({})
    pools = [_pool(seed=seed) for seed in range(3)]
    table = family_table(pools, [(4, 12), (8, 8), (8, 8)], budget, 10)
    assert list(dict.fromkeys(table["size"])) == ["own counts", "8 + 8", "24 + 24", "60 + 60"]
    assert sorted(set(table.leak_auc)) == [0.5, 0.6] and (table.groups == 3).all()
    own = table[table["size"] == "own counts"]
    assert (own.any_pass == 0.0).all()  # 4 + 12 or 8 + 8 patients can never pass
    leak = family_rates(pools, [(40, 40)] * 3, 0.95, budget, 10, seed=2)
    assert leak["any_fail"] == 1.0  # every audit finds a clear leak in some group
