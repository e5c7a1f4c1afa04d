"""Task 1 membership attacks: was a real image used to train the generator whose samples we hold?

Every attack is a scikit-learn-style object in :data:`ATTACKS`: ``fit(reference)`` with a
:class:`Reference` (the generator's synthetic images and real images known to be used or not
used, as feature rows), then ``score(queries)``, where a higher score means "more likely used".
They are black-box attacks: they see synthetic samples, never the generator.

- ``gan_leaks``: minus the distance to the nearest synthetic image (Chen et al., GAN-Leaks).
- ``gan_leaks_cal``: the same, calibrated by the distance to the nearest not-used reference
  image, so that images which are simply typical score no higher than unusual ones.
- ``monte_carlo``: the share of synthetic images inside an epsilon-ball around the query
  (Hilprecht et al.), epsilon chosen on the labelled reference images.
- ``domias``: log density of the synthetic images minus that of the not-used reference images at
  the query, Gaussian KDE in a PCA space (van Breugel et al., DOMIAS).
- ``ssim_max``: the best SSIM between the query and its nearest synthetic images, the candidates
  prefiltered in feature space so that it scales to 10,000 synthetic images.

``meta`` stacks the others: a logistic regression over their scores, trained on labelled scores.

:func:`cross_validated_scores` gives honest out-of-fold scores for labelled images; the held-out
fold is never part of the reference set the attack is fitted on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

ATTACKS: dict[str, type] = {}
STACKED = ("meta",)


class MembershipError(ValueError):
    """A membership setting or input that cannot work; the message names what is wrong."""


def register(name: str) -> Callable[[type], type]:
    def add(cls: type) -> type:
        ATTACKS[name] = cls
        cls.name = name
        return cls

    return add


@dataclass
class Reference:
    """What an attack may learn from: feature rows (N, D) and, for ssim_max, uint8 images.

    ``used`` and ``not_used`` are real images with known membership (the dev labels);
    ``synthetic_images`` is (S, H, W) in the order of ``synthetic``.
    """

    synthetic: np.ndarray
    not_used: np.ndarray
    used: np.ndarray | None = None
    synthetic_images: np.ndarray | None = None


def _scaler(synthetic: np.ndarray):
    """Standardise features with statistics of the synthetic images (never the queries)."""
    mean = synthetic.mean(axis=0)
    std = synthetic.std(axis=0)
    std[std == 0] = 1.0
    return lambda X: ((np.asarray(X, dtype=np.float64) - mean) / std).astype(np.float32)


def _nearest(reference: np.ndarray, queries: np.ndarray, k: int = 1):
    """Distances (Q, k) and indices (Q, k) of the k nearest reference rows (exact search)."""
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(reference))
    index = NearestNeighbors(n_neighbors=k, algorithm="auto").fit(reference)
    distances, indices = index.kneighbors(queries)
    return distances, indices


@register("gan_leaks")
class GanLeaks:
    """Minus the distance from the query to the nearest synthetic image."""

    def fit(self, reference: Reference) -> GanLeaks:
        self.scale_ = _scaler(reference.synthetic)
        self.synthetic_ = self.scale_(reference.synthetic)
        return self

    def score(self, queries: np.ndarray, images: np.ndarray | None = None) -> np.ndarray:
        distances, _ = _nearest(self.synthetic_, self.scale_(queries))
        return -distances[:, 0]


@register("gan_leaks_cal")
class GanLeaksCalibrated(GanLeaks):
    """Distance to the nearest not-used reference minus distance to the nearest synthetic."""

    def fit(self, reference: Reference) -> GanLeaksCalibrated:
        super().fit(reference)
        self.not_used_ = self.scale_(reference.not_used)
        return self

    def score(self, queries: np.ndarray, images: np.ndarray | None = None) -> np.ndarray:
        scaled = self.scale_(queries)
        to_synthetic, _ = _nearest(self.synthetic_, scaled)
        to_reference, _ = _nearest(self.not_used_, scaled)
        return to_reference[:, 0] - to_synthetic[:, 0]


@register("monte_carlo")
class MonteCarlo(GanLeaks):
    """Share of synthetic images within epsilon of the query.

    Epsilon is the quantile (one of ``quantiles``) of the distances between the labelled images
    and the synthetic images that separates used from not-used reference images best (ROC AUC).
    """

    def __init__(
        self, quantiles: Sequence[float] = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
    ):
        self.quantiles = tuple(quantiles)

    def fit(self, reference: Reference) -> MonteCarlo:
        from sklearn.metrics import roc_auc_score

        super().fit(reference)
        if reference.used is None or not len(reference.used):
            raise MembershipError("monte_carlo chooses epsilon on used images; none were given")
        labelled = self.scale_(np.vstack([reference.used, reference.not_used]))
        labels = np.r_[np.ones(len(reference.used)), np.zeros(len(reference.not_used))]
        pairwise = _distances(labelled, self.synthetic_)
        candidates = np.quantile(pairwise, self.quantiles)
        aucs = [roc_auc_score(labels, (pairwise <= eps).mean(axis=1)) for eps in candidates]
        self.epsilon_ = float(candidates[int(np.argmax(aucs))])
        return self

    def score(self, queries: np.ndarray, images: np.ndarray | None = None) -> np.ndarray:
        return (_distances(self.scale_(queries), self.synthetic_) <= self.epsilon_).mean(axis=1)


def _distances(a: np.ndarray, b: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Euclidean distances (len(a), len(b)), computed in chunks of rows of ``a``."""
    out = np.empty((len(a), len(b)), dtype=np.float32)
    b_sq = (b.astype(np.float64) ** 2).sum(axis=1)
    for start in range(0, len(a), chunk):
        rows = a[start : start + chunk].astype(np.float64)
        squared = (rows**2).sum(axis=1)[:, None] + b_sq[None, :] - 2 * rows @ b.T
        out[start : start + chunk] = np.sqrt(np.maximum(squared, 0))
    return out


