"""The HTML report and summary.md of the tiny demo: every figure, table and run file, captioned."""

from __future__ import annotations

import base64
import json
import re

import pandas as pd
import pytest
from conftest import run_snakemake

from ctprints.summary import SummaryError, write_summary

pytestmark = pytest.mark.workflow

EMBEDDERS = ["spectrum", "residual", "pixels", "resnet18"]  # config.yaml's
GROUPS = ["group1", "group2", "group3"]  # config.yaml's demo groups; group3 leakage-free


@pytest.fixture(scope="module")
def report(built):
    """snakemake --report on the tiny `all`: results by path, and the menu's categories."""
    path = built / "report.html"
    run_snakemake(built, "--report", str(path))
    text = path.read_text()
    decoder = json.JSONDecoder()
    results, _ = decoder.raw_decode(text, text.index('var results = {"') + len("var results = "))
    categories, _ = decoder.raw_decode(
        text, text.index("var categories = {") + len("var categories = ")
    )
    return results, categories


def _decoded(entry) -> bytes:
    return base64.b64decode(entry["data_uri"].split("base64,", 1)[1])


def test_report_holds_every_figure_table_and_run_file(built, report) -> None:
    results, _ = report
    runs2 = sorted(p.stem for p in (built / "results/demo/submissions/task2").glob("*.csv"))
    runs1 = sorted((built / "results/demo/submissions/task1").rglob("*.csv"))
    # 24 attack runs, AutoGluon on equal terms, the paper's and submitted.csv per group
    assert len(runs2) == 24 and len(runs1) == len(GROUPS) * 27
    expected = {
        "results/demo/contact_sheet.png",
        "results/demo/task2/plots/tsne_panel.png",
        "results/demo/evaluation/task1.tsv",
        "results/demo/evaluation/task2.tsv",
        "results/demo/evaluation/task1.html",
        "results/demo/evaluation/task2.html",
        "results/demo/summary.md",
        *(f"results/demo/task2/plots/tsne_{e}.png" for e in EMBEDDERS),
        *(f"results/demo/evaluation/confusion/task2_{run}.png" for run in runs2),
        *(f"results/demo/evaluation/roc/task1_{g}_{e}.png" for g in GROUPS for e in EMBEDDERS),
        *(f"results/demo/submissions/task2/{run}.csv" for run in runs2),
        *(str(path.relative_to(built)) for path in runs1),
        *(
            f"results/demo/audit/{g}/{name}"
            for g in GROUPS
            for name in ("report.md", "evidence.png", "scores.png")
        ),
    }
    assert expected <= set(results)
    for path in expected:
        entry = results[path]
        # Embedded, not linked: the one HTML file carries the bytes of every item.
        assert _decoded(entry) == (built / path).read_bytes(), path
        assert len(re.sub("<[^>]+>", "", entry["caption"]).split()) >= 15, path


def test_report_menu_groups_items_by_task(report) -> None:
    _, categories = report
    assert set(categories) >= {
        "Demo data",
        "Task 2 attribution",
        "Task 1 membership",
        "Run files",
        "Tables",
        "Summary",
        "Audit",
    }
    assert {"Confusion matrices", "t-SNE"} <= set(categories["Task 2 attribution"])
    assert "ROC curves" in categories["Task 1 membership"]


def test_tables_are_rendered_as_html_tables(built, report) -> None:
    results, _ = report
    for task in ("task1", "task2"):
        html = _decoded(results[f"results/demo/evaluation/{task}.html"]).decode()
        table = pd.read_csv(built / f"results/demo/evaluation/{task}.tsv", sep="\t")
        assert html.count("<tr") == len(table) + 1  # a header row and one row per table row
        assert all(f"<th>{column}</th>" in html for column in table.columns)
    # The caption of each is the one of its own table.
    assert "adjusted Rand" in results["results/demo/evaluation/task2.html"]["caption"]
    assert "holdout_dev" in results["results/demo/evaluation/task1.html"]["caption"]


