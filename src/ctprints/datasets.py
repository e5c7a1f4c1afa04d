"""From a dataset's config (roles mapped to folders, docs/data.md) to the image folders to read.

A dataset config names folders per role. Task 1 has one mapping per group; task 2 has one mapping.
A ``preset`` fills in the folder names of a known ImageCLEF edition, relative to ``root``; any role
written out in config overrides the preset. Errors name the config key that is wrong.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ctprints.errors import DatasetConfigError

TASK1_ROLES = {
    # config key: (split, role, label)
    "generated": ("dev", "generated", None),
    "used": ("dev", "used", "used"),
    "not_used": ("dev", "not_used", "not_used"),
    "test_generated": ("test", "generated", None),
    "test_real": ("test", "real_unknown", None),
}
# A group without test_real has only dev folders: the membership audit takes it, Task 1 does not.
TASK1_REQUIRED = ("generated", "used", "not_used")
TASK2_FOLDER_KEYS = ("train_subfolders", "real_subfolders", "test")


@dataclass(frozen=True)
class Source:
    """One folder of images and what its images are.

    ``subfolders`` means the folder holds one subfolder per label (2025 task 2 layout); the images
    are then read from those subfolders and each subfolder's name is the label.
    """

    key: str  # config key the folder came from, e.g. "datasets.demo.task1.group1.used"
    folder: str
    task: str
    group: str | None
    split: str
    role: str
    label: str | None
    subfolders: bool = False


def label_subfolders(folder: str | os.PathLike) -> list[Path]:
    """The visible subfolders of a 2025-style ``<role>/<label>/`` folder, sorted; one per label."""
    return sorted(p for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith("."))


def available_presets() -> list[str]:
    """Names of the shipped presets (``generic``, ``imageclef2023``, ``imageclef2025``)."""
    folder = resources.files("ctprints") / "presets"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def load_preset(name: str) -> dict[str, Any]:
    """The folder names a preset assigns, as ``{"task1": {...}, "task2": {...}}``."""
    if name not in available_presets():
        raise DatasetConfigError(
            f"unknown preset {name!r}; known: {', '.join(available_presets())}"
        )
    text = (resources.files("ctprints") / "presets" / f"{name}.yaml").read_text()
    return yaml.safe_load(text) or {}


def resolve_path(root: str, folder: str) -> str:
    """``folder`` under ``root`` (itself relative to the working directory), unless absolute."""
    folder = os.path.expanduser(folder)
    if os.path.isabs(folder) or not root:
        return os.path.normpath(folder)
    return os.path.normpath(os.path.join(os.path.expanduser(root), folder))


def _merge(preset: dict[str, Any], explicit: dict[str, Any]) -> dict[str, Any]:
    """Explicit values override the preset; null keeps the preset's; false switches a role off."""
    merged = {**preset, **{k: v for k, v in explicit.items() if v is not None}}
    return {k: v for k, v in merged.items() if v is not False}


def has_test(dataset: str, group: str, spec: dict[str, Any]) -> bool:
    """The group has a test folder of real images (preset applied): Task 1 scores it. Without
    one it has dev folders only, which the membership audit needs and Task 1 does not use."""
    return any(s.role == "real_unknown" for s in task1_sources(dataset, group, spec))


def task1_sources(dataset: str, group: str, spec: dict[str, Any]) -> list[Source]:
    """Sources of one task-1 group: preset folder names merged under the explicit ones."""
    prefix = f"datasets.{dataset}.task1.{group}"
    preset = load_preset(spec.get("preset", "generic")).get("task1", {})
    merged = _merge(preset, {k: v for k, v in spec.items() if k in TASK1_ROLES})
    missing = [role for role in TASK1_REQUIRED if not merged.get(role)]
    if missing:
        raise DatasetConfigError(
            f"{prefix}: missing folder for role(s) {', '.join(missing)} "
            f"(preset {spec.get('preset', 'generic')!r} does not supply them)"
        )
    root = spec.get("root", "")
    sources = []
    for config_key, (split, role, label) in TASK1_ROLES.items():
        if merged.get(config_key):
            sources.append(
                Source(
                    key=f"{prefix}.{config_key}",
                    folder=resolve_path(root, merged[config_key]),
                    task="task1",
                    group=group,
                    split=split,
                    role=role,
                    label=label,
                )
            )
    return sources


def task2_sources(dataset: str, spec: dict[str, Any]) -> list[Source]:
    """Sources of task 2: labelled training folders (explicit or per subfolder) and the test."""
    prefix = f"datasets.{dataset}.task2"
    preset = load_preset(spec.get("preset", "generic")).get("task2", {})
    merged = _merge(preset, spec)
    root = spec.get("root", "")
    train = merged.get("train") or {}
    if not train and not merged.get("train_subfolders"):
        raise DatasetConfigError(
            f"{prefix}: no training folders; give `train` (label: folder) or `train_subfolders`"
        )
    if not merged.get("test"):
        raise DatasetConfigError(f"{prefix}.test: missing the test folder")

    def train_source(key: str, folder: str, role: str, label: str | None, subfolders: bool):
        return Source(
            key=f"{prefix}.{key}",
            folder=resolve_path(root, folder),
            task="task2",
            group=None,
            split="train",
            role=role,
            label=label,
            subfolders=subfolders,
        )

    sources = [
        train_source(f"train.{label}", folder, "generated", str(label), False)
        for label, folder in train.items()
    ]
    if merged.get("train_subfolders"):
        sources.append(
            train_source("train_subfolders", merged["train_subfolders"], "generated", None, True)
        )
    if merged.get("real_subfolders"):
        sources.append(
            train_source("real_subfolders", merged["real_subfolders"], "real", None, True)
        )
    sources.append(
        Source(
            key=f"{prefix}.test",
            folder=resolve_path(root, merged["test"]),
            task="task2",
            group=None,
            split="test",
            role="generated",
            label=None,
        )
    )
    return sources


