"""Choosing a Task 2 method's settings on data a user has: the training folders only.

A user never sees the truth of the test folder, so the unseen generator cannot be used to tune.
Instead, each known generator in turn plays the unseen one (leave one generator out): its
training images join the test rows unlabelled, as do a share of every other generator's
(``fraction``), and the method, fitted as rule ``cluster`` fits it, must give the others'
images their names and the held-out generator's images one new name. The truth of these rows is
the training folders' own labels, which the user has.

- :func:`held_out_split`: which rows of a training set are hidden, and their expected names.
- :func:`leave_one_out`: one method's scores with each known generator held out in turn.
- :func:`tuning_table`: methods x embedders x settings, averaged over the held-out generators.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ctprints.attribution import make_method, tsne_coordinates
from ctprints.errors import AttributionError

UNSEEN = "held_out"


def held_out_split(
    labels: Sequence[str], held_out: str, fraction: float, seed: int
) -> tuple[list[str | None], np.ndarray]:
    """(y, hidden): the labels a method is fitted on (None for hidden rows) and the mask of the
    hidden rows: every row of ``held_out`` and, per other generator, ``fraction`` of its rows
    drawn at random (at least one, at most all but one). Raises :class:`AttributionError` where
    ``held_out`` is not a label or fewer than three generators are known."""
    labels = np.asarray(labels, dtype=object)
    names = sorted(set(labels))
    if held_out not in names:
        raise AttributionError(f"held-out generator {held_out!r} is not among {names}")
    if len(names) < 3:
        raise AttributionError(
            f"leave one generator out needs at least 3 known generators; got {len(names)}"
        )
    if not 0 < fraction < 1:
        raise AttributionError(f"fraction must be in (0, 1); got {fraction}")
    rng = np.random.default_rng(seed)
    hidden = labels == held_out
    for name in names:
        if name == held_out:
            continue
        rows = np.flatnonzero(labels == name)
        count = min(max(1, round(fraction * len(rows))), len(rows) - 1)
        hidden[rng.choice(rows, count, replace=False)] = True
    y = [None if hide else str(label) for label, hide in zip(labels, hidden, strict=True)]
    return y, hidden


def _scores(labels: np.ndarray, predicted: np.ndarray, held_out: str, known: set[str]) -> dict:
    """Accuracy over the hidden rows: a known generator's row is right under its own name, the
    held-out generator's under the one new name most of its rows got."""
    unseen = labels == held_out
    new = [label for label in predicted[unseen] if label not in known]
    name = Counter(new).most_common(1)[0][0] if new else None
    right_known = predicted[~unseen] == labels[~unseen]
    right_unseen = predicted[unseen] == name if name is not None else np.zeros(unseen.sum(), bool)
    return {
        "accuracy": float(np.r_[right_known, right_unseen].mean()),
        "known_accuracy": float(right_known.mean()),
        "unseen_recall": float(right_unseen.mean()),
    }


def leave_one_out(
    X: np.ndarray,
    labels: Sequence[str],
    method: str,
    settings: dict,
    n_generators: str = "estimated",
    fraction: float = 0.5,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per known generator held out: held_out, hidden (rows), accuracy, known_accuracy
    and unseen_recall of ``method`` (a config name) with ``settings``, fitted on the training
    rows ``X`` with the labels of :func:`held_out_split`. ``n_generators``: "estimated" (the
    method estimates it, as with ``n_generators: null``) or "oracle" (the known count, the
    held-out generator included). ``tsne_kmeans`` clusters the rows' t-SNE coordinates, as rule
    ``tsne`` makes them (its ``settings`` may hold ``tsne``: perplexity, n_iter, pca)."""
    if n_generators not in ("estimated", "oracle"):
        raise AttributionError(f"n_generators must be estimated or oracle, not {n_generators!r}")
    settings = dict(settings)
    if method == "tsne_kmeans":
        X = tsne_coordinates(np.asarray(X), seed=seed, **settings.pop("tsne", {}))
    labels = np.asarray(labels, dtype=object)
    names = sorted(set(labels))
    rows = []
    for index, held_out in enumerate(names):
        y, hidden = held_out_split(labels, held_out, fraction, seed + index)
        count = len(names) if n_generators == "oracle" else None
        model = make_method(method, count, settings, UNSEEN, seed)
        model.fit(np.asarray(X), y)
        predicted = np.asarray(model.labels_, dtype=object)
        known = set(names) - {held_out}
        scores = _scores(labels[hidden], predicted[hidden], held_out, known)
        rows.append({"held_out": held_out, "hidden": int(hidden.sum()), **scores})
    return pd.DataFrame(rows)


def tuning_table(
    embeddings: dict[str, tuple[np.ndarray, Sequence[str]]],
    candidates: dict[str, tuple[str, dict]],
    n_generators: str = "estimated",
    fraction: float = 0.5,
    seed: int = 0,
) -> pd.DataFrame:
    """Every candidate (name -> (method, settings)) on every embedder's training rows (name ->
    (X, labels)): candidate, method, settings, embedder, mean, worst (over the held-out
    generators) of accuracy, the mean known_accuracy and unseen_recall, and note (why a
    candidate could not run, for example a method that needs three known generators where only
    two remain once one is held out; its scores are then NaN); best mean first."""
    rows = []
    for embedder, (X, labels) in embeddings.items():
        for name, (method, settings) in candidates.items():
            try:
                found = leave_one_out(X, labels, method, settings, n_generators, fraction, seed)
            except AttributionError as error:
                rows.append(
                    {
                        "candidate": name,
                        "method": method,
                        "settings": repr(settings),
                        "embedder": embedder,
                        "note": str(error),
                    }
                )
                continue
            rows.append(
                {
                    "candidate": name,
                    "method": method,
                    "settings": repr(settings),
                    "embedder": embedder,
                    "mean": found["accuracy"].mean(),
                    "worst": found["accuracy"].min(),
                    "known_accuracy": found["known_accuracy"].mean(),
                    "unseen_recall": found["unseen_recall"].mean(),
                    "held_out": len(found),
                    "note": "",
                }
            )
    columns = ["candidate", "method", "settings", "embedder", "mean", "worst"]
    columns += ["known_accuracy", "unseen_recall", "held_out", "note"]
    table = pd.DataFrame(rows).reindex(columns=columns)
    return table.sort_values(["mean", "worst"], ascending=False, kind="stable").reset_index(
        drop=True
    )
