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


def _scaler(reference: Reference):
    """Standardise features with statistics of the synthetic images (never the queries)."""
    mean = reference.synthetic.mean(axis=0)
    std = reference.synthetic.std(axis=0)
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
        self.scale_ = _scaler(reference)
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


@register("domias")
class Domias:
    """log p_synthetic(x) - log p_reference(x): Gaussian KDEs in the synthetic set's PCA space."""

    def __init__(self, components: int = 5):
        self.components = components

    def fit(self, reference: Reference) -> Domias:
        from scipy.stats import gaussian_kde
        from sklearn.decomposition import PCA

        scale = _scaler(reference)
        n = min(len(reference.synthetic), len(reference.not_used))
        components = max(1, min(self.components, reference.synthetic.shape[1], n - 2))
        self.pca_ = PCA(n_components=components, random_state=0).fit(scale(reference.synthetic))
        self.scale_ = scale
        project = lambda X: self.pca_.transform(scale(X)).T  # noqa: E731 - (components, N)
        self.project_ = project
        self.synthetic_kde_ = gaussian_kde(project(reference.synthetic))
        self.reference_kde_ = gaussian_kde(project(reference.not_used))
        return self

    def score(self, queries: np.ndarray, images: np.ndarray | None = None) -> np.ndarray:
        points = self.project_(queries)
        return self.synthetic_kde_.logpdf(points) - self.reference_kde_.logpdf(points)


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
        if self.candidates is None:
            return np.array([ssim(image, self.images_).max() for image in images])
        _, indices = _nearest(self.synthetic_, self.scale_(queries), self.candidates)
        return np.array(
            [
                ssim(image, self.images_[row]).max()
                for image, row in zip(images, indices, strict=True)
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
        known = ", ".join(sorted([*ATTACKS, *STACKED]))
        raise MembershipError(f"unknown attack {name!r}; known: {known}")
    return ATTACKS[name](**settings)


def available_attacks() -> list[str]:
    return sorted([*ATTACKS, *STACKED])


# ----------------------------------------------------------------------------- honest scoring


def folds(n: int, k: int, seed: int, groups: Sequence | None = None) -> np.ndarray:
    """Fold number per row: seeded, and whole groups (patients) together when groups are given."""
    rng = np.random.default_rng(seed)
    if groups is None:
        order = rng.permutation(n)
        fold = np.empty(n, dtype=int)
        fold[order] = np.arange(n) % k
        return fold
    names = np.unique(np.asarray(groups, dtype=str))
    shuffled = rng.permutation(names)
    fold_of = {name: i % k for i, name in enumerate(shuffled)}
    return np.array([fold_of[str(g)] for g in groups])


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
    n_folds = min(n_folds, int(min((labelled.y == 1).sum(), (labelled.y == 0).sum())))
    if n_folds < 2:
        raise MembershipError("cross-validation needs at least 2 used and 2 not-used images")
    fold = folds(len(labelled.y), n_folds, seed, labelled.groups)
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


def tpr_at_fpr(labels: np.ndarray, scores: np.ndarray, fpr_limit: float = 0.01) -> float:
    """The highest TPR with FPR at most ``fpr_limit`` (0 when no threshold achieves it)."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(labels, scores)
    allowed = fpr <= fpr_limit
    return float(tpr[allowed].max()) if allowed.any() else 0.0


def task1_scores(
    labels: np.ndarray,
    scores: np.ndarray,
    predicted: np.ndarray | None = None,
    n_boot: int = 1000,
    n_permutations: int = 1000,
    seed: int = 0,
) -> dict:
    """ROC AUC, TPR at 1% FPR and, with hard labels, F1 of "used", Cohen's kappa and accuracy;
    each with a bootstrap 95% CI; and a one-sided permutation p-value for the AUC."""
    from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score, roc_auc_score

    labels, scores = np.asarray(labels, dtype=int), np.asarray(scores, dtype=np.float64)
    metrics: dict[str, Callable] = {
        "auc": lambda y, s, p: roc_auc_score(y, s),
        "tpr_at_1fpr": lambda y, s, p: tpr_at_fpr(y, s),
    }
    if predicted is not None:
        metrics |= {
            "f1": lambda y, s, p: f1_score(y, p, zero_division=0),
            "kappa": lambda y, s, p: _kappa(cohen_kappa_score, y, p),
            "accuracy": lambda y, s, p: accuracy_score(y, p),
        }
        predicted = np.asarray(predicted, dtype=int)
    rng = np.random.default_rng(seed)
    samples = []
    while len(samples) < n_boot:
        index = rng.integers(0, len(labels), len(labels))
        if 0 < labels[index].sum() < len(index):  # both classes, or AUC is undefined
            samples.append(index)
    out: dict = {"n": len(labels), "n_used": int(labels.sum())}
    for name, metric in metrics.items():
        value = metric(labels, scores, predicted)
        values = [
            metric(labels[i], scores[i], None if predicted is None else predicted[i])
            for i in samples
        ]
        low, high = np.percentile(values, [2.5, 97.5])
        out |= {name: float(value), f"{name}_ci_low": float(low), f"{name}_ci_high": float(high)}
    permuted = [roc_auc_score(rng.permutation(labels), scores) for _ in range(n_permutations)]
    out["p_value"] = (1 + sum(a >= out["auc"] for a in permuted)) / (1 + n_permutations)
    return out


def _kappa(cohen_kappa_score, y, p) -> float:
    value = cohen_kappa_score(y, p)
    return 0.0 if math.isnan(value) else float(value)
