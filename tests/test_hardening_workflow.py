"""Hardening, end to end on tiny custom datasets: a bad ground-truth file is named as such
before any run file is scored, and leaves no evaluation output of an earlier truth behind; a seed
beyond what the libraries take stops before any job."""

from pathlib import Path

import pytest
from conftest import planned_jobs, run_snakemake, write_config, write_folder, write_layout

pytestmark = pytest.mark.workflow

# Cheap settings: one fingerprint, one method, one network for one short round.
CHEAP = {
    "embed": {"embedders": ["spectrum"]},
    "task2": {
        "methods": ["kmeans"],
        "run": {"method": "kmeans", "embedder": "spectrum"},
        "train": {
            "archs": ["resnet18"],
            "epochs": 1,
            "batch_size": 8,
            "device": "cpu",
            "pseudo": {"source": "none"},
        },
    },
    "task1": {
        "attacks": ["gan_leaks"],
        "run": {"attack": "gan_leaks", "embedder": "spectrum"},
        "paper": {"embedders": []},
    },
}
TRUTH2 = "truth/task2.csv"
EVALUATION = "results/clef/evaluation"


def _task2_dataset(root: Path) -> tuple[dict, list[str]]:
    """Three training generators of 6 images, 8 test images, and good Task 2 ground truth."""
    for k in (1, 2, 3):
        write_folder(root / "clef" / "task2" / f"model_{k}", f"model{k}", 6, seed=100 + 10 * k)
    write_folder(root / "clef" / "task2" / "test", "test", 8, seed=200)
    good = [f"test_{i:04d},model_{i % 4 + 1}" for i in range(1, 9)]
    (root / "truth").mkdir()
    (root / TRUTH2).write_text("\n".join(good) + "\n")
    spec = {
        "image_size": 16,
        "task2": {
            "root": "clef/task2",
            "train": {f"model_{k}": f"model_{k}" for k in (1, 2, 3)},
            "test": "test",
            "n_generators": 4,
        },
        "ground_truth": {"task2": TRUTH2},
    }
    return spec, good


def _outputs(workdir: Path) -> list[Path]:
    return [
        workdir / EVALUATION / "task2.tsv",
        workdir / EVALUATION / "task2.html",
        workdir / EVALUATION / "task2_paired.tsv",
        workdir / EVALUATION / "confusion" / "task2_kmeans_spectrum.png",
        workdir / EVALUATION / "confusion" / "task2_resnet18_32_round0.png",
        workdir / "results" / "clef" / "summary.md",
    ]


def test_bad_task2_truth_is_named_and_leaves_no_stale_evaluation(tmp_path) -> None:
    spec, good = _task2_dataset(tmp_path)
    write_config(tmp_path, {"clef": spec}, ["clef"], **CHEAP)
    targets = [str(path.relative_to(tmp_path)) for path in _outputs(tmp_path)]
    run_snakemake(tmp_path, *targets)
    assert all(path.exists() for path in _outputs(tmp_path))
    checked = tmp_path / EVALUATION / "truth_check" / "task2.tsv"
    assert "datasets.clef.ground_truth.task2" in checked.read_text()

    # A header line: before, evaluate_task2 blamed the first run file ("1 test IDs missing").
    (tmp_path / TRUTH2).write_text("\n".join(["image_id,label", *good]) + "\n")
    result = run_snakemake(tmp_path, *targets, check=False)
    assert result.returncode != 0
    assert f"datasets.clef.ground_truth.task2: {TRUTH2} does not fit the dataset" in result.stderr
    assert "line 1: image_id,label looks like a header line" in result.stderr
    assert "RunFileError" not in result.stderr and "submissions/task2" not in result.stderr
    # Nothing scored against the earlier truth is left looking current.
    assert not any(path.exists() for path in _outputs(tmp_path)), result.stderr
    assert not checked.exists()
    log = (tmp_path / "logs" / "evaluate_truth" / "clef_task2.log").read_text()
    assert "removed 6 evaluation outputs of an earlier truth" in log

    # One ID missing and one unknown: named with their lines and IDs.
    (tmp_path / TRUTH2).write_text("\n".join([*good[:-1], "test_0099,model_2"]) + "\n")
    result = run_snakemake(tmp_path, *targets, check=False)
    assert result.returncode != 0
    assert "1 IDs are not among the 8 test images of the manifest, line 8: test_0099" in (
        result.stderr
    )
    assert "1 of the 8 test images missing, e.g. test_0008" in result.stderr

    # The good truth back: only the evaluation reruns, no run file or training.
    (tmp_path / TRUTH2).write_text("\n".join(good) + "\n")
    dry = run_snakemake(tmp_path, "-n", *targets)
    assert set(planned_jobs(dry.stdout)) == {
        "evaluate_truth",
        "evaluate_task2",
        "confusion_task2",
        "table_html",
        "summary",
    }
    run_snakemake(tmp_path, *targets)
    assert all(path.exists() for path in _outputs(tmp_path))


def test_bad_task1_truth_is_named_and_its_evaluation_removed(tmp_path) -> None:
    spec = write_layout(tmp_path)
    (tmp_path / "truth").mkdir()
    truth = tmp_path / "truth" / "group1.csv"
    truth.write_text("real_unknown_0001,1\nreal_unknown_0002,0.5\nreal_unknown_0009,0\n")
    spec["ground_truth"] = {"task1": {"group1": "truth/group1.csv"}}
    write_config(tmp_path, {"clef": spec}, ["clef"], **CHEAP)
    evaluation = tmp_path / EVALUATION
    # Outputs of an earlier truth: Task 1's go, Task 2's stay.
    stale = [
        evaluation / "task1.tsv",
        evaluation / "task1.html",
        evaluation / "roc" / "task1_group1_spectrum.png",
        tmp_path / "results" / "clef" / "summary.md",
    ]
    kept = evaluation / "task2.tsv"
    for path in [*stale, kept]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("scored against an earlier truth")
    result = run_snakemake(tmp_path, f"{EVALUATION}/truth_check/task1.tsv", check=False)
    assert result.returncode != 0
    assert "datasets.clef.ground_truth.task1.group1: truth/group1.csv does not fit" in (
        result.stderr
    )
    assert "line 2: '0.5'; Task 1 labels are 1 (used) or 0 (not used)" in result.stderr
    assert "line 3: real_unknown_0009" in result.stderr
    assert "1 of the 3 test images missing, e.g. real_unknown_0003" in result.stderr
    assert not any(path.exists() for path in stale)
    assert kept.exists()
    truth.write_text("real_unknown_0001,1\nreal_unknown_0002,0\nreal_unknown_0003,1\n")
    run_snakemake(tmp_path, f"{EVALUATION}/truth_check/task1.tsv")


@pytest.mark.parametrize("seed", ["4294967296", "2147483648"])
def test_a_seed_too_large_for_the_libraries_stops_before_any_job(layout, seed) -> None:
    workdir, spec = layout
    write_config(workdir, {"clef": spec}, ["clef"])
    result = run_snakemake(workdir, "-n", "all", "--config", f"seed={seed}", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr  # a dry run reports on stdout
    assert f"seed: {seed} is greater than the maximum of 2147483647" in output
    assert not (workdir / "results").exists()
    run_snakemake(workdir, "-n", "manifests", "--config", "seed=2147483647")
