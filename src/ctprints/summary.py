"""results/<dataset>/summary.md: the outcome of a run in one page, from the evaluation tables.

For each task it names the best run with its score and confidence interval, the paper's approach
scored in the same run, the run the config submits, and the path of every run file. A dataset
without ground truth gets the run files only, and says why there are no scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ctprints.errors import SummaryError
from ctprints.evaluation import read_evaluation, task1_run_name

T2_METHODS = {
    "kmeans": "k-means on the embeddings",
    "tsne_kmeans": "t-SNE, then k-means",
    "openset": "nearest-neighbour open-set attribution",
    "novelty": "classifier with per-class two-sample tests for the unseen generator",
    "cnn_round0": "ResNet trained on the training folders",
    "cnn_round1": "ResNet retrained with pseudo-labels for the unseen generator",
}


def _ci(row, metric: str, label: str = "95% CI ") -> str:
    low, high = row[f"{metric}_ci_low"], row[f"{metric}_ci_high"]
    return f"{row[metric]:.3f} ({label}{low:.3f}-{high:.3f})"


def _best(table: pd.DataFrame, metric: str, name: str = "run") -> tuple[pd.Series, list[str]]:
    """The row with the highest ``metric`` (ties: higher CI lower bound, then name) and the
    names of every run that ties with it on both."""
    ranked = table.sort_values([metric, f"{metric}_ci_low", name], ascending=[False, False, True])
    best = ranked.iloc[0]
    tied = ranked[
        (ranked[metric] == best[metric]) & (ranked[f"{metric}_ci_low"] == best[f"{metric}_ci_low"])
    ]
    return best, list(tied[name])


def _best_line(best: pd.Series, tied: list[str], metric: str, label: str, what: str) -> str:
    """ "Best run: `x` (what): label (CI)", or the best score and the runs that share it."""
    score = f"{label} {_ci(best, metric)}"
    if len(tied) < 2:
        return f"- **Best run: `{best['run']}`** ({what}): {score}."
    shown = 6
    listed = ", ".join(f"`{name}`" for name in tied[:shown])
    more = f" and {len(tied) - shown} more" if len(tied) > shown else ""
    return f"- **Best: {score}**, reached by {len(tied)} runs: {listed}{more}."


def _describe(row: pd.Series) -> str:
    """A Task 2 run in words: method on features."""
    method = T2_METHODS.get(row["method"], row["method"])
    features = str(row["features"])
    if features.startswith("ensemble_"):
        return f"{method}, the mean of every architecture's probabilities"
    return f"{method}, on `{features}`"


def _files(paths: Sequence[str]) -> list[str]:
    return [f"- `{path}`" for path in paths]


def task2_section(
    table: pd.DataFrame | None,
    submitted: str,
    paper: Sequence[str],
    run_files: Sequence[str],
    skipped: Sequence[str] = (),
) -> list[str]:
    lines = ["## Task 2: which generator made each image", ""]
    for method in skipped:
        lines += [
            f"Method `{method}` was skipped: it needs each generator's real training images "
            "(`real/<subset>/`, the 2025 layout), which this dataset does not give.",
            "",
        ]
    if table is None:
        lines += ["No Task 2 ground truth is configured for this dataset, so no run is scored.", ""]
    else:
        best, tied = _best(table, "accuracy")
        by_run = table.set_index("run")
        lines += [
            f"{int(best['n'])} test images. Accuracy is the share attributed to the right "
            "generator, with its exact (Clopper-Pearson) 95% interval over images.",
            "",
            _best_line(best, tied, "accuracy", "accuracy", _describe(best)),
        ]
        for name in paper:
            if name in by_run.index:
                row = by_run.loc[name]
                lines.append(
                    f"- The paper's approach, `{name}` ({_describe(row)}): "
                    f"accuracy {_ci(row, 'accuracy')}."
                )
            else:
                lines.append(f"- The paper's approach, `{name}`: not part of this run's config.")
        if submitted in by_run.index:
            lines.append(
                f"- Submitted run (`task2.run`), `{submitted}`: accuracy "
                f"{_ci(by_run.loc[submitted], 'accuracy')}."
            )
        lines += ["", "| run | method | features | accuracy (95% CI) |", "|---|---|---|---|"]
        for _, row in table.sort_values("accuracy", ascending=False, kind="stable").iterrows():
            lines.append(
                f"| `{row['run']}` | {row['method']} | {row['features']} "
                f"| {_ci(row, 'accuracy', label='')} |"
            )
        lines.append("")
    lines += ["Run files (official format, one per run):", "", *_files(run_files), ""]
    return lines


def _selection_line(choice: pd.Series, row: pd.Series | None, metric: str) -> str:
    """The submitted run: why it was chosen, its dev figure and its test labels' scores."""
    label = "F1" if metric == "f1" else "kappa"
    line = (
        f"- **Submitted run: `{choice['run']}`** ({choice['reason']}): cross-validated dev "
        f"{label} {choice[f'dev_{metric}']:.3f}"
    )
    if row is None:
        return line + "."
    return line + (
        f"; test F1 {_ci(row, 'f1')}, kappa {_ci(row, 'kappa')}, "
        f"{100 * row['share_used']:.0f}% labelled used (F1 of the best threshold in hindsight "
        f"{row['hindsight_f1']:.3f}, for reference only)."
    )