def test_summary_names_the_run_files_that_exist_and_the_outcome(built) -> None:
    summary = (built / "results/demo/summary.md").read_text()
    named = set(re.findall(r"`(results/[^`]+\.csv)`", summary))
    existing = {str(p.relative_to(built)) for p in (built / "results/demo/submissions").rglob("*")}
    assert named == {path for path in existing if path.endswith(".csv")}
    task2 = pd.read_csv(built / "results/demo/evaluation/task2.tsv", sep="\t")
    best_lines = [line for line in summary.splitlines() if line.startswith("- **Best")]
    assert len(best_lines) == 1 + len(GROUPS)  # Task 2, then each Task 1 group
    assert f"accuracy {task2.accuracy.max():.3f} (95% CI" in best_lines[0]
    ensemble = task2.set_index("run").loc["ensemble_32_round1", "accuracy"]
    assert "The paper's approach, `ensemble_32_round1`" in summary
    assert f"accuracy {ensemble:.3f} (95% CI" in summary
    # one per group
    assert summary.count("The paper's approach, `paper_f0.5_spectrum`") == len(GROUPS)
    assert summary.count("**Submitted run: `") == len(GROUPS)
    assert summary.count("| run | dev AUC | dev F1 (cv) |") == len(GROUPS)


def _table2(rows):
    columns = ["run", "method", "features", "n", "accuracy", "accuracy_ci_low"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["accuracy_ci_high"] = frame.accuracy
    frame["macro_f1"] = frame.accuracy
    # every column of the evaluation contract (ctprints.evaluation.COLUMNS), as evaluate_task2
    # writes it
    frame["hungarian_accuracy"] = frame.accuracy
    frame["ari"] = 1.0
    return frame


def test_summary_reports_ties_and_the_submitted_run(tmp_path) -> None:
    table = tmp_path / "task2.tsv"
    _table2(
        [
            ("kmeans_pixels", "kmeans", "pixels", 10, 1.0, 1.0),
            ("tsne_kmeans_spectrum", "tsne_kmeans", "spectrum", 10, 1.0, 1.0),
            ("openset_pixels", "openset", "pixels", 10, 0.8, 0.6),
        ]
    ).to_csv(table, sep="\t", index=False)
    out = tmp_path / "summary.md"
    task2 = {"table": str(table), "submitted": "tsne_kmeans_spectrum", "paper": [], "run_files": []}
    write_summary(out, "d", task2, None)
    text = out.read_text()
    assert "**Best: accuracy 1.000 (95% CI 1.000-1.000)**, reached by 2 runs" in text
    assert "Submitted run (`task2.run`), `tsne_kmeans_spectrum`: accuracy 1.000" in text
    assert "Task 1" not in text


def test_summary_without_ground_truth_lists_run_files_and_says_why(tmp_path) -> None:
    out = tmp_path / "summary.md"
    runs = ["results/x/submissions/task2/tsne_kmeans_spectrum.csv"]
    write_summary(out, "x", {"table": None, "submitted": "", "paper": [], "run_files": runs}, None)
    text = out.read_text()
    assert "No Task 2 ground truth is configured" in text and f"`{runs[0]}`" in text


def test_summary_names_a_table_that_lacks_a_column(tmp_path) -> None:
    table = tmp_path / "task2.tsv"
    _table2([("a", "kmeans", "pixels", 10, 1.0, 1.0)]).drop(columns="accuracy_ci_high").to_csv(
        table, sep="\t", index=False
    )
    task2 = {"table": str(table), "submitted": "a", "paper": [], "run_files": []}
    with pytest.raises(
        SummaryError, match=rf"{re.escape(str(table))}: no column\(s\) accuracy_ci_high"
    ):
        write_summary(tmp_path / "summary.md", "d", task2, None)
    assert not (tmp_path / "summary.md").exists()


def test_summary_says_which_methods_the_dataset_could_not_run(tmp_path) -> None:
    out = tmp_path / "summary.md"
    task2 = {"table": None, "submitted": "", "paper": [], "run_files": [], "skipped": ["subsets"]}
    write_summary(out, "x", task2, None)
    assert "Method `subsets` was skipped: it needs each generator's real training" in (
        out.read_text()
    )
