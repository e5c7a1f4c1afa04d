"""A small built-in image layout in the ImageCLEF folder style, for smoke runs and tests.

These images are simple procedural blobs with a different texture per source folder. They are not
CT slices and carry no generator fingerprints; they only exercise the folder layout, the manifest
and the run-file plumbing. The realistic benchmark is the demo (``ctprints.phantom`` and
``ctprints.generators``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ctprints.io import write_png

TASK1_FOLDERS = ("generated", "used", "not_used", "generated_1", "real_unknown_1")
TASK2_TRAIN = ("model_1", "model_2", "model_3")


def blob_image(rng: np.random.Generator, size: int, smoothness: int) -> np.ndarray:
    """An (size, size) uint8 image: a bright ellipse on a noise texture of the given smoothness."""
    noise = rng.normal(size=(size, size))
    kernel = np.ones(smoothness) / smoothness
    for axis in (0, 1):
        noise = np.apply_along_axis(np.convolve, axis, noise, kernel, mode="same")
    yy, xx = np.mgrid[:size, :size] / size
    cy, cx, ry, rx = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), *rng.uniform(0.15, 0.35, 2)
    body = (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2) < 1
    pixels = 60 + 120 * body + 25 * noise / (noise.std() + 1e-9)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def _fill(
    folder: Path, prefix: str, count: int, rng, size: int, smoothness: int, digits: int = 4
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(1, count + 1):
        write_png(folder / f"{prefix}_{index:0{digits}d}.png", blob_image(rng, size, smoothness))


def write_example_layout(root: str | Path, size: int = 32, count: int = 6, seed: int = 0) -> Path:
    """Write the layout under ``root`` and return it.

    ``task1/group{1,2}/`` hold 2023-style folders (generated, used, not_used, generated_1,
    real_unknown_1); ``task2/train/model_{1,2,3}/`` and ``task2/test/generated_unknown/`` the
    attribution folders. ``count`` images per folder, ``size`` pixels square, seeded.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    for group in ("group1", "group2"):
        for folder in TASK1_FOLDERS:
            # 2023 style: dev generated_0001..., test generated_00001..., real_unknown_0001...
            digits = 5 if folder == "generated_1" else 4
            prefix = folder.removesuffix("_1")
            _fill(root / "task1" / group / folder, prefix, count, rng, size, 3, digits)
    for smoothness, label in enumerate(TASK2_TRAIN, start=1):
        _fill(root / "task2" / "train" / label, label, count, rng, size, smoothness)
    _fill(root / "task2" / "test" / "generated_unknown", "generated", 2 * count, rng, size, 4, 5)
    (root / "README.txt").write_text(
        "Built-in example layout written by ctprints (procedural blobs, not CT slices).\n"
    )
    (root / "task2" / "test" / "generated_unknown" / "README.txt").write_text(
        "A non-image file that the manifest skips and counts.\n"
    )
    return root
