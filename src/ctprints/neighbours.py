"""Nearest neighbours in a feature space, shared by the attribution methods, the membership
attacks, the audit and the demo's signal checks: one exact search and one chunked distance
matrix."""

from __future__ import annotations

import numpy as np


def nearest(
    reference: np.ndarray, queries: np.ndarray, k: int = 1, exclude_self: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Distances (Q, k) and indices (Q, k) of each query's ``k`` nearest reference rows, nearest
    first (exact Euclidean search; ``k`` is capped at the number of reference rows).

    ``exclude_self`` is for queries that are the reference rows themselves: each row's own entry
    (distance 0) is dropped, so a row's neighbours are the others.
    """
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(reference) - int(exclude_self))
    search = NearestNeighbors(n_neighbors=k + int(exclude_self)).fit(reference)
    distances, indices = search.kneighbors(queries)
    skip = int(exclude_self)
    return distances[:, skip:], indices[:, skip:]


def pairwise_distances(a: np.ndarray, b: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Euclidean distances (len(a), len(b)), computed in chunks of rows of ``a``."""
    out = np.empty((len(a), len(b)), dtype=np.float32)
    b_sq = (b.astype(np.float64) ** 2).sum(axis=1)
    for start in range(0, len(a), chunk):
        rows = a[start : start + chunk].astype(np.float64)
        squared = (rows**2).sum(axis=1)[:, None] + b_sq[None, :] - 2 * rows @ b.T
        out[start : start + chunk] = np.sqrt(np.maximum(squared, 0))
    return out
