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
from ctprints.io import ImageError, atomic_output, inspect_image, scan_folder

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


class ManifestError(ValueError):
    """A dataset that cannot be turned into a manifest; the message names the file or folder."""


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


def _check_unique_ids(entries: list[_Entry]) -> None:
    """Image IDs must be unique within a task and group: that is the scope a run file addresses.

    The same file name in two task-1 groups (each group has its own generator and its own
    folders, as in the 2024 edition) is allowed; the same name twice in one group is an error.
    Across the dataset, rows are told apart by ``key`` (see :func:`image_key`).
    """
    seen: dict[tuple[str, str | None, str], Path] = {}
    for entry in entries:
        key = (entry.source.task, entry.source.group, entry.path.stem)
        if key in seen:
            scope = entry.source.task + (f"/{entry.source.group}" if entry.source.group else "")
            raise ManifestError(
                f"duplicate image ID {entry.path.stem!r} in {scope}: {seen[key]} and {entry.path}"
            )
        seen[key] = entry.path


def image_key(task: str, group: str | None, image_id: str) -> str:
    """The dataset-wide unique key of an image: ``task1/<group>/<id>`` or ``task2/<id>``."""
    return f"{task}/{group}/{image_id}" if group else f"{task}/{image_id}"


def _describe(entry: _Entry, image_size: int | None) -> dict:
    pixels, digest = inspect_image(entry.path)
    height, width = pixels.shape
    if image_size is not None and (height, width) != (image_size, image_size):
        raise ImageError(
            entry.path,
            f"image is {width}x{height} pixels, expected {image_size}x{image_size} "
            "(the dataset's image_size)",
        )
    return {
        "key": image_key(entry.source.task, entry.source.group, entry.path.stem),
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
