"""The audit's privacy budget and its verdict.

- :func:`check_budget`: the budget (:data:`BUDGET_DEFAULTS`, the schema's ``audit.budget``)
  checked and completed.
- :func:`verdict`: pass, fail or inconclusive against the budget, with one line that says why.
"""

from __future__ import annotations

import numpy as np

from ctprints.config import schema_defaults
from ctprints.errors import AuditError

# The schema's defaults of audit.budget, the one place they are written.
BUDGET_DEFAULTS: dict = schema_defaults("audit.budget")


DECIDE_ON = ("lower", "point", "upper")


def check_budget(budget: dict | None, key: str = "audit.budget") -> dict:
    """:data:`BUDGET_DEFAULTS` updated with ``budget``, checked: max_auc in [0.5, 1], the
    max_tpr_* in [0, 1] or None (not judged), alpha in (0, 0.5], decide_on lower, point or upper.
    Unknown keys and values out of range raise :class:`AuditError` naming ``<key>.<name>``."""
    budget = dict(budget or {})
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
    if merged["decide_on"] not in DECIDE_ON:
        raise AuditError(
            f"{key}.decide_on: {merged['decide_on']!r} is not one of {', '.join(DECIDE_ON)}"
        )
    return merged


CRITERIA = {  # criterion -> budget key
    "auc": "max_auc",
    "tpr_at_1pct_fpr": "max_tpr_at_1pct_fpr",
    "tpr_at_0_1pct_fpr": "max_tpr_at_0_1pct_fpr",
}


_COMPARED = {"lower": "low", "point": "value", "upper": "high"}


BOUND_WORDS = {"low": " lower bound", "value": "", "high": " upper bound"}


def _plain(value):
    """JSON-ready: numpy scalars and arrays as Python numbers and lists, recursively."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _pair(value: float, limit: float) -> tuple[str, str]:
    """Two numbers with two decimals, or more where two would print them alike."""
    for digits in range(2, 7):
        shown = f"{value:.{digits}f}", f"{limit:.{digits}f}"
        if shown[0] != shown[1]:
            return shown
    return shown


# long: every criterion and the reason built from them, read in one place
def verdict(
    stats: dict,
    budget: dict,
    control: dict | None = None,
    selected_p: dict[str, float] | None = None,
    **context,
) -> dict:
    """Pass or fail of :func:`statistics` against a :func:`check_budget` budget.

    One criterion per budget limit that is not null: auc, tpr_at_1pct_fpr and tpr_at_0_1pct_fpr
    pass when the number chosen by decide_on is at most the limit ("lower": the interval's lower
    end, so that only data showing the budget exceeded fail; "point": the value; "upper": the
    upper end, so that the whole interval must be within budget), and "permutation" fails when
    permutation_p < alpha. Each criterion: name, value, low, high, budget, compared (low, value
    or high), compared_value, passed.

    ``selected_p`` (:func:`selection_p`, a p-value per statistic) guards the attack's criteria
    under decide_on lower and point: an AUC or TPR over its bound fails only where that
    statistic beats chance after the choice of the best of N attacks (its p < alpha). Without
    the guard, the best of 24 attacks on 2 member patients reaches an AUC near 1 on data without
    any leakage (docs/task1-and-audit.md). Under "upper" no guard applies: the whole interval
    must be within budget.

    Where the patients allow no p-value below alpha (``stats["p_floor"]`` >= alpha, e.g. 2
    members and 2 holdout patients: 1/6), no test can fail, and a group that fails no criterion
    is "inconclusive", not "pass"; audit_gate fails on it. The overall chance of failing a group
    without leakage is above alpha, since any failed criterion fails the group.

    Returns a JSON-ready dict: verdict ("pass" or "fail"), failed (names), reason (one line,
    named after ``context["group"]`` where given), criteria, budget, control (where given) and
    ``context``.
    """
    compared = _COMPARED[budget["decide_on"]]
    criteria = []
    for name, key in CRITERIA.items():
        if budget.get(key) is None:
            continue
        numbers = {
            "value": stats[name],
            "low": stats.get(f"{name}_low"),
            "high": stats.get(f"{name}_high"),
        }
        value = numbers[compared]
        over = not value <= budget[key]  # NaN is over budget
        guard = None if selected_p is None or compared == "high" else selected_p[name]
        chance = guard is not None and over and guard >= budget["alpha"]
        criteria.append(
            {
                "name": name,
                **numbers,
                "budget": budget[key],
                "compared": compared,
                "compared_value": value,
                "selected_p": guard,
                "passed": bool(not over or chance),
            }
        )
    p_value = stats["permutation_p"]
    criteria.append(
        {
            "name": "permutation",
            "value": p_value,
            "low": None,
            "high": None,
            "budget": budget["alpha"],
            "compared": "value",
            "compared_value": p_value,
            "passed": bool(p_value >= budget["alpha"]),
        }
    )
    failed = [criterion["name"] for criterion in criteria if not criterion["passed"]]
    name = context.get("group", "the audit")
    if failed:
        reasons = []
        for criterion in criteria:
            if criterion["passed"]:
                continue
            if criterion["name"] == "permutation":
                reasons.append(f"permutation p {p_value:.3g} < {budget['alpha']:g}")
            else:
                value, limit = _pair(criterion["compared_value"], criterion["budget"])
                word = BOUND_WORDS[criterion["compared"]]
                reason = f"{criterion['name']}{word} {value} > {limit}"
                if criterion["selected_p"] is not None:
                    reason += f" (selection-adjusted p {criterion['selected_p']:.3g})"
                reasons.append(reason)
        reason = f"{name} fails: {'; '.join(reasons)}"
    else:
        reason = f"{name} passes {len(criteria)} criteria"
        over = [
            f"{c['name']} (p {c['selected_p']:.3g})"
            for c in criteria
            if c.get("selected_p") is not None and c["passed"] and c["compared_value"] > c["budget"]
        ]
        if over:
            reason += (
                f" ({', '.join(over)} over budget but not beyond chance after choosing the best "
                f"attack: selection-adjusted p >= {budget['alpha']:g})"
            )
        floor = stats.get("p_floor")
        if floor is not None and floor >= budget["alpha"]:
            reason = (
                f"{name} is inconclusive: with these patients no p-value can be below "
                f"{floor:.3g}, which is not below alpha {budget['alpha']:g}, so no test could "
                "fail; audit more patients"
            )
    floor = stats.get("p_floor")
    inconclusive = not failed and floor is not None and floor >= budget["alpha"]
    result = {
        "verdict": "fail" if failed else "inconclusive" if inconclusive else "pass",
        "failed": failed,
        "reason": reason,
        "criteria": criteria,
        "budget": dict(budget),
    }
    if control is not None:
        result["control"] = control
    return _plain({**result, **context})
