"""The audit's privacy budget and its three-valued gate.

The budget bounds leak measures of the patient-level attacks (a patient's score is the mean of
its slices' out-of-fold scores): the AUC in the better of the score's two directions, and TPR
at a low FPR where the holdout has enough patients to estimate it. Every candidate attack in
every feature space is judged, and the verdict promises two error rates, each at most alpha
over the groups of one audit:

- **fail**: the best candidate's lower confidence bound is above the budget. The bounds are
  simultaneous over the candidates and criteria (Bonferroni), so a group whose true leak is
  within budget fails with probability at most alpha / groups.
- **pass**: every candidate's upper confidence bound is below the budget. A group with a
  candidate whose true leak reaches the budget passes only where that candidate's own bound
  misses, with probability at most alpha / groups (an intersection-union test needs no
  correction over the candidates).
- **inconclusive**: neither; the reason says roughly how many patients would decide it.

Alpha is split evenly over the audit's groups (Bonferroni), so that both promises hold
family-wise over the groups. AUC bounds are Newcombe's score bounds
(:func:`ctprints.inference.auc_bounds`); TPR bounds are exact (Clopper-Pearson) over members.

- :func:`check_budget`: the budget (:data:`BUDGET_DEFAULTS`, the schema's ``audit.budget``)
  checked and completed.
- :func:`gate_table`: every candidate's measures and bounds.
- :func:`verdict`: pass, fail or inconclusive, with one line that says why.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ctprints.config import schema_defaults
from ctprints.errors import AuditError
from ctprints.inference import auc_bounds
from ctprints.metrics import auc

if TYPE_CHECKING:
    from pandas import DataFrame

# The schema's defaults of audit.budget, the one place they are written.
BUDGET_DEFAULTS: dict = schema_defaults("audit.budget")

CRITERIA = {  # criterion -> budget key
    "auc": "max_auc",
    "tpr_at_1pct_fpr": "max_tpr_at_1pct_fpr",
    "tpr_at_0_1pct_fpr": "max_tpr_at_0_1pct_fpr",
}
FPR = {"tpr_at_1pct_fpr": 0.01, "tpr_at_0_1pct_fpr": 0.001}
NAMES = {
    "auc": "AUC by patient",
    "tpr_at_1pct_fpr": "TPR at 1% FPR by patient",
    "tpr_at_0_1pct_fpr": "TPR at 0.1% FPR by patient",
}


def check_budget(budget: dict | None, key: str = "audit.budget") -> dict:
    """:data:`BUDGET_DEFAULTS` updated with ``budget``, checked: max_auc in [0.5, 1], the
    max_tpr_* in [0, 1] or None (not judged), alpha in (0, 0.5]. Unknown keys and values out of
    range raise :class:`AuditError` naming ``<key>.<name>``."""
    budget = dict(budget or {})
    if "decide_on" in budget:
        raise AuditError(
            f"{key}.decide_on: not a budget key; the gate fails on lower confidence bounds and "
            "passes on upper ones, and says inconclusive in between (docs/task1-and-audit.md)"
        )
    unknown = sorted(set(budget) - set(BUDGET_DEFAULTS))
    if unknown:
        raise AuditError(
            f"{key}.{unknown[0]}: unknown budget key; known: {', '.join(BUDGET_DEFAULTS)}"
        )
    merged = {**BUDGET_DEFAULTS, **budget}

    def number(name: str, low: float, high: float, open_low: bool = False, none: bool = False):
        value = merged[name]
        if value is None and none:
            return
        interval = f"{'(' if open_low else '['}{low:g}, {high:g}]"
        wanted = f"a number in {interval}" + (" or null" if none else "")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AuditError(f"{key}.{name}: {value!r} is not {wanted}")
        if not (low < value <= high if open_low else low <= value <= high):
            raise AuditError(f"{key}.{name}: {value!r} is not {wanted}")

    number("max_auc", 0.5, 1.0)
    number("max_tpr_at_1pct_fpr", 0.0, 1.0, none=True)
    number("max_tpr_at_0_1pct_fpr", 0.0, 1.0, none=True)
    number("alpha", 0.0, 0.5, open_low=True)
    return merged


def leak_auc(unit_label: np.ndarray, scores: np.ndarray) -> float:
    """The AUC of the better direction of a score, max(AUC, 1 - AUC): an attacker who sees
    members score lower simply flips the score."""
    value = float(auc(unit_label, scores)[0])
    return max(value, 1 - value)


def tpr_at(scores: np.ndarray, unit_label: np.ndarray, fpr: float) -> tuple[int, int]:
    """(members found, members) at the threshold that at most ``fpr`` of the holdout units
    exceed: the (k+1)-th highest holdout score, k = floor(fpr x holdout), strictly above."""
    members, holdout = _members_and_holdout(scores, unit_label)
    allowed = int(math.floor(fpr * len(holdout) + 1e-9))
    return _found_over(members, holdout, allowed), len(members)


def needed_holdout(fpr: float) -> int:
    """The holdout units TPR at ``fpr`` needs to be estimable: 1 / fpr."""
    return int(math.ceil(1 / fpr - 1e-9))


def _one_sided(alpha: float) -> float:
    from scipy.stats import norm

    return float(norm.isf(alpha))


def threshold_rank(n_holdout: int, fpr: float, alpha: float, side: str) -> int | None:
    """The k whose (k+1)-th highest holdout score is, with probability at least 1 - ``alpha``,
    a threshold at or above (``side`` "low") or at or below ("high") the true one of FPR
    ``fpr``: the count of holdout units over the true threshold is Binomial(n, fpr), so the
    largest k with P(count <= k) <= alpha, or the smallest with P(count > k) <= alpha. None
    where no k is: "low" then has no threshold that can vouch for a lower bound, "high" takes
    every member as found."""
    from scipy.stats import binom

    ranks = np.arange(n_holdout)
    if side == "low":
        fits = ranks[binom.cdf(ranks, n_holdout, fpr) <= alpha]
        return int(fits.max()) if fits.size else None
    fits = ranks[binom.sf(ranks, n_holdout, fpr) <= alpha]
    return int(fits.min()) if fits.size else None


def _members_and_holdout(scores: np.ndarray, unit_label: np.ndarray):
    """The members' scores, and the holdout's sorted from the highest."""
    return scores[unit_label == 1], np.sort(scores[unit_label == 0])[::-1]


def _found_over(members: np.ndarray, holdout: np.ndarray, rank: int | None) -> int:
    """Members strictly above the (rank+1)-th highest of the sorted ``holdout`` scores (every
    member where rank is None or beyond the holdout)."""
    threshold = holdout[rank] if rank is not None and rank < len(holdout) else -math.inf
    return int(np.sum(members > threshold))


def tpr_bounds(
    scores: np.ndarray, unit_label: np.ndarray, fpr: float, alpha_low: float, alpha_high: float
) -> tuple[float, float]:
    """One-sided bounds (low at ``alpha_low``, high at ``alpha_high``) of the true TPR at FPR
    ``fpr``, the holdout's threshold being an estimate: each side's alpha is split evenly
    between a threshold that errs on the safe side with that probability
    (:func:`threshold_rank`: a higher threshold finds fewer members, a lower one more) and the
    exact Clopper-Pearson bound of the members found over it. The low bound is 0 where the
    holdout is too small to vouch for any threshold."""
    from scipy.stats import beta

    member_scores, holdout = _members_and_holdout(scores, unit_label)
    members, n_holdout = len(member_scores), len(holdout)
    rank = threshold_rank(n_holdout, fpr, alpha_low / 2, "low")
    found = 0 if rank is None else _found_over(member_scores, holdout, rank)
    low = 0.0 if found <= 0 else float(beta.ppf(alpha_low / 2, found, members - found + 1))
    rank = threshold_rank(n_holdout, fpr, alpha_high / 2, "high")
    found = _found_over(member_scores, holdout, rank)
    high = 1.0 if found >= members else float(beta.isf(alpha_high / 2, found + 1, members - found))
    return low, high


def gated(budget: dict, n_holdout: int) -> list[str]:
    """The criteria the gate judges: a bound that is not null, and for TPR at an FPR a holdout
    of at least 1 / FPR units."""
    return [
        name
        for name, key in CRITERIA.items()
        if budget.get(key) is not None
        and (name not in FPR or n_holdout >= needed_holdout(FPR[name]))
    ]


def gate_table(
    matrix: np.ndarray, unit_label: np.ndarray, choice: DataFrame, budget: dict, n_groups: int = 1
) -> DataFrame:
    """One row per candidate (the ``choice`` table's embedder and attack) and criterion:
    criterion, value (for the AUC, :func:`leak_auc`), low (the simultaneous lower bound the fail
    side reads: one-sided at alpha / (groups x candidates x gated criteria), halved again for
    the AUC's two directions), high (the candidate's own upper bound the pass side reads:
    one-sided at alpha / groups), budget, gated (False where the budget is
    null or TPR is not estimable: then low and high are NaN) and estimable."""
    import pandas as pd

    members, holdout = int(unit_label.sum()), int((unit_label == 0).sum())
    judged = gated(budget, holdout)
    alpha = budget["alpha"] / max(n_groups, 1)
    alpha_fail = alpha / (len(matrix) * max(len(judged), 1))
    z_pass = _one_sided(alpha)
    z_auc = _one_sided(alpha_fail / 2)  # the better of two directions, chosen after the fact
    k = len(matrix)
    columns: dict[str, list] = {name: [] for name in ("criterion", "value", "low", "high")}
    columns |= {"budget": [], "gated": [], "estimable": []}
    for name, key in CRITERIA.items():
        estimable = name not in FPR or holdout >= needed_holdout(FPR[name])
        if name == "auc":
            raw = auc(np.broadcast_to(unit_label, matrix.shape), matrix)
            value = np.maximum(raw, 1 - raw)  # leak_auc of every candidate
            low = auc_bounds(value, members, holdout, z_auc)[0]
            high = auc_bounds(value, members, holdout, z_pass)[1]
        elif estimable:
            found = np.array([tpr_at(scores, unit_label, FPR[name])[0] for scores in matrix])
            value = found / members
            bounds = [
                tpr_bounds(scores, unit_label, FPR[name], alpha_fail, alpha) for scores in matrix
            ]
            low, high = np.array(bounds).T
        else:
            value = low = high = np.full(k, np.nan)
        if name not in judged:
            low = high = np.full(k, np.nan)
        for column, values in (("value", value), ("low", low), ("high", high)):
            columns[column].append(np.asarray(values, dtype=np.float64))
        columns["criterion"].append(np.full(k, name, dtype=object))
        columns["budget"].append(np.full(k, np.nan if budget.get(key) is None else budget[key]))
        columns["gated"].append(np.full(k, name in judged))
        columns["estimable"].append(np.full(k, estimable))
    # candidate by candidate, each with its criteria in CRITERIA's order
    order = np.argsort(np.tile(np.arange(k), len(CRITERIA)), kind="stable")
    table = pd.DataFrame({name: np.concatenate(parts)[order] for name, parts in columns.items()})
    table.insert(0, "attack", np.tile(choice["attack"].to_numpy(), len(CRITERIA))[order])
    table.insert(0, "embedder", np.tile(choice["embedder"].to_numpy(), len(CRITERIA))[order])
    return table


def wide(table: DataFrame) -> DataFrame:
    """A :func:`gate_table` with one row per candidate: embedder, attack and, per criterion,
    ``<criterion>_by_patient``, ``_low`` and ``_high`` (the AUC's value is the choice table's
    auc_by_patient, so it is left out here)."""
    out = None
    for name in CRITERIA:
        rows = table[table["criterion"] == name].set_index(["embedder", "attack"])
        part = rows[["value", "low", "high"]].rename(
            columns={
                "value": f"{name}_by_patient",
                "low": f"{name}_by_patient_low",
                "high": f"{name}_by_patient_high",
            }
        )
        if name == "auc":
            part = part.drop(columns=f"{name}_by_patient")
        out = part if out is None else out.join(part)
    return out.reset_index()


def _plain(value):
    """JSON-ready: numpy scalars and arrays as Python numbers and lists, recursively; NaN (a
    bound that is not judged) as None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    return value


def patients_needed(
    value: float, members: int, holdout: int, limit: float, z: float, side: str
) -> int | None:
    """Roughly how many units in all (members and holdout in today's ratio) would make an AUC of
    ``value`` decide against ``limit``: its lower bound above (side "fail") or its upper bound
    below (side "pass"); None where no number would (the AUC on the wrong side of the limit) or
    more than 100 times today's would be needed."""
    if (side == "fail" and not value > limit) or (side == "pass" and not value < limit):
        return None
    factors = np.geomspace(1, 100, 200)
    m = np.maximum(1, np.round(members * factors)).astype(int)
    n = np.maximum(1, np.round(holdout * factors)).astype(int)
    low, high = auc_bounds(np.full(len(factors), value), m, n, z)
    decided = low > limit if side == "fail" else high < limit
    return int(m[decided][0] + n[decided][0]) if decided.any() else None


def _criterion(table: DataFrame, name: str, budget: dict) -> dict:
    """One criterion over every candidate: the best value and the bounds the gate compares."""
    rows = table[table["criterion"] == name]
    limit = budget[CRITERIA[name]]
    best = rows.loc[rows["value"].fillna(-np.inf).idxmax()]
    lowest = rows.loc[rows["low"].fillna(-np.inf).idxmax()]
    highest = rows.loc[rows["high"].fillna(np.inf).idxmax()]
    return {
        "name": name,
        "budget": limit,
        "gated": bool(rows["gated"].all()),
        "estimable": bool(rows["estimable"].all()),
        "value": best["value"],  # the best candidate's
        "candidate": f"{best['attack']} in {best['embedder']}",
        "low": lowest["low"],  # the highest simultaneous lower bound of any candidate
        "high": highest["high"],  # the highest upper bound of any candidate
        "over": limit is not None and bool(lowest["low"] > limit),
        "under": limit is not None and bool(highest["high"] < limit),
    }


def verdict(
    table: DataFrame,
    budget: dict,
    members: int,
    holdout: int,
    n_groups: int = 1,
    hint: bool = True,
    **context,
) -> dict:
    """The three-valued verdict of a :func:`gate_table`: fail where any gated criterion's highest
    simultaneous lower bound is above its budget, pass where every gated criterion's highest
    upper bound is below it, else inconclusive. ``members`` and ``holdout`` count the units.

    Returns a JSON-ready dict: verdict, failed (the criteria over budget), reason (one line,
    named after ``context["group"]`` where given), criteria (name, budget, gated, estimable, the
    best candidate's value, the bounds compared, over, under), alpha (the audit's and this
    group's share), units and ``context``. ``hint`` False leaves the patients an inconclusive
    group would need out of its reason (simulations, which only count verdicts)."""
    name = context.get("group", "the audit")
    criteria = [_criterion(table, criterion, budget) for criterion in CRITERIA]
    judged = [c for c in criteria if c["gated"]]
    failed = [c["name"] for c in judged if c["over"]]
    alpha = budget["alpha"] / max(n_groups, 1)
    units = f"{members} member and {holdout} holdout {context.get('unit', 'patients')}"
    if failed:
        parts = [
            f"{NAMES[c['name']]} lower bound {c['low']:.3f} > {c['budget']:g}"
            for c in judged
            if c["over"]
        ]
        outcome, reason = "fail", f"{name} fails: {'; '.join(parts)} ({units})"
    elif all(c["under"] for c in judged):
        parts = [
            f"{NAMES[c['name']]} upper bound {c['high']:.3f} < {c['budget']:g}" for c in judged
        ]
        outcome, reason = "pass", f"{name} passes: {'; '.join(parts)} ({units})"
    else:
        auc_row = next(c for c in criteria if c["name"] == "auc")
        k = len(table[table["criterion"] == "auc"])
        z_fail = _one_sided(alpha / (2 * k * max(len(judged), 1)))
        limit, value = auc_row["budget"], auc_row["value"]
        at = value if value < limit else 0.5
        need_fail = need_pass = None
        if hint:
            need_fail = patients_needed(value, members, holdout, limit, z_fail, "fail")
            need_pass = patients_needed(at, members, holdout, limit, _one_sided(alpha), "pass")
        hints = []
        if need_fail is not None:
            hints.append(f"a fail at this AUC needs about {need_fail} units in all")
        if need_pass is not None:
            hints.append(f"a pass, even at an AUC of {at:.3f}, needs at least {need_pass}")
        hint = "; ".join(hints) or "more patients would narrow the bounds"
        outcome = "inconclusive"
        reason = (
            f"{name} is inconclusive: best {NAMES['auc']} {value:.3f} (upper bound "
            f"{auc_row['high']:.3f}, lower bound {auc_row['low']:.3f}, budget {limit:g}) with "
            f"{units}; {hint}"
        )
    not_estimable = [
        f"{NAMES[c['name']]} not estimable (needs ≥ {needed_holdout(FPR[c['name']])} holdout)"
        for c in criteria
        if not c["estimable"] and c["budget"] is not None
    ]
    if not_estimable:
        reason += f"; {', '.join(not_estimable)}"
    result = {
        "verdict": outcome,
        "failed": failed,
        "reason": reason,
        "criteria": criteria,
        "budget": dict(budget),
        "alpha": budget["alpha"],
        "alpha_group": alpha,
        "n_groups": n_groups,
        "members": members,
        "holdout": holdout,
    }
    return _plain({**result, **context})
