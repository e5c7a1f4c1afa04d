"""The demo's images written as an ImageCLEF layout (:func:`write_layout`): the folders, the
ground truth and the dev patients files, and each Task 1 group's truth
(:func:`split_task1_truth`)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ctprints.demo.scenarios import DEV_PATIENTS, Plan, sub_seed
from ctprints.io import write_png


def _names(prefix: str, count: int, digits: int) -> list[str]:
    """``prefix_0001``...; wider than ``digits`` only when the count needs it, never mixed."""
    width = max(digits, len(str(count)))
    return [f"{prefix}_{index:0{width}d}" for index in range(1, count + 1)]


def _write_folder(folder: Path, names: list[str], images: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, pixels in zip(names, images, strict=True):
        write_png(folder / f"{name}.png", pixels)


def _write_csv(path: Path, rows: list[tuple], header: list[str] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")  # the run-file format: LF only
        if header:
            writer.writerow(header)
        writer.writerows(rows)


def write_layout(
    plan: Plan,
    real: dict[str, np.ndarray],
    samples: dict[str, dict[str, np.ndarray]],
    root: str | Path,
    truth_dir: str | Path,
    task1_truth: str | Path,
) -> None:
    """Write the ImageCLEF-style folders under ``root`` and the ground truth under ``truth_dir``.

    ``samples[instance][purpose]`` holds each generator's (n, H, W) uint8 samples. Task 1 groups
    use the 2023 folder names (generated, used, not_used, generated_1, real_unknown_1); task 2
    the scenario's edition (:func:`_write_task2`). Test folders are shuffled, so file order
    reveals nothing. Task 2 truth and the patient table go to ``truth_dir``; every Task 1
    group's truth goes into the one table ``task1_truth`` (group, image_id, label), which
    :func:`split_task1_truth` splits into each group's file.
    """
    root, truth_dir = Path(root), Path(truth_dir)
    rng = np.random.default_rng(sub_seed(plan.seed, "layout"))
    patient_rows, truth_rows = [], []
    for group in plan.task1_groups:
        rows, truth = _write_task1_group(plan, real, samples, group, root, rng)
        patient_rows += rows
        truth_rows += [(group, *row) for row in truth]
    _write_csv(Path(task1_truth), truth_rows, header=["group", "image_id", "label"])
    patient_rows += _write_task2(plan, real, samples, root, truth_dir, rng)
    _write_csv(
        truth_dir / "patients.csv",
        patient_rows,
        header=["key", "task", "group", "role", "split", "patient_id", "slice"],
    )


def _task1_real(
    plan: Plan, real: dict[str, np.ndarray], group: str, role: str, split: str
) -> tuple[np.ndarray, list[str], list[int]]:
    """A task 1 group's real slices of one role and split: images, patient ids, slice indices."""
    ids = [
        p
        for p, (task, g, r, s) in plan.assignment.items()
        if task == "task1" and g == group and r == role and s == split
    ]
    mask = np.isin(real["patient"], ids)
    return real["images"][mask], list(real["patient"][mask]), list(real["slice"][mask])


def _write_task1_group(
    plan: Plan,
    real: dict[str, np.ndarray],
    samples: dict[str, dict[str, np.ndarray]],
    group: str,
    root: Path,
    rng: np.random.Generator,
) -> tuple[list[tuple], list[tuple]]:
    """Write one task 1 group's folders and dev patients; return its patient rows and its test
    truth rows (image_id, label)."""
    base = root / "task1" / group
    patient_rows = _write_task1_dev(plan, real, group, base)
    rows, truth = _write_task1_test(plan, real, group, base, rng)
    patient_rows += rows
    generated = samples[f"task1_{group}"]
    _write_folder(
        base / "generated", _names("generated", len(generated["dev"]), 4), generated["dev"]
    )
    _write_folder(
        base / "generated_1", _names("generated", len(generated["test"]), 5), generated["test"]
    )
    return patient_rows, truth


