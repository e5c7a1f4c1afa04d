"""Shared test helpers: image writers and a runner for the workflow in a temporary directory."""

from __future__ import annotations

import functools
import operator
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))

# Stand-ins for another CPU (docs/testing.md): the threads of torch in this process and of every
# rule that snakemake runs, and the seed of the tiny demo data that the workflow tests build.
# Floating-point results of training change with both, so the tests marked `trains` must pass
# under CTPRINTS_TEST_THREADS=1 and 2 and under several CTPRINTS_TEST_SEED values.
TEST_THREADS = int(os.environ.get("CTPRINTS_TEST_THREADS", "2"))
TEST_SEED = int(os.environ.get("CTPRINTS_TEST_SEED", "0"))


def gray(size: int = 16, seed: int = 0) -> np.ndarray:
    """A reproducible (size, size) uint8 test image."""
    return np.random.default_rng(seed).integers(0, 256, size=(size, size), dtype=np.uint8)


def save(path: Path, pixels: np.ndarray, mode: str = "L") -> Path:
    """Save ``pixels`` as a PNG in the given PIL mode (L, P, RGB, RGBA, I;16)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "L":
        image = Image.fromarray(pixels)
    elif mode == "P":
        image = Image.fromarray(pixels).convert("P")
    elif mode in ("RGB", "RGBA"):
        image = Image.fromarray(np.repeat(pixels[..., None], 3, axis=2)).convert(mode)
    elif mode == "I;16":
        image = Image.fromarray(pixels.astype(np.uint16) * 257)
    else:
        raise ValueError(mode)
    image.save(path, format="PNG")
    return path


def write_folder(
    folder: Path, prefix: str, count: int, size: int = 16, seed: int = 0
) -> list[Path]:
    return [
        save(folder / f"{prefix}_{i:04d}.png", gray(size, seed + i)) for i in range(1, count + 1)
    ]


def build(root: Path, spec: dict, name: str = "clef"):
    """The manifest of a dataset config whose relative folders are under ``root``."""
    from ctprints.datasets import check_paths_exist
    from ctprints.manifest import build_manifest

    cwd = os.getcwd()
    os.chdir(root)
    try:
        return build_manifest(check_paths_exist(name, spec), spec.get("image_size"), progress=False)
    finally:
        os.chdir(cwd)


def write_layout(root: Path, size: int = 16) -> dict:
    """A tiny 2023-style layout (task 1, one group) plus task 2; returns its dataset config."""
    group = root / "clef" / "task1"
    for offset, (folder, prefix) in enumerate(
        [
            ("generated", "generated"),
            ("used", "used"),
            ("not_used", "not_used"),
            ("generated_1", "generated1"),
            ("real_unknown_1", "real_unknown"),
        ]
    ):
        write_folder(group / folder, prefix, 3, size, seed=10 * offset)
    (group / "used" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (group / "used" / "Thumbs.db").write_bytes(b"thumbs")
    for k in (1, 2, 3):
        write_folder(root / "clef" / "task2" / f"model_{k}", f"model{k}", 2, size, seed=100 + k)
    write_folder(root / "clef" / "task2" / "test", "test", 4, size, seed=200)
    return {
        "image_size": size,
        "task1": {"group1": {"preset": "imageclef2023", "root": "clef/task1"}},
        "task2": {
            "root": "clef/task2",
            "train": {"model_1": "model_1", "model_2": "model_2", "model_3": "model_3"},
            "test": "test",
            "n_generators": 4,
        },
    }


def memorised_population(seed: int = 0, n_used: int = 60, n_not: int = 60, dims: int = 8):
    """A generator that memorised its training images: samples are noisy copies of them."""
    rng = np.random.default_rng(seed)
    used = rng.normal(size=(n_used, dims))
    not_used = rng.normal(size=(n_not, dims))
    copies = used[rng.integers(0, n_used, 400)] + 0.3 * rng.normal(size=(400, dims))
    fresh = rng.normal(size=(200, dims))  # and some generic samples
    return used, not_used, np.vstack([copies, fresh])


def write_config(workdir: Path, datasets: dict, run: list[str], **extra) -> Path:
    config = {"seed": 0, "run_datasets": run, "datasets": datasets, **extra}
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run_snakemake(
    workdir: Path, *args: str, check: bool = True, configfile: str = "config.yaml"
) -> subprocess.CompletedProcess:
    """Run the repository's workflow in ``workdir`` with ``workdir/<configfile>``."""
    command = [
        SNAKEMAKE,
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(workdir / configfile),
        "--cores",
        "1",
        *args,
        "--max-threads",
        str(TEST_THREADS),
    ]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": str(TEST_THREADS)},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, dict]:
    return tmp_path, write_layout(tmp_path)