def _log_kde(train: np.ndarray, points: np.ndarray, scale: float) -> np.ndarray:
    """Log density at ``points`` (Q, d) of an isotropic Gaussian KDE on ``train`` (N, d), with
    Scott's bandwidth ``scale * N ** (-1 / (d + 4))``; defined for any N >= 1."""
    from scipy.special import logsumexp

    n, d = train.shape
    h = max(scale, 1e-6) * n ** (-1.0 / (d + 4))
    squared = _distances(points, train).astype(np.float64) ** 2
    return logsumexp(-squared / (2 * h * h), axis=1) - np.log(n) - d / 2 * np.log(2 * np.pi * h * h)


@register("domias")
class Domias:
    """log p_synthetic(x) - log p_reference(x): Gaussian KDEs in the synthetic set's PCA space."""

    def __init__(self, components: int = 5):
        self.components = components

    def fit(self, reference: Reference) -> Domias:
        from sklearn.decomposition import PCA

        scale = _scaler(reference.synthetic)
        components = max(
            1, min(self.components, reference.synthetic.shape[1], len(reference.synthetic) - 1)
        )
        pca = PCA(n_components=components, random_state=0).fit(scale(reference.synthetic))
        self.project_ = lambda X: pca.transform(scale(X))  # noqa: E731
        self.synthetic_ = self.project_(reference.synthetic)
        self.not_used_ = self.project_(reference.not_used)
        # One bandwidth scale for both densities: the synthetic set's mean spread per component.
        self.spread_ = float(self.synthetic_.std(axis=0).mean())
        return self

    def score(self, queries: np.ndarray, images: np.ndarray | None = None) -> np.ndarray:
        points = self.project_(queries)
        return _log_kde(self.synthetic_, points, self.spread_) - _log_kde(
            self.not_used_, points, self.spread_
        )