def _run_table(rows: pd.DataFrame, selection: pd.DataFrame | None) -> list[str]:
    """Every run of a group: dev figures, then test AUC, F1, kappa (95% CIs), share used and
    hindsight-best F1; in the order of the cross-validated dev choice, the paper's runs last."""
    dev = selection.set_index("run") if selection is not None else pd.DataFrame()
    order = list(dev.index) + [run for run in rows.index if run not in dev.index]
    lines = [
        "| run | dev AUC | dev F1 (cv) | test AUC (95% CI) | test F1 (95% CI) "
        "| test kappa (95% CI) | labelled used | F1 in hindsight |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in order:
        if run not in rows.index:
            continue
        row = rows.loc[run]
        dev_auc = f"{dev.loc[run, 'dev_auc']:.3f}" if run in dev.index else ""
        dev_f1 = f"{dev.loc[run, 'dev_f1']:.3f}" if run in dev.index else ""
        constant = row["share_used"] in (0, 1)
        used = f"{100 * row['share_used']:.0f}%" + (" (constant)" if constant else "")
        lines.append(
            f"| `{run}` | {dev_auc} | {dev_f1} | {_ci(row, 'auc', label='')} "
            f"| {_ci(row, 'f1', label='')} | {_ci(row, 'kappa', label='')} | {used} "
            f"| {row['hindsight_f1']:.3f} |"
        )
    return lines


def task1_section(
    table: pd.DataFrame | None,
    groups: Sequence[str],
    paper: Sequence[str],
    run_files: Sequence[str],
    selections: dict[str, pd.DataFrame] | None = None,
    metric: str = "f1",
) -> list[str]:
    """Task 1 per group: the submitted run (chosen on dev, ``selections`` group -> the table of
    :func:`ctprints.labelling.select_run`), the best test AUC, the paper's runs, and every
    run's test labels."""
    selections = selections or {}
    lines = ["## Task 1: was this real image used to train the generator", ""]
    if table is None:
        for group in groups:
            if group in selections:
                choice = selections[group].query("chosen").iloc[0]
                lines += [f"### {group}", "", _selection_line(choice, None, metric), ""]
        lines += ["No Task 1 ground truth is configured for this dataset, so no run is scored.", ""]
    else:
        lines += [
            'The challenge scores the run files\' labels (F1 of "used" in 2023 and 2024, '
            "Cohen's kappa in 2025). The submitted run is chosen on the dev images alone, by "
            "the cross-validated metric with the same folds for every run. Test figures have "
            "bootstrap 95% confidence intervals and permutation p-values by patient where the "
            "test patients are known, and by pseudo-patient (slices clustered into scans) "
            "otherwise. The best test AUC is picked on the test scores after the fact, so it is "
            "optimistic, as is the F1 of the best threshold in hindsight; "
            "neither chooses anything.",
            "",
        ]
        test = table[table["split"] == "test"].copy()
        test["run"] = [
            task1_run_name(attack, features)
            for attack, features in zip(test["attack"], test["features"], strict=True)
        ]
        for group in groups:
            rows = test[test["group"] == group]
            if rows.empty:
                continue
            by_run = rows.set_index("run")
            ours = rows[~rows["attack"].str.startswith("paper_")]
            best, tied = _best(ours, "auc")
            resampled = rows["resampled"].iloc[0] if "resampled" in rows else "image"
            lines += [
                f"### {group} ({int(best['n'])} test images, {int(best['n_used'])} used; "
                f"intervals by {resampled})",
                "",
            ]
            selection = selections.get(group)
            if selection is not None:
                choice = selection.query("chosen").iloc[0]
                row = by_run.loc[choice["run"]] if choice["run"] in by_run.index else None
                lines.append(_selection_line(choice, row, metric))
            lines.append(
                _best_line(best, tied, "auc", "AUC", f"{best['attack']} on `{best['features']}`")
            )
            for name in paper:
                if name in by_run.index:
                    row = by_run.loc[name]
                    lines.append(
                        f"- The paper's approach, `{name}` (AutoGluon on `{row['features']}` "
                        f"pairs, half the dev patients): AUC {_ci(row, 'auc')}, F1 "
                        f"{row['f1']:.3f}; AutoGluon's own validation AUC "
                        f"{row['autogluon_val_auc']:.3f}."
                    )
            lines += ["", *_run_table(by_run, selection), ""]
    lines += ["Run files (official format, one per group and run):", "", *_files(run_files), ""]
    return lines


SELECTION = ["run", "dev_auc", "dev_f1", "dev_kappa", "chosen", "reason"]


def _read(path: str | None, task: str) -> pd.DataFrame | None:
    return read_evaluation(path, task, SummaryError) if path else None


def _read_selection(path: str) -> pd.DataFrame:
    table = pd.read_csv(path, sep="\t")
    missing = [column for column in SELECTION if column not in table.columns]
    if missing:
        raise SummaryError(f"{path}: no column(s) {', '.join(missing)} in this selection table")
    if int(table["chosen"].sum()) != 1:
        raise SummaryError(f"{path}: {int(table['chosen'].sum())} runs are marked chosen, not 1")
    return table


def write_summary(
    path: str | Path,
    dataset: str,
    task2: dict | None,
    task1: dict | None,
) -> None:
    """Write summary.md. ``task2``/``task1``: table path or None, run names and run files;
    ``task1`` also ``selections`` (each group's selection table, in group order) and
    ``metric``."""
    lines = [
        f"# ctprints: summary of dataset `{dataset}`",
        "",
        "Written by rule `summary` from `evaluation/task2.tsv` and `evaluation/task1.tsv`; "
        "`snakemake --report report.html` has the figures.",
        "",
    ]
    if task2:
        lines += task2_section(
            _read(task2["table"], "task2"),
            task2["submitted"],
            task2["paper"],
            task2["run_files"],
            task2.get("skipped", ()),
        )
    if task1:
        lines += task1_section(
            _read(task1["table"], "task1"),
            task1["groups"],
            task1["paper"],
            task1["run_files"],
            {
                group: _read_selection(path)
                for group, path in zip(task1["groups"], task1.get("selections", ()), strict=False)
            },
            task1.get("metric", "f1"),
        )
    Path(path).write_text("\n".join(lines))


STYLE = """<style>
body { font-family: sans-serif; font-size: 13px; margin: 1em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f0f0f0; position: sticky; top: 0; }
td:first-child, th:first-child { text-align: left; }
tr:nth-child(even) { background: #fafafa; }
</style>"""


def table_html(tsv: str | Path, html: str | Path, title: str) -> None:
    """An evaluation table as a standalone HTML page, for the report (which cannot show TSV)."""
    table = pd.read_csv(tsv, sep="\t")
    body = table.to_html(index=False, float_format=lambda value: f"{value:.3f}", na_rep="")
    Path(html).write_text(
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}</title>{STYLE}"
        f"</head><body><h3>{title}</h3>\n{body}\n</body></html>\n"
    )
