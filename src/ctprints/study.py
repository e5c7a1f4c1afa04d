"""A study: the same workflow on several demo-built datasets (scenarios x demo seeds), as one
leaderboard.

:func:`collect` reads each dataset's ``evaluation/task2.tsv`` and ``evaluation/task1.tsv`` into
long tables (one row per scenario, seed and run); :func:`leaderboard` and
:func:`task1_leaderboard` reduce them over seeds to mean, sd (ddof=1, NaN with one seed), min,
max and the per-seed values; :func:`best_by_scenario` sets the best run against the paper's,
paired over seeds; :func:`across_scenarios` ranks the runs by their worst scenario.

``leaderboard.tsv`` (:func:`write_leaderboard`) holds both tasks, one row per task, scenario,
group and run, with columns::

    task metric scenario group run method features paper baseline n_seeds seeds mean sd min max
    values dev_mean dev_sd

``task`` is ``task2`` (metric ``accuracy``, ``group`` empty, ``method`` the attribution method)
or ``task1`` (metric ``auc`` on the test images, ``group`` the Task 1 group, ``method`` the
attack, ``dev_mean``/``dev_sd`` the cv_dev AUC, empty for the paper's runs, which have none).
``baseline`` says, for the paper's Task 2 runs, whether they ran as the paper did ("pretrained
(imagenet)") or with a stand-in ("random-weight stand-in"; ``RunPlan.task2_paper_baselines``).
Task 1 runs are named like their run files, ``<attack>_<features>`` (the paper's attack is
``paper_f<fraction>``). ``seeds`` and
``values`` list the demo seeds and their scores in seed order (``0,1,2`` and
``0.995,1.000,0.990``). Numbers are written to 3 decimals.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd

from ctprints.errors import StudyError
from ctprints.evaluation import read_evaluation, task1_run_name
from ctprints.inference import mean_interval, sign_flip_test
from ctprints.io import atomic_output
from ctprints.plots import plot_leaderboard, plot_task1

TASK2_LONG = [
    "scenario",
    "seed",
    "dataset",
    "run",
    "method",
    "features",
    "paper",
    "baseline",
    "accuracy",
    "hungarian_accuracy",
    "ari",
]
TASK1_LONG = [
    "scenario",
    "seed",
    "dataset",
    "group",
    "attack",
    "features",
    "run",
    "paper",
    "auc",
    "auc_cv_dev",
]
STATS = ["n_seeds", "seeds", "mean", "sd", "min", "max", "values"]
TABLE_COLUMNS = [
    "task",
    "metric",
    "scenario",
    "group",
    "run",
    "method",
    "features",
    "paper",
    "baseline",
    *STATS,
    "dev_mean",
    "dev_sd",
]


def _duplicates(table: pd.DataFrame, keys: list[str], path) -> None:
    repeated = table[table.duplicated(keys, keep=False)]
    if not repeated.empty:
        first = repeated.iloc[0]
        shown = ", ".join(f"{key} {first[key]}" for key in keys)
        raise StudyError(f"{path}: more than one row for {shown}")


def collect(datasets: Sequence[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The long Task 2 and Task 1 tables of a study, one row per scenario, seed and run.

    ``datasets``: dicts with keys dataset, scenario, seed, task2 and task1 (a table's path or
    None) and paper_runs (the names of the paper's runs on that dataset). Task 1 keeps the test
    AUC and the cv_dev AUC (NaN where the run has no cv_dev row); a Task 1 run is the paper's if
    its attack starts with ``paper_`` or its name is in paper_runs. Raises :class:`StudyError`
    for a table without a needed column, or a run that appears twice in one scenario and seed.
    """
    task2, task1, seen = [], [], {}
    for entry in datasets:
        name, scenario, seed = entry["dataset"], str(entry["scenario"]), int(entry["seed"])
        if (scenario, seed) in seen:
            raise StudyError(
                f"datasets {seen[scenario, seed]} and {name}: both are scenario {scenario}, "
                f"seed {seed}"
            )
        seen[scenario, seed] = name
        paper = set(entry.get("paper_runs") or ())
        where = {"scenario": scenario, "seed": seed, "dataset": name}
        if entry.get("task2"):
            table = read_evaluation(entry["task2"], "task2", StudyError)
            _duplicates(table, ["run"], entry["task2"])
            notes = entry.get("paper_baselines") or {}
            baseline = [notes.get(run, "") for run in table["run"]]
            table = table.assign(**where, paper=table["run"].isin(paper), baseline=baseline)
            task2.append(table[TASK2_LONG])
        if entry.get("task1"):
            table = read_evaluation(entry["task1"], "task1", StudyError)
            table = table.assign(
                run=[
                    task1_run_name(a, f) for a, f in zip(table.attack, table.features, strict=True)
                ]
            )
            test = table[table["split"] == "test"]
            _duplicates(test, ["group", "run"], entry["task1"])
            dev = table[table["split"] == "cv_dev"].drop_duplicates(["group", "run"])
            dev = dev.set_index(["group", "run"])["auc"]
            test = test.assign(
                **where,
                paper=test["attack"].str.startswith("paper_") | test["run"].isin(paper),
                auc_cv_dev=dev.reindex(pd.MultiIndex.from_frame(test[["group", "run"]])).values,
            )
            task1.append(test[TASK1_LONG])
    task2_long = pd.concat(task2, ignore_index=True) if task2 else pd.DataFrame(columns=TASK2_LONG)
    task1_long = pd.concat(task1, ignore_index=True) if task1 else pd.DataFrame(columns=TASK1_LONG)
    return task2_long, task1_long