def ssim(query: np.ndarray, candidates: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """Mean SSIM (Wang et al. 2004, Gaussian window) of one (H, W) image with each of (K, H, W).

    Images are uint8 (data range 255). Returns (K,) values in [-1, 1].
    """
    from scipy.ndimage import gaussian_filter

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    x = query.astype(np.float64)[None]
    y = candidates.astype(np.float64)
    blur = lambda a: gaussian_filter(a, sigma=(0, sigma, sigma), truncate=3.5)  # noqa: E731
    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    denominator = (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    return (numerator / denominator).mean(axis=(1, 2))


@register("ssim_max")
class SsimMax(GanLeaks):
    """The best SSIM between the query and its ``candidates`` nearest synthetic images.

    The nearest neighbours in feature space are a prefilter; ``candidates=None`` compares with
    every synthetic image (exact, and the brute-force baseline).
    """

    def __init__(self, candidates: int | None = 50):
        self.candidates = candidates

    def fit(self, reference: Reference) -> SsimMax:
        if reference.synthetic_images is None:
            raise MembershipError("ssim_max needs the synthetic images' pixels")
        super().fit(reference)
        self.images_ = reference.synthetic_images
        return self

    def score(self, queries: np.ndarray, images: np.ndarray | None = None) -> np.ndarray:
        if images is None:
            raise MembershipError("ssim_max needs the query images' pixels")
        if images.shape[1:] != self.images_.shape[1:]:
            raise MembershipError(
                f"ssim_max: query images are {images.shape[1]}x{images.shape[2]} but the "
                f"synthetic images are {self.images_.shape[1]}x{self.images_.shape[2]}"
            )
        if self.candidates is None:  # every synthetic image, in chunks to bound memory
            return np.array(
                [
                    max(
                        ssim(image, self.images_[start : start + 256]).max()
                        for start in range(0, len(self.images_), 256)
                    )
                    for image in tqdm(images, desc="ssim_max (exact)", unit="query", mininterval=5)
                ]
            )
        _, indices = _nearest(self.synthetic_, self.scale_(queries), self.candidates)
        return np.array(
            [
                ssim(image, self.images_[row]).max()
                for image, row in tqdm(
                    zip(images, indices, strict=True),
                    total=len(images),
                    desc="ssim_max",
                    unit="query",
                    mininterval=5,
                )
            ]
        )


class Meta:
    """Logistic regression over other attacks' scores (columns), trained on labelled rows."""

    name = "meta"

    def __init__(self, C: float = 1.0):
        self.C = C

    def fit(self, scores: np.ndarray, labels: np.ndarray) -> Meta:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.model_ = make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=1000))
        self.model_.fit(np.nan_to_num(scores), labels)
        return self

    def score(self, scores: np.ndarray) -> np.ndarray:
        return self.model_.decision_function(np.nan_to_num(scores))


def make_attack(name: str, settings: dict | None = None):
    """A fresh attack by its config name; unknown names list the known ones."""
    settings = dict(settings or {})
    if name == "meta":
        return Meta(**settings)
    if name not in ATTACKS:
        raise MembershipError(f"unknown attack {name!r}; known: {', '.join(available_attacks())}")
    return ATTACKS[name](**settings)


def available_attacks() -> list[str]:
    return sorted([*ATTACKS, *STACKED])


# ----------------------------------------------------------------------------- honest scoring


def folds(labels: Sequence[int], k: int, seed: int, groups: Sequence | None = None) -> np.ndarray:
    """Fold number per row: seeded, stratified by label, and with whole groups (patients) in one
    fold when groups are given. Used and not-used rows (or groups) are dealt round-robin
    separately, so every fold's complement holds both classes."""
    labels = np.asarray(labels)
    units = np.arange(len(labels)).astype(str) if groups is None else np.asarray(groups, str)
    rng = np.random.default_rng(seed)
    fold_of: dict[str, int] = {}
    for value in np.unique(labels):
        names = rng.permutation(np.unique(units[labels == value]))
        fold_of |= {name: i % k for i, name in enumerate(names)}
    return np.array([fold_of[unit] for unit in units])


def _n_folds(labelled: Labelled, requested: int) -> int:
    """As many folds as asked, but no more than the used or not-used images (or patients)."""
    units = labelled.groups if labelled.groups is not None else np.arange(len(labelled.y))
    counts = [len(np.unique(np.asarray(units)[labelled.y == value])) for value in (0, 1)]
    return min(requested, *counts)


@dataclass
class Labelled:
    """Labelled real images of one group: features (N, D), labels (1 used, 0 not used), pixels."""

    X: np.ndarray
    y: np.ndarray
    images: np.ndarray | None = None
    groups: np.ndarray | None = None


