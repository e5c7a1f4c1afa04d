"""How often the gate passes, fails or is inconclusive, by simulation at the user's own counts.

Each simulated group draws its member and holdout patients from the member-vs-member control of
a real audit (both halves members, so no leak by construction): a unit's scores over every
candidate are resampled together, which keeps the candidates' correlation. A leak of a given
size shifts the members' scores of one candidate (the best by patient on the control's spread)
so that its AUC between members and holdout is that size: the first candidate, the audit's best
by patient. The gate then judges the simulated
group as it judges a real one (:func:`ctprints.audit.gate.gate_table`, :func:`verdict`).

- :func:`leak_shift`: the shift that gives one candidate's scores a chosen AUC.
- :func:`verdicts`, :func:`rates`: the verdicts of simulated groups, and their pass, fail and
  inconclusive rates with Monte-Carlo errors.
- :func:`family_rates`, :func:`family_table`: how often an audit of several groups gets any
  group wrong (rule audit_calibration_family).
- :func:`patients_to_pass`: the patients per side at which a leak-free group passes 80% of the
  time.
- :func:`calibrate`: the table of one group (rule audit_calibration).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ctprints.audit.gate import gate_table, verdict
from ctprints.errors import AuditError

if TYPE_CHECKING:
    from pandas import DataFrame

LEAKS = (0.5, None, 0.7, 0.8, 0.9)  # None: at the budget
SIZES = ((8, 8), (24, 24), (60, 60))  # members, holdout; the group's own counts are added


def _pairwise_auc(members: np.ndarray, holdout: np.ndarray) -> float:
    """P(member > holdout) + P(tie) / 2 over every pair, by sorting."""
    holdout = np.sort(holdout)
    below = np.searchsorted(holdout, members, side="left")
    ties = np.searchsorted(holdout, members, side="right") - below
    return float((below + ties / 2).sum() / (len(members) * len(holdout)))


def leak_shift(pool: np.ndarray, target_auc: float) -> float:
    """The shift d with which pool + d against pool has an AUC of ``target_auc`` (bisection;
    0 for 0.5)."""
    pool = np.asarray(pool, dtype=np.float64)
    if target_auc <= 0.5:
        return 0.0
    spread = float(np.ptp(pool)) or 1.0
    low, high = 0.0, spread
    while _pairwise_auc(pool + high, pool) < target_auc and high < 1e6 * spread:
        high *= 2
    for _ in range(50):
        middle = (low + high) / 2
        low, high = (
            (middle, high) if _pairwise_auc(pool + middle, pool) < target_auc else (low, middle)
        )
    return high


def verdicts(
    pool: np.ndarray,
    members: int,
    holdout: int,
    true_auc: float,
    budget: dict,
    sims: int,
    n_groups: int = 1,
    seed: int = 0,
    leaky: int = 0,
) -> list[str]:
    """The verdicts of ``sims`` simulated groups of ``members`` and ``holdout`` units drawn with
    replacement from ``pool`` ((K, C) unit scores of the control), the members of candidate
    ``leaky`` shifted to ``true_auc``, each judged at alpha / ``n_groups``."""
    rng = np.random.default_rng(seed)
    pool = np.asarray(pool, dtype=np.float64)
    shift = leak_shift(pool[leaky], true_auc)
    labels = np.r_[np.ones(members, int), np.zeros(holdout, int)]
    choice = _choice(len(pool))
    out = []
    for _ in range(sims):
        matrix = pool[:, rng.integers(0, pool.shape[1], members + holdout)].copy()
        matrix[leaky, :members] += shift
        table = gate_table(matrix, labels, choice, budget, n_groups)
        out.append(verdict(table, budget, members, holdout, n_groups, hint=False)["verdict"])
    return out


def _shares(hits: list[bool]) -> tuple[float, float]:
    """The share of True and its Monte-Carlo standard error."""
    share = sum(hits) / len(hits)
    return share, math.sqrt(share * (1 - share) / len(hits))


def rates(
    pool: np.ndarray,
    members: int,
    holdout: int,
    true_auc: float,
    budget: dict,
    sims: int,
    n_groups: int = 1,
    seed: int = 0,
    leaky: int = 0,
) -> dict:
    """Pass, fail and inconclusive rates of the groups of :func:`verdicts`, each with its
    Monte-Carlo standard error (``<outcome>_se``)."""
    found = verdicts(pool, members, holdout, true_auc, budget, sims, n_groups, seed, leaky)
    out: dict = {}
    for outcome in ("pass", "fail", "inconclusive"):
        out[outcome], out[f"{outcome}_se"] = _shares([v == outcome for v in found])
    return out


def family_rates(
    pools: list[np.ndarray],
    counts: list[tuple[int, int]],
    true_auc: float,
    budget: dict,
    sims: int,
    seed: int = 0,
) -> dict:
    """How often one audit of ``len(pools)`` groups gets any group wrong: each simulated audit
    draws every group from its own pool at its own (members, holdout) counts, all with a leak of
    ``true_auc``, and judges each at alpha / the number of groups (the audit's Bonferroni
    split). ``any_fail`` and ``any_pass``: the share of audits in which at least one group fails
    or passes, each with its standard error (``_se``); ``worst_fail`` and ``worst_pass``: the
    highest single group's rate."""
    per_group = [
        verdicts(pool, m, n, true_auc, budget, sims, len(pools), seed + index)
        for index, (pool, (m, n)) in enumerate(zip(pools, counts, strict=True))
    ]
    out: dict = {}
    for outcome in ("fail", "pass"):
        hits = [any(v == outcome for v in audit) for audit in zip(*per_group, strict=True)]
        out[f"any_{outcome}"], out[f"any_{outcome}_se"] = _shares(hits)
        out[f"worst_{outcome}"] = max(_shares([v == outcome for v in g])[0] for g in per_group)
    return out