def _fmt(value: float, digits: int = 3) -> str:
    return "" if pd.isna(value) else f"{value:.{digits}f}"


def _stats(rows: pd.DataFrame, metric: str) -> dict:
    rows = rows.sort_values("seed")
    values = rows[metric].astype(float)
    return {
        "n_seeds": int(values.notna().sum()),
        "seeds": ",".join(str(int(seed)) for seed in rows["seed"]),
        "mean": values.mean(),
        "sd": values.std(ddof=1),  # NaN with one seed
        "min": values.min(),
        "max": values.max(),
        "values": ",".join(_fmt(value) for value in values),
    }


def _board(long: pd.DataFrame, keys: list[str], describe: list[str], metric: str) -> pd.DataFrame:
    rows = []
    for key, group in long.groupby(keys, sort=False):
        first = group.iloc[0]
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                **{column: first[column] for column in describe},
                "paper": bool(group["paper"].any()),
                **_stats(group, metric),
            }
        )
    columns = [*keys, *describe, "paper", *STATS]
    board = pd.DataFrame(rows, columns=columns)
    order = [*keys[:-1], "mean", keys[-1]]
    return board.sort_values(
        order, ascending=[True] * (len(keys) - 1) + [False, True], kind="stable"
    ).reset_index(drop=True)


def leaderboard(task2_long: pd.DataFrame, metric: str = "accuracy") -> pd.DataFrame:
    """Task 2 over seeds, per scenario and run: method, features, paper, n_seeds, seeds, mean,
    sd, min, max, values; sorted by scenario, then mean (best first)."""
    return _board(task2_long, ["scenario", "run"], ["method", "features", "baseline"], metric)


def task1_leaderboard(task1_long: pd.DataFrame) -> pd.DataFrame:
    """Task 1 test AUC over seeds, per scenario, group and run, as :func:`leaderboard`, with
    the attack as method and the cv_dev AUC's mean and sd as dev_mean and dev_sd."""
    board = _board(task1_long, ["scenario", "group", "run"], ["attack", "features"], "auc")
    board = board.rename(columns={"attack": "method"})
    dev = (
        task1_long.groupby(["scenario", "group", "run"])["auc_cv_dev"]
        .agg(dev_mean="mean", dev_sd=lambda values: values.astype(float).std(ddof=1))
        .reset_index()
    )
    return board.merge(dev, on=["scenario", "group", "run"], how="left")


def seed_values(row) -> dict[int, float]:
    """A board row's score per seed, from its ``seeds`` and ``values`` columns ({} if absent)."""
    seeds, values = row.get("seeds"), row.get("values")
    if not isinstance(seeds, str) or not isinstance(values, str):
        return {}
    return {
        int(seed): float(value)
        for seed, value in zip(seeds.split(","), values.split(","), strict=True)
        if value != ""
    }