def _write_task1_dev(
    plan: Plan, real: dict[str, np.ndarray], group: str, base: Path
) -> list[tuple]:
    """Write the group's used and not_used folders and its dev patient table; return the rows."""
    patient_rows = []
    dev_patients = []
    for role in ("used", "not_used"):
        images, patients, slices = _task1_real(plan, real, group, role, "dev")
        names = _names(role, len(images), 4)
        _write_folder(base / role, names, images)
        patient_rows += [
            (f"task1/{group}/{n}", "task1", group, role, "dev", p, s)
            for n, p, s in zip(names, patients, slices, strict=True)
        ]
        dev_patients += list(zip(names, patients, strict=True))
    # Which patient each dev image shows (not whether it was used: the folders say that), so
    # that cross-validation keeps a patient's slices in one fold.
    _write_csv(base / DEV_PATIENTS, dev_patients, header=["image_id", "patient"])
    return patient_rows


def _write_task1_test(
    plan: Plan,
    real: dict[str, np.ndarray],
    group: str,
    base: Path,
    rng: np.random.Generator,
) -> tuple[list[tuple], list[tuple]]:
    """Write the group's shuffled real_unknown_1 folder; return the patient rows and the truth."""
    used = _task1_real(plan, real, group, "used", "test")
    not_used = _task1_real(plan, real, group, "not_used", "test")
    images = np.concatenate([used[0], not_used[0]])
    membership = [1] * len(used[0]) + [0] * len(not_used[0])
    patients = used[1] + not_used[1]
    slices = used[2] + not_used[2]
    order = rng.permutation(len(images))
    names = _names("real_unknown", len(images), 4)
    _write_folder(base / "real_unknown_1", names, images[order])
    truth = [(names[i], membership[j]) for i, j in enumerate(order)]
    rows = [
        (
            f"task1/{group}/{names[i]}",
            "task1",
            group,
            "used" if membership[j] else "not_used",
            "test",
            patients[j],
            slices[j],
        )
        for i, j in enumerate(order)
    ]
    return rows, truth


def _write_task2(
    plan: Plan,
    real: dict[str, np.ndarray],
    samples: dict[str, dict[str, np.ndarray]],
    root: Path,
    truth_dir: Path,
    rng: np.random.Generator,
) -> list[tuple]:
    """Write the known generators' training folders and the shuffled test folder with its truth.

    The 2023 layout has ``train/<model_k>/`` and ``test/generated_unknown/``; the 2025 layout has
    ``generated/<subset>/``, ``real/<subset>/`` (the subset's real images, which trained that
    generator) and ``generated_unknown/``. Returns the patient rows of the real images written.
    """
    base = root / "task2"
    modern = plan.layout == "2025"
    test_images, test_labels, patient_rows = [], [], []
    for label in plan.task2_labels:
        drawn = samples[f"task2_{label}"]
        if "train" in drawn:
            folder = base / ("generated" if modern else "train") / label
            _write_folder(folder, _names(label, len(drawn["train"]), 4), drawn["train"])
        if modern and label not in plan.task2_unseen:
            patient_rows += _write_task2_real(plan, real, label, base / "real" / label)
        test_images.append(drawn["test"])
        test_labels += [label] * len(drawn["test"])
    images = np.concatenate(test_images)
    order = rng.permutation(len(images))
    names = _names("generated", len(images), 5)
    test = base / ("generated_unknown" if modern else "test/generated_unknown")
    _write_folder(test, names, images[order])
    _write_csv(truth_dir / "task2.csv", [(names[i], test_labels[j]) for i, j in enumerate(order)])
    return patient_rows


def _write_task2_real(
    plan: Plan, real: dict[str, np.ndarray], label: str, folder: Path
) -> list[tuple]:
    """Write the real slices of one generator's patients; return their patient rows."""
    mask = np.isin(real["patient"], plan.instances[f"task2_{label}"].patients)
    names = _names("real", int(mask.sum()), 4)
    _write_folder(folder, names, real["images"][mask])
    return [
        (f"task2/real/{label}/{name}", "task2", label, "train", "train", patient, slice_)
        for name, patient, slice_ in zip(
            names, real["patient"][mask], real["slice"][mask], strict=True
        )
    ]


def split_task1_truth(table: str | Path, group: str, path: str | Path) -> int:
    """Write one group's rows of the demo data's Task 1 truth table as its truth file (the
    run-file format, ``image_id,label``); return how many. Written whole or not at all."""
    from ctprints.io import atomic_output

    with open(table, newline="") as handle:
        rows = [(r["image_id"], r["label"]) for r in csv.DictReader(handle) if r["group"] == group]
    if not rows:
        raise ValueError(f"{table}: no ground truth for Task 1 group {group!r}")
    with atomic_output(path) as temporary:
        _write_csv(Path(temporary), rows)
    return len(rows)
