"""The study's scenarios built by snakemake at the tiny scale: layouts, truth, what reads it."""

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO, run_snakemake

pytestmark = pytest.mark.workflow

SCENARIOS = ("families", "subsets", "subsets_unseen", "seeds", "unseen_sibling", "two_unseen")


def _study_config(workdir: Path, **study) -> None:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["demo"]["scale"] = "tiny"
    config["study"] = {"scale": "tiny", "seeds": [0], **study}
    config["task2"]["train"]["archs"] = ["resnet18"]
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Every scenario's demo data and manifest, and the subsets method on the 2025 layout."""
    workdir = tmp_path_factory.mktemp("study")
    _study_config(workdir)
    targets = [f"results/study_{scenario}_s0/manifest.parquet" for scenario in SCENARIOS]
    targets.append("results/study_subsets_s0/submissions/task2/subsets_spectrum.csv")
    targets.append("data/study_families_s0/ground_truth/task1_group1.csv")
    run_snakemake(workdir, "--cores", "2", *targets)
    return workdir


def _entries(folder: Path) -> list[str]:
    """Visible names in a folder (snakemake leaves .snakemake_timestamp in folder outputs)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def _pngs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.png"))


def test_subsets_scenarios_write_the_2025_layout(built) -> None:
    for scenario, known in (("subsets", 4), ("subsets_unseen", 3)):
        task2 = built / f"data/study_{scenario}_s0/task2"
        labels = [f"subset_{k}" for k in range(1, known + 1)]
        assert _entries(task2) == ["generated", "generated_unknown", "real"]
        assert _entries(task2 / "generated") == labels
        assert _entries(task2 / "real") == labels
        assert _pngs(task2 / "real" / "subset_1")[0] == "real_0001.png"
        assert _pngs(task2 / "generated" / "subset_1")[0] == "subset_1_0001.png"
        truth = pd.read_csv(task2.parent / "ground_truth/task2.csv", header=None, dtype=str)
        test_ids = [p.removesuffix(".png") for p in _pngs(task2 / "generated_unknown")]
        assert sorted(truth[0]) == test_ids
        assert sorted(set(truth[1])) == [f"subset_{k}" for k in range(1, 5)]
        manifest = pd.read_parquet(built / f"results/study_{scenario}_s0/manifest.parquet")
        real = manifest[(manifest.task == "task2") & (manifest.role == "real")]
        assert sorted(set(real.label)) == labels
        assert not (manifest.task == "task1").any()


def test_the_other_scenarios_write_the_2023_layout(built) -> None:
    for scenario, known, labels in (
        ("seeds", 3, 4),
        ("unseen_sibling", 4, 5),
        ("families", 3, 4),
        ("two_unseen", 3, 5),
    ):
        task2 = built / f"data/study_{scenario}_s0/task2"
        assert _entries(task2) == ["test", "train"]
        assert _entries(task2 / "train") == [f"model_{k}" for k in range(1, known + 1)]
        truth = pd.read_csv(task2.parent / "ground_truth/task2.csv", header=None, dtype=str)
        assert sorted(set(truth[1])) == [f"model_{k}" for k in range(1, labels + 1)]
    # Task 1 is built for families only, with each group's truth split from one table.
    families = built / "data/study_families_s0"
    assert _entries(families / "task1") == ["group1", "group2", "group3"]  # config.yaml's
    assert (families / "ground_truth/task1_group1.csv").stat().st_size > 0
    assert not _entries(built / "data/study_seeds_s0/task1")


def test_the_subsets_method_submits_a_label_for_every_test_image(built) -> None:
    run = pd.read_csv(
        built / "results/study_subsets_s0/submissions/task2/subsets_spectrum.csv",
        header=None,
        dtype=str,
    )
    truth = pd.read_csv(
        built / "data/study_subsets_s0/ground_truth/task2.csv", header=None, dtype=str
    )
    assert sorted(run[0]) == sorted(truth[0])
    assert set(run[1]) <= {f"subset_{k}" for k in range(1, 5)}
    log = (built / "logs/cluster/study_subsets_s0_subsets_spectrum.log").read_text()
    assert "real images" in log


def test_the_study_plans_every_run_and_only_evaluation_reads_the_truth(built) -> None:
    result = run_snakemake(built, "-n", "--forceall", "study")
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", result.stdout, re.MULTILINE))
    assert jobs["study_leaderboard"] == "1" and jobs["demo_layout"] == "6"
    assert jobs["evaluate_task2"] == "6" and jobs["evaluate_task1"] == "1"
    # 5 methods x 4 embedders on the two subsets datasets, 4 (all but subsets) elsewhere.
    assert jobs["cluster"] == str(2 * 20 + 4 * 16)
    # The leaderboard summarises evaluation tables and signal reports: evaluation too.
    allowed = re.compile(r"^(demo_|evaluate|confusion|roc|study|all$)")
    forbidden = re.compile(r"ground_truth|results/study_\w+/build")
    job_rule, checked = None, 0
    for line in result.stdout.splitlines():
        line = line.strip()
        if line.startswith(("rule ", "localrule ")):
            job_rule = line.split()[-1].rstrip(":")
        elif line.startswith("input:") and job_rule and not allowed.match(job_rule):
            checked += 1
            assert not forbidden.search(line), f"rule {job_rule} reads ground truth: {line}"
    assert checked > 100


@pytest.mark.parametrize(
    ("study", "message"),
    [
        ({"scenarios": ["families", "gans"]}, r"study\.scenarios\[1\]: unknown scenario 'gans'"),
        ({"seeds": []}, r"study\.seeds: \[\] should be non-empty"),
    ],
)
def test_a_bad_study_stops_before_any_job(tmp_path, study, message) -> None:
    _study_config(tmp_path, **study)
    result = run_snakemake(tmp_path, "-n", "study", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert re.search(message, output), output
    assert not (tmp_path / "results").exists()
