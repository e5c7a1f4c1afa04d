"""Faults of the input folders that used to pass the manifest and fail later, or crash it:
image IDs a run file cannot carry, symlink loops, and IDs repeated across folders that never
meet in one file (the 2025 layout's dev and test `generated/` folders)."""

import logging
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import build, gray, run_snakemake, save, write_config, write_folder

from ctprints import manifest as manifest_module
from ctprints.datasets import check_paths_exist, folder_fingerprint
from ctprints.manifest import ManifestError, read_manifest
from ctprints.membership import group_rows, part_features
from ctprints.submission import RunFileError, read_run, validate_rows

TEST_REAL = ("clef", "task1", "real_unknown_1")


def shown_as(path: Path) -> str:
    """A path as error messages show it: escaped and quoted when it holds a line break."""
    return str(path) if str(path).isprintable() else repr(str(path))


# ----------------------------------------------------------------------------- image IDs

BAD_IDS = [
    ("img,2", "holds a comma"),
    ('img"2', "holds a quote"),
    ("img\n2", "holds a line break"),
    ("img\r2", "holds a line break"),
    (" img2", "has leading or trailing whitespace"),
    ("img2 ", "has leading or trailing whitespace"),
    ("img2\t", "has leading or trailing whitespace"),
    ("x.png", r"still ends in a file extension \(\.png\)"),
    ("x.PNG", r"still ends in a file extension \(\.PNG\)"),
    ("x.jpg", r"still ends in a file extension \(\.jpg\)"),
]


@pytest.mark.parametrize(("image_id", "reason"), BAD_IDS)
def test_test_image_id_a_run_file_cannot_carry_is_named(layout, image_id, reason) -> None:
    root, spec = layout
    path = save(root.joinpath(*TEST_REAL, f"{image_id}.png"), gray(16, 77))
    with pytest.raises(ManifestError, match="1 unusable image file") as error:
        build(root, spec)
    message = str(error.value)
    assert re.search(rf"image ID {re.escape(repr(image_id))} {reason}", message), message
    assert "which a run file cannot carry; rename the file" in message
    # The file is named (escaped where its name holds a line break, so the list stays a list).
    shown = shown_as(path.relative_to(root))
    assert f"  {shown}: image ID" in message
    assert len(message.splitlines()) == 2


def test_manifest_rejects_what_the_run_file_validator_rejects() -> None:
    # Every ID a run file refuses (submission.validate_rows) is refused by the manifest first.
    for image_id, _ in BAD_IDS:
        assert manifest_module.id_problems(image_id)
        if image_id == image_id.strip():
            with pytest.raises(RunFileError):
                validate_rows([(image_id, "1")], "run.csv", task=1)
    for image_id in ("generated_0001", "img 2", "a.b", "a-b_c", "ÄÖ.x", "x.png.tif", "x.jpeg"):
        assert manifest_module.id_problems(image_id) == []
        validate_rows([(image_id, "1")], "run.csv", task=1)


def test_every_bad_id_in_every_folder_is_listed_in_one_error(layout) -> None:
    root, spec = layout
    bad = [
        save(root.joinpath(*TEST_REAL, "img,2.png"), gray(16, 1)),
        save(root / "clef" / "task1" / "used" / " used_0009.png", gray(16, 2)),
        save(root / "clef" / "task1" / "generated" / "g.png.png", gray(16, 3)),
        save(root / "clef" / "task2" / "model_1" / 'q"1.png', gray(16, 4)),
        save(root / "clef" / "task2" / "test" / "t\n1.png", gray(16, 5)),
    ]
    corrupt = root / "clef" / "task2" / "test" / "test_0002.png"
    corrupt.write_bytes(corrupt.read_bytes()[:40])
    with pytest.raises(ManifestError, match="6 unusable image file") as error:
        build(root, spec)
    message = str(error.value)
    # Dev and training images too: every ID becomes a row key (see manifest._check_id).
    for path in bad:
        assert f"{shown_as(path.relative_to(root))}: image ID" in message
    assert "test_0002.png: truncated or corrupt" in message
    assert len(message.splitlines()) == 7


def test_file_name_that_is_not_utf8_is_named(layout) -> None:
    root, spec = layout
    folder = os.fsencode(root.joinpath(*TEST_REAL))
    source = root.joinpath(*TEST_REAL, "real_unknown_0001.png").read_bytes()
    with open(os.path.join(folder, b"scan\xff.png"), "wb") as handle:
        handle.write(source)
    with pytest.raises(ManifestError, match="1 unusable image file") as error:
        build(root, spec)
    assert r"scan\udcff.png" in str(error.value)
    assert r"image ID 'scan\udcff' is not valid UTF-8" in str(error.value)