def cross_validated_scores(
    names: Sequence[str],
    labelled: Labelled,
    synthetic: np.ndarray,
    synthetic_images: np.ndarray | None = None,
    n_folds: int = 5,
    seed: int = 0,
    settings: dict | None = None,
) -> dict[str, np.ndarray]:
    """Out-of-fold scores of every attack for every labelled image.

    In each fold the attack is fitted with the other folds' used and not-used images as its
    reference, and scores the held-out fold, which it has never seen. ``meta`` is stacked on the
    other attacks' out-of-fold scores with the same folds.
    """
    settings = settings or {}
    n_folds = _n_folds(labelled, n_folds)
    if n_folds < 2:
        unit = "images" if labelled.groups is None else "patients"
        raise MembershipError(f"cross-validation needs at least 2 used and 2 not-used {unit}")
    fold = folds(labelled.y, n_folds, seed, labelled.groups)
    base = [name for name in names if name not in STACKED]
    scores = {name: np.full(len(labelled.y), np.nan) for name in base}
    for k in range(n_folds):
        train, test = fold != k, fold == k
        y_train = labelled.y[train]
        reference = Reference(
            synthetic=synthetic,
            not_used=labelled.X[train][y_train == 0],
            used=labelled.X[train][y_train == 1],
            synthetic_images=synthetic_images,
        )
        held_out_images = None if labelled.images is None else labelled.images[test]
        for name in base:
            attack = make_attack(name, settings.get(name)).fit(reference)
            scores[name][test] = attack.score(labelled.X[test], held_out_images)
    if "meta" in names:
        stacked = np.column_stack([scores[name] for name in base])
        meta = np.full(len(labelled.y), np.nan)
        for k in range(n_folds):
            train, test = fold != k, fold == k
            model = make_attack("meta", settings.get("meta")).fit(stacked[train], labelled.y[train])
            meta[test] = model.score(stacked[test])
        scores["meta"] = meta
    return scores


def final_scores(
    names: Sequence[str],
    labelled: Labelled,
    synthetic: np.ndarray,
    queries: np.ndarray,
    query_images: np.ndarray | None = None,
    synthetic_images: np.ndarray | None = None,
    labelled_scores: dict[str, np.ndarray] | None = None,
    settings: dict | None = None,
) -> dict[str, np.ndarray]:
    """Scores of unlabelled queries (the test images), attacks fitted on all labelled images.

    ``meta`` is trained on ``labelled_scores`` (the out-of-fold scores) and applied to the
    queries' base scores.
    """
    settings = settings or {}
    reference = Reference(
        synthetic=synthetic,
        not_used=labelled.X[labelled.y == 0],
        used=labelled.X[labelled.y == 1],
        synthetic_images=synthetic_images,
    )
    base = [name for name in names if name not in STACKED]
    scores = {
        name: make_attack(name, settings.get(name)).fit(reference).score(queries, query_images)
        for name in base
    }
    if "meta" in names:
        if labelled_scores is None:
            raise MembershipError("meta needs the labelled images' out-of-fold scores")
        train = np.column_stack([labelled_scores[name] for name in base])
        model = make_attack("meta", settings.get("meta")).fit(train, labelled.y)
        scores["meta"] = model.score(np.column_stack([scores[name] for name in base]))
    return scores


# ----------------------------------------------------------------------------- hard labels


THRESHOLD_RULES = ("youden", "prior")


def choose_threshold(scores: np.ndarray, labels: np.ndarray, rule: str = "youden") -> float:
    """A score threshold from labelled (dev) scores only; ``score >= threshold`` means used.

    ``youden`` maximises TPR - FPR; ``prior`` labels as many images used as the dev share of
    used images. The test set's balance is never looked at.
    """
    from sklearn.metrics import roc_curve

    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels)
    if rule == "youden":
        fpr, tpr, thresholds = roc_curve(labels, scores)
        best = int(np.argmax(tpr - fpr))
        return float(min(thresholds[best], np.max(scores)))
    if rule == "prior":
        share = float(np.mean(labels == 1))
        return float(np.quantile(scores, 1 - share))
    raise MembershipError(f"unknown threshold rule {rule!r}; known: {', '.join(THRESHOLD_RULES)}")


def hard_labels(scores: np.ndarray, threshold: float) -> np.ndarray:
    return (np.asarray(scores) >= threshold).astype(int)


# ----------------------------------------------------------------------------- metrics