def family_table(
    pools: list[np.ndarray],
    counts: list[tuple[int, int]],
    budget: dict,
    sims: int,
    seed: int = 0,
) -> DataFrame:
    """Family-wise error rates of one audit (:func:`family_rates`) with no leak and with every
    group's best candidate at the budget's max_auc, at the groups' own counts and with every
    group at each of :data:`SIZES`: size ("own counts" or "m + n"), leak_auc, groups, sims,
    any_fail, any_pass, their standard errors and the worst single group's rates."""
    import pandas as pd

    settings = [("own counts", list(counts))]
    settings += [(f"{m} + {n}", [(m, n)] * len(pools)) for m, n in SIZES]
    rows = []
    for name, sizes in settings:
        for value in (0.5, budget["max_auc"]):
            found = family_rates(pools, sizes, value, budget, sims, seed)
            rows.append(
                {"size": name, "leak_auc": value, "groups": len(pools), "sims": sims, **found}
            )
    return pd.DataFrame(rows)


def _choice(k: int):
    import pandas as pd

    return pd.DataFrame({"embedder": ["candidate"] * k, "attack": [str(i) for i in range(k)]})


def patients_to_pass(
    pool: np.ndarray, budget: dict, sims: int, n_groups: int = 1, seed: int = 0, top: int = 3200
) -> int | None:
    """The smallest patients per side, doubling from 25, at which a leak-free group passes at
    least 80% of ``sims`` simulations; None where even ``top`` per side does not."""
    size = 25
    while size <= top:
        if rates(pool, size, size, 0.5, budget, sims, n_groups, seed)["pass"] >= 0.8:
            return size
        size *= 2
    return None


def calibrate(
    pool: np.ndarray,
    members: int,
    holdout: int,
    budget: dict,
    sims: int,
    n_groups: int = 1,
    seed: int = 0,
) -> DataFrame:
    """One row per size (:data:`SIZES` and the group's own ``members`` + ``holdout``) and leak
    (:data:`LEAKS`, None meaning the budget's max_auc): members, holdout, leak_auc, sims, the
    rates and their standard errors. The leak goes into the first candidate of ``pool``."""
    import pandas as pd

    rows = []
    for m, n in dict.fromkeys([*SIZES, (members, holdout)]):
        for leak in LEAKS:
            value = budget["max_auc"] if leak is None else leak
            found = rates(pool, m, n, value, budget, sims, n_groups, seed)
            rows.append({"members": m, "holdout": n, "leak_auc": value, "sims": sims, **found})
    return pd.DataFrame(rows)


