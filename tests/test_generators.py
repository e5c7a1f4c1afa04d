"""Generator families: real torch models that train, sample deterministically and reload."""

import numpy as np
import pytest

from ctprints.generators import FAMILIES, GenerativeModel, make_model


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    from ctprints.phantom import render_patient, sample_anatomy

    return np.concatenate([render_patient(sample_anatomy(f"P{i}", i, 4), 4, 32) for i in range(3)])


def test_registry_has_four_families_three_of_them_neural() -> None:
    assert {"upconv_gan", "resize_gan", "vae", "ddpm"} <= set(FAMILIES)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_is_a_neural_network_with_trainable_weights(family, images) -> None:
    model = make_model(family, image_size=32, steps=1, batch_size=8, seed=0, device="cpu")
    model.fit(images, progress=False)
    trainable = sum(
        p.numel() for m in model._modules().values() for p in m.parameters() if p.requires_grad
    )
    assert trainable > 10_000


def test_vae_samples_from_the_gaussian_fitted_to_training_codes(images) -> None:
    import torch

    model = make_model("vae", image_size=32, steps=20, batch_size=8, seed=0, device="cpu")
    model.fit(images, progress=False)
    with torch.no_grad():
        codes = model.encoder_(torch.from_numpy(images / 127.5 - 1).float()[:, None])[0]
    torch.testing.assert_close(model.code_mean_, codes.mean(0), rtol=1e-4, atol=1e-4)
    covariance = model.code_chol_ @ model.code_chol_.T
    torch.testing.assert_close(
        covariance, torch.cov(codes.T) + 1e-4 * torch.eye(32), rtol=1e-3, atol=1e-3
    )


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_trains_and_samples_deterministically(family, images, tmp_path) -> None:
    model = make_model(family, image_size=32, steps=4, batch_size=8, seed=1, device="cpu")
    model.fit(images, progress=False)
    assert len(model.history_) == 4
    first = model.sample(5, seed=7)
    assert first.shape == (5, 32, 32) and first.dtype == np.uint8
    np.testing.assert_array_equal(first, model.sample(5, seed=7))
    assert not np.array_equal(first, model.sample(5, seed=8))
    model.save(tmp_path / "model.pt")
    reloaded = GenerativeModel.load(tmp_path / "model.pt", device="cpu")
    np.testing.assert_array_equal(first, reloaded.sample(5, seed=7))


def test_training_changes_the_weights(images) -> None:
    import torch

    model = make_model("upconv_gan", image_size=32, steps=1, batch_size=8, seed=0, device="cpu")
    model.fit(images, progress=False)
    before = [p.detach().clone() for p in model.generator_.parameters()]
    model.steps = 5
    model.fit(images, progress=False)  # refits from the same seed, five steps this time
    after = list(model.generator_.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))


def test_unknown_family_is_named() -> None:
    with pytest.raises(ValueError, match="unknown generator family 'stylegan9'"):
        make_model("stylegan9")


def test_wrong_image_size_is_an_error(images) -> None:
    with pytest.raises(ValueError, match="expected 64"):
        make_model("vae", image_size=64, steps=1).fit(images, progress=False)


def test_demo_planner_knows_exactly_the_registered_families() -> None:
    from ctprints.demo.scenarios import GENERATOR_FAMILIES

    assert set(GENERATOR_FAMILIES) == set(FAMILIES)