def dataset_sources(dataset: str, spec: dict[str, Any]) -> list[Source]:
    """All image sources of a dataset config, task 1 groups first, in config order."""
    sources = []
    for group, group_spec in (spec.get("task1") or {}).items():
        sources.extend(task1_sources(dataset, str(group), group_spec or {}))
    if spec.get("task2"):
        sources.extend(task2_sources(dataset, spec["task2"]))
    if not sources:
        raise DatasetConfigError(f"datasets.{dataset}: neither task1 nor task2 is configured")
    _check_distinct_folders(sources)
    return sources


def _check_distinct_folders(sources: list[Source]) -> None:
    """One folder may not serve two roles or labels of the same task and group."""
    seen: dict[tuple, str] = {}
    for source in sources:
        scope = (source.task, source.group, os.path.realpath(source.folder))
        if scope in seen:
            raise DatasetConfigError(
                f"{source.key}: folder {source.folder} is already used by {seen[scope]}"
            )
        seen[scope] = source.key


def ground_truth_files(dataset: str, spec: dict[str, Any]) -> dict[str, str]:
    """Config key to path of every configured ground-truth file."""
    truth = spec.get("ground_truth") or {}
    files = {}
    groups = spec.get("task1") or {}
    for group, path in (truth.get("task1") or {}).items():
        if group not in groups:
            raise DatasetConfigError(
                f"datasets.{dataset}.ground_truth.task1.{group}: no task1 group {group!r} "
                f"(groups: {', '.join(groups) or 'none'})"
            )
        if not has_test(dataset, group, groups[group] or {}):
            raise DatasetConfigError(
                f"datasets.{dataset}.ground_truth.task1.{group}: group {group} has no test "
                "folder (test_real), so there is nothing to score; it is for the membership "
                "audit only"
            )
        files[f"datasets.{dataset}.ground_truth.task1.{group}"] = os.path.normpath(path)
    named = set(truth.get("task1") or {})
    tested = {g for g, g_spec in groups.items() if has_test(dataset, g, g_spec or {})}
    if named and named != tested:
        missing = ", ".join(sorted(tested - named))
        raise DatasetConfigError(
            f"datasets.{dataset}.ground_truth.task1: no truth for group(s) {missing}; the Task 1 "
            "evaluation scores the groups together, so give every group's truth or none"
        )
    if truth.get("task2"):
        files[f"datasets.{dataset}.ground_truth.task2"] = os.path.normpath(truth["task2"])
    return files


def check_paths_exist(dataset: str, spec: dict[str, Any]) -> list[Source]:
    """Resolve a dataset and check that every folder and ground-truth file exists.

    Raises :class:`DatasetConfigError` naming the config key and the path. Returns the sources.
    """
    sources = dataset_sources(dataset, spec)
    for source in sources:
        path = Path(source.folder)
        if not path.exists():
            raise DatasetConfigError(f"{source.key}: folder {source.folder} does not exist")
        if not path.is_dir():
            raise DatasetConfigError(f"{source.key}: {source.folder} is not a folder")
    for key, path in ground_truth_files(dataset, spec).items():
        if not Path(path).exists():
            raise DatasetConfigError(f"{key}: ground-truth file {path} does not exist")
        if not Path(path).is_file():
            raise DatasetConfigError(f"{key}: ground-truth path {path} is not a file")
    return sources


def folder_fingerprint(sources: list[Source]) -> str:
    """A digest of every entry's name, size and modification time in the sources' folders.

    A folder's own timestamp changes when files are added or removed, but not when a file is
    overwritten or a file is added one level down (2025 label subfolders); this digest does.
    """
    digest = hashlib.sha256()
    for source in sorted(sources, key=lambda s: s.folder):
        base = Path(source.folder)
        if not base.is_dir():
            continue
        folders = [base]
        if source.subfolders:
            folders += sorted(p for p in base.iterdir() if p.is_dir())
        for folder in folders:
            for entry in sorted(folder.iterdir()):
                try:
                    stat = entry.stat()
                except OSError as error:
                    # A broken link or a symlink loop (or an unreadable entry): the manifest
                    # reports it if it is an image and skips it otherwise; the digest only needs
                    # to change when it does.
                    digest.update(os.fsencode(entry) + f"|unreadable {error.errno}\n".encode())
                    continue
                # fsencode: a name that is not UTF-8 is the manifest's to report, not a crash here
                digest.update(os.fsencode(entry) + f"|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()
