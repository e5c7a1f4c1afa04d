"""Manifest: folder layouts become one row per image; bad layouts name the file or key."""

import os
from pathlib import Path

import pandas as pd
import pytest
from conftest import build, gray, save, write_folder

from ctprints.datasets import (
    DatasetConfigError,
    available_presets,
    dataset_sources,
    folder_fingerprint,
)
from ctprints.manifest import COLUMNS, ManifestError, write_manifest


def test_manifest_has_one_row_per_image_with_roles_and_labels(layout) -> None:
    root, spec = layout
    manifest = build(root, spec)
    assert list(manifest.columns) == COLUMNS
    assert len(manifest) == 5 * 3 + 3 * 2 + 4
    used = manifest[(manifest.task == "task1") & (manifest.role == "used")]
    assert sorted(used.image_id) == ["used_0001", "used_0002", "used_0003"]
    assert set(used.label) == {"used"} and set(used.split) == {"dev"}
    test_real = manifest[manifest.role == "real_unknown"]
    assert set(test_real.split) == {"test"} and test_real.label.isna().all()
    train2 = manifest[(manifest.task == "task2") & (manifest.split == "train")]
    assert sorted(train2.label.unique()) == ["model_1", "model_2", "model_3"]
    assert manifest[(manifest.task == "task2") & (manifest.split == "test")].label.isna().all()
    assert (manifest.width == 16).all() and (manifest.height == 16).all()
    assert manifest.sha256.str.len().eq(64).all()
    # The 2023 preset resolved the folder names under the group's root.
    assert all("clef/task1/used/" in p for p in used.path)


def test_preset_2025_reads_label_subfolders(tmp_path: Path) -> None:
    write_folder(tmp_path / "t2" / "generated" / "gen_a", "a", 2)
    write_folder(tmp_path / "t2" / "generated" / "gen_b", "b", 2, seed=5)
    write_folder(tmp_path / "t2" / "real" / "gen_a", "ra", 1, seed=9)
    write_folder(tmp_path / "t2" / "generated_unknown", "u", 3, seed=20)
    spec = {"image_size": 16, "task2": {"preset": "imageclef2025", "root": "t2"}}
    manifest = build(tmp_path, spec)
    train = manifest[(manifest.split == "train") & (manifest.role == "generated")]
    assert train.groupby("label").size().to_dict() == {"gen_a": 2, "gen_b": 2}
    real = manifest[manifest.role == "real"]
    assert real.label.tolist() == ["gen_a"]
    assert (manifest.split == "test").sum() == 3


def test_shipped_presets_are_generic_2023_and_2025() -> None:
    assert available_presets() == ["generic", "imageclef2023", "imageclef2025"]


def test_duplicate_ids_across_two_folders_raise_naming_both_files(layout) -> None:
    root, spec = layout
    save(root / "clef" / "task1" / "not_used" / "used_0001.png", gray(16, 99))
    with pytest.raises(ManifestError, match="duplicate image ID 'used_0001'") as error:
        build(root, spec)
    message = str(error.value)
    assert "clef/task1/used/used_0001.png" in message
    assert "clef/task1/not_used/used_0001.png" in message


def test_same_id_in_two_task1_groups_is_allowed(layout) -> None:
    root, spec = layout
    spec["task1"]["group2"] = {"preset": "imageclef2023", "root": "clef/task1"}
    manifest = build(root, spec)
    assert set(manifest.group.dropna()) == {"group1", "group2"}
    assert (manifest.image_id == "used_0001").sum() == 2


def test_empty_role_folder_raises_naming_folder_and_key(layout) -> None:
    root, spec = layout
    for path in (root / "clef" / "task1" / "not_used").glob("*.png"):
        path.unlink()
    with pytest.raises(ManifestError, match="no PNG images") as error:
        build(root, spec)
    assert "clef/task1/not_used" in str(error.value)
    assert "datasets.clef.task1.group1.not_used" in str(error.value)


def test_missing_folder_raises_naming_config_key_and_path(layout) -> None:
    root, spec = layout
    spec["task2"]["train"]["model_9"] = "model_9"
    with pytest.raises(DatasetConfigError) as error:
        build(root, spec)
    assert "datasets.clef.task2.train.model_9" in str(error.value)
    assert "clef/task2/model_9 does not exist" in str(error.value)


def test_missing_required_role_names_the_group_key(tmp_path: Path) -> None:
    spec = {"task1": {"g1": {"used": "u", "not_used": "n", "test_real": "t"}}}
    with pytest.raises(DatasetConfigError, match=r"datasets\.x\.task1\.g1: missing .*generated"):
        dataset_sources("x", spec)


