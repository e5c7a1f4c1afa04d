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


def _scatter_panel(axis, frame, title: str, show_test: bool) -> None:
    """One t-SNE panel: training rows coloured by generator; test rows grey if ``show_test``."""
    if show_test:
        test = frame[frame.split == "test"]
        axis.scatter(test.tsne_1, test.tsne_2, s=4, c="0.7", label="test", linewidths=0)
    train = frame[frame.split == "train"]
    for label, rows in train.groupby("label"):
        axis.scatter(rows.tsne_1, rows.tsne_2, s=5, label=str(label), linewidths=0)
    axis.set_title(title, fontsize=9)
    axis.set_xticks([])
    axis.set_yticks([])


def tsne_figure(frame, path: str | Path, embedder: str) -> None:
    """The paper's Figures 1 and 2 for one embedder: training only, then training plus test.

    ``frame`` has columns split (train/test), label, tsne_1 and tsne_2.
    """
    figure, axes = plt.subplots(1, 2, figsize=(9, 4.2))
    _scatter_panel(axes[0], frame, f"{embedder}: training images by generator", False)
    _scatter_panel(axes[1], frame, f"{embedder}: training + test (grey)", True)
    axes[1].legend(fontsize=7, markerscale=2, loc="best", frameon=False)
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def tsne_panel(frames: dict, path: str | Path) -> None:
    """All embedders side by side, training plus test (grey), for comparing them at a glance."""
    names = list(frames)
    columns = min(4, len(names))
    rows = -(-len(names) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.3 * columns, 3.3 * rows), squeeze=False)
    for axis in axes.ravel()[len(names) :]:
        axis.set_visible(False)
    for axis, name in zip(axes.ravel(), names, strict=False):
        _scatter_panel(axis, frames[name], name, True)
    axes.ravel()[0].legend(fontsize=6, markerscale=2, loc="best", frameon=False)
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def confusion_figure(counts: np.ndarray, names: list[str], path: str | Path, title: str) -> None:
    """A confusion matrix (rows: truth, columns: prediction) with counts in the cells."""
    size = 1.2 + 0.55 * len(names)
    figure, axis = plt.subplots(figsize=(size + 1, size))
    image = axis.imshow(counts, cmap="Blues")
    axis.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    axis.set_yticks(range(len(names)), names, fontsize=8)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title, fontsize=9)
    threshold = counts.max() / 2 if counts.size else 0
    for (row, column), value in np.ndenumerate(counts):
        colour = "white" if value > threshold else "black"
        axis.text(column, row, str(value), ha="center", va="center", fontsize=7, color=colour)
    figure.colorbar(image, ax=axis, fraction=0.046)
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def roc_figure(curves: dict, path: str | Path, title: str) -> None:
    """ROC curves: ``curves[name] = (labels, scores)`` with 1 = used; AUC in the legend."""
    from sklearn.metrics import roc_auc_score, roc_curve

    figure, axis = plt.subplots(figsize=(4.8, 4.4))
    for name, (labels, scores) in curves.items():
        fpr, tpr, _ = roc_curve(labels, scores)
        axis.plot(fpr, tpr, lw=1.4, label=f"{name} (AUC {roc_auc_score(labels, scores):.2f})")
    axis.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="chance")
    axis.set_xlabel("false positive rate (not used called used)")
    axis.set_ylabel("true positive rate (used found)")
    axis.set_title(title, fontsize=9)
    axis.legend(fontsize=7, loc="lower right")
    axis.set_aspect("equal")
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
