"""Ground truth checked against the manifest's test images before any run file is scored."""

from pathlib import Path

import pandas as pd
import pytest

from ctprints.truth import TruthError, check_truth, expected_ids, remove_outputs

KEY = "datasets.clef.ground_truth.task2"
LABELS = ["model_1", "model_2", "model_3", "model_4"]
IDS = [f"test_{i:04d}" for i in range(1, 6)]


def _truth(tmp_path: Path, lines: list[str], name: str = "truth.csv") -> Path:
    path = tmp_path / name
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def _good() -> list[str]:
    return [f"{image_id},{LABELS[i % 4]}" for i, image_id in enumerate(IDS)]


def _check(path: Path, task: str = "task2", labels=LABELS, ids=IDS) -> dict:
    key = KEY if task == "task2" else "datasets.clef.ground_truth.task1.group1"
    return check_truth(path, key, ids, labels, task)


def test_good_truth_reads_as_a_mapping(tmp_path) -> None:
    path = _truth(tmp_path, _good())
    assert _check(path) == {image_id: LABELS[i % 4] for i, image_id in enumerate(IDS)}
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert _check(crlf) == _check(path)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        # one test ID missing
        (_good()[:-1], r"\n  1 of the 5 test images missing, e\.g\. test_0005"),
        # one unknown ID (in place of a test image)
        (
            [*_good()[:-1], "stray_0001,model_1"],
            r"\n  1 IDs are not among the 5 test images of the manifest, "
            r"line 5: stray_0001",
        ),
        # a header line
        (["image_id,label", *_good()], r"\n  line 1: image_id,label looks like a header line"),
        # a duplicate ID
        ([*_good(), "test_0002,model_3"], r"1 duplicate IDs, line 6: test_0002 \(also line 2\)"),
        # a label outside the allowed set
        (
            [*_good()[:-1], "test_0005,stylegan"],
            r"1 labels not allowed, line 5: 'stylegan'; Task 2 labels are the training labels "
            r"or the names the runs give unseen generators \(model_1, model_2, model_3, model_4\)",
        ),
        # a malformed line
        (
            [*_good()[:-1], "test_0005;model_1"],
            r"1 lines are not <image_id>,<label> .*, line 5: 'test_0005;model_1'",
        ),
        # file extensions on the IDs
        (
            [line.replace(",", ".png,", 1) for line in _good()],
            r"5 IDs are not among .*line 1: test_0001\.png, line 2: test_0002\.png, "
            r"line 3: test_0003\.png and 2 more \(image IDs carry no file extension\)",
        ),
    ],
)
def test_bad_truth_names_its_key_file_lines_and_ids(tmp_path, lines, message) -> None:
    path = _truth(tmp_path, lines)
    with pytest.raises(TruthError, match=message) as error:
        _check(path)
    assert str(error.value).startswith(f"{KEY}: {path} does not fit the dataset")


def test_a_header_is_reported_once_not_as_an_unknown_id_and_label(tmp_path) -> None:
    with pytest.raises(TruthError) as error:
        _check(_truth(tmp_path, ["image_id,label", *_good()]))
    assert "(1 problem(s))" in str(error.value)


def test_every_kind_of_problem_is_listed_at_once(tmp_path) -> None:
    lines = ["image_id,label", *_good()[1:], "test_0002,model_2", "extra,model_9"]
    with pytest.raises(TruthError) as error:
        _check(_truth(tmp_path, lines))
    text = str(error.value)
    for part in ("header", "duplicate", "labels not allowed", "not among", "missing"):
        assert part in text


def test_task1_truth_is_0_or_1_with_both_classes(tmp_path) -> None:
    ids = ["r1", "r2", "r3", "r4"]
    good = _truth(tmp_path, ["r1,1", "r2,0", "r3,1", "r4,0"])
    assert _check(good, "task1", ["0", "1"], ids) == {"r1": "1", "r2": "0", "r3": "1", "r4": "0"}
    bad = _truth(tmp_path, ["r1,1", "r2,used", "r3,1", "r4,0"], "bad.csv")
    with pytest.raises(
        TruthError,
        match=r"(?s)ground_truth\.task1\.group1: .*bad\.csv.*line 2: 'used'; Task 1 labels are 1 ",
    ):
        _check(bad, "task1", ["0", "1"], ids)
    one_class = _truth(tmp_path, ["r1,1", "r2,1", "r3,1", "r4,1"], "ones.csv")
    with pytest.raises(
        TruthError, match=r"every label is 1; scoring needs used \(1\) and not-used"
    ):
        _check(one_class, "task1", ["0", "1"], ids)


def test_expected_ids_are_task2_test_images_or_one_groups_real_test_images() -> None:
    manifest = pd.DataFrame(
        [
            ("m1", "task2", None, "train", "generated"),
            ("t1", "task2", None, "test", "generated"),
            ("t2", "task2", None, "test", "generated"),
            ("r1", "task1", "group1", "test", "real_unknown"),
            ("g1", "task1", "group1", "test", "generated"),
            ("u1", "task1", "group1", "dev", "used"),
            ("r2", "task1", "group2", "test", "real_unknown"),
        ],
        columns=["image_id", "task", "group", "split", "role"],
    )
    assert expected_ids(manifest, "task2") == ["t1", "t2"]
    assert expected_ids(manifest, "task1", "group1") == ["r1"]
    assert expected_ids(manifest, "task1", "group2") == ["r2"]


def test_remove_outputs_removes_the_matching_files_only(tmp_path) -> None:
    evaluation = tmp_path / "evaluation"
    (evaluation / "confusion").mkdir(parents=True)
    files = [evaluation / "task2.tsv", evaluation / "confusion" / "task2_kmeans_spectrum.png"]
    kept = evaluation / "task1.tsv"
    for path in [*files, kept]:
        path.write_text("x")
    patterns = [str(evaluation / "task2.tsv"), str(evaluation / "confusion" / "task2_*.png")]
    assert remove_outputs(patterns) == sorted(map(str, files))
    assert kept.exists() and not any(path.exists() for path in files)
    assert remove_outputs(patterns) == []


def test_a_truth_file_that_is_not_utf8_is_named(tmp_path) -> None:
    path = tmp_path / "truth.csv"
    path.write_bytes(b"test_0001,model_1\ntest_\xff0002,model_2\n")
    with pytest.raises(TruthError, match=rf"^{KEY}: cannot read .*truth\.csv: 'utf-8' codec"):
        _check(path)
