"""Embedders: fingerprints and CNN backbones, weights handling, streaming extraction."""

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import gray, save

from ctprints.embed import (
    CNN_BACKBONES,
    EmbedderError,
    bare_backbone,
    check_state_dict,
    embed_paths,
    make_embedder,
    radial_spectrum,
)


@pytest.fixture(scope="module")
def batch() -> np.ndarray:
    return np.stack([gray(32, seed) for seed in range(6)])


@pytest.mark.parametrize(("name", "width"), [("spectrum", 96), ("residual", 47), ("pixels", 256)])
def test_fingerprint_embedders_are_deterministic_float32(name, width, batch) -> None:
    embedder = make_embedder(name)
    features = embedder(batch)
    assert features.shape == (6, width) and features.dtype == np.float32
    assert np.isfinite(features).all()
    np.testing.assert_array_equal(features, embedder(batch))


def test_spectrum_detects_a_faint_checkerboard_artefact() -> None:
    from scipy import ndimage

    noise = np.random.default_rng(0).normal(size=(4, 32, 32))
    smooth = (128 + 40 * ndimage.gaussian_filter(noise, (0, 2, 2))).astype(np.uint8)
    checker = smooth.copy()
    checker[:, ::2, ::2] += 4  # a faint transposed-convolution-like artefact
    gain = radial_spectrum(checker)[:, -2:].mean() - radial_spectrum(smooth)[:, -2:].mean()
    low = radial_spectrum(checker)[:, :8].mean() - radial_spectrum(smooth)[:, :8].mean()
    assert gain > 2.0  # orders of magnitude more power at the highest frequencies
    assert abs(low) < 0.1  # and the low frequencies are untouched


def test_unknown_embedder_lists_the_known_ones() -> None:
    with pytest.raises(EmbedderError, match="unknown embedder 'resnet9'; known: .*resnet18"):
        make_embedder("resnet9")


def test_resnet18_random_init_is_seeded_and_gives_512_features(batch) -> None:
    first = make_embedder("resnet18", seed=3, device="cpu")(batch)
    again = make_embedder("resnet18", seed=3, device="cpu")(batch)
    other = make_embedder("resnet18", seed=4, device="cpu")(batch)
    assert first.shape == (6, CNN_BACKBONES["resnet18"][2])
    np.testing.assert_allclose(first, again, rtol=1e-5, atol=1e-6)
    assert not np.allclose(first, other)


def test_weights_from_a_local_state_dict_are_used(batch, tmp_path: Path) -> None:
    import torchvision

    torch.manual_seed(123)
    reference = torchvision.models.resnet18(weights=None)
    path = tmp_path / "resnet18.pt"
    torch.save(reference.state_dict(), path)
    loaded = make_embedder("resnet18", weights=str(path), seed=0, device="cpu")
    for name, tensor in reference.state_dict().items():
        if not name.startswith("fc."):
            torch.testing.assert_close(loaded.network_.state_dict()[name], tensor)
    random = make_embedder("resnet18", seed=0, device="cpu")
    assert not np.allclose(loaded(batch), random(batch))


def test_wrong_shaped_state_dict_names_the_file_and_tensor(tmp_path: Path) -> None:
    import torchvision

    path = tmp_path / "resnet34.pt"
    torch.save(torchvision.models.resnet34(weights=None).state_dict(), path)
    with pytest.raises(EmbedderError, match=r"resnet34\.pt does not fit resnet18: .*unexpected"):
        check_state_dict("resnet18", str(path))
    bad = torchvision.models.resnet18(weights=None).state_dict()
    bad["fc.weight"] = torch.zeros(10, 512)
    torch.save(bad, path)
    with pytest.raises(EmbedderError, match=r"wrongly shaped .*fc\.weight: \(10, 512\)"):
        check_state_dict("resnet18", str(path))


def test_missing_weights_file_is_named_with_the_choices() -> None:
    with pytest.raises(EmbedderError, match="/nowhere/w.pt does not exist .*none, imagenet"):
        check_state_dict("resnet18", "/nowhere/w.pt")


def test_garbage_weights_file_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "garbage.pt"
    path.write_bytes(b"not a torch file at all")
    with pytest.raises(EmbedderError, match="garbage.pt is not a readable state dict") as error:
        check_state_dict("resnet18", str(path))
    assert "\n" not in str(error.value)


def test_inception_with_imagenet_weights_uses_its_own_input_scaling(monkeypatch) -> None:
    import torchvision
    import torchvision.models._api

    reference = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True)
    monkeypatch.setattr(
        torchvision.models._api.WeightsEnum,
        "get_state_dict",
        lambda self, *args, **kwargs: reference.state_dict(),
    )
    embedder = make_embedder("inception_v3", weights="imagenet", device="cpu")
    assert embedder.network_.transform_input is True
    assert make_embedder("inception_v3", device="cpu").network_.transform_input is False


def test_imagenet_offline_gives_a_clear_message(monkeypatch, tmp_path: Path) -> None:
    from urllib.error import URLError

    def offline(*args, **kwargs):
        raise URLError("no network")

    import torchvision.models._api

    # torchvision binds the download function at import time, so patch it where it is used.
    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", offline)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(EmbedderError, match="ImageNet weights are not in torchvision's cache"):
        make_embedder("resnet18", weights="imagenet", device="cpu")


def test_streaming_extraction_matches_in_memory_and_keeps_order(tmp_path: Path) -> None:
    paths = [str(save(tmp_path / f"img_{i:03d}.png", gray(32, i))) for i in range(13)]
    images = np.stack([gray(32, i) for i in range(13)])
    embedder = make_embedder("spectrum")
    streamed = embed_paths(paths, embedder, batch_size=4, workers=0, progress=False)
    with_workers = embed_paths(paths, embedder, batch_size=5, workers=2, progress=False)
    np.testing.assert_array_equal(streamed, embedder(images))
    np.testing.assert_array_equal(with_workers, streamed)


@pytest.mark.parametrize("name", sorted(CNN_BACKBONES))
def test_every_backbone_gives_pooled_features_of_its_documented_width(name) -> None:
    embedder = make_embedder(name, seed=0, device="cpu")
    images = np.stack([gray(40, 1), gray(40, 2)])
    features = embedder(images)
    assert features.shape == (2, CNN_BACKBONES[name][2])
    assert np.isfinite(features).all()
    assert embedder.size_ == (299 if name == "inception_v3" else 224)


def test_a_bare_backbone_is_randomly_initialised_and_never_downloads(monkeypatch) -> None:
    import torch

    monkeypatch.setenv("TORCH_HOME", "/nonexistent")  # a download would fail here
    torch.manual_seed(0)
    first = bare_backbone("resnet18")
    torch.manual_seed(1)
    second = bare_backbone("resnet18")
    assert type(first).__name__ == "ResNet"
    assert not torch.equal(first.conv1.weight, second.conv1.weight)
