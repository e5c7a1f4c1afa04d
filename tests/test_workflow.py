"""Workflow tests: snakemake runs the manifest stage on a tiny layout in a temporary directory."""

from pathlib import Path

import pandas as pd
import pytest
from conftest import run_snakemake, write_config

pytestmark = pytest.mark.workflow


def test_manifest_rule_lists_every_image_and_reruns_as_noop(layout) -> None:
    workdir, spec = layout
    write_config(workdir, {"clef": spec}, ["clef"])
    run_snakemake(workdir, "manifests")
    manifest = pd.read_parquet(workdir / "results" / "clef" / "manifest.parquet")
    on_disk = sorted(p.relative_to(workdir).as_posix() for p in (workdir / "clef").rglob("*.png"))
    assert sorted(manifest.path) == on_disk
    log = (workdir / "logs" / "manifest" / "clef.log").read_text()
    assert "skipped 2 non-image entries" in log  # .DS_Store and Thumbs.db beside used/
    second = run_snakemake(workdir, "manifests")
    assert "Nothing to be done" in second.stdout + second.stderr


def test_unknown_config_key_stops_before_any_job(layout) -> None:
    workdir, spec = layout
    write_config(workdir, {"clef": spec}, ["clef"], perplexty=30)
    result = run_snakemake(workdir, "manifests", check=False)
    assert result.returncode != 0
    assert "perplexty" in result.stderr
    assert not (workdir / "results").exists()


def test_unknown_nested_key_is_named(layout) -> None:
    workdir, spec = layout
    spec["task1"]["group1"]["unsed"] = "used"
    write_config(workdir, {"clef": spec}, ["clef"])
    result = run_snakemake(workdir, "manifests", check=False)
    assert result.returncode != 0
    assert "unsed" in result.stderr


def test_wrong_type_is_named(layout) -> None:
    workdir, spec = layout
    spec["image_size"] = "large"
    write_config(workdir, {"clef": spec}, ["clef"])
    result = run_snakemake(workdir, "manifests", check=False)
    assert result.returncode != 0
    assert "'large' is not of type" in result.stderr and "image_size" in result.stderr
    assert not (workdir / "results").exists()


def test_missing_dataset_folder_stops_before_any_job(layout) -> None:
    workdir, spec = layout
    spec["task1"]["group1"]["used"] = "nowhere/used"
    write_config(workdir, {"clef": spec}, ["clef"])
    result = run_snakemake(workdir, "manifests", check=False)
    assert result.returncode != 0
    assert "datasets.clef.task1.group1.used" in result.stderr
    assert "does not exist" in result.stderr
    assert not (workdir / "results").exists()


def test_unknown_run_dataset_is_named(layout) -> None:
    workdir, spec = layout
    write_config(workdir, {"clef": spec}, ["celf"])
    result = run_snakemake(workdir, "manifests", check=False)
    assert result.returncode != 0
    assert "'celf' is not a dataset" in result.stderr


def test_failed_manifest_leaves_no_output(layout) -> None:
    workdir, spec = layout
    broken = workdir / "clef" / "task2" / "test" / "test_0003.png"
    broken.write_bytes(broken.read_bytes()[:30])
    write_config(workdir, {"clef": spec}, ["clef"])
    result = run_snakemake(workdir, "manifests", check=False)
    assert result.returncode != 0
    assert not (workdir / "results" / "clef" / "manifest.parquet").exists()
    leftovers = list((workdir / "results").rglob("*")) if (workdir / "results").exists() else []
    assert [p for p in leftovers if p.is_file()] == []
    log = (workdir / "logs" / "manifest" / "clef.log").read_text()
    assert "test_0003.png" in log and "truncated or corrupt" in log


def test_schema_error_is_one_readable_line_naming_the_key(layout) -> None:
    workdir, spec = layout
    spec["task2"]["n_generatros"] = 4
    write_config(workdir, {"clef": spec}, ["clef"])
    result = run_snakemake(workdir, "manifests", check=False)
    assert result.returncode != 0
    assert "datasets.clef.task2.n_generatros: unknown key" in result.stderr
    # The message is short: not the whole schema and config, as snakemake's validate prints.
    assert len(result.stderr.splitlines()) < 25


def test_overwritten_image_reruns_the_manifest(layout) -> None:
    workdir, spec = layout
    write_config(workdir, {"clef": spec}, ["clef"])
    run_snakemake(workdir, "manifests")
    manifest = workdir / "results" / "clef" / "manifest.parquet"
    before = pd.read_parquet(manifest).set_index("key").sha256
    used = workdir / "clef" / "task1" / "used"
    (used / "used_0001.png").write_bytes((used / "used_0002.png").read_bytes())
    rerun = run_snakemake(workdir, "manifests")
    assert "Nothing to be done" not in rerun.stdout + rerun.stderr
    after = pd.read_parquet(manifest).set_index("key").sha256
    assert after["task1/group1/used_0001"] == before["task1/group1/used_0002"]
    assert after["task1/group1/used_0001"] != before["task1/group1/used_0001"]


def test_image_added_to_a_label_subfolder_reruns_the_manifest(tmp_path: Path) -> None:
    from conftest import write_folder

    write_folder(tmp_path / "t2" / "generated" / "gen_a", "a", 2)
    write_folder(tmp_path / "t2" / "generated" / "gen_b", "b", 2, seed=5)
    write_folder(tmp_path / "t2" / "generated" / "gen_c", "c", 2, seed=7)
    write_folder(tmp_path / "t2" / "generated_unknown", "u", 2, seed=20)
    spec = {
        "image_size": 16,
        "task2": {
            "preset": "imageclef2025",
            "root": "t2",
            "real_subfolders": False,
            "n_generators": 3,
        },
    }
    write_config(tmp_path, {"y25": spec}, ["y25"])
    run_snakemake(tmp_path, "manifests")
    write_folder(tmp_path / "t2" / "generated" / "gen_a", "a_new", 1, seed=40)
    run_snakemake(tmp_path, "manifests")
    manifest = pd.read_parquet(tmp_path / "results" / "y25" / "manifest.parquet")
    assert "a_new_0001" in set(manifest.image_id)