def _paired(best, ranked: pd.DataFrame, paper: pd.DataFrame) -> dict:
    """The best run against the paper's runs, paired over the seeds they share: the mean
    difference to the best paper run with its t interval over seeds, and the p that the best run
    beats every paper run (the largest of its max-T p-values against each, the max-T taken over
    every run x paper run of the scenario, so that picking the best is accounted for)."""
    out = {"diff_low": np.nan, "diff_high": np.nan, "p_adjusted": np.nan, "p_floor": np.nan}
    out["comparisons"] = 0
    values = {row["run"]: seed_values(row) for _, row in ranked.iterrows()}
    seeds = set(values[best["run"]])
    for run in paper["run"]:
        seeds &= set(values[run])
    seeds = sorted(seeds)
    if best["paper"] or len(seeds) < 2:
        return out
    runs = [run for run in ranked.loc[~ranked["paper"], "run"] if set(seeds) <= set(values[run])]
    pairs = [(run, base) for run in runs for base in paper["run"]]
    differences = np.array(
        [[values[run][seed] - values[base][seed] for run, base in pairs] for seed in seeds]
    )
    test = sign_flip_test(differences)
    mine = [k for k, (run, _) in enumerate(pairs) if run == best["run"]]
    top = pairs.index((best["run"], paper["run"].iloc[0]))
    _, low, high = mean_interval(differences[:, top])
    out.update(
        diff_low=low,
        diff_high=high,
        p_adjusted=float(test["p_max_t"][mine].max()),
        p_floor=float(test["floor"]),
        comparisons=len(pairs),
    )
    return out


def best_by_scenario(board: pd.DataFrame) -> pd.DataFrame:
    """Per scenario (and group, for Task 1) the best run and the best of the paper's runs.

    ``margin`` is the best run's mean minus the best paper run's; ``diff_low``/``diff_high`` is
    the 95% t interval of their paired difference over the seeds (the unit: a demo-built
    dataset). ``p_adjusted`` is the one-sided exact sign-flip p that the best run beats every
    paper run, adjusted by max-T over the ``comparisons`` (every run of the scenario against
    every paper run), since the best run is picked on these same scores; ``p_floor`` is the
    smallest p its seeds allow (1 / 2^seeds: 1/8 with 3). Each scenario is its own family; the
    scenarios are not adjusted for each other. NaN where the best run is the paper's, where
    there is no paper run, and with fewer than 2 shared seeds.
    """
    keys = ["scenario", "group"] if "group" in board.columns else ["scenario"]
    rows = []
    for key, group in board.groupby(keys, sort=True):
        ranked = group.sort_values(
            ["mean", "sd", "run"], ascending=[False, True, True], na_position="last"
        )
        best = ranked.iloc[0]
        paper = ranked[ranked["paper"]]
        row = {
            **dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True)),
            "n_seeds": int(group["n_seeds"].max()),
            "best_run": best["run"],
            "best_mean": best["mean"],
            "best_sd": best["sd"],
            "best_is_paper": bool(best["paper"]),
            "paper_run": None,
            "paper_mean": np.nan,
            "paper_sd": np.nan,
            "margin": np.nan,
            "diff_low": np.nan,
            "diff_high": np.nan,
            "p_adjusted": np.nan,
            "p_floor": np.nan,
            "comparisons": 0,
        }
        if not paper.empty:
            top = paper.iloc[0]
            row.update(
                paper_run=top["run"],
                paper_mean=top["mean"],
                paper_sd=top["sd"],
                margin=best["mean"] - top["mean"],
                **_paired(best, ranked, paper),
            )
        rows.append(row)
    return pd.DataFrame(rows)


ACROSS_COLUMNS = ["run", "paper", "n_scenarios", "worst", "worst_scenario", "average"]


def across_scenarios(board: pd.DataFrame) -> pd.DataFrame:
    """Each Task 2 run over every scenario of the board: its mean over seeds per scenario (one
    column per scenario, NaN where it did not run), ``worst`` (the lowest of those means),
    ``worst_scenario``, ``average`` (their mean) and ``n_scenarios``: :data:`ACROSS_COLUMNS`,
    then one column per scenario.

    Sorted by worst, then average, best first, the runs that ran in every scenario before the
    others (a method that needs real subsets runs in two scenarios only, and its worst case is
    not comparable). The run whose worst scenario is highest is the one to trust on data whose
    scenario is unknown.
    """
    if board.empty:
        return pd.DataFrame(columns=ACROSS_COLUMNS)
    means = board.pivot_table(index="run", columns="scenario", values="mean", aggfunc="first")
    scenarios = list(means.columns)
    table = means.reset_index()
    table.columns.name = None
    paper = board.groupby("run")["paper"].any()
    table["paper"] = table["run"].map(paper).astype(bool)
    table["n_scenarios"] = means.notna().sum(axis=1).values
    table["worst"] = means.min(axis=1).values
    table["worst_scenario"] = means.idxmin(axis=1).values
    table["average"] = means.mean(axis=1).values
    table["everywhere"] = table["n_scenarios"] == len(scenarios)
    table = table.sort_values(
        ["everywhere", "worst", "average", "run"], ascending=[False, False, False, True]
    )
    return table[[*ACROSS_COLUMNS, *scenarios]].reset_index(drop=True)


