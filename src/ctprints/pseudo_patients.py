"""Pseudo-patients: slices grouped into the scans they most likely came from, where patients are
not given (the 2023 test images, an audit without a patients file).

Adjacent slices of one scan are near-copies, far closer to each other than to any slice of
another patient. :func:`pseudo_patients` clusters the slices hierarchically (average linkage on
block-averaged pixels, the ``pixels`` embedding) and cuts the tree where the merge distance
jumps, choosing among the largest jumps by silhouette, so that the number of clusters is
estimated from the images, never given (tests/test_pseudo_patients.py;
``benchmarks/pseudo_patients.py`` measures it on a demo's folders). The clusters are the
resampling unit of :mod:`ctprints.inference` where patients are unknown, and every table that
uses them says so.
"""

from __future__ import annotations

import numpy as np


def pseudo_patients(features: np.ndarray, min_size: int = 2, candidates: int = 5) -> np.ndarray:
    """A pseudo-patient number (0..P-1) per row of ``features`` (N, D; block-averaged pixels,
    :func:`ctprints.embed.pixel_features`, unstandardised, so that every pixel weighs alike).

    Average linkage, cut where the merge distance jumps: of the ``candidates`` largest ratios
    between consecutive merge distances (among the cuts that leave clusters of ``min_size``
    slices on average or more, since a scan has several slices), the cut whose clusters have the
    highest silhouette. The largest jump alone can sit at the top of the tree, between two
    super-clusters of scans. Fewer than 3 rows are each their own pseudo-patient; rows all alike
    are one."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from sklearn.metrics import silhouette_score

    features = np.asarray(features, dtype=np.float64)
    n = len(features)
    if n < 3:
        return np.arange(n)
    tree = linkage(features, method="average")
    heights = np.maximum(tree[:, 2], 1e-12)
    # cutting between merges i and i + 1 leaves n - (i + 1) clusters
    clusters = n - (np.arange(n - 2) + 1)
    gaps = np.log(heights[1:]) - np.log(heights[:-1])
    allowed = np.flatnonzero((clusters <= n / min_size) & (clusters >= 2))
    best, best_score = np.zeros(n, dtype=int), -np.inf
    for cut in allowed[np.argsort(-gaps[allowed], kind="stable")[:candidates]]:
        if gaps[cut] <= 0:
            continue
        labels = fcluster(tree, np.sqrt(heights[cut] * heights[cut + 1]), criterion="distance")
        if not 1 < len(set(labels)) < n:
            continue
        score = silhouette_score(features, labels, sample_size=min(n, 2000), random_state=0)
        if score > best_score:
            best, best_score = labels, score
    return np.unique(best, return_inverse=True)[1]


def dev_pseudo_patients(parts: dict, read_pixels) -> dict[str, str]:
    """image_id -> pseudo-patient of a Task 1 group's dev real images (``parts`` of
    :func:`ctprints.membership.group_rows`), clustered within the used and the not-used images
    apart, so that no pseudo-patient is on both sides (membership is per patient)."""
    from ctprints.embed import pixel_features

    out: dict[str, str] = {}
    for role in ("used", "not_used"):
        rows = parts[role]
        labels = pseudo_patients(pixel_features(read_pixels(list(rows["path"]))))
        out |= {
            image_id: f"{role}_pseudo_{label}"
            for image_id, label in zip(rows["image_id"], labels, strict=True)
        }
    return out
