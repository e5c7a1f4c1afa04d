"""Settings chosen on the training folders only: each known generator in turn plays the unseen
one, and the methods are scored on the training labels a user has."""

from __future__ import annotations

import numpy as np
import pytest

from ctprints.errors import AttributionError
from ctprints.tuning import UNSEEN, held_out_split, leave_one_out, tuning_table


def _blobs(seed: int = 0, per: int = 40, spread: float = 0.3):
    """Four generators, each a tight blob in 8 dimensions, all equally far apart (openset's
    rejection threshold lies between the known blobs' spacing and their spread, so a held-out
    blob nearer to a known one than the known ones are to each other would stay unseen)."""
    rng = np.random.default_rng(seed)
    centres = 6.0 * np.eye(4, 8)
    X = np.vstack([centre + spread * rng.normal(size=(per, 8)) for centre in centres])
    labels = [f"model_{i + 1}" for i in range(4) for _ in range(per)]
    return X, labels


def test_the_split_hides_the_held_out_generator_and_a_share_of_the_others() -> None:
    _, labels = _blobs()
    y, hidden = held_out_split(labels, "model_2", 0.25, seed=0)
    labels = np.asarray(labels)
    assert hidden[labels == "model_2"].all()
    for name in ("model_1", "model_3", "model_4"):
        assert hidden[labels == name].sum() == 10  # a quarter of 40
    assert all(label is None for label, hide in zip(y, hidden, strict=True) if hide)
    assert "model_2" not in set(y)


@pytest.mark.parametrize("method", ["openset", "novelty", "kmeans"])
def test_separable_generators_are_found_when_held_out(method) -> None:
    X, labels = _blobs()
    for n_generators in ("estimated", "oracle"):
        table = leave_one_out(X, labels, method, {}, n_generators, seed=1)
        assert list(table["held_out"]) == ["model_1", "model_2", "model_3", "model_4"]
        assert (table["hidden"] == 40 + 3 * 20).all()
        assert table["accuracy"].min() >= 0.9, (method, n_generators, table)
        assert table["unseen_recall"].min() >= 0.9


def test_a_weaker_embedding_ranks_lower() -> None:
    """The same generators seen through noise: the table ranks the clean embedding first."""
    X, labels = _blobs()
    noisy = X + np.random.default_rng(5).normal(scale=6.0, size=X.shape)
    table = tuning_table(
        {"clean": (X, labels), "noisy": (noisy, labels)}, {"openset": ("openset", {})}, seed=2
    )
    assert list(table["embedder"]) == ["clean", "noisy"]
    assert table["mean"].iloc[0] - table["mean"].iloc[1] > 0.2
    assert (table["held_out"] == 4).all() and UNSEEN == "held_out"


def test_bad_input_is_named() -> None:
    _, labels = _blobs()
    with pytest.raises(AttributionError, match=r"held-out generator 'model_9' is not among"):
        held_out_split(labels, "model_9", 0.5, 0)
    with pytest.raises(AttributionError, match=r"needs at least 3 known generators; got 2"):
        held_out_split(labels[:80], "model_1", 0.5, 0)
    with pytest.raises(AttributionError, match=r"fraction must be in \(0, 1\); got 1.5"):
        held_out_split(labels, "model_1", 1.5, 0)
    X, labels = _blobs()
    with pytest.raises(AttributionError, match=r"n_generators must be estimated or oracle"):
        leave_one_out(X, labels, "openset", {}, "known")


def test_a_method_that_cannot_run_is_noted_not_fatal() -> None:
    """Three known generators leave two once one is held out: openset needs three, k-means
    does not."""
    X, labels = _blobs()
    keep = np.asarray(labels) != "model_4"
    three = (X[keep], [label for label in labels if label != "model_4"])
    table = tuning_table(
        {"clean": three}, {"openset": ("openset", {}), "kmeans": ("kmeans", {})}, seed=3
    )
    assert list(table["candidate"]) == ["kmeans", "openset"]
    assert table["mean"].iloc[0] >= 0.9 and table["note"].iloc[0] == ""
    assert np.isnan(table["mean"].iloc[1])
    assert "needs at least 3 training generators" in table["note"].iloc[1]


def test_tsne_kmeans_clusters_the_t_sne_coordinates() -> None:
    X, labels = _blobs(per=30)
    table = leave_one_out(X, labels, "tsne_kmeans", {"tsne": {"perplexity": 10}}, "oracle")
    assert table["accuracy"].min() >= 0.9, table
