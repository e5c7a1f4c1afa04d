"""Results tables in the README and docs, generated from committed results files.

A generated table sits between two markers in a Markdown file::

    <!-- generated: study_task2 -->
    ...
    <!-- end generated -->

and :func:`render` rebuilds it from its source (:data:`TABLES`: name -> source file and
renderer). ``make docs`` rewrites every marked block (``python -m ctprints.doctables FILE...``);
``--check`` exits 1 naming each block that differs from its source, which the tests run, so no
table is ever copied by hand or left behind its results file.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ctprints.errors import DocTableError

BLOCK = re.compile(r"(<!-- generated: (\w+) -->\n)(.*?)(<!-- end generated -->)", re.DOTALL)


def _pm(mean: float, sd: float) -> str:
    return f"{mean:.3f}" if pd.isna(sd) else f"{mean:.3f} ± {sd:.3f}"


def study_task2(source: Path) -> str:
    """Per study scenario: the best run and the best of the paper's runs
    (:func:`ctprints.study.best_by_scenario`), Task 2 accuracy, mean ± sd over the demo
    seeds, their paired difference with its t interval over seeds, and the max-T adjusted
    sign-flip p that the best run beats every paper run."""
    from ctprints.study import best_by_scenario

    board = _board(source, "task2")
    seeds = board.set_index(["scenario", "run"])["seeds"]
    lines = [
        "| scenario | seeds | best run | accuracy | best of the paper's runs | accuracy "
        "| difference [95% interval] | p (adjusted; floor) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    notes = (
        board.set_index(["scenario", "run"])["baseline"].fillna("")
        if "baseline" in board
        else pd.Series(dtype=str)
    )
    for _, row in best_by_scenario(board).iterrows():
        note = notes.get((row.scenario, row.paper_run), "") if pd.notna(row.paper_run) else ""
        paper = (
            "- | - |"
            if pd.isna(row.paper_run)
            else f"`{row.paper_run}`{f' ({note})' if note else ''} | "
            f"{_pm(row.paper_mean, row.paper_sd)} |"
        )
        if pd.isna(row.diff_low):
            paired = "- | - |"
        else:
            paired = (
                f"{row.margin:.3f} [{row.diff_low:.3f}, {row.diff_high:.3f}] "
                f"| {row.p_adjusted:.3g}; {row.p_floor:.3g} |"
            )
        lines.append(
            f"| `{row.scenario}` | {seeds[row.scenario, row.best_run]} | `{row.best_run}` | "
            f"{_pm(row.best_mean, row.best_sd)} | " + paper + " " + paired
        )
    return "\n".join(lines) + "\n"


def _board(source: Path, task: str) -> pd.DataFrame:
    board = pd.read_csv(source, sep="\t", keep_default_na=False, na_values=[""])
    board = board[board.task == task]
    board["paper"] = board["paper"].astype(str) == "True"
    return board.drop(columns="group") if task == "task2" else board


def study_across(source: Path) -> str:
    """Every Task 2 run of the study, its mean over seeds per scenario, ranked by its worst
    scenario (:func:`ctprints.study.across_scenarios`)."""
    from ctprints.study import across_scenarios, across_table

    return "\n".join(across_table(across_scenarios(_board(source, "task2")))) + "\n"


def study_worst(source: Path, top: int = 8) -> str:
    """The worst-scenario ranking's paired statistics (:func:`ctprints.confirm.worst_case_test`):
    the ``top`` runs and every paper run."""
    from ctprints.confirm import worst_case_test

    table = worst_case_test(_board(source, "task2"))
    lines = [
        "| run | seeds | per-seed worst, mean | against | difference [95% interval] "
        "| p (adjusted; floor) |",
        "|---|---|---|---|---|---|",
    ]
    for rank, r in table.iterrows():
        if rank >= top and not r.paper:
            continue
        name = f"`{r.run}`" + (" **paper**" if r.paper else "")
        p = "-" if pd.isna(r.p_adjusted) else f"{r.p_adjusted:.3g}; {r.p_floor:.3g}"
        lines.append(
            f"| {name} | {r.seeds} | {r.worst_mean:.3f} | `{r.paper_run}` | "
            f"{r.difference:.3f} [{r.diff_low:.3f}, {r.diff_high:.3f}] | {p} |"
        )
    return "\n".join(lines) + "\n"


def study_task1(source: Path) -> str:
    """Per study scenario and Task 1 group: the attack with the best test AUC (picked on those
    test scores), its cross-validated dev AUC, and the best of the paper's Task 1 runs."""
    from ctprints.study import best_by_scenario

    board = _board(source, "task1")
    dev = board.set_index(["scenario", "group", "run"])[["dev_mean", "dev_sd"]]
    lines = [
        "| scenario | group | seeds | best attack (test AUC) | its cv_dev AUC "
        "| best of the paper's runs (test AUC) |",
        "|---|---|---|---|---|---|",
    ]
    for _, row in best_by_scenario(board).iterrows():
        mean, sd = dev.loc[(row.scenario, row.group, row.best_run)]
        paper = (
            "-"
            if pd.isna(row.paper_run)
            else f"`{row.paper_run}` {_pm(row.paper_mean, row.paper_sd)}"
        )
        lines.append(
            f"| `{row.scenario}` | {row.group} | {row.n_seeds} | `{row.best_run}` "
            f"{_pm(row.best_mean, row.best_sd)} | {'-' if pd.isna(mean) else _pm(mean, sd)} "
            f"| {paper} |"
        )
    return "\n".join(lines) + "\n"


