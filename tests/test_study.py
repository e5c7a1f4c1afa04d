"""The study leaderboard: scores over demo seeds, the paper's runs, tables and figures."""

from __future__ import annotations

import json
import logging
import math
import runpy
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from test_plan import config_with

from ctprints.evaluation import COLUMNS
from ctprints.io import PNG_SIGNATURE
from ctprints.study import (
    TABLE_COLUMNS,
    StudyError,
    across_scenarios,
    best_by_scenario,
    collect,
    leaderboard,
    leaderboard_markdown,
    plot_leaderboard,
    plot_task1,
    task1_leaderboard,
    write_leaderboard,
    write_study,
)

REPO = Path(__file__).resolve().parents[1]
T2_HEADER = (
    "run\tmethod\tfeatures\tn\taccuracy\taccuracy_ci_low\taccuracy_ci_high\tmacro_f1\tari\tnmi\t"
    "hungarian_accuracy"
)
T1_HEADER = "\t".join(COLUMNS["task1"])
PAPER = ["tsne_kmeans_spectrum"]


def task2_table(path: Path, scores: dict[str, float]) -> Path:
    """A task2.tsv with one row per run; the method is the run name without its last part."""
    lines = [T2_HEADER]
    for run, accuracy in scores.items():
        method, features = run.rsplit("_", 1)
        lines.append(
            f"{run}\t{method}\t{features}\t32\t{accuracy}\t0\t1\t{accuracy}\t0.5\t0.5\t{accuracy}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def task1_table(path: Path, rows: list[tuple[str, str, str, str, float]]) -> Path:
    """A task1.tsv from (group, attack, features, split, auc) rows."""
    lines = [T1_HEADER]
    for group, attack, features, split, auc in rows:
        other = "\t".join(["0.5"] * (len(COLUMNS["task1"]) - 9))
        lines.append(f"{group}\t{attack}\t{features}\t{split}\t8\t4\t{auc}\t0\t1\t{other}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def t1_rows(gan_leaks: float, paper: float, dev: float = 0.7) -> list:
    return [
        ("group1", "gan_leaks", "spectrum", "cv_dev", dev),
        ("group1", "gan_leaks", "spectrum", "control", 0.5),
        ("group1", "gan_leaks", "spectrum", "test", gan_leaks),
        ("group1", "paper_f0.5", "spectrum", "holdout_dev", 0.9),
        ("group1", "paper_f0.5", "spectrum", "test", paper),
    ]


def dataset(tmp_path, scenario, seed, task2=None, task1=None) -> dict:
    name = f"{scenario}_s{seed}"
    folder = tmp_path / "results" / name / "evaluation"
    return {
        "dataset": name,
        "scenario": scenario,
        "seed": seed,
        "task2": str(task2_table(folder / "task2.tsv", task2)) if task2 else None,
        "task1": str(task1_table(folder / "task1.tsv", task1)) if task1 else None,
        "paper_runs": PAPER,
        "paper_baselines": {"tsne_kmeans_spectrum": "random-weight stand-in"},
    }


@pytest.fixture
def study(tmp_path) -> list[dict]:
    """Scenario families over seeds 0-2 (openset beats the paper clearly), subsets over 0-1
    (they overlap) and seeds with one seed only."""
    families = [
        {"openset_pixels": 1.0, "tsne_kmeans_spectrum": 0.5, "kmeans_spectrum": 0.7},
        {"openset_pixels": 0.9, "tsne_kmeans_spectrum": 0.6, "kmeans_spectrum": 0.7},
        {"openset_pixels": 0.8, "tsne_kmeans_spectrum": 0.4, "kmeans_spectrum": 0.7},
    ]
    subsets = [
        {"openset_pixels": 0.9, "tsne_kmeans_spectrum": 0.8},
        {"openset_pixels": 0.7, "tsne_kmeans_spectrum": 0.6},
    ]
    # Given in no particular seed order: values must come out sorted by seed.
    datasets = [dataset(tmp_path, "families", seed, scores) for seed, scores in [(2, families[2])]]
    datasets += [dataset(tmp_path, "families", seed, families[seed]) for seed in (0, 1)]
    datasets += [dataset(tmp_path, "subsets", seed, subsets[seed]) for seed in (0, 1)]
    datasets.append(
        dataset(tmp_path, "seeds", 0, {"openset_pixels": 1.0, "tsne_kmeans_spectrum": 0.2})
    )
    datasets[0]["task1"] = str(task1_table(tmp_path / "t1" / "a.tsv", t1_rows(0.9, 0.5, dev=0.6)))
    datasets[1]["task1"] = str(task1_table(tmp_path / "t1" / "b.tsv", t1_rows(0.8, 0.7)))
    return datasets


def row(board: pd.DataFrame, **where) -> pd.Series:
    mask = pd.Series(True, index=board.index)
    for column, value in where.items():
        mask &= board[column] == value
    assert mask.sum() == 1, where
    return board[mask].iloc[0]


def test_collect_long_tables_with_paper_flags(study) -> None:
    task2, task1 = collect(study)
    assert len(task2) == 3 * 3 + 2 * 2 + 2
    paper = task2[task2["paper"]]
    assert set(paper["run"]) == {"tsne_kmeans_spectrum"}
    assert set(paper["baseline"]) == {"random-weight stand-in"}
    assert set(task2.loc[~task2["paper"], "baseline"]) == {""}
    assert {"scenario", "seed", "accuracy", "hungarian_accuracy", "ari"} <= set(task2.columns)
    # Task 1: the test rows only, the paper's run named like its run file.
    assert len(task1) == 4
    assert set(task1["run"]) == {"gan_leaks_spectrum", "paper_f0.5_spectrum"}
    ours = row(task1, seed=2, run="gan_leaks_spectrum")
    assert ours["auc"] == 0.9 and ours["auc_cv_dev"] == 0.6 and not ours["paper"]
    theirs = row(task1, seed=2, run="paper_f0.5_spectrum")
    assert theirs["paper"] and math.isnan(theirs["auc_cv_dev"])


def test_leaderboard_mean_sd_and_values_in_seed_order(study) -> None:
    board = leaderboard(collect(study)[0])
    openset = row(board, scenario="families", run="openset_pixels")
    assert openset["mean"] == pytest.approx(0.9)
    assert openset["sd"] == pytest.approx(0.1)
    assert (openset["min"], openset["max"]) == (0.8, 1.0)
    assert openset["n_seeds"] == 3 and openset["seeds"] == "0,1,2"
    assert openset["values"] == "1.000,0.900,0.800"
    assert openset["method"] == "openset" and openset["features"] == "pixels"
    assert not openset["paper"]
    assert row(board, scenario="families", run="tsne_kmeans_spectrum")["paper"]
    assert row(board, scenario="families", run="kmeans_spectrum")["sd"] == pytest.approx(0)
    # Sorted by scenario, then mean, best first.
    assert list(board["scenario"]) == sorted(board["scenario"])
    families = board[board["scenario"] == "families"]
    assert list(families["run"]) == ["openset_pixels", "kmeans_spectrum", "tsne_kmeans_spectrum"]


def test_single_seed_has_no_sd(study) -> None:
    board = leaderboard(collect(study)[0])
    single = row(board, scenario="seeds", run="openset_pixels")
    assert single["n_seeds"] == 1 and math.isnan(single["sd"]) and single["mean"] == 1.0
    best = best_by_scenario(board).set_index("scenario")
    # Far ahead, but one seed allows no paired test: no p, no interval.
    assert best.loc["seeds", "best_run"] == "openset_pixels"
    assert np.isnan(best.loc["seeds", "p_adjusted"]) and np.isnan(best.loc["seeds", "diff_low"])
    assert best.loc["seeds", "margin"] == pytest.approx(0.8)


def test_best_by_scenario_tests_the_paired_difference_over_seeds(study) -> None:
    best = best_by_scenario(leaderboard(collect(study)[0])).set_index("scenario")
    # families: openset - t-SNE is 0.5, 0.3, 0.4 over seeds 0-2; kmeans - t-SNE 0.2, 0.1, 0.3.
    families = best.loc["families"]
    assert families["best_run"] == "openset_pixels"
    assert families["paper_run"] == "tsne_kmeans_spectrum"
    assert families["paper_mean"] == pytest.approx(0.5)
    assert families["margin"] == pytest.approx(0.4)
    # t interval: 0.4 +- t(0.975, 2) 4.303 x 0.1 / sqrt(3)
    assert (families["diff_low"], families["diff_high"]) == pytest.approx(
        (0.1516, 0.6484), abs=1e-3
    )
    # all three differences positive: only the identity of the 8 sign flips reaches it, and
    # kmeans's best standardised flip (1.604) stays under openset's observed 1.697
    assert families["p_adjusted"] == pytest.approx(1 / 8) and families["p_floor"] == 1 / 8
    assert families["comparisons"] == 2
    # subsets: 0.1 and 0.1 over two seeds: 1 of 4 flips, however clear the gap looks
    assert best.loc["subsets", "margin"] == pytest.approx(0.1)
    assert best.loc["subsets", "p_adjusted"] == pytest.approx(1 / 4)
    assert "p (adjusted)" in leaderboard_markdown(*collect(study))


def test_best_is_the_paper_or_there_is_none() -> None:
    board = pd.DataFrame(
        {
            "scenario": ["a", "a", "b"],
            "run": ["paper_run", "other", "other"],
            "paper": [True, False, False],
            "n_seeds": [3, 3, 3],
            "mean": [0.9, 0.5, 0.8],
            "sd": [0.01, 0.01, 0.01],
        }
    )
    best = best_by_scenario(board).set_index("scenario")
    assert best.loc["a", "best_is_paper"] and np.isnan(best.loc["a", "p_adjusted"])
    assert pd.isna(best.loc["b", "paper_run"]) and np.isnan(best.loc["b", "p_adjusted"])


def test_across_scenarios_ranks_by_the_worst_scenario(study) -> None:
    table = across_scenarios(leaderboard(collect(study)[0]))
    # openset_pixels: families 0.9, subsets 0.8, seeds 1.0; the paper's t-SNE run: 0.5, 0.7,
    # 0.2; kmeans_spectrum ran in families only, so it comes last despite its 0.7.
    assert list(table["run"]) == ["openset_pixels", "tsne_kmeans_spectrum", "kmeans_spectrum"]
    first = table.iloc[0]
    assert first["worst"] == pytest.approx(0.8)
    assert first["worst_scenario"] == "subsets"
    assert first["average"] == pytest.approx(0.9)
    assert first["n_scenarios"] == 3 and not first["paper"]
    paper = table.iloc[1]
    assert paper["paper"] and paper["worst_scenario"] == "seeds"
    assert paper["worst"] == pytest.approx(0.2)
    assert paper["average"] == pytest.approx((0.5 + 0.7 + 0.2) / 3)
    last = table.iloc[2]
    assert last["n_scenarios"] == 1 and math.isnan(last["subsets"])


def test_task1_leaderboard(study) -> None:
    board = task1_leaderboard(collect(study)[1])
    ours = row(board, scenario="families", group="group1", run="gan_leaks_spectrum")
    assert ours["mean"] == pytest.approx(0.85) and ours["values"] == "0.800,0.900"
    assert ours["dev_mean"] == pytest.approx(0.65) and ours["method"] == "gan_leaks"
    paper = row(board, scenario="families", group="group1", run="paper_f0.5_spectrum")
    assert paper["paper"] and paper["mean"] == pytest.approx(0.6)
    best = best_by_scenario(board)
    assert list(best["group"]) == ["group1"] and best["best_run"].iloc[0] == "gan_leaks_spectrum"


def test_missing_column_names_the_file(tmp_path) -> None:
    path = tmp_path / "results" / "broken" / "evaluation" / "task2.tsv"
    path.parent.mkdir(parents=True)
    path.write_text("run\tmethod\tfeatures\tn\nx\ty\tz\t1\n")
    entry = {"dataset": "broken", "scenario": "s", "seed": 0, "task2": str(path), "task1": None}
    with pytest.raises(StudyError, match=r"broken/evaluation/task2\.tsv.*accuracy"):
        collect([entry])
    path1 = task1_table(tmp_path / "t1.tsv", t1_rows(0.5, 0.5))
    path1.write_text(path1.read_text().replace("split", "part"))
    entry = {**entry, "task2": None, "task1": str(path1)}
    with pytest.raises(ValueError, match=r"t1\.tsv: no column\(s\) split"):
        collect([entry])


def test_same_scenario_and_seed_twice_is_an_error(tmp_path) -> None:
    first = dataset(tmp_path, "families", 0, {"openset_pixels": 1.0})
    with pytest.raises(StudyError, match="both are scenario families, seed 0"):
        collect([first, {**first, "dataset": "copy"}])


def test_write_leaderboard_tsv_and_markdown(study, tmp_path) -> None:
    task2, task1 = collect(study)
    tsv, md = tmp_path / "out" / "leaderboard.tsv", tmp_path / "out" / "leaderboard.md"
    write_leaderboard(task2, task1, tsv, md)
    table = pd.read_csv(tsv, sep="\t", dtype={"seeds": str})
    assert list(table.columns) == TABLE_COLUMNS
    assert set(table["task"]) == {"task1", "task2"}
    openset = row(table, task="task2", scenario="families", run="openset_pixels")
    assert openset["sd"] == pytest.approx(0.1) and openset["values"] == "1.000,0.900,0.800"
    assert openset["metric"] == "accuracy" and pd.isna(openset["group"])
    attack = row(table, task="task1", run="gan_leaks_spectrum")
    assert attack["group"] == "group1" and attack["metric"] == "auc"
    text = md.read_text()
    assert "| `openset_pixels` | openset | pixels | 3 | 0.900 ± 0.100 |" in text
    assert "`tsne_kmeans_spectrum` **paper** (random-weight stand-in)" in text
    theirs = row(table, task="task2", scenario="families", run="tsne_kmeans_spectrum")
    assert theirs["baseline"] == "random-weight stand-in"
    assert "Best run against the paper's" in text
    assert "| 0.400 [0.152, 0.648] | 0.125 (max-T over 2; floor 0.125) |" in text
    assert "| `openset_pixels` | 0.800 | subsets | 0.900 | 0.900 | 1.000 | 0.800 |" in text
    assert "| `kmeans_spectrum` | 0.700 | families | 0.700 | 0.700 | - | - |" in text
    assert "on a group with nothing to find" in text
    assert "## Task 1: test AUC per attack" in text and "`paper_f0.5_spectrum` **paper**" in text
    assert not list(tsv.parent.glob(".*.tmp"))


def is_png(path: Path) -> bool:
    return path.stat().st_size > 100 and path.read_bytes().startswith(PNG_SIGNATURE)


def test_figures_are_written(study, tmp_path) -> None:
    task2, task1 = collect(study)
    plot_leaderboard(leaderboard(task2), tmp_path / "figures" / "leaderboard.png")
    plot_task1(task1_leaderboard(task1), tmp_path / "figures" / "task1.png")
    assert is_png(tmp_path / "figures" / "leaderboard.png")
    assert is_png(tmp_path / "figures" / "task1.png")
    # Empty boards still give a figure, saying so.
    plot_task1(task1_leaderboard(task1.iloc[:0]), tmp_path / "empty.png")
    assert is_png(tmp_path / "empty.png")


def test_write_study_leaves_nothing_on_failure(study, tmp_path, monkeypatch) -> None:
    import ctprints.study

    outputs = {name: tmp_path / "study" / name for name in ("t.tsv", "m.md", "f.png", "g.png")}

    def broken(board, path):
        raise RuntimeError("plot failed")

    monkeypatch.setattr(ctprints.study, "plot_task1", broken)
    with pytest.raises(RuntimeError):
        write_study(study, *outputs.values())
    assert not list((tmp_path / "study").iterdir())


def test_rule_script(study, tmp_path) -> None:
    """workflow/scripts/study_leaderboard.py with a stand-in for Snakemake's object."""
    out = tmp_path / "study"
    output = SimpleNamespace(
        table=str(out / "leaderboard.tsv"),
        markdown=str(out / "leaderboard.md"),
        figure=str(out / "leaderboard.png"),
        task1_figure=str(out / "leaderboard_task1.png"),
        primary=str(out / "primary.tsv"),
        frozen=str(out / "frozen.json"),
    )
    snakemake = SimpleNamespace(
        scriptdir=str(REPO / "workflow" / "scripts"),
        log=[str(tmp_path / "logs" / "study.log")],
        params=SimpleNamespace(
            datasets=study,
            primary={"candidate": None, "scenarios": []},
            repo=str(tmp_path),  # not a git checkout
        ),
        input=[],
        config=config_with(),
        output=output,
    )
    # The script sends stdout, stderr and logging to its log file: put them back afterwards.
    stdout, stderr = sys.stdout, sys.stderr
    handlers, level = logging.root.handlers[:], logging.root.level
    try:
        runpy.run_path(
            str(REPO / "workflow" / "scripts" / "study_leaderboard.py"),
            init_globals={"snakemake": snakemake},
        )
    finally:
        if sys.stderr is not stderr:
            sys.stderr.close()
        sys.stdout, sys.stderr = stdout, stderr
        for handler in logging.root.handlers[:]:
            logging.root.removeHandler(handler)
        for handler in handlers:
            logging.root.addHandler(handler)
        logging.root.setLevel(level)
    assert is_png(Path(output.figure)) and is_png(Path(output.task1_figure))
    assert "openset_pixels" in Path(output.markdown).read_text()
    # no candidate registered: primary.tsv holds its header only
    assert Path(output.primary).read_text().startswith("candidate\tbaseline\t")
    assert len(Path(output.primary).read_text().splitlines()) == 1
    assert "best run against the paper's" in (tmp_path / "logs" / "study.log").read_text()
    frozen = json.loads(Path(output.frozen).read_text())
    assert frozen["mode"] == "exploratory" and frozen["commit"] is None
    assert f"Their sha256 is `{frozen['sha256']}`" in Path(output.markdown).read_text()


def test_signal_summary_averages_generators_then_seeds(tmp_path) -> None:
    from ctprints.study import signal_markdown, signal_summary

    entries = []
    for seed, (a, b) in enumerate([(1.0, 2.0), (2.0, 3.0)]):
        path = tmp_path / f"signal{seed}.tsv"
        path.write_text(
            "check\tsubject\tvalue\tdetail\n"
            "realism\treal (other half)\t1.0\tx\n"
            "realism\tnoise control\t4.0\tx\n"
            f"realism\ttask2_model_1 (vae)\t{a}\tx\n"
            f"realism\ttask2_model_2 (vae)\t{b}\tx\n"
            "realism\ttask1_group1 (vae)\t9.0\tx\n"
            "family_accuracy\ttask2 generators\t0.5\tx\n"
        )
        entries.append({"scenario": "seeds", "seed": seed, "signal": str(path)})
    summary = signal_summary(entries)
    row = summary.iloc[0]
    # Generator means 1.5 and 2.5 (Task 1's generator left out), then over seeds: 2.0 ± 0.707.
    assert row["n_seeds"] == 2 and row["realism"] == "2.000 ± 0.707"
    assert row["noise"] == "4.000 ± 0.000" and row["family_accuracy"] == "0.500 ± 0.000"
    assert "| seeds | 2 | 2.000 ± 0.707 |" in signal_markdown(summary)
    (tmp_path / "bad.tsv").write_text("check\tvalue\nrealism\t1\n")
    with pytest.raises(StudyError, match="bad.tsv: no column"):
        signal_summary([{"scenario": "x", "seed": 0, "signal": str(tmp_path / "bad.tsv")}])
