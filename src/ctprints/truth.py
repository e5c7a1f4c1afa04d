"""Ground truth, checked against the manifest before any run file is scored.

A ground-truth file has the run-file format (``<image_id>,<label>`` lines, no header;
:mod:`ctprints.submission`) and must name every test image of its task exactly once:

- Task 2 (``datasets.<dataset>.ground_truth.task2``): the dataset's Task 2 test images, each
  labelled with a training label or with a name the runs give an unseen generator
  (:func:`ctprints.attribution.new_labels`: ``model_4`` after ``model_1..3``, or ``new_label``).
  Accuracy and macro-F1 compare names, so a truth that calls the unseen generator anything else
  could never be matched by any run; set ``datasets.<dataset>.task2.new_label`` to its name.
- Task 1 (``datasets.<dataset>.ground_truth.task1.<group>``): the group's real test images
  (``real_unknown``), labelled 1 (used) or 0 (not used), both present.

:func:`check_truth` raises :class:`TruthError` naming the config key, the file, the lines and a
few of the offending IDs, so that a bad truth file is never blamed on a run file.
:func:`remove_outputs` removes the evaluation outputs of an earlier truth when the check fails.
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ctprints.datasets import TASK1_ROLES
from ctprints.errors import TruthError

SHOWN = 3  # offending lines or IDs quoted per problem


def expected_ids(manifest, task: str, group: str | None = None) -> list[str]:
    """The test image IDs the ground truth must name: Task 2's test images, or one Task 1
    group's real test images."""
    if task == "task2":
        rows = manifest[
            (manifest["task"] == "task2")
            & (manifest["role"] == "generated")
            & (manifest["split"] == "test")
        ]
    else:
        _, role, _ = TASK1_ROLES["test_real"]
        rows = manifest[
            (manifest["task"] == "task1")
            & (manifest["group"] == group)
            & (manifest["role"] == role)
        ]
    return [str(image_id) for image_id in rows["image_id"]]


def _shown(items: Sequence[str]) -> str:
    listed = ", ".join(items[:SHOWN])
    return listed + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def _label_rule(task: str, labels: Sequence[str]) -> str:
    if task == "task1":
        return "Task 1 labels are 1 (used) or 0 (not used)"
    return (
        f"Task 2 labels are the training labels or the names the runs give unseen generators "
        f"({', '.join(labels)}); accuracy and macro-F1 compare names, so name an unseen "
        "generator as the runs do, or set the dataset's task2.new_label to the name the truth uses"
    )


def _parse(text: str) -> tuple[list[tuple[int, str, str]], list[str]]:
    """(line, image ID, label) rows, and the lines that are not ``<image_id>,<label>``."""
    rows, malformed = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = line.split(",")
        if len(tokens) != 2 or not all(token.strip() for token in tokens) or '"' in line:
            malformed.append(f"line {number}: {line!r}")
        else:
            rows.append((number, tokens[0], tokens[1]))
    return rows, malformed


def check_truth(
    path: str | os.PathLike,
    key: str,
    ids: Iterable[str],
    labels: Sequence[str],
    task: str,
) -> dict[str, str]:
    """Read a ground-truth file and check it against the test images; image ID -> label.

    ``ids`` are the test image IDs from the manifest (:func:`expected_ids`), ``labels`` the allowed
    labels, ``task`` "task1" or "task2" (for the wording). Raises :class:`TruthError` listing
    every kind of problem found: malformed lines, a header line, duplicate IDs, labels outside
    ``labels``, IDs that are not test images, test images it does not name, and for Task 1 a
    single class.
    """
    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise TruthError(f"{key}: cannot read {path}: {error}") from None
    expected = list(dict.fromkeys(ids))
    known, allowed = set(expected), set(labels)
    rows, malformed = _parse(text)
    problems = []
    if malformed:
        problems.append(
            f"{len(malformed)} lines are not <image_id>,<label> (one comma, no quotes, no empty "
            f"field), {_shown(malformed)}"
        )
    if rows and rows[0][0] == 1 and rows[0][1] not in known and rows[0][2] not in allowed:
        problems.append(
            f"line 1: {rows[0][1]},{rows[0][2]} looks like a header line; ground truth has "
            "none, only <image_id>,<label> lines"
        )
        rows = rows[1:]
    first_line: dict[str, int] = {}
    truth: dict[str, str] = {}
    duplicates, bad_labels, unknown = [], [], []
    for number, image_id, label in rows:
        if image_id in first_line:
            duplicates.append(f"line {number}: {image_id} (also line {first_line[image_id]})")
            continue
        first_line[image_id], truth[image_id] = number, label
        if label not in allowed:
            bad_labels.append(f"line {number}: {label!r}")
        if image_id not in known:
            unknown.append((number, image_id))
    if duplicates:
        problems.append(f"{len(duplicates)} duplicate IDs, {_shown(duplicates)}")
    if bad_labels:
        problems.append(
            f"{len(bad_labels)} labels not allowed, {_shown(bad_labels)}; "
            + _label_rule(task, labels)
        )
    if unknown:
        extension = any(os.path.splitext(image_id)[0] in known for _, image_id in unknown)
        hint = " (image IDs carry no file extension)" if extension else ""
        listed = [f"line {number}: {image_id}" for number, image_id in unknown]
        problems.append(
            f"{len(unknown)} IDs are not among the {len(expected)} test images "
            f"of the manifest, {_shown(listed)}{hint}"
        )
    missing = [image_id for image_id in expected if image_id not in truth]
    if missing:
        problems.append(
            f"{len(missing)} of the {len(expected)} test images missing, e.g. {_shown(missing)}"
        )
    if not problems and task == "task1" and len(set(truth.values())) < 2:
        only = next(iter(set(truth.values())), "none")
        problems.append(
            f"every label is {only}; scoring needs used (1) and not-used (0) test images"
        )
    if problems:
        listing = "\n".join(f"  {problem}" for problem in problems)
        raise TruthError(
            f"{key}: {path} does not fit the dataset ({len(problems)} problem(s)):\n{listing}"
        )
    return truth


def digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file, recorded with each checked truth file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def remove_outputs(patterns: Iterable[str]) -> list[str]:
    """Remove every file matching the glob patterns; the removed paths, sorted.

    When a truth check fails, the evaluation outputs of an earlier truth (tables, HTML tables,
    confusion matrices, ROC figures, the summary) would otherwise stay on disk looking current.
    """
    removed = sorted({path for pattern in patterns for path in glob.glob(pattern)})
    for path in removed:
        if os.path.isfile(path) or os.path.islink(path):
            os.remove(path)
    return removed