def _resolve(schema: dict, node: dict) -> dict:
    """``node`` with a local ``$ref`` followed (its own keys win over the target's)."""
    while "$ref" in node:
        target = schema
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _type(node: dict) -> str:
    kind = node.get("type", "")
    kind = " or ".join(kind) if isinstance(kind, list) else kind
    if "enum" in node:
        kind = " \\| ".join(f"`{_cell(value)}`" for value in node["enum"])
    return kind


def _cell(value) -> str:
    import json

    if value is None:
        return "null"
    text = value if isinstance(value, str) else json.dumps(value)
    return text.replace("|", "\\|")


def _rows(schema: dict, node: dict, key: str, out: list[str], depth: int = 0) -> None:
    node = _resolve(schema, node)
    if key:
        default = f"`{_cell(node['default'])}`" if "default" in node else ""
        text = " ".join(str(node.get("description", "")).split()).replace("|", "\\|")
        out.append(f"| `{key}` | {_type(node)} | {default} | {text} |")
    if depth > 6:
        return
    for name, child in node.get("properties", {}).items():
        _rows(schema, child, f"{key}.{name}" if key else name, out, depth + 1)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        _rows(schema, extra, f"{key}.<name>", out, depth + 1)


def config_reference(source: Path) -> str:
    """Every key of the config schema: its type, default and description, in schema order."""
    import yaml

    schema = yaml.safe_load(source.read_text())
    rows: list[str] = []
    _rows(schema, schema, "", rows)
    return "\n".join(["| key | type | default | description |", "|---|---|---|---|", *rows]) + "\n"


def audit_budget(source: Path) -> str:
    """The keys of ``audit.budget``, as in :func:`config_reference`."""
    table = config_reference(source).splitlines()
    rows = [row for row in table if row.startswith("| `audit.budget.")]
    return "\n".join([*table[:2], *rows]) + "\n"


# ----------------------------------------------------------------------------- the demo's example
# A `make demo` run's results, copied into docs/demo/ by `make demo-docs`: examples of what the
# workflow writes, not results (the study gives those).


def _ci(row, metric: str, digits: int = 2) -> str:
    value, low, high = row[metric], row[f"{metric}_ci_low"], row[f"{metric}_ci_high"]
    if pd.isna(value):
        return "-"
    return f"{value:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"


def demo_signal(source: Path) -> str:
    """The demo's own signal checks (rule demo_signal)."""
    table = pd.read_csv(source, sep="\t")
    lines = ["| check | subject | value |", "|---|---|---|"]
    lines += [f"| {r.check} | {r.subject} | {r.value:.2f} |" for r in table.itertuples()]
    return "\n".join(lines) + "\n"


