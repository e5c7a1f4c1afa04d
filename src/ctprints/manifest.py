"""The image manifest: one row per image of a dataset, with what it is and a checksum.

Every image is decoded once here (through :func:`ctprints.io.read_image`), so a corrupt, 16-bit,
colour or wrongly sized file stops the workflow at its first step, with the file named, instead of
surfacing hours later inside a training job.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from ctprints.datasets import Source, label_subfolders
from ctprints.errors import ManifestError, shown_path
from ctprints.io import ImageError, atomic_output, inspect_image, scan_folder
from ctprints.submission import EXTENSIONS, UNSAFE_CHARACTERS

log = logging.getLogger(__name__)

COLUMNS = [
    "key",
    "image_id",
    "path",
    "task",
    "group",
    "split",
    "role",
    "label",
    "width",
    "height",
    "sha256",
]


MAX_ERRORS_SHOWN = 20


@dataclass(frozen=True)
class _Entry:
    path: Path
    source: Source
    label: str | None


def _expand(sources: Iterable[Source]) -> tuple[list[_Entry], dict[str, int]]:
    """List image files per source; return the entries and the number skipped per folder."""
    entries: list[_Entry] = []
    skipped: dict[str, int] = {}
    for source in sources:
        if source.subfolders:
            parent = Path(source.folder)
            labels = label_subfolders(parent)
            if not labels:
                raise ManifestError(f"{parent}: no label subfolders ({source.key})")
            folders = [(folder, folder.name) for folder in labels]
        else:
            folders = [(Path(source.folder), source.label)]
        for folder, label in folders:
            try:
                scan = scan_folder(folder)
            except ValueError as error:
                raise ManifestError(f"{error} ({source.key})") from None
            skipped[str(folder)] = len(scan.skipped)
            for name in scan.skipped:
                log.info("skipped non-image entry %s", name)
            entries.extend(_Entry(path, source, label) for path in scan.images)
    return entries, skipped


def id_scope(task: str, group: str | None, split: str, role: str, label: str | None) -> tuple:
    """The images among which an image ID must be unique: those whose IDs meet in one file.

    - Task 1, per group, the real images (dev used and not-used, test real): the test real IDs
      are the run file's and the ground truth's rows, the dev IDs are joined to the group's
      patients file, and all of them are rows of the group's score files.
    - Task 1, per group, the dev synthetic images, and apart from them the test synthetic images
      (the 2025 layout has ``development/generated/`` and ``test/generated/``, which may hold the
      same names). Synthetic images never reach a file by ID: the attacks read their features
      by ``key``.
    - Task 2, the synthetic training and test images: the test IDs are the run file's rows, and
      all of them are rows of the clustering and t-SNE files.
    - Task 2, the real images of one generator (``real/<label>/``), which no later file holds.

    The same name in two scopes (or in two Task 1 groups) is allowed; ``key`` tells them apart.
    """
    if task == "task1":
        return (task, group, "real") if role != "generated" else (task, group, split, role)
    return (task, "generated") if role == "generated" else (task, role, label)


def _describe_scope(scope: tuple) -> str:
    task, *rest = scope
    if task == "task1":
        group, *where = rest
        kind = "real images" if where == ["real"] else f"{where[0]} synthetic images"
        return f"{task}/{group} {kind}"
    if rest == ["generated"]:
        return f"{task} synthetic images"
    return f"{task} real images of {rest[1]}"


def image_key(
    task: str, group: str | None, image_id: str, split: str, role: str, label: str | None = None
) -> str:
    """The dataset-wide unique key of an image: its :func:`id_scope` and its ID.

    ``task1/<group>/<id>`` for a Task 1 real image, ``task1/<group>/<split>/generated/<id>`` for
    a Task 1 synthetic one, ``task2/<id>`` for a Task 2 synthetic image and
    ``task2/real/<label>/<id>`` for a Task 2 real one. IDs hold no ``/``, so the keys of two
    scopes never meet.
    """
    scope = id_scope(task, group, split, role, label)
    if scope[-1] == "real" or scope == (task, "generated"):
        scope = scope[:-1]
    return "/".join([*(str(part) for part in scope), image_id])


def _entry_key(entry: _Entry) -> str:
    source = entry.source
    return image_key(
        source.task, source.group, entry.path.stem, source.split, source.role, entry.label
    )


def _check_unique_ids(entries: list[_Entry]) -> None:
    """Image IDs must be unique within each :func:`id_scope`; the same file name in two scopes
    is allowed. Then keys are unique across the dataset (checked too: they are the rows' keys in
    every later file)."""
    seen: dict[tuple, Path] = {}
    keys: dict[str, Path] = {}
    for entry in entries:
        source = entry.source
        scope = id_scope(source.task, source.group, source.split, source.role, entry.label)
        if (scope, entry.path.stem) in seen:
            raise ManifestError(
                f"duplicate image ID {entry.path.stem!r} in {_describe_scope(scope)}: "
                f"{shown_path(seen[scope, entry.path.stem])} and {shown_path(entry.path)}"
            )
        seen[scope, entry.path.stem] = entry.path
        key = _entry_key(entry)
        if key in keys:  # only a group or label name holding a "/" could get here
            raise ManifestError(
                f"duplicate key {key!r}: {shown_path(keys[key])} and {shown_path(entry.path)}"
            )
        keys[key] = entry.path


# What a run file cannot carry (ctprints.submission: UNSAFE_CHARACTERS, EXTENSIONS), and more:
# leading or trailing whitespace is invisible in the file and stripped by many CSV readers and
# spreadsheets, after which the ID no longer matches its image; a name that is not UTF-8 cannot be
# written to a run file (or to the manifest) at all.


def id_problems(image_id: str) -> list[str]:
    """Why a run file cannot carry ``image_id`` (an empty list when it can)."""
    problems = []
    try:
        image_id.encode("utf-8")
    except UnicodeEncodeError:
        problems.append("is not valid UTF-8")
    for character, name in UNSAFE_CHARACTERS.items():
        if character in image_id and f"holds {name}" not in problems:
            problems.append(f"holds {name}")
    if image_id != image_id.strip():
        problems.append("has leading or trailing whitespace")
    if image_id.lower().endswith(EXTENSIONS):
        problems.append(f"still ends in a file extension ({image_id[-4:]})")
    return problems


def _check_id(entry: _Entry) -> None:
    """Raise :class:`ImageError` for an image whose ID a run file cannot carry.

    Applied to every image, not only the test images whose IDs go into run files: every ID is a
    row of the manifest and of the CSV files after it (score, cluster and patients files, read
    back by image ID), a folder that is dev data in one config can be test data in the next, and
    a rule that holds for some folders only would surprise whoever renames files to satisfy it.
    """
    problems = id_problems(entry.path.stem)
    if problems:
        raise ImageError(
            entry.path,
            f"image ID {entry.path.stem!r} {' and '.join(problems)}, which a run file cannot "
            "carry; rename the file",
        )


def _describe(entry: _Entry, image_size: int | None) -> dict:
    _check_id(entry)
    pixels, digest = inspect_image(entry.path)
    height, width = pixels.shape
    if image_size is not None and (height, width) != (image_size, image_size):
        raise ImageError(
            entry.path,
            f"image is {width}x{height} pixels, expected {image_size}x{image_size} "
            "(the dataset's image_size)",
        )
    return {
        "key": _entry_key(entry),
        "image_id": entry.path.stem,
        "path": str(entry.path),
        "task": entry.source.task,
        "group": entry.source.group,
        "split": entry.source.split,
        "role": entry.source.role,
        "label": entry.label,
        "width": width,
        "height": height,
        "sha256": digest,
    }


def build_manifest(
    sources: list[Source],
    image_size: int | None,
    threads: int = 1,
    progress: bool = True,
) -> pd.DataFrame:
    """Read and check every image of ``sources``; return the manifest, one row per image.

    ``image_size`` is the expected side length in pixels (None accepts any size). Raises
    :class:`ManifestError` or :class:`ctprints.io.ImageError` naming the offending file or folder.
    """
    entries, skipped = _expand(sources)
    _check_unique_ids(entries)
    for folder, count in skipped.items():
        if count:
            log.info("%s: skipped %d non-image entries", folder, count)
    log.info(
        "%d images in %d folders; %d non-image entries skipped",
        len(entries),
        len(skipped),
        sum(skipped.values()),
    )

    def describe(entry: _Entry) -> dict | ImageError:
        try:
            return _describe(entry, image_size)
        except ImageError as error:
            return error

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        results = list(
            tqdm(
                pool.map(describe, entries),
                total=len(entries),
                desc="manifest",
                unit="img",
                disable=not progress,
            )
        )
    # Every bad file is reported at once, so one run shows the user all there is to fix.
    errors = [result for result in results if isinstance(result, ImageError)]
    if errors:
        shown = "\n".join(f"  {error}" for error in errors[:MAX_ERRORS_SHOWN])
        more = len(errors) - MAX_ERRORS_SHOWN
        raise ManifestError(
            f"{len(errors)} unusable image file(s):\n{shown}"
            + (f"\n  ... and {more} more" if more > 0 else "")
        )
    rows = results
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("width", "height"):
        frame[column] = frame[column].astype("int32")
    return frame


def write_manifest(frame: pd.DataFrame, path: str) -> None:
    """Write the manifest as parquet, atomically (no partial file on failure)."""
    with atomic_output(path) as temporary:
        frame.to_parquet(temporary, index=False)


def read_manifest(path: str) -> pd.DataFrame:
    """Read a manifest written by :func:`write_manifest`."""
    frame = pd.read_parquet(path)
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise ManifestError(f"{path}: not a ctprints manifest (missing columns {missing})")
    return frame