def planned_jobs(output: str) -> dict[str, int]:
    """Rule name -> job count from the "Job stats" table of a dry run."""
    jobs, inside = {}, False
    for line in output.splitlines():
        if line.startswith("Job stats:"):
            inside = True
            continue
        if inside:
            parts = line.split()
            if not parts or parts[0] == "total":
                if jobs:
                    break
                continue
            if len(parts) == 2 and parts[1].isdigit():
                jobs[parts[0]] = int(parts[1])
    return jobs


def planned_reasons(output: str) -> dict[str, set[str]]:
    """Reason -> rules, from the "Reasons:" summary of a dry run (e.g. "params have changed")."""
    reasons: dict[str, set[str]] = {}
    lines = output.splitlines()
    if "Reasons:" not in lines:
        return reasons
    reason = None
    for line in lines[lines.index("Reasons:") + 1 :]:
        if not line.strip():
            break
        if line.startswith("        ") and reason:
            reasons[reason].update(name.strip() for name in line.split(","))
        elif line.rstrip().endswith(":"):
            reason = line.strip().rstrip(":")
            reasons[reason] = set()
    return reasons


PARAMS_CHANGED = "params have changed since last execution"


def tiny_config(workdir: Path, name: str = "config.yaml", **changes) -> dict:
    """config.yaml at the tiny demo scale, with quick task 1 statistics, plus dotted changes."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["seed"] = TEST_SEED
    config["demo"]["scale"] = "tiny"
    config.setdefault("task1", {})
    config["task1"].update({"n_boot": 200, "n_permutations": 199})
    config["task1"].setdefault("paper", {})["time_limit"] = 10
    for dotted, value in changes.items():
        node = config
        *parents, last = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    (workdir / name).write_text(yaml.safe_dump(config, sort_keys=False))
    return config


def assert_config_stops_before_any_job(workdir: Path, message: str, **changes) -> None:
    """The tiny config with ``changes`` stops `all` with ``message`` and writes nothing."""
    tiny_config(workdir, **changes)
    result = run_snakemake(workdir, "all", check=False)
    assert result.returncode != 0
    assert re.search(message, result.stderr), result.stderr
    for folder in ("results", "data", "logs"):
        assert not (workdir / folder).exists()


BOUNDS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


def check_margin(record, name: str, value: float, op: str, bound: float) -> None:
    """Record ``name`` as "value op bound" with ``record(name, text)``, then assert it."""
    value = float(value)
    record(name, f"{value!r} {op} {bound!r}")
    assert BOUNDS[op](value, bound), f"{name}: {value:.4g} is not {op} {bound:.4g}"


@pytest.fixture
def margin(record_property):
    """Assert a figure of a trained model against its bound, and record both.

    ``margin("what", value, ">=", bound)`` fails like an assert does; the recorded property
    ("what" = "value >= bound") is what benchmarks/suite_margins.py collects across seeds and
    thread counts. A test that uses it is marked `trains` (pytest_collection_modifyitems).
    """
    return functools.partial(check_margin, record_property)


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if "margin" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.trains)


@pytest.fixture(scope="session", autouse=True)
def _library_threads():
    """numpy's BLAS and scikit-learn's OpenMP in this process use TEST_THREADS."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(TEST_THREADS):
        yield


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:
    """Torch uses TEST_THREADS in every test and its fixtures, whatever the machine's core count
    and whatever thread count an earlier test's training left behind (train_learner sets it)."""
    import torch

    torch.set_num_threads(TEST_THREADS)


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """The tiny demo run to the default target `all` (both tasks, evaluation, figures).

    CTPRINTS_TEST_BUILT names a folder where this was already built with the same settings
    (benchmarks/suite_margins.py), to check the tests against it without building it again.
    CTPRINTS_TEST_TARGETS replaces `all` with other targets, where only the tests that need no
    more run (`make test-other-cpu`).
    """
    if os.environ.get("CTPRINTS_TEST_BUILT"):
        return Path(os.environ["CTPRINTS_TEST_BUILT"])
    workdir = tmp_path_factory.mktemp("tiny_all")
    tiny_config(workdir)
    run_snakemake(workdir, "--cores", "2", *os.environ.get("CTPRINTS_TEST_TARGETS", "all").split())
    return workdir
