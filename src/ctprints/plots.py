"""Figures for people to look at. Every function writes one PNG and returns nothing."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ctprints.io import atomic_output  # noqa: E402


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


# ----------------------------------------------------------------------------- the study


def _seeds_text(board: pd.DataFrame) -> str:
    low, high = int(board["n_seeds"].min()), int(board["n_seeds"].max())
    count = str(low) if low == high else f"{low}-{high}"
    return f"{count} seed" if count == "1" else f"{count} seeds"


def _empty_figure(path: str | Path, message: str) -> None:
    figure, axis = plt.subplots(figsize=(5, 1.5))
    axis.axis("off")
    axis.text(0.5, 0.5, message, ha="center", va="center", fontsize=10)
    _save(figure, path)


def _save(figure, path: str | Path) -> None:
    with atomic_output(path) as temporary:
        figure.savefig(temporary, format="png", dpi=110)
    plt.close(figure)


def _paper_label(run: str, paper: bool) -> str:
    return f"★ {run} (paper)" if paper else run


def plot_leaderboard(board: pd.DataFrame, path: str | Path, metric: str = "accuracy") -> None:
    """Heatmap of a Task 2 board: runs (best mean over scenarios first) x scenarios, each cell
    ``mean`` over ``±sd``; the paper's runs' labels starred and bold."""
    if board.empty:
        _empty_figure(path, "No Task 2 scores in this study.")
        return
    means = board.pivot(index="run", columns="scenario", values="mean")
    sds = board.pivot(index="run", columns="scenario", values="sd")
    order = means.mean(axis=1).sort_values(ascending=False, kind="stable").index
    scenarios = sorted(means.columns)
    means, sds = means.loc[order, scenarios], sds.loc[order, scenarios]
    paper = set(board.loc[board["paper"], "run"])
    rows, columns = means.shape
    figure, axis = plt.subplots(figsize=(3.2 + 1.15 * columns, rows * 0.3 + 2))
    values = np.ma.masked_invalid(means.to_numpy(dtype=float))
    low = float(np.nanmin(means.to_numpy(dtype=float)))
    high = float(np.nanmax(means.to_numpy(dtype=float)))
    colours = plt.get_cmap("viridis").with_extremes(bad="0.9")
    image = axis.imshow(values, cmap=colours, vmin=low, vmax=max(high, low + 1e-6), aspect="auto")
    for (row, column), mean in np.ndenumerate(means.to_numpy(dtype=float)):
        if np.isnan(mean):
            continue
        sd = sds.iat[row, column]
        text = f"{mean:.3f}" if np.isnan(sd) else f"{mean:.3f}\n±{sd:.3f}"
        bright = (mean - low) / (high - low) > 0.6 if high > low else True
        axis.text(
            column,
            row,
            text,
            ha="center",
            va="center",
            fontsize=6,
            linespacing=0.9,
            color="black" if bright else "white",
        )
    axis.set_xticks(range(columns), scenarios, rotation=30, ha="right", fontsize=8)
    axis.set_yticks(range(rows), [_paper_label(run, run in paper) for run in order], fontsize=7)
    for label, run in zip(axis.get_yticklabels(), order, strict=True):
        if run in paper:
            label.set_fontweight("bold")
    axis.set_title(
        f"Task 2 {metric}, mean ± sd over {_seeds_text(board)}\n"
        "(★ the paper's approach; grey: not run in that scenario)",
        fontsize=9,
    )
    figure.colorbar(image, ax=axis, fraction=0.04, pad=0.02, label=f"mean {metric}")
    figure.tight_layout()
    _save(figure, path)


def plot_task1(board: pd.DataFrame, path: str | Path) -> None:
    """Task 1 test AUC (mean, sd error bars) per attack run: one panel per group, one colour
    per scenario; the paper's runs starred."""
    if board.empty:
        _empty_figure(path, "No Task 1 scores in this study.")
        return
    groups = sorted(board["group"].unique())
    scenarios = sorted(board["scenario"].unique())
    order = list(board.groupby("run")["mean"].mean().sort_values(ascending=False).index)
    paper = set(board.loc[board["paper"], "run"])
    positions = {run: index for index, run in enumerate(order)}
    width = 0.7 / max(1, len(scenarios))
    figure, axes = plt.subplots(
        1,
        len(groups),
        figsize=(2.2 + 3.4 * len(groups), len(order) * 0.3 + 2),
        sharey=True,
        squeeze=False,
    )
    for axis, group in zip(axes[0], groups, strict=True):
        for index, scenario in enumerate(scenarios):
            rows = board[(board["group"] == group) & (board["scenario"] == scenario)]
            if rows.empty:
                continue
            offset = (index - (len(scenarios) - 1) / 2) * width
            axis.errorbar(
                rows["mean"],
                [positions[run] + offset for run in rows["run"]],
                xerr=rows["sd"].fillna(0),
                fmt="o",
                ms=3.5,
                capsize=2,
                lw=1,
                color=f"C{index}",
                label=scenario,
            )
        axis.axvline(0.5, color="grey", lw=0.8, ls="--")
        axis.set_xlim(-0.02, 1.02)
        axis.set_title(group, fontsize=9)
        axis.set_xlabel("test AUC (mean ± sd)", fontsize=8)
        axis.grid(axis="x", lw=0.4, alpha=0.5)
    axis = axes[0, 0]
    axis.set_yticks(range(len(order)), [_paper_label(run, run in paper) for run in order])
    axis.tick_params(axis="y", labelsize=7)
    for label, run in zip(axis.get_yticklabels(), order, strict=True):
        if run in paper:
            label.set_fontweight("bold")
    axis.set_ylim(len(order) - 0.5, -0.5)
    axes[0, -1].legend(fontsize=7, loc="lower right", title="scenario", title_fontsize=7)
    figure.suptitle(
        f"Task 1 membership, test AUC over {_seeds_text(board)} (dashed: chance)", fontsize=9
    )
    figure.tight_layout()
    _save(figure, path)