def demo_task2(source: Path) -> str:
    """Task 2 accuracy of every run of the demo: the methods by embedder, then the networks by
    architecture and round."""
    table = pd.read_csv(source, sep="\t")
    fixed = table[~table["run"].str.contains(r"_\d+_round\d$")]
    grid = fixed.pivot_table(index="method", columns="features", values="accuracy", sort=False)
    lines = [
        "| method | " + " | ".join(grid.columns) + " |",
        "|---|" + "---|" * len(grid.columns),
    ]
    lines += [
        f"| `{method}` | " + " | ".join(f"{v:.3f}" for v in row) + " |"
        for method, row in grid.iterrows()
    ]
    nets = table[table["run"].str.contains(r"_\d+_round\d$")].copy()
    if not nets.empty:
        parts = nets["run"].str.extract(r"^(\w+?)_(\d+)_(round\d)$")
        nets["network"], nets["round"] = parts[0], parts[2]
        net = nets.pivot_table(index="network", columns="round", values="accuracy", sort=False)
        net = net[sorted(net.columns)]
        lines += [
            "",
            "| network | " + " | ".join(net.columns) + " |",
            "|---|" + "---|" * len(net.columns),
        ]
        lines += [
            f"| `{name}` | " + " | ".join(f"{v:.3f}" for v in row) + " |"
            for name, row in net.iterrows()
        ]
    return "\n".join(lines) + "\n"


