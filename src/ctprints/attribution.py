"""Task 2 attribution: which generator made each image, including generators with no training data.

Methods follow the scikit-learn estimator contract and are transductive: ``fit(X, y)`` takes the
rows of every image (training and test) with ``y`` holding the generator label of training rows
and ``None`` for test rows, and sets ``clusters_`` (an integer per row) and ``labels_`` (a
generator name per row).

:class:`KMeansAttribution` is here; the open-set methods (``openset``, ``subsets``,
``novelty``) are in :mod:`ctprints.openset`, and :func:`make_method` builds any of them from its
config name.

Cluster IDs are never used as names. :func:`map_clusters` names clusters by a Hungarian
assignment on the labelled training rows; a cluster that gets no training generator gets a new
label (``model_4``, ...). This is the step the 2024 paper's k-means run lost (score 0.003).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from ctprints.errors import AttributionError

# scikit-learn and scipy are imported where they are used: ctprints.checks imports this module's
# names while snakemake parses the Snakefile, and every parse (every job, under a cluster
# profile) would pay over a second for them.


def new_labels(known: Sequence[str], count: int, new_label: str | None = None) -> list[str]:
    """Names for ``count`` generators without training data.

    With ``new_label`` given: that name (one new generator) or ``<new_label>_1``, ... (several).
    Otherwise the known labels' numbering continues: ``model_1..3`` gives ``model_4``, ...; labels
    without a common ``<prefix>_<number>`` form give ``unknown_1``, ...
    """
    if count <= 0:
        return []
    if new_label:
        names = [new_label] if count == 1 else [f"{new_label}_{i}" for i in range(1, count + 1)]
        clash = sorted(set(names) & set(known))
        if clash:
            raise AttributionError(
                f"new_label {new_label!r} gives {', '.join(clash)}, which is already a training "
                "label; choose a name no training folder uses"
            )
        return names
    matches = [re.fullmatch(r"(.*?)(\d+)", label) for label in known]
    prefixes = {m.group(1) for m in matches if m}
    if matches and all(matches) and len(prefixes) == 1:
        prefix = prefixes.pop()
        width = len(matches[0].group(2))
        start = max(int(m.group(2)) for m in matches) + 1
        return [f"{prefix}{number:0{width}d}" for number in range(start, start + count)]
    taken = set(known)
    names, number = [], 1
    while len(names) < count:
        if f"unknown_{number}" not in taken:
            names.append(f"unknown_{number}")
        number += 1
    return names


def map_clusters(
    clusters: np.ndarray, labels: Sequence[str | None], new_label: str | None = None
) -> dict[int, str]:
    """Name every cluster: Hungarian assignment of clusters to training labels, new names after.

    ``clusters`` holds a cluster ID per row; ``labels`` the training label of a row or None for a
    test row. Each training label goes to at most one cluster, the one maximising the number of
    training rows named correctly. Clusters left without a label (fewer training generators than
    clusters, or clusters holding only test rows) get new labels, in order of cluster size.
    """
    from scipy.optimize import linear_sum_assignment

    clusters = np.asarray(clusters)
    labels = np.asarray(labels, dtype=object)
    train = np.array([label is not None for label in labels])
    known = sorted({str(label) for label in labels[train]})
    ids = sorted(set(clusters.tolist()))
    counts = np.zeros((len(ids), len(known)), dtype=np.int64)
    row_of = {cluster: i for i, cluster in enumerate(ids)}
    col_of = {label: j for j, label in enumerate(known)}
    for cluster, label in zip(clusters[train], labels[train], strict=True):
        counts[row_of[cluster], col_of[str(label)]] += 1
    rows, cols = linear_sum_assignment(counts, maximize=True)
    mapping = {ids[r]: known[c] for r, c in zip(rows, cols, strict=True) if counts[r, c] > 0}
    unnamed = [cluster for cluster in ids if cluster not in mapping]
    sizes = {cluster: int((clusters == cluster).sum()) for cluster in unnamed}
    unnamed.sort(key=lambda cluster: (-sizes[cluster], cluster))
    for cluster, name in zip(unnamed, new_labels(known, len(unnamed), new_label), strict=True):
        mapping[cluster] = name
    return mapping


def training_mask(y: Sequence[str | None]) -> np.ndarray:
    """True for the labelled (training) rows; an error when there are none."""
    mask = np.array([label is not None for label in y])
    if not mask.any():
        raise AttributionError("no labelled training rows")
    return mask


def make_reducer(pca: int | None, n_rows: int, n_features: int, random_state: int):
    """Standardisation, then PCA to ``pca`` components where there are more rows and features."""
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    steps = [StandardScaler()]
    if pca and pca < min(n_rows, n_features):
        steps.append(PCA(n_components=pca, random_state=random_state))
    return make_pipeline(*steps)


MAX_NEW = 3  # the most unseen generators a method names where their number is not given


def estimate_clusters(
    X: np.ndarray, low: int, high: int, n_refs: int = 10, random_state: int = 0
) -> tuple[int, dict[int, float]]:
    """The number of clusters in ``X`` between ``low`` and ``high``, by Tibshirani, Walther and
    Hastie's (2001) gap statistic: k-means' log within-cluster sum of squares against its mean
    over ``n_refs`` reference sets drawn uniformly in the box of ``X``'s principal axes; the
    smallest k with gap(k) >= gap(k + 1) - s(k + 1) (``high`` if none). Unlike the silhouette
    it can answer 1. Returns the number and the gap per k (for the log).

    This is how methods choose the number of generators when ``n_generators`` is null: it is
    estimated from the images, never given."""
    from sklearn.cluster import KMeans

    X = np.asarray(X, dtype=np.float64)
    low, high = max(1, low), min(high, len(X) - 1)
    if high <= low:
        return max(1, min(low, len(X))), {}
    rng = np.random.default_rng(random_state)
    centred = X - X.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    rotated = centred @ axes.T
    box = rotated.min(axis=0), rotated.max(axis=0)
    references = [rng.uniform(*box, size=rotated.shape) @ axes for _ in range(n_refs)]

    def log_w(rows: np.ndarray, k: int, n_init: int) -> float:
        if k == 1:
            inertia = ((rows - rows.mean(axis=0)) ** 2).sum()
        else:
            model = KMeans(k, n_init=n_init, random_state=random_state).fit(rows)
            inertia = model.inertia_
        return float(np.log(max(inertia, 1e-12)))

    gap, spread = {}, {}
    for k in range(low, high + 2):
        if k > len(X) - 1:
            break
        reference = np.array([log_w(r, k, 3) for r in references])
        gap[k] = float(reference.mean() - log_w(centred, k, 10))
        spread[k] = float(reference.std() * np.sqrt(1 + 1 / n_refs))
    for k in range(low, high + 1):
        if k + 1 in gap and gap[k] >= gap[k + 1] - spread[k + 1]:
            return k, gap
    return high, gap


class KMeansAttribution:
    """k-means on (standardised, optionally PCA-reduced) features of all rows, then named.

    With ``n_generators`` None (unknown) the number of clusters is estimated by
    :func:`estimate_clusters` between the known generators and ``max_new`` more
    (``n_generators_``).

    With ``standardise=False`` and no PCA it clusters the rows as given: the paper's winning run
    clusters the 2-D t-SNE coordinates this way (``tsne_kmeans``).
    """

    def __init__(
        self,
        n_generators: int | None,
        pca: int | None = 50,
        n_init: int = 10,
        standardise: bool = True,
        new_label: str | None = None,
        random_state: int = 0,
        max_new: int = MAX_NEW,
    ):
        self.n_generators = n_generators
        self.max_new = max_new
        self.pca = pca
        self.n_init = n_init
        self.standardise = standardise
        self.new_label = new_label
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: Sequence[str | None]) -> KMeansAttribution:
        from sklearn.cluster import KMeans

        X = np.asarray(X, dtype=np.float64)
        training_mask(y)
        if self.standardise:
            X = make_reducer(self.pca, *X.shape, self.random_state).fit_transform(X)
        count = self.n_generators
        if count is None:  # unknown: the known generators and up to max_new unseen ones
            known = len({str(label) for label in y if label is not None})
            count, _ = estimate_clusters(X, known, known + self.max_new, 10, self.random_state)
        self.n_generators_ = count
        if len(X) < count:
            raise AttributionError(f"{len(X)} rows cannot form {count} clusters")
        kmeans = KMeans(count, n_init=self.n_init, random_state=self.random_state)
        self.clusters_ = kmeans.fit_predict(X)
        self.mapping_ = map_clusters(self.clusters_, y, self.new_label)
        self.labels_ = np.array([self.mapping_[c] for c in self.clusters_], dtype=object)
        return self


METHODS = ("kmeans", "tsne_kmeans", "openset", "subsets", "novelty")
# Which input a method clusters: the embeddings, or their t-SNE coordinates.
METHOD_INPUT = {
    "kmeans": "embeddings",
    "tsne_kmeans": "tsne",
    "openset": "embeddings",
    "subsets": "embeddings",
    "novelty": "embeddings",
}
# Methods that read each generator's real training images (``real/<subset>/``, 2025): they run
# only on datasets that give them.
NEEDS_REAL = frozenset({"subsets"})


def make_method(
    name: str, n_generators: int | None, settings: dict, new_label: str | None, seed: int
):
    """An attribution method from its config name and its config settings; ``n_generators``
    None: unknown, estimated by the method (:func:`estimate_clusters`)."""
    if name not in METHODS:
        raise AttributionError(f"unknown method {name!r}; known: {', '.join(sorted(METHODS))}")
    if name == "tsne_kmeans":
        return KMeansAttribution(
            n_generators,
            pca=None,
            n_init=settings.get("n_init", 10),
            standardise=False,
            new_label=new_label,
            random_state=seed,
        )
    if name == "kmeans":
        method = KMeansAttribution
    else:
        from ctprints import openset

        method = {
            "openset": openset.OpenSetAttribution,
            "subsets": openset.SubsetAttribution,
            "novelty": openset.NoveltyAttribution,
        }[name]
    return method(n_generators, new_label=new_label, random_state=seed, **settings)


def tsne_coordinates(
    X: np.ndarray,
    perplexity: float = 30.0,
    n_iter: int = 500,
    pca: int | None = 50,
    seed: int = 0,
    threads: int = 1,
    verbose: bool = False,
) -> np.ndarray:
    """2-D openTSNE embedding of standardised (and PCA-reduced) rows: (N, 2) float32.

    Perplexity is capped below a third of the rows, which openTSNE requires. ``verbose`` prints
    openTSNE's progress (per-phase timings) to stdout.
    """
    from openTSNE import TSNE

    X = np.asarray(X, dtype=np.float64)
    if len(X) < 10:
        raise AttributionError(f"t-SNE needs at least 10 images; got {len(X)}")
    Z = make_reducer(pca, *X.shape, seed).fit_transform(X)
    perplexity = float(min(perplexity, (len(Z) - 1) / 3))
    embedding = TSNE(
        perplexity=perplexity,
        n_iter=n_iter,
        initialization="pca",
        random_state=seed,
        n_jobs=threads,
        verbose=verbose,
    ).fit(Z)
    return np.asarray(embedding, dtype=np.float32)


def task2_rows(manifest, features):
    """Task 2 rows of the manifest (train then test order kept) joined with their features.

    Returns (rows, X): rows has key, image_id, split and label (None for test rows).
    """
    from ctprints.embed import feature_matrix

    rows = manifest[(manifest["task"] == "task2") & (manifest["role"] == "generated")]
    rows = rows[["key", "image_id", "split", "label"]].reset_index(drop=True)
    indexed = features.set_index("key")
    missing = set(rows["key"]) - set(indexed.index)
    if missing:
        raise AttributionError(
            f"{len(missing)} task 2 images have no features, e.g. {min(missing)}"
        )
    X = feature_matrix(indexed.loc[rows["key"]].reset_index())
    rows["label"] = [
        label if split == "train" else None
        for label, split in zip(rows["label"], rows["split"], strict=True)
    ]
    return rows, X


def task2_real_rows(manifest, features):
    """Task 2 real rows (each generator's training subset, ``real/<subset>/``) with features.

    Returns (rows, X): rows has key, image_id and label (the subset); with no real rows, empty
    rows and a (0, d) array.
    """
    from ctprints.embed import feature_matrix

    rows = manifest[(manifest["task"] == "task2") & (manifest["role"] == "real")]
    rows = rows[["key", "image_id", "label"]].reset_index(drop=True)
    indexed = features.set_index("key")
    missing = set(rows["key"]) - set(indexed.index)
    if missing:
        raise AttributionError(
            f"{len(missing)} task 2 real images have no features, e.g. {min(missing)}"
        )
    return rows, feature_matrix(indexed.loc[rows["key"]].reset_index())
