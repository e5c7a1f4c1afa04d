"""Run files in the challenge format (docs/data.md): ``<image_id>,<label>`` lines, no header."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from ctprints.errors import RunFileError
from ctprints.io import atomic_output

# What a run-file field cannot carry: a comma, quote or line break splits or quotes the line.
UNSAFE_CHARACTERS = {",": "a comma", '"': "a quote", "\n": "a line break", "\r": "a line break"}
# An image ID that still ends like this reads as a file name, which the official validator refuses.
EXTENSIONS = (".png", ".jpg")
TASK1_LABELS = ("0", "1")


def write_run(path: str | Path, ids: Sequence[str], labels: Sequence, task: int) -> None:
    """Write a task 1 (labels 0/1) or task 2 (generator names) run file, atomically, validated."""
    rows = [(str(i), str(label)) for i, label in zip(ids, labels, strict=True)]
    validate_rows(rows, str(path), task, expected_ids=list(map(str, ids)))
    with atomic_output(path) as temporary:
        with open(temporary, "w", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)


def read_run(path: str | Path, task: int, expected_ids: Iterable[str] | None = None) -> dict:
    """Read and validate a run or ground-truth file: image ID -> label."""
    rows = []
    with open(path, newline="") as handle:
        lines = handle.read().splitlines()  # LF or CRLF: files edited on Windows read the same
    for number, line in enumerate(lines, start=1):
        tokens = line.split(",")
        if len(tokens) != 2:
            raise RunFileError(f"{path}:{number}: expected <image_id>,<label>, got {line!r}")
        rows.append((tokens[0], tokens[1]))
    validate_rows(rows, str(path), task, expected_ids)
    return dict(rows)


def validate_rows(rows, path: str, task: int, expected_ids: Iterable[str] | None = None) -> None:
    """The official rules: one line per ID, no duplicates, no missing or unknown IDs, no blank
    fields, no file extensions; task 1 labels are the integers 0 or 1."""
    seen: set[str] = set()
    for number, (image_id, label) in enumerate(rows, start=1):
        if not image_id or not label:
            raise RunFileError(f"{path}:{number}: empty image ID or label")
        if any(char in token for token in (image_id, label) for char in UNSAFE_CHARACTERS):
            raise RunFileError(
                f"{path}:{number}: {image_id!r},{label!r} holds a comma, quote or line break, "
                "which the run-file format cannot carry"
            )
        if image_id.lower().endswith(EXTENSIONS):
            raise RunFileError(f"{path}:{number}: image ID {image_id!r} has a file extension")
        if image_id in seen:
            raise RunFileError(f"{path}:{number}: duplicate image ID {image_id!r}")
        if task == 1 and label not in TASK1_LABELS:
            raise RunFileError(f"{path}:{number}: task 1 label must be 0 or 1, got {label!r}")
        seen.add(image_id)
    if expected_ids is not None:
        expected = set(expected_ids)
        missing, unknown = expected - seen, seen - expected
        if missing:
            raise RunFileError(
                f"{path}: {len(missing)} test IDs missing, e.g. {sorted(missing)[0]}"
            )
        if unknown:
            raise RunFileError(f"{path}: {len(unknown)} unknown IDs, e.g. {sorted(unknown)[0]}")
