"""The study's primary hypothesis: a registered candidate run beats each of the paper's two
Task 2 approaches, pooled over the hard scenarios and their seeds.

The unit is a demo-built dataset (one scenario at one seed): each gives the candidate's
accuracy minus each baseline's on the same test images. :func:`primary_test` tests the
differences with the one-sided, stratified sign-flip test of :mod:`ctprints.inference`
(strata: scenarios, each weighing alike), with max-T over the two baselines, and the claim
"beats both" by the larger of the two adjusted p-values (an intersection-union test). With 5
scenarios x 5 seeds the flips are drawn at random and the floor is 1 / (1 + flips); with few
datasets they are enumerated exactly.

The baselines are found by role, not name, since their names follow each dataset's settings:
``tsne`` is the paper's t-SNE + k-means run (``tsne_kmeans_<embedder>``) and ``ensemble`` its
ResNet ensemble of the last round (``ensemble_<size>_<round>``), both flagged ``paper`` in the
study's long table (:func:`ctprints.study.collect`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ctprints.errors import StudyError
from ctprints.inference import mean_interval, sign_flip_test

BASELINES = {
    "tsne": "the paper's t-SNE + k-means",
    "ensemble": "the paper's ResNet ensemble",
}
PRIMARY_COLUMNS = [
    "candidate",
    "baseline",
    "baseline_runs",
    "n_datasets",
    "n_scenarios",
    "difference",
    "diff_low",
    "diff_high",
    "p",
    "p_adjusted",
    "p_floor",
]


def baseline_role(run: str) -> str | None:
    """``tsne`` or ``ensemble`` for the paper's two Task 2 runs, else None."""
    if run.startswith("tsne_kmeans_"):
        return "tsne"
    if run.startswith("ensemble_"):
        return "ensemble"
    return None


def paired_differences(
    task2_long: pd.DataFrame, candidate: str, scenarios: Sequence[str]
) -> pd.DataFrame:
    """One row per dataset of ``scenarios``: scenario, seed, dataset, the candidate's accuracy
    and its difference to each baseline (columns ``tsne`` and ``ensemble``). Raises
    :class:`StudyError` naming a dataset that lacks the candidate or a baseline, or a scenario
    with no dataset."""
    data = task2_long[task2_long["scenario"].isin(scenarios)]
    absent = sorted(set(scenarios) - set(data["scenario"]))
    if absent:
        raise StudyError(f"primary hypothesis: no dataset of scenario(s) {', '.join(absent)}")
    rows = []
    for dataset, runs in data.groupby("dataset", sort=True):
        accuracy = runs.set_index("run")["accuracy"].astype(float)
        if candidate not in accuracy:
            raise StudyError(f"primary hypothesis: dataset {dataset} has no run {candidate!r}")
        paper = runs[runs["paper"]]
        roles = {baseline_role(run): run for run in paper["run"]}
        missing = sorted(set(BASELINES) - set(roles))
        if missing:
            raise StudyError(
                f"primary hypothesis: dataset {dataset} has no paper run for {', '.join(missing)}"
            )
        first = runs.iloc[0]
        row = {
            "scenario": first["scenario"],
            "seed": int(first["seed"]),
            "dataset": dataset,
            "candidate": accuracy[candidate],
        }
        for role, run in roles.items():
            if role in BASELINES:
                row[role] = accuracy[candidate] - accuracy[run]
                row[f"{role}_run"] = run
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["scenario", "seed"]).reset_index(drop=True)


def primary_test(
    task2_long: pd.DataFrame,
    candidate: str,
    scenarios: Sequence[str],
    n_flips: int = 100_000,
    seed: int = 0,
) -> pd.DataFrame:
    """The primary hypothesis as a table (:data:`PRIMARY_COLUMNS`): one row per baseline, then
    ``both``. ``difference`` is the mean over scenarios of the scenario's mean paired difference
    (the test's statistic), with the 95% t interval of the per-dataset differences; ``p`` is the
    baseline's own sign-flip p, ``p_adjusted`` its max-T p over the two baselines, and the
    ``both`` row's ``p_adjusted`` the larger of the two: the p that the candidate beats each."""
    pairs = paired_differences(task2_long, candidate, scenarios)
    roles = list(BASELINES)
    test = sign_flip_test(
        pairs[roles].to_numpy(), strata=pairs["scenario"].to_numpy(), n_flips=n_flips, seed=seed
    )
    common = {
        "candidate": candidate,
        "n_datasets": len(pairs),
        "n_scenarios": pairs["scenario"].nunique(),
        "p_floor": test["floor"],
    }
    rows = []
    for k, role in enumerate(roles):
        _, low, high = mean_interval(pairs[role])
        rows.append(
            {
                **common,
                "baseline": role,
                "baseline_runs": ",".join(sorted(set(pairs[f"{role}_run"]))),
                "difference": float(test["statistic"][k]),
                "diff_low": low,
                "diff_high": high,
                "p": float(test["p"][k]),
                "p_adjusted": float(test["p_max_t"][k]),
            }
        )
    rows.append(
        {
            **common,
            "baseline": "both",
            "baseline_runs": "",
            "difference": min(row["difference"] for row in rows),
            "diff_low": np.nan,
            "diff_high": np.nan,
            "p": max(row["p"] for row in rows),
            "p_adjusted": max(row["p_adjusted"] for row in rows),
        }
    )
    return pd.DataFrame(rows, columns=PRIMARY_COLUMNS)