def pool_of(units: DataFrame, group: str) -> np.ndarray:
    """The (K, C) control unit scores of an audit's units.tsv
    (:func:`ctprints.audit.scores.unit_frame`), the candidates ordered by their dev AUC by
    patient, best first. Raises :class:`AuditError` naming the group without a control."""
    from ctprints.audit.gate import leak_auc

    control = units[units["split"] == "control"]
    if control.empty:
        raise AuditError(
            f"task1 group {group}: no member-vs-member control to resample (it needs at least 4 "
            "used images)"
        )
    dev = units[units["split"] == "dev"]
    best = {
        key: leak_auc(frame["label"].to_numpy(int), frame["score"].to_numpy(float))
        for key, frame in dev.groupby(["embedder", "attack"], sort=False)
    }
    table = control.pivot_table(index=["embedder", "attack"], columns="unit", values="score")
    order = sorted(table.index, key=lambda key: -best.get(key, 0.5))
    return table.loc[order].to_numpy(dtype=np.float64)


def to_pass_table(
    pool: np.ndarray, budget: dict, sims: int, n_groups: int = 1, seed: int = 0
) -> DataFrame:
    """What a pass costs: the patients per side at which a leak-free group passes 80% of the
    time (:func:`patients_to_pass`; empty where over 3,200), as configured, at looser AUC
    budgets, with no TPR budget, and with one candidate only: setting, candidates, max_auc,
    tpr_budget (whether a TPR-at-low-FPR budget is gated), patients_per_side."""
    import pandas as pd

    no_tpr = {key: None for key in budget if key.startswith("max_tpr")}
    settings = [("as configured", pool, budget)]
    settings += [
        (f"max_auc {limit:g}", pool, {**budget, "max_auc": limit})
        for limit in (0.65, 0.7, 0.75)
        if limit > budget["max_auc"]
    ]
    settings.append(("AUC only (no TPR budget)", pool, {**budget, **no_tpr}))
    settings.append(("one candidate (the best)", pool[:1], budget))
    rows = []
    for name, candidates, setting in settings:
        needed = patients_to_pass(candidates, setting, sims, n_groups, seed)
        rows.append(
            {
                "setting": name,
                "candidates": len(candidates),
                "max_auc": setting["max_auc"],
                "tpr_budget": any(setting.get(key) is not None for key in no_tpr),
                "patients_per_side": needed,
            }
        )
    return pd.DataFrame(rows).astype({"patients_per_side": "Int64"})


def plot_rates(rates: DataFrame, alpha: float, path) -> None:
    """Pass and fail rates against the leak's AUC, one panel per size, with ``alpha``."""
    from pathlib import Path

    from ctprints.audit.page import pyplot

    plt = pyplot()
    sizes = list(dict.fromkeys(zip(rates["members"], rates["holdout"], strict=True)))
    figure, axes = plt.subplots(1, len(sizes), figsize=(3.2 * len(sizes), 3.2), squeeze=False)
    for axis, (m, n) in zip(axes[0], sizes, strict=True):
        part = rates[(rates["members"] == m) & (rates["holdout"] == n)].sort_values("leak_auc")
        for outcome, colour in (("fail", "C3"), ("pass", "C2"), ("inconclusive", "C7")):
            axis.errorbar(
                part["leak_auc"], part[outcome], yerr=part[f"{outcome}_se"], color=colour,
                marker="o", ms=3, label=outcome,
            )  # fmt: skip
        axis.axhline(alpha, color="black", lw=0.8, ls="--")
        axis.set_title(f"{m} + {n} patients", fontsize=9)
        axis.set_xlabel("true AUC by patient of one candidate")
        axis.set_ylim(-0.02, 1.02)
    axes[0, 0].set_ylabel("share of simulated groups")
    axes[0, -1].legend(fontsize=7, frameon=False)
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