# ----------------------------------------------------------------------------- symlink loops


def loop(folder: Path, first: str, second: str) -> None:
    """``ln -s second folder/first; ln -s first folder/second``."""
    (folder / first).symlink_to(second)
    (folder / second).symlink_to(first)


def test_looping_png_is_a_named_bad_file_beside_the_others(layout) -> None:
    root, spec = layout
    loop(root / "clef" / "task1" / "used", "loopa.png", "loopb.png")
    (root / "clef" / "task1" / "used" / "used_0002.png").write_bytes(b"")
    with pytest.raises(ManifestError, match="3 unusable image file") as error:
        build(root, spec)
    message = str(error.value)
    assert "clef/task1/used/loopa.png: symlink loop" in message
    assert "clef/task1/used/loopb.png: symlink loop" in message
    assert "clef/task1/used/used_0002.png: empty file" in message


def test_looping_other_entries_are_skipped_and_counted(layout, caplog) -> None:
    root, spec = layout
    not_used = root / "clef" / "task1" / "not_used"
    loop(not_used, "loopa", "loopb")
    with caplog.at_level(logging.INFO, logger="ctprints.manifest"):
        manifest = build(root, spec)
    assert len(manifest) == 5 * 3 + 3 * 2 + 4
    assert f"{Path('clef/task1/not_used')}: skipped 2 non-image entries" in caplog.text


def test_folder_fingerprint_digests_a_symlink_loop(layout) -> None:
    root, spec = layout
    cwd = os.getcwd()
    os.chdir(root)
    try:
        sources = check_paths_exist("clef", spec)
        before = folder_fingerprint(sources)
        loop(root / "clef" / "task1" / "used", "loopa", "loopb")
        with_loop = folder_fingerprint(sources)
        loop(root / "clef" / "task1" / "used", "loopc.png", "loopd.png")
        assert len({before, with_loop, folder_fingerprint(sources)}) == 3
    finally:
        os.chdir(cwd)


