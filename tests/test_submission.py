"""Run files: exactly the official format, and every deviation named with file and line."""

from pathlib import Path

import pytest

from ctprints.submission import RunFileError, read_run, write_run


def test_task2_run_round_trips_without_header_or_quotes(tmp_path: Path) -> None:
    path = tmp_path / "run.csv"
    write_run(path, ["generated_00002", "generated_00001"], ["model_4", "model_1"], task=2)
    assert path.read_text() == "generated_00002,model_4\ngenerated_00001,model_1\n"
    assert read_run(path, task=2) == {"generated_00002": "model_4", "generated_00001": "model_1"}


def test_windows_line_endings_read_the_same(tmp_path: Path) -> None:
    path = tmp_path / "truth.csv"
    path.write_bytes(b"a,model_1\r\nb,model_2\r\n")
    assert read_run(path, task=2) == {"a": "model_1", "b": "model_2"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,1\n\nb,0\n", ":2: expected <image_id>,<label>"),
        ("a,1\na,0\n", ":2: duplicate image ID 'a'"),
        ("a,1\nb,2\n", ":2: task 1 label must be 0 or 1, got '2'"),
        ("a.png,1\n", ":1: image ID 'a.png' has a file extension"),
        ("a,1,extra\n", ":1: expected <image_id>,<label>"),
        ("a\n", ":1: expected <image_id>,<label>"),
        ("a,0.7\n", ":1: task 1 label must be 0 or 1, got '0.7'"),
        ("a,yes\n", ":1: task 1 label must be 0 or 1, got 'yes'"),
        ("a,-1\n", ":1: task 1 label must be 0 or 1, got '-1'"),
        ("a, 1\n", ":1: task 1 label must be 0 or 1, got ' 1'"),
    ],
)
def test_task1_deviations_are_named_with_the_line(tmp_path: Path, text, message) -> None:
    path = tmp_path / "run.csv"
    path.write_text(text)
    with pytest.raises(RunFileError, match=message):
        read_run(path, task=1)


def test_missing_and_unknown_ids_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "run.csv"
    path.write_text("a,1\nb,0\n")
    with pytest.raises(RunFileError, match="1 test IDs missing, e.g. c"):
        read_run(path, task=1, expected_ids=["a", "b", "c"])
    with pytest.raises(RunFileError, match="1 unknown IDs, e.g. b"):
        read_run(path, task=1, expected_ids=["a"])


def test_writing_a_label_with_a_comma_is_refused_and_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "run.csv"
    with pytest.raises(RunFileError, match="comma, quote or line break"):
        write_run(path, ["a", "b"], ["model_1", "x,y"], task=2)
    assert not path.exists()