def test_image_of_wrong_size_raises_naming_file(layout) -> None:
    root, spec = layout
    save(root / "clef" / "task2" / "test" / "test_0099.png", gray(20))
    with pytest.raises(ManifestError, match="20x20 pixels, expected 16x16") as error:
        build(root, spec)
    assert "test_0099.png" in str(error.value)


def test_corrupt_image_raises_naming_file(layout) -> None:
    root, spec = layout
    bad = root / "clef" / "task1" / "used" / "used_0002.png"
    bad.write_bytes(bad.read_bytes()[:40])
    with pytest.raises(ManifestError, match="used_0002.png: truncated or corrupt"):
        build(root, spec)


def test_every_bad_image_is_reported_in_one_error(layout) -> None:
    root, spec = layout
    for name in ("used_0001", "used_0003"):
        (root / "clef" / "task1" / "used" / f"{name}.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    save(root / "clef" / "task2" / "test" / "test_0050.png", gray(8))
    with pytest.raises(ManifestError, match="3 unusable image file") as error:
        build(root, spec)
    for name in ("used_0001.png", "used_0003.png", "test_0050.png"):
        assert name in str(error.value)


def test_key_is_unique_across_groups_and_tasks(layout) -> None:
    root, spec = layout
    spec["task1"]["group2"] = {"preset": "imageclef2023", "root": "clef/task1"}
    manifest = build(root, spec)
    assert manifest.key.is_unique
    assert "task1/group2/used_0001" in set(manifest.key)
    assert "task2/test_0001" in set(manifest.key)


def test_false_switches_off_a_role_the_preset_names(layout) -> None:
    root, spec = layout
    spec["task1"]["group1"]["test_generated"] = False
    manifest = build(root, spec)
    task1 = manifest[manifest.task == "task1"]
    assert not ((task1.split == "test") & (task1.role == "generated")).any()
    assert (task1.role == "real_unknown").sum() == 3


def test_same_folder_for_two_labels_is_a_config_error(layout) -> None:
    root, spec = layout
    spec["task2"]["train"]["model_2"] = "model_1"
    with pytest.raises(DatasetConfigError, match="train.model_2: folder .* already used by"):
        build(root, spec)


def test_ground_truth_for_unknown_group_is_named(layout) -> None:
    root, spec = layout
    spec["ground_truth"] = {"task1": {"grp9": "truth.csv"}}
    with pytest.raises(DatasetConfigError, match=r"ground_truth\.task1\.grp9: no task1 group"):
        build(root, spec)


def test_ground_truth_for_some_task1_groups_only_is_named(layout) -> None:
    root, spec = layout
    spec["task1"]["group2"] = dict(spec["task1"]["group1"])
    (root / "truth1.csv").write_text("used_0001,1\n")
    spec["ground_truth"] = {"task1": {"group1": "truth1.csv"}}
    with pytest.raises(
        DatasetConfigError, match=r"ground_truth\.task1: no truth for group\(s\) group2; the Task 1"
    ):
        build(root, spec)


def test_ground_truth_that_is_a_folder_is_named(layout) -> None:
    root, spec = layout
    (root / "truth").mkdir()
    spec["ground_truth"] = {"task2": "truth"}
    with pytest.raises(DatasetConfigError, match="ground_truth.task2: .* is not a file"):
        build(root, spec)


def test_missing_ground_truth_file_is_named(layout) -> None:
    root, spec = layout
    spec["ground_truth"] = {"task2": "truth/task2.csv"}
    with pytest.raises(
        DatasetConfigError,
        match=r"^datasets\.clef\.ground_truth\.task2: ground-truth file truth/task2\.csv does not ",
    ):
        build(root, spec)


def test_broken_link_is_an_error_not_a_skipped_file(layout) -> None:
    root, spec = layout
    (root / "clef" / "task1" / "used" / "used_0010.png").symlink_to(root / "gone.png")
    with pytest.raises(ManifestError, match="used_0010.png: broken link"):
        build(root, spec)


def test_folder_fingerprint_changes_when_an_image_is_overwritten(layout) -> None:
    root, spec = layout
    sources = dataset_sources(
        "clef", {**spec, "task2": {**spec["task2"], "root": str(root / "clef/task2")}}
    )
    before = folder_fingerprint(sources)
    target = root / "clef" / "task2" / "test" / "test_0001.png"
    save(target, gray(16, 1234))
    os.utime(target, ns=(1, 10**18))
    assert folder_fingerprint(sources) != before


def test_write_manifest_round_trips(tmp_path: Path, layout) -> None:
    root, spec = layout
    manifest = build(root, spec)
    target = tmp_path / "results" / "manifest.parquet"
    write_manifest(manifest, str(target))
    pd.testing.assert_frame_equal(pd.read_parquet(target), manifest)
    assert [p.name for p in target.parent.iterdir()] == ["manifest.parquet"]
