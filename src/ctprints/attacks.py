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

Attacks registered as configurable (``domias``, ``ssim_max``) take their settings from the
config section ``task1.<attack>``: :func:`attack_settings`. How the attacks are fitted and scored
honestly (cross-validation, the control) is :mod:`ctprints.membership`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ctprints.errors import MembershipError
from ctprints.neighbours import nearest, pairwise_distances

ATTACKS: dict[str, type] = {}
STACKED = ("meta",)


def register(name: str, configurable: bool = False) -> Callable[[type], type]:
    """Add an attack class to :data:`ATTACKS` under its config name; ``configurable`` attacks
    take keyword settings from the config section ``task1.<name>``."""

    def add(cls: type) -> type:
        ATTACKS[name] = cls
        cls.name = name
        cls.configurable = configurable
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


def synthetic_scaler(synthetic: np.ndarray):
    """Standardise features with statistics of the synthetic images (never the queries)."""
    mean = synthetic.mean(axis=0)
    std = synthetic.std(axis=0)
    std[std == 0] = 1.0
    return lambda X: ((np.asarray(X, dtype=np.float64) - mean) / std).astype(np.float32)


def pca_projection(synthetic: np.ndarray, components: int, seed: int = 0) -> Callable:
    """Rows -> their first principal components (at most ``components``, fewer where the
    synthetic images have fewer features or rows), PCA fitted on the standardised synthetic
    images."""
    from sklearn.decomposition import PCA

    scale = synthetic_scaler(synthetic)
    components = max(1, min(components, synthetic.shape[1], len(synthetic) - 1))
    pca = PCA(n_components=components, random_state=seed).fit(scale(synthetic))
    return lambda X: pca.transform(scale(X))


@register("gan_leaks")
class GanLeaks:
    """Minus the distance from the query to the nearest synthetic image."""

    def fit(self, reference: Reference) -> GanLeaks:
        self.scale_ = synthetic_scaler(reference.synthetic)
        self.synthetic_ = self.scale_(reference.synthetic)
        return self

    def score(self, queries: np.ndarray, images: np.ndarray | None = None) -> np.ndarray:
        distances, _ = nearest(self.synthetic_, self.scale_(queries))
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
        to_synthetic, _ = nearest(self.synthetic_, scaled)
        to_reference, _ = nearest(self.not_used_, scaled)
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
        pairwise = pairwise_distances(labelled, self.synthetic_)
        candidates = np.quantile(pairwise, self.quantiles)
        aucs = [roc_auc_score(labels, (pairwise <= eps).mean(axis=1)) for eps in candidates]
        self.epsilon_ = float(candidates[int(np.argmax(aucs))])
        return self

    def score(self, queries: np.ndarray, images: np.ndarray | None = None) -> np.ndarray:
        near = pairwise_distances(self.scale_(queries), self.synthetic_) <= self.epsilon_
        return near.mean(axis=1)


def _log_kde(train: np.ndarray, points: np.ndarray, scale: float) -> np.ndarray:
    """Log density at ``points`` (Q, d) of an isotropic Gaussian KDE on ``train`` (N, d), with
    Scott's bandwidth ``scale * N ** (-1 / (d + 4))``; defined for any N >= 1."""
    from scipy.special import logsumexp

    n, d = train.shape
    h = max(scale, 1e-6) * n ** (-1.0 / (d + 4))
    squared = pairwise_distances(points, train).astype(np.float64) ** 2
    return logsumexp(-squared / (2 * h * h), axis=1) - np.log(n) - d / 2 * np.log(2 * np.pi * h * h)


@register("domias", configurable=True)
class Domias:
    """log p_synthetic(x) - log p_reference(x): Gaussian KDEs in the synthetic set's PCA space."""

    def __init__(self, components: int = 5):
        self.components = components

    def fit(self, reference: Reference) -> Domias:
        self.project_ = pca_projection(reference.synthetic, self.components)
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


@register("ssim_max", configurable=True)
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
        _, indices = nearest(self.synthetic_, self.scale_(queries), self.candidates)
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


def attack_settings(task1_config: dict, attacks: Sequence[str]) -> dict[str, dict]:
    """Per-attack settings as plain data: ``task1.<attack>`` of every listed attack that is
    configurable, in registry order (attacks without settings are left out)."""
    return {
        name: dict(task1_config[name])
        for name, cls in ATTACKS.items()
        if cls.configurable and name in attacks
    }