@pytest.mark.workflow
def test_workflow_stops_at_a_looping_png_and_a_bad_id_naming_both(layout) -> None:
    workdir, spec = layout
    loop(workdir / "clef" / "task1" / "used", "loopa.png", "loopb.png")
    save(workdir.joinpath(*TEST_REAL, "img,2.png"), gray(16, 3))
    write_config(workdir, {"clef": spec}, ["clef"])
    result = run_snakemake(workdir, "manifests", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "InputFunctionException" not in output and "Too many levels" not in output
    assert "clef/task1/used/loopa.png: symlink loop" in output
    assert "real_unknown_1/img,2.png: image ID 'img,2' holds a comma" in output
    assert not (workdir / "results" / "clef" / "manifest.parquet").exists()


@pytest.mark.workflow
def test_workflow_skips_looping_entries_that_are_not_images(layout) -> None:
    workdir, spec = layout
    loop(workdir / "clef" / "task1" / "used", "loopa", "loopb")
    write_config(workdir, {"clef": spec}, ["clef"])
    run_snakemake(workdir, "manifests")
    manifest = read_manifest(str(workdir / "results" / "clef" / "manifest.parquet"))
    assert len(manifest) == 5 * 3 + 3 * 2 + 4
    log = (workdir / "logs" / "manifest" / "clef.log").read_text()
    assert "skipped 4 non-image entries" in log  # .DS_Store, Thumbs.db and the two links


# ----------------------------------------------------------------------------- repeated IDs


def write_2025_group(root: Path, size: int = 16) -> dict:
    """A 2025-style Task 1 group whose dev and test `generated/` folders hold the same names."""
    write_folder(root / "development" / "generated", "generated", 8, size, seed=0)
    write_folder(root / "test" / "generated", "generated", 8, size, seed=100)
    write_folder(root / "development" / "real_used", "used", 4, size, seed=200)
    write_folder(root / "development" / "real_not_used", "not_used", 4, size, seed=300)
    write_folder(root / "test" / "real_unknown", "real", 4, size, seed=400)
    return {"preset": "imageclef2025", "root": str(root)}


def test_dev_and_test_synthetic_images_may_share_names(tmp_path: Path) -> None:
    spec = {"image_size": 16, "task1": {"group1": write_2025_group(tmp_path / "t1")}}
    manifest = build(tmp_path, spec, "y25")
    assert manifest.key.is_unique
    twice = manifest[manifest.image_id == "generated_0001"]
    assert sorted(twice.key) == [
        "task1/group1/dev/generated/generated_0001",
        "task1/group1/test/generated/generated_0001",
    ]
    assert twice.sha256.nunique() == 2
    assert "task1/group1/used_0001" in set(manifest.key)  # real images keep their keys
    # Downstream reads rows by key: each synthetic image once, with its own features.
    parts = group_rows(manifest, "group1", "y25")
    assert len(parts["generated"]) == 16
    features = pd.DataFrame(
        {"key": manifest.key, "f0000": np.arange(len(manifest), dtype=np.float32)}
    ).set_index("key")
    assert len(np.unique(part_features(features, parts["generated"]))) == 16


@pytest.mark.parametrize(
    ("folder", "scope"),
    [
        ("test/real_unknown", "task1/group1 real images"),  # meet in the score files
        ("development/real_not_used", "task1/group1 real images"),  # meet in the patients file
    ],
)
def test_real_images_of_a_group_still_need_unique_ids(tmp_path, folder, scope) -> None:
    spec = {"image_size": 16, "task1": {"group1": write_2025_group(tmp_path / "t1")}}
    save(tmp_path / "t1" / folder / "used_0001.png", gray(16, 9))
    with pytest.raises(ManifestError, match=f"duplicate image ID 'used_0001' in {scope}: "):
        build(tmp_path, spec, "y25")


def test_task2_real_images_may_share_names_with_synthetic_ones(tmp_path: Path) -> None:
    for label, seed in (("gen_a", 0), ("gen_b", 10)):
        write_folder(tmp_path / "t2" / "generated" / label, label, 2, seed=seed)
        write_folder(tmp_path / "t2" / "real" / label, "slice", 2, seed=seed + 50)
    write_folder(tmp_path / "t2" / "generated_unknown", "u", 3, seed=90)
    save(tmp_path / "t2" / "real" / "gen_a" / "gen_a_0001.png", gray(16, 91))
    spec = {"image_size": 16, "task2": {"preset": "imageclef2025", "root": "t2"}}
    manifest = build(tmp_path, spec, "y25")
    assert manifest.key.is_unique
    assert "task2/real/gen_b/slice_0001" in set(manifest.key)
    assert {"task2/gen_a_0001", "task2/real/gen_a/gen_a_0001"} <= set(manifest.key)
    # The training and test synthetic images meet in the clustering files: still unique.
    save(tmp_path / "t2" / "generated_unknown" / "gen_b_0002.png", gray(16, 92))
    with pytest.raises(
        ManifestError, match="duplicate image ID 'gen_b_0002' in task2 synthetic images: "
    ):
        build(tmp_path, spec, "y25")


@pytest.mark.workflow
def test_task1_runs_when_dev_and_test_synthetic_images_share_names(tmp_path: Path) -> None:
    spec = {"image_size": 16, "task1": {"group1": write_2025_group(tmp_path / "t1")}}
    write_config(
        tmp_path,
        {"y25": spec},
        ["y25"],
        embed={"embedders": ["spectrum"]},
        task1={
            "attacks": ["gan_leaks"],
            "folds": 2,
            "paper": {"embedders": []},
            "run": {"attack": "gan_leaks", "embedder": "spectrum"},
        },
    )
    run = "results/y25/submissions/task1/group1/gan_leaks_spectrum.csv"
    run_snakemake(tmp_path, run)
    manifest = read_manifest(str(tmp_path / "results/y25/manifest.parquet"))
    assert (manifest.image_id == "generated_0001").sum() == 2 and manifest.key.is_unique
    test_ids = {p.stem for p in (tmp_path / "t1" / "test" / "real_unknown").glob("*.png")}
    scores = pd.read_csv(tmp_path / "results/y25/task1/group1/scores/spectrum.csv")
    assert set(scores[scores.split == "test"].image_id) == test_ids
    assert np.isfinite(scores.gan_leaks).all()
    assert set(read_run(tmp_path / run, task=1, expected_ids=test_ids).values()) <= {"0", "1"}
    # The attack's reference held every synthetic image of the group, dev and test, once each.
    log = (tmp_path / "logs/scores_task1/y25_group1_spectrum.log").read_text()
    assert "'generated': 16" in log