def primary_markdown(table: pd.DataFrame, scenarios: Sequence[str]) -> str:
    """The primary hypothesis's section of leaderboard.md."""
    if table.empty:
        return ""
    first = table.iloc[0]
    lines = [
        "",
        f"## Primary hypothesis: `{first['candidate']}` beats each of the paper's approaches",
        "",
        f"Pooled over {first['n_datasets']} datasets of {first['n_scenarios']} scenarios "
        f"({', '.join(scenarios)}), each dataset one paired unit. Difference: the mean over "
        "scenarios of the candidate's accuracy minus the baseline's, with the 95% t interval of "
        "the per-dataset differences. p: one-sided stratified sign-flip test, adjusted by max-T "
        "over the two baselines; 'both' takes the larger (intersection-union). Floor: "
        f"{first['p_floor']:.3g}. It is confirmatory only on seeds run after the candidate "
        "and every method's settings were fixed.",
        "",
        "| baseline | runs | datasets | difference [95% interval] | p | p (adjusted) |",
        "|---|---|---|---|---|---|",
    ]
    for _, row in table.iterrows():
        name = BASELINES.get(row["baseline"], "both")
        interval = (
            f"{row['difference']:.3f}"
            if pd.isna(row["diff_low"])
            else f"{row['difference']:.3f} [{row['diff_low']:.3f}, {row['diff_high']:.3f}]"
        )
        runs = f"`{row['baseline_runs']}`" if row["baseline_runs"] else "-"
        lines.append(
            f"| {name} | {runs} | {row['n_datasets']} | {interval} | {row['p']:.3g} "
            f"| {row['p_adjusted']:.3g} |"
        )
    return "\n".join(lines) + "\n"


WORST_COLUMNS = ["run", "paper", "seeds", "worst_mean", "paper_run", "difference"]
WORST_COLUMNS += ["diff_low", "diff_high", "p_adjusted", "p_floor", "comparisons"]


def worst_case_test(board: pd.DataFrame) -> pd.DataFrame:
    """The worst-scenario ranking with paired statistics, from a Task 2 board (one row per
    scenario and run, with ``seeds`` and ``values``; :func:`ctprints.study.leaderboard`).

    Per seed that every scenario ran, a run's worst case is its lowest accuracy over the
    scenarios at that seed. Each run that ran everywhere is set against the paper run whose
    worst cases have the highest mean: ``difference`` is the mean over seeds of the two worst
    cases' difference, with its t interval over seeds (``diff_low``, ``diff_high``), and
    ``p_adjusted`` the one-sided sign-flip p that the run's worst case beats every paper run's,
    max-T over every run x paper run (so the ranking's winner is accounted for) and the largest
    of its p-values against each paper run; ``p_floor`` is 1 / 2^seeds. Sorted by worst_mean,
    best first; empty where fewer than 2 seeds are shared or no paper run ran everywhere."""
    from ctprints.study import seed_values

    empty = pd.DataFrame(columns=WORST_COLUMNS)
    if board.empty:
        return empty
    scenarios = sorted(set(board["scenario"]))
    values: dict[str, dict[str, dict[int, float]]] = {}
    for _, row in board.iterrows():
        values.setdefault(row["run"], {})[row["scenario"]] = seed_values(row)
    runs = sorted(run for run, per in values.items() if set(per) == set(scenarios))
    seeds = sorted(
        set.intersection(*(set(values[run][s]) for run in runs for s in scenarios))
        if runs
        else set()
    )
    paper = sorted(set(board.loc[board["paper"].astype(bool), "run"]) & set(runs))
    if len(seeds) < 2 or not paper:
        return empty
    worst = {
        run: np.array([min(values[run][s][d] for s in scenarios) for d in seeds]) for run in runs
    }
    base = max(paper, key=lambda run: worst[run].mean())
    others = [run for run in runs if run not in paper]
    pairs = [(run, ref) for run in others for ref in paper]
    test = (
        sign_flip_test(np.array([worst[run] - worst[ref] for run, ref in pairs]).T)
        if pairs
        else None
    )
    rows = []
    for run in runs:
        _, low, high = mean_interval(worst[run] - worst[base])
        mine = [k for k, (r, _) in enumerate(pairs) if r == run]
        rows.append(
            {
                "run": run,
                "paper": run in paper,
                "seeds": ",".join(map(str, seeds)),
                "worst_mean": float(worst[run].mean()),
                "paper_run": base,
                "difference": float((worst[run] - worst[base]).mean()),
                "diff_low": low,
                "diff_high": high,
                "p_adjusted": float(test["p_max_t"][mine].max()) if mine else np.nan,
                "p_floor": float(test["floor"]) if test is not None else np.nan,
                "comparisons": len(pairs),
            }
        )
    table = pd.DataFrame(rows, columns=WORST_COLUMNS)
    return table.sort_values(["worst_mean", "run"], ascending=[False, True]).reset_index(drop=True)