def demo_task1(source: Path) -> str:
    """Per Task 1 group of the demo: each attack in the feature space its cross-validated dev
    AUC picks (never the test's), with its test figures, and the paper's run."""
    table = pd.read_csv(source, sep="\t")
    lines = []
    for group, rows in table.groupby("group", sort=True):
        dev = rows[rows.split.isin(["cv_dev", "holdout_dev"])]
        control = rows[rows.split == "control"].set_index(["attack", "features"])["auc"]
        test = rows[rows.split == "test"].set_index(["attack", "features"])
        chosen = dev.sort_values("auc", ascending=False).drop_duplicates("attack")
        first = test.iloc[0]
        lines += [
            f"**{group}** ({int(first.n)} test real images, {int(first.n_used)} used):",
            "",
            "| attack | features | test AUC (95% CI) | TPR@1%FPR | F1 (95% CI) | kappa | p "
            "| dev AUC (95% CI) | control AUC |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for _, pick in chosen.sort_values("attack").iterrows():
            key = (pick.attack, pick.features)
            if key not in test.index:
                continue
            row = test.loc[key]
            lines.append(
                f"| {pick.attack} | {pick.features} | {_ci(row, 'auc')} | "
                f"{row.tpr_at_1fpr:.2f} | {_ci(row, 'f1')} | {row.kappa:.2f} | "
                f"{row.p_value:.3f} | {_ci(pick, 'auc')} | "
                f"{f'{control[key]:.2f}' if key in control.index else '-'} |"
            )
        lines.append("")
    return "\n".join(lines)


def demo_audit(source: Path) -> str:
    """The membership audit's verdict per group of the demo (verdict.json of each group)."""
    import json

    verdicts = json.loads(source.read_text())
    lines = [
        "| group | units (members + holdout) | best candidate | AUC by patient | highest lower "
        "bound | highest upper bound | p against no leak (max-T) | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for group, verdict in sorted(verdicts.items()):
        auc = next(c for c in verdict["criteria"] if c["name"] == "auc")
        p = verdict.get("selection_p")
        lines.append(
            f"| {group} | {verdict['members']} + {verdict['holdout']} {verdict['unit']} | "
            f"{auc['candidate']} | {auc['value']:.2f} | {auc['low']:.2f} | {auc['high']:.2f} | "
            f"{'-' if p is None else f'{p:.3f}'} | **{verdict['verdict']}** |"
        )
    return "\n".join(lines) + "\n"


def audit_calibration(source: Path) -> str:
    """The gate's rates on simulated groups (calibration/rates.tsv of one demo group)."""
    table = pd.read_csv(source, sep="\t")
    lines = [
        "| members + holdout | true AUC | pass | fail | inconclusive | simulations |",
        "|---|---|---|---|---|---|",
    ]
    for r in table.to_dict("records"):
        lines.append(
            f"| {r['members']} + {r['holdout']} | {r['leak_auc']:.2f} | "
            f"{r['pass']:.3f} ± {r['pass_se']:.3f} | {r['fail']:.3f} ± {r['fail_se']:.3f} | "
            f"{r['inconclusive']:.3f} | {r['sims']} |"
        )
    return "\n".join(lines) + "\n"


def audit_to_pass(source: Path) -> str:
    """What a pass costs (calibration/to_pass.tsv of one demo group)."""
    table = pd.read_csv(source, sep="\t")
    lines = [
        "| setting | candidates | max_auc | TPR at 1% FPR gated "
        "| patients per side for 80% passes |",
        "|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        needed = "over 3,200" if pd.isna(r.patients_per_side) else f"{int(r.patients_per_side):,}"
        gated = "yes" if r.tpr_budget else "no"
        lines.append(f"| {r.setting} | {r.candidates} | {r.max_auc:g} | {gated} | {needed} |")
    return "\n".join(lines) + "\n"


def audit_family(source: Path) -> str:
    """How often one audit of every group gets any group wrong (family_calibration.tsv)."""
    table = pd.read_csv(source, sep="\t")
    lines = [
        "| patients per group | true AUC | any group fails | any group passes | "
        "worst group fails | worst group passes | simulated audits |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table.to_dict("records"):
        lines.append(
            f"| {r['size']} | {r['leak_auc']:.2f} | {r['any_fail']:.3f} ± {r['any_fail_se']:.3f} | "
            f"{r['any_pass']:.3f} ± {r['any_pass_se']:.3f} | {r['worst_fail']:.3f} | "
            f"{r['worst_pass']:.3f} | {r['sims']} |"
        )
    return "\n".join(lines) + "\n"


def _demo_run(table: pd.DataFrame) -> str:
    run = table[table["rule"] == "make demo"].iloc[0]
    seconds = float(run["wall_s"])
    return f"`make demo` took **{seconds:,.0f} s ({seconds / 60:.1f} min)** ({run['note']})."


def demo_run(source: Path) -> str:
    """One sentence: how long `make demo` took, when and where (benchmarks/demo_time.py)."""
    return _demo_run(pd.read_csv(source, sep="\t")) + "\n"


def demo_times(source: Path) -> str:
    """Where the demo's time went, per rule (benchmarks/demo_time.py)."""
    table = pd.read_csv(source, sep="\t")
    lines = [
        _demo_run(table),
        "",
        "| rule | jobs | wall s | largest job s | CPU s |",
        "|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        if r.rule == "make demo":
            continue
        jobs = "" if pd.isna(r.jobs) else int(r.jobs)
        largest = "" if pd.isna(r.largest_s) else f"{r.largest_s:.0f}"
        cpu = "" if pd.isna(r.cpu_s) else f"{r.cpu_s:.0f}"
        name = r.rule if r.rule == "other rules" else f"`{r.rule}`"
        lines.append(f"| {name} | {jobs} | {r.wall_s:.0f} | {largest} | {cpu} |")
    return "\n".join(lines) + "\n"


TABLES: dict[str, tuple[str, Callable[[Path], str]]] = {
    "study_task2": ("docs/study/leaderboard.tsv", study_task2),
    "study_across": ("docs/study/leaderboard.tsv", study_across),
    "study_worst": ("docs/study/leaderboard.tsv", study_worst),
    "study_task1": ("docs/study/leaderboard.tsv", study_task1),
    "config_reference": ("workflow/schemas/config.schema.yaml", config_reference),
    "audit_budget": ("workflow/schemas/config.schema.yaml", audit_budget),
    "demo_signal": ("docs/demo/signal.tsv", demo_signal),
    "demo_task2": ("docs/demo/task2.tsv", demo_task2),
    "demo_task1": ("docs/demo/task1.tsv", demo_task1),
    "demo_audit": ("docs/demo/audit.json", demo_audit),
    "audit_calibration": ("docs/demo/calibration_rates.tsv", audit_calibration),
    "audit_to_pass": ("docs/demo/calibration_to_pass.tsv", audit_to_pass),
    "audit_family": ("docs/demo/calibration_family.tsv", audit_family),
    "demo_times": ("docs/demo/rule_times.tsv", demo_times),
    "demo_run": ("docs/demo/rule_times.tsv", demo_run),
}


def render(text: str, root: Path, where: str = "") -> str:
    """``text`` with every marked block rebuilt from its source under ``root``."""

    def block(match: re.Match) -> str:
        name = match.group(2)
        if name not in TABLES:
            known = ", ".join(TABLES)
            raise DocTableError(f"{where}: generated block {name!r} is not a table; known: {known}")
        source, renderer = TABLES[name]
        if not (root / source).is_file():
            raise DocTableError(f"{where}: table {name!r}: source {source} does not exist")
        return match.group(1) + renderer(root / source) + match.group(4)

    return BLOCK.sub(block, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--check", action="store_true", help="exit 1 where a table is stale")
    args = parser.parse_args(argv)
    stale = []
    for path in args.files:
        text = path.read_text()
        new = render(text, args.root, str(path))
        if new != text:
            stale.append(path)
            if not args.check:
                path.write_text(new)
    for path in stale:
        print(f"{path}: {'stale' if args.check else 'regenerated'} table(s)", file=sys.stderr)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
