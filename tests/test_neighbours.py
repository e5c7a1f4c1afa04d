"""The shared nearest-neighbour helpers agree with scipy's exact distances."""

import numpy as np
from scipy.spatial.distance import cdist

from ctprints.neighbours import nearest, pairwise_distances


def test_pairwise_distances_match_scipy_in_any_chunk_size() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 5)), rng.normal(size=(4, 5))
    for chunk in (1, 3, 1024):
        np.testing.assert_allclose(pairwise_distances(a, b, chunk), cdist(a, b), atol=1e-5)
    assert pairwise_distances(a, a).diagonal().max() < 1e-3


def test_nearest_gives_the_k_closest_rows_in_order() -> None:
    rng = np.random.default_rng(1)
    reference, queries = rng.normal(size=(9, 3)), rng.normal(size=(5, 3))
    distances, indices = nearest(reference, queries, k=3)
    full = cdist(queries, reference)
    np.testing.assert_array_equal(indices, np.argsort(full, axis=1)[:, :3])
    np.testing.assert_allclose(distances, np.sort(full, axis=1)[:, :3])
    assert nearest(reference, queries, k=50)[0].shape == (5, 9)  # k capped at the rows


def test_nearest_excluding_self_skips_each_rows_own_entry() -> None:
    rng = np.random.default_rng(2)
    rows = rng.normal(size=(6, 4))
    distances, indices = nearest(rows, rows, k=2, exclude_self=True)
    assert not (indices == np.arange(6)[:, None]).any()
    full = cdist(rows, rows) + np.diag(np.full(6, np.inf))
    np.testing.assert_allclose(distances, np.sort(full, axis=1)[:, :2])
    assert nearest(rows, rows, k=10, exclude_self=True)[0].shape == (6, 5)