def leaderboard_table(task2_long: pd.DataFrame, task1_long: pd.DataFrame) -> pd.DataFrame:
    """Both tasks' boards in the shape of leaderboard.tsv (see the module's docstring)."""
    task2 = leaderboard(task2_long).assign(task="task2", metric="accuracy", group="")
    task1 = task1_leaderboard(task1_long).assign(task="task1", metric="auc")
    parts = [frame.reindex(columns=TABLE_COLUMNS) for frame in (task2, task1) if not frame.empty]
    if not parts:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def _pm(mean: float, sd: float) -> str:
    return f"{mean:.3f} ± {sd:.3f}" if pd.notna(sd) else f"{mean:.3f}"


def _name(row) -> str:
    if not row["paper"]:
        return f"`{row['run']}`"
    note = row.get("baseline") if isinstance(row.get("baseline"), str) else ""
    return f"`{row['run']}` **paper**" + (f" ({note})" if note else "")


def leaderboard_markdown(task2_long: pd.DataFrame, task1_long: pd.DataFrame, top: int = 10) -> str:
    """leaderboard.md: per scenario the top runs (and every paper run), best vs paper, then Task
    1's test AUC per attack."""
    board = leaderboard(task2_long)
    seeds = sorted(set(task2_long["seed"]) | set(task1_long["seed"]))
    lines = [
        "# ctprints: study leaderboard",
        "",
        f"Scores over demo seeds {', '.join(str(int(s)) for s in seeds) or '(none)'}: mean "
        "± sd (sd over seeds, ddof 1; none with one seed), then the per-seed values in seed "
        "order. Runs marked **paper** are the paper's approaches.",
        "",
        "## Task 2: accuracy per scenario",
        "",
    ]
    if board.empty:
        lines += ["No Task 2 scores in this study.", ""]
    for scenario, rows in board.groupby("scenario", sort=True):
        rows = rows.reset_index(drop=True)
        shown = rows[(rows.index < top) | rows["paper"]]
        lines += [
            f"### {scenario} ({len(rows)} runs, top {min(top, len(rows))} and the paper's)",
            "",
            "| rank | run | method | features | seeds | accuracy mean ± sd | min | max | values |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for rank, row in shown.iterrows():
            lines.append(
                f"| {rank + 1} | {_name(row)} | {row['method']} | {row['features']} "
                f"| {row['n_seeds']} | {_pm(row['mean'], row['sd'])} | {_fmt(row['min'])} "
                f"| {_fmt(row['max'])} | {row['values']} |"
            )
        lines.append("")
    if not board.empty:
        lines += _best_lines(best_by_scenario(board), "### Best run against the paper's", [])
        lines += _across_lines(across_scenarios(board))
    lines += ["## Task 1: test AUC per attack", ""]
    task1 = task1_leaderboard(task1_long)
    if task1.empty:
        lines += ["No Task 1 scores in this study.", ""]
    for (scenario, group), rows in task1.groupby(["scenario", "group"], sort=True):
        lines += [
            f"### {scenario}, {group}",
            "",
            "| run | attack | features | seeds | test AUC mean ± sd | cv_dev AUC mean ± sd "
            "| values |",
            "|---|---|---|---|---|---|---|",
        ]
        for _, row in rows.iterrows():
            dev = _pm(row["dev_mean"], row["dev_sd"]) if pd.notna(row["dev_mean"]) else "-"
            lines.append(
                f"| {_name(row)} | {row['method']} | {row['features']} | {row['n_seeds']} "
                f"| {_pm(row['mean'], row['sd'])} | {dev} | {row['values']} |"
            )
        lines.append("")
    if not task1.empty:
        lines += _best_lines(
            best_by_scenario(task1),
            "### Best attack against the paper's",
            ["group"],
            "The best attack is picked by these same test scores, out of every attack x "
            "feature run, so its mean is biased upward: on a group with nothing to find (a "
            "leakage-free `leak: false` group) a 'yes' measures that selection, not leakage.",
        )
    return "\n".join(lines)


def across_table(table: pd.DataFrame) -> list[str]:
    """The Markdown table of :func:`across_scenarios`: one line per run, its mean over seeds per
    scenario ("-" where it did not run); also generated into the docs
    (:mod:`ctprints.doctables`)."""
    scenarios = list(table.columns[len(ACROSS_COLUMNS) :])
    lines = [
        f"| run | worst | worst scenario | average | {' | '.join(scenarios)} |",
        "|" + "---|" * (4 + len(scenarios)),
    ]
    for _, row in table.iterrows():
        cells = " | ".join(_fmt(row[scenario]) or "-" for scenario in scenarios)
        lines.append(
            f"| {_name(row)} | {_fmt(row['worst'])} | {row['worst_scenario']} "
            f"| {_fmt(row['average'])} | {cells} |"
        )
    return lines


def _across_lines(table: pd.DataFrame) -> list[str]:
    return [
        "### Every run across scenarios",
        "",
        "Each cell is the run's mean over seeds. Ranked by the worst scenario: the first run is "
        "the one to trust when the scenario of new data is unknown. Runs that did not run in "
        "every scenario come last: round-1 runs need an unseen generator, `subsets` runs need "
        "real subsets.",
        "",
        *across_table(table),
        "",
    ]


def _p_cell(row) -> str:
    if pd.isna(row["p_adjusted"]):
        return "-"
    return f"{row['p_adjusted']:.3g} (max-T over {row['comparisons']}; floor {row['p_floor']:.3g})"


def _best_lines(best: pd.DataFrame, title: str, extra: list[str], note: str = "") -> list[str]:
    head = ["scenario", *extra]
    lines = [
        title,
        "",
        "Difference: the best run's mean minus the best paper run's, with the 95% t interval of "
        "their paired difference over seeds (the unit: a dataset). p: the exact one-sided "
        "sign-flip p that the best run beats every paper run, adjusted by max-T over every "
        "run against every paper run of the scenario (the best is picked on these scores); "
        "its floor is 1 / 2^seeds. Scenarios are not adjusted for each other."
        f"{' ' + note if note else ''}",
        "",
        f"| {' | '.join(head)} | seeds | best run | best mean ± sd | best paper run "
        "| paper mean ± sd | difference [95% interval] | p (adjusted) |",
        "|" + "---|" * (len(head) + 7),
    ]
    for _, row in best.iterrows():
        paper = "-" if pd.isna(row["paper_run"]) else f"`{row['paper_run']}`"
        paper_score = "-" if pd.isna(row["paper_mean"]) else _pm(row["paper_mean"], row["paper_sd"])
        if row["best_is_paper"]:
            difference = "(is the paper's)"
        elif pd.isna(row["margin"]):
            difference = "-"
        elif pd.isna(row["diff_low"]):
            difference = _fmt(row["margin"])
        else:
            difference = (
                f"{_fmt(row['margin'])} [{_fmt(row['diff_low'])}, {_fmt(row['diff_high'])}]"
            )
        lines.append(
            f"| {' | '.join(str(row[key]) for key in head)} | {row['n_seeds']} "
            f"| `{row['best_run']}` | {_pm(row['best_mean'], row['best_sd'])} | {paper} "
            f"| {paper_score} | {difference} | {_p_cell(row)} |"
        )
    return [*lines, ""]


def write_leaderboard(
    task2_long: pd.DataFrame,
    task1_long: pd.DataFrame,
    tsv_path: str | Path,
    md_path: str | Path,
) -> None:
    """Write leaderboard.tsv and leaderboard.md, each atomically."""
    table = leaderboard_table(task2_long, task1_long)
    with atomic_output(tsv_path) as temporary:
        table.to_csv(temporary, sep="\t", index=False, float_format="%.3f")
    with atomic_output(md_path) as temporary:
        temporary.write_text(leaderboard_markdown(task2_long, task1_long))


def signal_summary(datasets: Sequence[dict]) -> pd.DataFrame:
    """Per scenario, the demo data's own evidence (``demo_signal``) over seeds: the realism of
    its Task 2 generators (mean over generators; 1 is real-like, the noise control beside it)
    and the spectral family accuracy. Datasets without a ``signal`` file are left out."""
    rows = []
    for entry in datasets:
        if not entry.get("signal"):
            continue
        table = pd.read_csv(entry["signal"], sep="\t")
        missing = {"check", "subject", "value"} - set(table.columns)
        if missing:
            raise StudyError(f"{entry['signal']}: no column(s) {', '.join(sorted(missing))}")
        realism = table[table.check == "realism"]
        generators = realism[realism.subject.str.startswith("task2_")]
        noise = realism[realism.subject == "noise control"]
        family = table[table.check == "family_accuracy"]
        rows.append(
            {
                "scenario": str(entry["scenario"]),
                "seed": int(entry["seed"]),
                "realism": generators.value.mean(),
                "noise": noise.value.mean(),
                "family_accuracy": family.value.mean(),
            }
        )
    if not rows:
        return pd.DataFrame(columns=["scenario", "n_seeds", "realism", "noise", "family_accuracy"])
    frame = pd.DataFrame(rows)
    grouped = frame.groupby("scenario", sort=False)
    out = grouped.size().rename("n_seeds").to_frame()
    for column in ("realism", "noise", "family_accuracy"):
        out[column] = [_pm(values.mean(), values.std(ddof=1)) for _, values in grouped[column]]
    return out.reset_index()


def signal_markdown(summary: pd.DataFrame) -> str:
    """The demo-signal section of leaderboard.md."""
    if summary.empty:
        return ""
    lines = [
        "",
        "## Demo signal (rule demo_signal), mean ± sd over seeds",
        "",
        "Realism: nearest-neighbour distance of the Task 2 generators' samples to real slices, "
        "relative to real-vs-real (1 is real-like; the noise control is beside it). Family "
        "accuracy: 5-fold logistic regression on the radial spectrum telling the generators apart.",
        "",
        "| scenario | seeds | realism | noise control | family accuracy |",
        "|---|---|---|---|---|",
    ]
    for _, row in summary.iterrows():
        lines.append(
            f"| {row['scenario']} | {row['n_seeds']} | {row['realism']} | {row['noise']} "
            f"| {row['family_accuracy']} |"
        )
    return "\n".join(lines) + "\n"


def write_study(
    datasets: Sequence[dict],
    table: str | Path,
    markdown: str | Path,
    figure: str | Path,
    task1_figure: str | Path,
    primary: str | Path | None = None,
    registered: dict | None = None,
    settings: dict | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every output of a study from its datasets (:func:`collect`): all files are moved into
    place together at the end, so a failure leaves none of them. ``registered`` (the config's
    ``study.primary``: candidate, scenarios) adds the primary hypothesis
    (:func:`ctprints.confirm.primary_test`) to the markdown and to ``primary`` (a header only
    where no candidate is registered). ``settings`` (:func:`ctprints.freeze.freeze_record`) ends
    the markdown with what was frozen, or that nothing was. Returns both boards."""
    from ctprints.confirm import PRIMARY_COLUMNS, primary_markdown, primary_test
    from ctprints.freeze import record_markdown

    task2_long, task1_long = collect(datasets)
    board, task1 = leaderboard(task2_long), task1_leaderboard(task1_long)
    registered = registered or {}
    hypothesis = pd.DataFrame(columns=PRIMARY_COLUMNS)
    if registered.get("candidate"):
        hypothesis = primary_test(task2_long, registered["candidate"], registered["scenarios"])
    with ExitStack() as stack:
        paths = [stack.enter_context(atomic_output(p)) for p in (table, markdown, figure)]
        task1_path = stack.enter_context(atomic_output(task1_figure))
        write_leaderboard(task2_long, task1_long, paths[0], paths[1])
        with open(paths[1], "a") as handle:
            handle.write(signal_markdown(signal_summary(datasets)))
            handle.write(primary_markdown(hypothesis, registered.get("scenarios", [])))
            if settings is not None:
                handle.write(record_markdown(settings))
        if primary is not None:
            primary_path = stack.enter_context(atomic_output(primary))
            hypothesis.to_csv(primary_path, sep="\t", index=False, float_format="%.4g")
        plot_leaderboard(board, paths[2])
        plot_task1(task1, task1_path)
    return board, task1
