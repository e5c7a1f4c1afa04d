"""Figures for people to look at. Every function writes one PNG and returns nothing."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def contact_sheet(rows: dict[str, np.ndarray], path: str | Path, per_row: int = 8) -> None:
    """A grid of images, one row per named set of (N, H, W) uint8 images, titled on the left."""
    names = list(rows)
    figure, axes = plt.subplots(
        len(names), per_row, figsize=(per_row * 1.1 + 1.6, len(names) * 1.15), squeeze=False
    )
    for row, name in enumerate(names):
        images = rows[name]
        for column in range(per_row):
            axis = axes[row, column]
            axis.set_xticks([])
            axis.set_yticks([])
            for spine in axis.spines.values():
                spine.set_visible(False)
            if column < len(images):
                axis.imshow(images[column], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        axes[row, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    figure.subplots_adjust(left=0.13, right=0.99, top=0.99, bottom=0.01, wspace=0.04, hspace=0.06)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
