"""Image embedders: a registry of feature extractors keyed by the names used in config.

Two kinds:

- **Fingerprint embedders** (``spectrum``, ``residual``, ``pixels``) need no weights. They work on
  the native uint8 slices with numpy/scipy and capture what generators leave behind: the shape of
  the power spectrum (upsampling artefacts, missing high frequencies) and the statistics of the
  noise residual.
- **CNN embedders** (torchvision backbones) return globally pooled penultimate features. Weights
  are ``none`` (seeded random initialisation, works offline), ``imagenet`` (torchvision's own
  cache; a clear error when it cannot be had offline) or a path to a saved state dict.

Every embedder maps a batch of (B, H, W) uint8 images to a (B, D) float32 array. Extraction
(:func:`embed_paths`) streams images from disk in batches through a torch DataLoader.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ctprints.errors import EmbedderError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# ----------------------------------------------------------------------------- fingerprints


def radial_spectrum(images: np.ndarray, bins: int = 32) -> np.ndarray:
    """Azimuthally averaged log power spectrum of each image: (N, bins) float64.

    Frequencies are normalised to Nyquist, so images of different sizes give comparable bins;
    corners beyond Nyquist are left out.
    """
    pixels = images.astype(np.float64) / 255.0
    pixels = pixels - pixels.mean(axis=(1, 2), keepdims=True)
    power = np.abs(np.fft.fftshift(np.fft.fft2(pixels), axes=(1, 2))) ** 2
    height, width = images.shape[1:]
    yy, xx = np.indices((height, width))
    radius = np.hypot((yy - height // 2) / (height / 2), (xx - width // 2) / (width / 2))
    index = np.where(radius <= 1, np.minimum((radius * bins).astype(int), bins - 1), bins)
    counts = np.bincount(index.ravel(), minlength=bins + 1)[:bins]
    flat = power.reshape(len(power), -1)
    sums = np.stack([np.bincount(index.ravel(), row, minlength=bins + 1)[:bins] for row in flat])
    return np.log(sums / np.maximum(counts, 1) + 1e-12)


def dct_band_energies(images: np.ndarray, bands: int = 8) -> np.ndarray:
    """Log mean energy of the 2-D DCT in a ``bands`` x ``bands`` grid of frequency bands."""
    pixels = images.astype(np.float64) / 255.0
    from scipy import fft as spfft  # scipy where used: ctprints.checks imports this module

    coefficients = spfft.dctn(pixels, axes=(1, 2), norm="ortho") ** 2
    height, width = images.shape[1:]
    rows = np.minimum(np.arange(height) * bands // height, bands - 1)
    cols = np.minimum(np.arange(width) * bands // width, bands - 1)
    energy = np.zeros((len(images), bands, bands))
    np.add.at(energy, (slice(None), rows[:, None], cols[None, :]), coefficients)
    counts = np.bincount(rows, minlength=bands)[:, None] * np.bincount(cols, minlength=bands)
    return np.log(energy / counts + 1e-12).reshape(len(images), -1)


def spectrum_features(images: np.ndarray) -> np.ndarray:
    """``spectrum``: radial log power spectrum (32) plus 8x8 DCT band energies (64)."""
    return np.concatenate([radial_spectrum(images), dct_band_energies(images)], axis=1)


def _autocorrelation(residual: np.ndarray, lags: int = 4) -> np.ndarray:
    """Normalised autocorrelation of each residual at lags 1..lags along x, y and the diagonal."""
    centred = residual - residual.mean(axis=(1, 2), keepdims=True)
    variance = (centred**2).mean(axis=(1, 2)) + 1e-12
    features = []
    for lag in range(1, lags + 1):
        features.append((centred[:, :, lag:] * centred[:, :, :-lag]).mean(axis=(1, 2)))
        features.append((centred[:, lag:, :] * centred[:, :-lag, :]).mean(axis=(1, 2)))
        features.append((centred[:, lag:, lag:] * centred[:, :-lag, :-lag]).mean(axis=(1, 2)))
    return np.stack(features, axis=1) / variance[:, None]


def residual_features(images: np.ndarray) -> np.ndarray:
    """``residual``: statistics of the noise residual after a 3x3 median denoiser.

    Radial log spectrum of the residual (32), its autocorrelation at lags 1-4 in three directions
    (12), and its log standard deviation, skewness and excess kurtosis (3).
    """
    pixels = images.astype(np.float64)
    from scipy import ndimage

    denoised = ndimage.median_filter(pixels, size=(1, 3, 3), mode="reflect")
    residual = pixels - denoised
    scaled = np.clip(residual + 128, 0, 255)
    std = residual.std(axis=(1, 2)) + 1e-9
    centred = residual - residual.mean(axis=(1, 2), keepdims=True)
    skew = (centred**3).mean(axis=(1, 2)) / std**3
    kurtosis = (centred**4).mean(axis=(1, 2)) / std**4 - 3
    return np.concatenate(
        [
            radial_spectrum(scaled),
            _autocorrelation(residual),
            np.stack([np.log(std), skew, kurtosis], axis=1),
        ],
        axis=1,
    )


def pixel_features(images: np.ndarray, side: int = 16) -> np.ndarray:
    """``pixels``: the image block-averaged to ``side`` x ``side``, scaled to [0, 1]."""
    n, height, width = images.shape
    fy, fx = max(1, height // side), max(1, width // side)
    cropped = images[:, : side * fy, : side * fx].astype(np.float32) / 255.0
    return cropped.reshape(n, side, fy, side, fx).mean(axis=(2, 4)).reshape(n, -1)


FINGERPRINTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "spectrum": spectrum_features,
    "residual": residual_features,
    "pixels": pixel_features,
}


# ----------------------------------------------------------------------------- CNN backbones

# name: (torchvision builder, input size, feature dimension)
CNN_BACKBONES: dict[str, tuple[str, int, int]] = {
    "squeezenet1_1": ("squeezenet1_1", 224, 512),
    "inception_v3": ("inception_v3", 299, 2048),
    "vgg16": ("vgg16", 224, 512),
    "vgg19": ("vgg19", 224, 512),
    "resnet18": ("resnet18", 224, 512),
    "resnet34": ("resnet34", 224, 512),
    "resnet50": ("resnet50", 224, 2048),
}


def available_embedders() -> list[str]:
    """All names an ``embedders`` config entry may use."""
    return sorted(FINGERPRINTS) + sorted(CNN_BACKBONES)


def bare_backbone(name: str):
    """The torchvision classifier for ``name``, randomly initialised, never downloading."""
    import torchvision

    builder = getattr(torchvision.models, CNN_BACKBONES[name][0])
    if name == "inception_v3":
        return builder(weights=None, aux_logits=False, init_weights=True)
    return builder(weights=None)


def load_weights(model, name: str, weights: str) -> None:
    """Load ``weights`` (``none``, ``imagenet`` or a state-dict path) into a bare backbone.

    Raises :class:`EmbedderError` naming the file for a missing file or one whose tensors do not
    fit the backbone, and explaining what to do when ImageNet weights cannot be had offline.
    """
    import torch

    if weights == "none":
        return
    if weights == "imagenet":
        from torchvision.models import get_model_weights

        entry = get_model_weights(CNN_BACKBONES[name][0]).DEFAULT
        try:
            state = entry.get_state_dict(progress=False)
        except Exception as error:  # noqa: BLE001 - URLError, HTTPError, socket errors, ...
            cache = Path(torch.hub.get_dir()) / "checkpoints"
            raise EmbedderError(
                f"{name}: ImageNet weights are not in torchvision's cache ({cache}) and could not "
                f"be downloaded ({type(error).__name__}: {error}). Copy {entry.url.split('/')[-1]} "
                "into that folder, give a local state-dict path as `weights`, or use "
                "`weights: none`."
            ) from None
        if name == "inception_v3":
            state = {k: v for k, v in state.items() if not k.startswith("AuxLogits.")}
            # torchvision's pretrained Inception expects its own input scaling, which it switches
            # on only when it builds the model with weights; a bare model must be told.
            model.transform_input = True
        model.load_state_dict(state)
        return
    check_state_dict(name, weights, model)


def check_state_dict(name: str, path: str, model=None):
    """Load the state dict at ``path`` into ``model`` (a bare backbone if None); return the model.

    Raises :class:`EmbedderError` naming the file when it is missing, unreadable, or its keys or
    tensor shapes do not fit the backbone.
    """
    import torch

    choices = "weights are none, imagenet or the path of a state-dict file"
    if not os.path.isfile(path):
        raise EmbedderError(f"{name}: weights file {path} does not exist ({choices})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - pickle, zip and torch errors alike
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise EmbedderError(
            f"{name}: weights file {path} is not a readable state dict "
            f"({type(error).__name__}: {first_line})"
        ) from None
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise EmbedderError(
            f"{name}: weights file {path} holds a {type(state).__name__}, not a state dict"
        )
    model = model if model is not None else bare_backbone(name)
    if name == "inception_v3":
        state = {k: v for k, v in state.items() if not k.startswith("AuxLogits.")}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [
        k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    if missing or unexpected or wrong:
        details = []
        if missing:
            details.append(f"{len(missing)} missing tensors (e.g. {missing[0]})")
        if unexpected:
            details.append(f"{len(unexpected)} unexpected tensors (e.g. {unexpected[0]})")
        if wrong:
            key = wrong[0]
            details.append(
                f"{len(wrong)} wrongly shaped tensors (e.g. {key}: {tuple(state[key].shape)} "
                f"instead of {tuple(expected[key].shape)})"
            )
        raise EmbedderError(
            f"{name}: weights file {path} does not fit {name}: {'; '.join(details)}"
        )
    model.load_state_dict(state)
    return model


class CNNEmbedder:
    """A torchvision backbone returning globally pooled penultimate features.

    Grayscale is repeated to three channels, resized to the backbone's input size with
    antialiasing, and normalised with the ImageNet mean and standard deviation.
    """

    def __init__(self, name: str, weights: str = "none", seed: int = 0, device: str = "auto"):
        self.name = name
        self.weights = weights
        self.seed = seed
        self.device = device

    def build(self) -> CNNEmbedder:
        import torch
        from torch import nn

        torch.manual_seed(self.seed)
        # Same inputs, same features: no autotuned (possibly non-deterministic) cuDNN kernels.
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        model = bare_backbone(self.name)
        load_weights(model, self.name, self.weights)
        if self.name.startswith("resnet") or self.name == "inception_v3":
            model.fc = nn.Identity()
            self.network_ = model
        else:  # vgg and squeezenet: pooled last convolutional features
            self.network_ = nn.Sequential(model.features, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        if self.device == "auto":
            self.device_ = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        else:
            self.device_ = torch.device(self.device)
        self.network_ = self.network_.eval().to(self.device_, memory_format=torch.channels_last)
        self.size_ = CNN_BACKBONES[self.name][1]
        mean = torch.tensor(IMAGENET_MEAN, device=self.device_).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=self.device_).view(1, 3, 1, 1)
        self.mean_, self.std_ = mean, std
        return self

    def __call__(self, images) -> np.ndarray:
        """(B, H, W) uint8 (numpy or torch) to (B, D) float32 features."""
        import torch
        from torch.nn import functional as F

        batch = torch.as_tensor(images).to(self.device_, non_blocking=True)
        batch = batch.float().div_(255.0)[:, None]
        batch = F.interpolate(
            batch,
            size=(self.size_, self.size_),
            mode="bilinear",
            antialias=True,
            align_corners=False,
        )
        batch = ((batch.expand(-1, 3, -1, -1) - self.mean_) / self.std_).contiguous(
            memory_format=torch.channels_last
        )
        with (
            torch.inference_mode(),
            torch.autocast(
                device_type=self.device_.type,
                dtype=torch.float16,
                enabled=self.device_.type == "cuda",
            ),
        ):
            features = self.network_(batch)
        return features.float().cpu().numpy().astype(np.float32)


def make_embedder(name: str, weights: str = "none", seed: int = 0, device: str = "auto"):
    """A callable mapping (B, H, W) uint8 batches to (B, D) float32 features."""
    if name in FINGERPRINTS:
        function = FINGERPRINTS[name]
        return lambda images: function(np.asarray(images)).astype(np.float32)
    if name in CNN_BACKBONES:
        return CNNEmbedder(name, weights, seed, device).build()
    raise EmbedderError(f"unknown embedder {name!r}; known: {', '.join(available_embedders())}")


# ----------------------------------------------------------------------------- extraction


class _ImageFiles:
    """A map-style dataset of image paths, decoded with :func:`ctprints.io.read_image`."""

    def __init__(self, paths: Sequence[str]):
        self.paths = list(paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        from ctprints.io import read_image

        return read_image(self.paths[index])


def _stack(batch):
    import torch

    return torch.from_numpy(np.stack(batch))


def embed_paths(
    paths: Sequence[str],
    embedder,
    batch_size: int = 64,
    workers: int = 0,
    progress: bool = True,
    description: str = "embed",
) -> np.ndarray:
    """Embed images from disk in batches: (N, D) float32, rows in the order of ``paths``.

    Images stream through a DataLoader with ``workers`` processes; at most a few batches are in
    memory at once.
    """
    import torch
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm

    loader = DataLoader(
        _ImageFiles(paths),
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=_stack,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=False,
    )
    chunks = []
    with tqdm(total=len(paths), desc=description, unit="img", disable=not progress) as bar:
        for batch in loader:
            chunks.append(np.asarray(embedder(batch), dtype=np.float32))
            bar.update(len(batch))
    if not chunks:
        raise EmbedderError("no images to embed")
    return np.concatenate(chunks)


def embed_manifest(
    manifest,
    name: str,
    weights: str = "none",
    seed: int = 0,
    device: str = "auto",
    batch_size: int = 64,
    workers: int = 0,
    progress: bool = True,
):
    """Embed every image of a manifest: a DataFrame with key, image_id and f0000, f0001, ...

    Rows keep the manifest's order. Features are float32.
    """
    import pandas as pd
    import torch

    torch.manual_seed(seed)
    embedder = make_embedder(name, weights=weights, seed=seed, device=device)
    features = embed_paths(
        list(manifest["path"]), embedder, batch_size, workers, progress, description=name
    )
    columns = [f"f{index:04d}" for index in range(features.shape[1])]
    frame = pd.DataFrame(features, columns=columns)
    frame.insert(0, "image_id", manifest["image_id"].to_numpy())
    frame.insert(0, "key", manifest["key"].to_numpy())
    return frame


def feature_matrix(frame) -> np.ndarray:
    """The float32 feature columns of an embeddings or t-SNE frame as an (N, D) array."""
    columns = [c for c in frame.columns if c.startswith("f") and c[1:].isdigit()]
    columns = columns or [c for c in frame.columns if c.startswith("tsne_")]
    return frame[columns].to_numpy(dtype=np.float32)