def auc(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ROC AUC (Mann-Whitney, ties counted half) of each row of (B, N) labels and scores."""
    from scipy.stats import rankdata

    labels = np.atleast_2d(np.asarray(labels, dtype=bool))
    ranks = rankdata(np.atleast_2d(scores), axis=1)
    positives = labels.sum(axis=1)
    negatives = labels.shape[1] - positives
    rank_sum = (ranks * labels).sum(axis=1)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def tpr_at_fpr(labels: np.ndarray, scores: np.ndarray, fpr_limit: float = 0.01) -> float:
    """The highest TPR with FPR at most ``fpr_limit``: the share of used images scoring above
    the (k+1)-th highest not-used score, k = floor(fpr_limit * not-used images)."""
    labels, scores = np.asarray(labels, dtype=bool), np.asarray(scores, dtype=np.float64)
    negatives = np.sort(scores[~labels])[::-1]
    allowed = int(math.floor(fpr_limit * len(negatives) + 1e-9))
    if allowed >= len(negatives):
        return 1.0
    return float(np.mean(scores[labels] > negatives[allowed]))


def _hard_metrics(labels: np.ndarray, predicted: np.ndarray) -> dict[str, np.ndarray]:
    """F1 of "used", Cohen's kappa and accuracy of each row of (B, N) labels and predictions."""
    labels = np.atleast_2d(labels).astype(bool)
    predicted = np.atleast_2d(predicted).astype(bool)
    n = labels.shape[1]
    tp = (labels & predicted).sum(axis=1)
    fp = (~labels & predicted).sum(axis=1)
    fn = (labels & ~predicted).sum(axis=1)
    tn = n - tp - fp - fn
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        observed = (tp + tn) / n
        expected = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / n**2
        kappa = np.where(expected < 1, (observed - expected) / (1 - expected), 0.0)
    return {"f1": f1, "kappa": kappa, "accuracy": observed}


def task1_scores(
    labels: np.ndarray,
    scores: np.ndarray,
    predicted: np.ndarray | None = None,
    n_boot: int = 1000,
    n_permutations: int = 999,
    seed: int = 0,
    groups: Sequence | None = None,
) -> dict:
    """ROC AUC, TPR at 1% FPR and, with hard labels, F1 of "used", Cohen's kappa and accuracy;
    each with a bootstrap 95% CI (resamples holding both classes); and a one-sided permutation
    p-value for the AUC, (1 + #permuted AUC >= AUC) / (1 + permutations).

    With ``groups`` (the patient of each row; membership is per patient) the bootstrap resamples
    patients and the permutation test permutes patients' labels: slices of one patient are not
    independent, and treating them as such gives intervals and p-values that are far too small.
    """
    labels = np.asarray(labels, dtype=int)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.min() == labels.max():
        raise MembershipError("scoring needs both used and not-used images")
    rng = np.random.default_rng(seed)
    units = np.arange(len(labels)) if groups is None else np.unique(groups, return_inverse=True)[1]
    members = [np.flatnonzero(units == u) for u in range(units.max() + 1)]
    unit_label = np.array([labels[rows[0]] for rows in members])
    if any(len(set(labels[rows])) > 1 for rows in members):
        raise MembershipError(
            "a patient has both used and not-used images; membership is per patient"
        )
    samples = []
    while len(samples) < n_boot:
        drawn = rng.integers(0, len(members), len(members))
        if 0 < unit_label[drawn].sum() < len(drawn):
            samples.append(np.concatenate([members[u] for u in drawn]))
    values = {
        "auc": (auc(labels, scores)[0], np.array([auc(labels[i], scores[i])[0] for i in samples])),
        "tpr_at_1fpr": (
            tpr_at_fpr(labels, scores),
            np.array([tpr_at_fpr(labels[i], scores[i]) for i in samples]),
        ),
    }
    if predicted is not None:
        predicted = np.asarray(predicted, dtype=int)
        whole = _hard_metrics(labels, predicted)
        resampled = [_hard_metrics(labels[i], predicted[i]) for i in samples]
        values |= {
            name: (whole[name][0], np.array([r[name][0] for r in resampled])) for name in whole
        }
    out: dict = {"n": len(labels), "n_used": int(labels.sum())}
    for name, (value, boot) in values.items():
        low, high = np.percentile(boot, [2.5, 97.5])
        out |= {name: float(value), f"{name}_ci_low": float(low), f"{name}_ci_high": float(high)}
    permuted = np.array([rng.permutation(unit_label)[units] for _ in range(n_permutations)])
    exceed = int(
        (auc(permuted, np.broadcast_to(scores, permuted.shape)) >= out["auc"] - 1e-12).sum()
    )
    out["p_value"] = (1 + exceed) / (1 + n_permutations)
    out["resampled"] = "patient" if groups is not None else "image"
    return out


# ----------------------------------------------------------------------------- one task 1 group


def group_rows(manifest, group: str, dataset: str = "dataset"):
    """The task 1 rows of one group by role, checked: used, not-used and test real images exist,
    and synthetic and real images have one size.

    Returns a dict role -> DataFrame (``generated`` holds dev and test synthetic images).
    """
    rows = manifest[(manifest["task"] == "task1") & (manifest["group"] == group)]
    key = f"datasets.{dataset}.task1.{group}"
    parts = {
        "generated": rows[rows["role"] == "generated"],
        "used": rows[rows["role"] == "used"],
        "not_used": rows[rows["role"] == "not_used"],
        "test": rows[rows["role"] == "real_unknown"],
    }
    names = {"generated": "synthetic", "used": "used", "not_used": "not-used", "test": "test real"}
    for role, part in parts.items():
        if part.empty:
            raise MembershipError(
                f"{key}: no {names[role]} images; task 1 needs synthetic, used, not-used and "
                "test real images for every group"
            )
    sizes = {
        role: sorted({(int(w), int(h)) for w, h in zip(part["width"], part["height"], strict=True)})
        for role, part in parts.items()
    }
    if len({size for values in sizes.values() for size in values}) > 1:
        folders = {
            role: sorted({str(p.rsplit("/", 1)[0]) for p in part["path"]})
            for role, part in parts.items()
        }
        detail = "; ".join(
            f"{names[role]} {', '.join(f'{w}x{h}' for w, h in sizes[role])} "
            f"({', '.join(folders[role])})"
            for role in parts
        )
        raise MembershipError(
            f"{key}: synthetic and real images must have one size, found {detail}"
        )
    return parts


def part_features(features, part) -> np.ndarray:
    """The (N, D) feature rows of a manifest part, from an embeddings frame indexed by key."""
    from ctprints.embed import feature_matrix

    return feature_matrix(features.loc[list(part["key"])].reset_index())


def _dev_groups(dev, patients: dict[str, str] | None) -> np.ndarray | None:
    """The patient of each dev row (used then not-used), or None where patients are unknown."""
    return None if patients is None else np.array([patients[i] for i in dev["image_id"]])


def group_scores(
    parts: dict,
    features,
    names: Sequence[str],
    n_folds: int = 5,
    seed: int = 0,
    settings: dict | None = None,
    read_pixels: Callable | None = None,
    patients: dict[str, str] | None = None,
):
    """Every attack's scores for one group: out-of-fold for the dev images, fitted on all dev
    images for the test images, and out-of-fold for the member-vs-member control.

    ``features`` is an embeddings frame indexed by key; ``read_pixels(paths)`` gives (N, H, W)
    uint8 images and is needed only by ssim_max. ``patients`` (image_id -> patient of the dev
    images) keeps each patient's slices in one fold; without it folds are by image. Returns a
    DataFrame with key, image_id, split (dev, test, control), label (1 used, 0 not used, empty
    for test) and one column per attack.
    The control splits the used images at random into two halves labelled 1 and 0: both were
    used, so an attack that scores above chance there measures something other than membership.
    """
    import pandas as pd

    def matrix(part):
        return part_features(features, part)

    needs_pixels = "ssim_max" in names
    pixels = (lambda part: read_pixels(list(part["path"]))) if needs_pixels else (lambda part: None)
    synthetic = matrix(parts["generated"])
    synthetic_images = pixels(parts["generated"])
    dev = pd.concat([parts["used"], parts["not_used"]], ignore_index=True)
    groups = _dev_groups(dev, patients)
    labelled = Labelled(
        matrix(dev),
        np.r_[np.ones(len(parts["used"])), np.zeros(len(parts["not_used"]))].astype(int),
        pixels(dev),
        groups,
    )
    if groups is not None and _n_folds(labelled, n_folds) < 2:
        # One used (or not-used) patient cannot be cross-validated by patient: fall back to
        # folds of images, and say so in the grouping column.
        labelled.groups = groups = None
    dev_scores = cross_validated_scores(
        names, labelled, synthetic, synthetic_images, n_folds, seed, settings
    )
    test = parts["test"]
    test_scores = final_scores(
        names,
        labelled,
        synthetic,
        matrix(test),
        pixels(test),
        synthetic_images,
        dev_scores,
        settings,
    )
    used = parts["used"].reset_index(drop=True)
    rng = np.random.default_rng(seed)

    def halves(units):
        """1 for the units (images or patients) in the first half of a random order, else 0."""
        names = rng.permutation(np.unique(units))
        return np.isin(units, names[: len(names) // 2]).astype(int)

    images_only = np.arange(len(used))
    control_groups = None if groups is None else groups[: len(used)]
    # Halves of whole patients where they are known, so that no patient is on both sides.
    control = Labelled(
        labelled.X[: len(used)],
        halves(images_only if control_groups is None else control_groups),
        None if labelled.images is None else labelled.images[: len(used)],
        control_groups,
    )
    if control_groups is not None and _n_folds(control, n_folds) < 2:
        # Fewer than 4 used patients: halves of whole patients cannot be cross-validated, so
        # the control falls back to halves of images (and says so in its grouping column).
        control.groups = None
        control.y = halves(images_only)
    control_scores = cross_validated_scores(
        names, control, synthetic, synthetic_images, n_folds, seed, settings
    )
    frames = []
    for split, rows, labels, scores in (
        ("dev", dev, labelled.y, dev_scores),
        ("test", test, [None] * len(test), test_scores),
        ("control", used, control.y, control_scores),
    ):
        frame = rows[["key", "image_id"]].reset_index(drop=True).copy()
        frame["split"] = split
        frame["label"] = pd.array(labels, dtype="Int64")
        # How the out-of-fold scores were cross-validated (test scores: how dev's were), and the
        # patient of each dev or control row where folds used it, for the cluster bootstrap.
        folded = control if split == "control" else labelled
        frame["grouping"] = "image" if folded.groups is None else "patient"
        frame["patient"] = None if split == "test" else folded.groups
        for name in names:
            frame[name] = scores[name]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def read_patients(path: str, parts: dict) -> dict[str, str]:
    """image_id -> patient for the dev used and not-used images, from a CSV image_id,patient.

    Raises :class:`MembershipError` naming the file when columns or dev images are missing.
    """
    import pandas as pd

    try:
        table = pd.read_csv(path, dtype=str)
    except Exception as error:  # noqa: BLE001 - parser and I/O errors alike
        raise MembershipError(f"{path}: not a readable CSV ({error})") from None
    if not {"image_id", "patient"} <= set(table.columns):
        raise MembershipError(
            f"{path}: needs columns image_id,patient, found {', '.join(table.columns)}"
        )
    mapping = dict(zip(table["image_id"], table["patient"], strict=True))
    dev = list(parts["used"]["image_id"]) + list(parts["not_used"]["image_id"])
    missing = [image for image in dev if image not in mapping]
    if missing:
        raise MembershipError(
            f"{path}: no patient for {len(missing)} dev images, e.g. {missing[0]}"
        )
    return {image: mapping[image] for image in dev}


# ----------------------------------------------------------------------------- the paper's approach


def _pca(synthetic: np.ndarray, components: int, seed: int):
    from sklearn.decomposition import PCA

    components = max(1, min(components, synthetic.shape[1], len(synthetic) - 1))
    scale = _scaler(synthetic)
    pca = PCA(n_components=components, random_state=seed).fit(scale(synthetic))
    return lambda X: pca.transform(scale(X)).astype(np.float32)


def pair_table(real: np.ndarray, synthetic: np.ndarray, k: int, rng, labels=None):
    """The paper's pair features: each real row next to k random synthetic rows.

    Returns a DataFrame with columns s0.., r0.. (and ``used`` when labels are given) and the
    index of the real row each pair came from.
    """
    import pandas as pd

    chosen = rng.integers(0, len(synthetic), (len(real), k))
    owner = np.repeat(np.arange(len(real)), k)
    table = pd.DataFrame(
        np.hstack([synthetic[chosen.ravel()], real[owner]]),
        columns=[f"s{i}" for i in range(synthetic.shape[1])]
        + [f"r{i}" for i in range(real.shape[1])],
    )
    if labels is not None:
        table["used"] = np.asarray(labels)[owner]
    return table, owner


def paper_autogluon(
    used: np.ndarray,
    not_used: np.ndarray,
    synthetic: np.ndarray,
    queries: np.ndarray,
    fraction: float,
    path: str,
    k: int = 5,
    components: int = 16,
    presets: str = "medium_quality",
    time_limit: int = 60,
    seed: int = 0,
    threads: int = 1,
    groups: np.ndarray | None = None,
):
    """The paper's task 1 approach: AutoGluon on (synthetic, real) pair features.

    ``fraction`` of the dev used and of the not-used images (at least 2 each) build the training
    pairs, each real image paired with ``k`` random synthetic images and labelled with its own
    membership. AutoGluon's internal validation split is over pairs, so one real image lands in
    both its training and validation data: the score it reports (``autogluon_val_auc``) leaks.
    The other dev images are the honest hold-out; with ``groups`` (the patient of each used then
    not-used row) the fraction is taken of patients, so no patient is on both sides. An image's
    score is the mean predicted
    probability of "used" over its k pairs.

    Returns (held-out mask over used+not_used rows, held-out scores, query scores, info dict).
    """
    from autogluon.tabular import TabularPredictor

    if not 0 < fraction <= 1:
        raise MembershipError(f"fraction {fraction} is outside (0, 1]")
    rng = np.random.default_rng(seed)
    project = _pca(synthetic, components, seed)
    real = np.vstack([used, not_used])
    labels = np.r_[np.ones(len(used)), np.zeros(len(not_used))].astype(int)
    units = np.arange(len(real)).astype(str) if groups is None else np.asarray(groups, str)
    train = np.zeros(len(real), dtype=bool)
    for value in (1, 0):
        names = np.unique(units[labels == value])
        count = min(len(names), max(1, int(round(fraction * len(names)))))
        train |= np.isin(units, rng.choice(names, count, replace=False))
    synthetic_p, real_p = project(synthetic), project(real)
    table, _ = pair_table(real_p[train], synthetic_p, k, rng, labels[train])
    predictor = TabularPredictor(
        label="used",
        path=path,
        eval_metric="roc_auc",
        problem_type="binary",
        verbosity=2,
        learner_kwargs={"random_state": seed},
    ).fit(table, presets=presets, time_limit=time_limit, num_cpus=threads, num_gpus=0)
    board = predictor.leaderboard(silent=True)
    info = {
        "autogluon_val_auc": float(board["score_val"].max()),
        "best_model": str(predictor.model_best),
        "train_images": int(train.sum()),
        "train_pairs": len(table),
    }

    def score(rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.empty(0)
        pairs, owner = pair_table(rows, synthetic_p, k, rng)
        probability = predictor.predict_proba(pairs)[1].to_numpy()
        return np.bincount(owner, probability, minlength=len(rows)) / k

    held_out = ~train
    return held_out, score(real_p[held_out]), score(project(queries)), info


def paper_group_scores(
    parts: dict,
    features,
    fraction: float,
    path: str,
    patients: dict[str, str] | None = None,
    **settings,
):
    """:func:`paper_autogluon` for one group: a DataFrame of the held-out dev rows (split dev,
    label, patient) and the test rows (split test), with the score in column ``paper`` and
    AutoGluon's figures (``autogluon_val_auc``, ...) and the hold-out grouping in every row."""
    import pandas as pd

    dev = pd.concat([parts["used"], parts["not_used"]], ignore_index=True)
    groups = _dev_groups(dev, patients)
    held_out, held_scores, test_scores, info = paper_autogluon(
        part_features(features, parts["used"]),
        part_features(features, parts["not_used"]),
        part_features(features, parts["generated"]),
        part_features(features, parts["test"]),
        fraction=fraction,
        path=path,
        groups=groups,
        **settings,
    )
    dev_labels = [1] * len(parts["used"]) + [0] * len(parts["not_used"])
    frames = [
        pd.DataFrame(
            {
                "key": dev["key"][held_out],
                "image_id": dev["image_id"][held_out],
                "split": "dev",
                "label": pd.array(dev_labels, dtype="Int64")[held_out],
                "paper": held_scores,
                "patient": None if groups is None else groups[held_out],
            }
        ),
        pd.DataFrame(
            {
                "key": parts["test"]["key"].to_numpy(),
                "image_id": parts["test"]["image_id"].to_numpy(),
                "split": "test",
                "label": pd.array([None] * len(parts["test"]), dtype="Int64"),
                "paper": test_scores,
            }
        ),
    ]
    scores = pd.concat(frames, ignore_index=True)
    for name, value in info.items():
        scores[name] = value
    # AutoGluon's own validation split is by pair; the hold-out is by patient where known.
    scores["grouping"] = "image" if groups is None else "patient"
    return scores, info
