"""Task 1 attacks: each finds planted membership; the registry and the attacks' settings."""

import numpy as np
import pytest
from conftest import memorised_population

from ctprints.attacks import (
    ATTACKS,
    MembershipError,
    Reference,
    SsimMax,
    attack_settings,
    available_attacks,
    make_attack,
    ssim,
)


def _images(features: np.ndarray, seed: int, size: int = 16) -> np.ndarray:
    """Images whose content follows the features, so that SSIM sees what the features see."""
    basis = np.random.default_rng(seed).normal(size=(features.shape[1], size * size))
    pixels = 128 + 25 * features @ basis / np.sqrt(features.shape[1])
    return np.clip(pixels, 0, 255).astype(np.uint8).reshape(-1, size, size)


@pytest.mark.parametrize(
    ("name", "settings", "floor"),
    [
        ("gan_leaks", {}, 0.95),
        ("gan_leaks_cal", {}, 0.85),
        ("monte_carlo", {}, 0.85),
        ("domias", {"components": 8}, 0.75),  # KDE is the weakest in 8-D, as expected
    ],
)
def test_feature_attacks_find_memorised_images(name, settings, floor) -> None:
    from sklearn.metrics import roc_auc_score

    used, not_used, synthetic = memorised_population()
    reference = Reference(synthetic, not_used[:30], used[:30])
    attack = make_attack(name, settings).fit(reference)
    held_out = np.vstack([used[30:], not_used[30:]])
    labels = np.r_[np.ones(30), np.zeros(30)]
    assert roc_auc_score(labels, attack.score(held_out)) > floor


def test_ssim_max_finds_memorised_images_and_the_prefilter_agrees_with_brute_force() -> None:
    used, not_used, synthetic = memorised_population(dims=6)
    images = _images(np.vstack([used, not_used, synthetic]), seed=1)
    used_img, not_img, synthetic_img = images[:60], images[60:120], images[120:]
    reference = Reference(synthetic, not_used, used, synthetic_images=synthetic_img)
    queries = np.vstack([used, not_used])
    query_images = np.concatenate([used_img, not_img])
    fast = SsimMax(candidates=20).fit(reference).score(queries, query_images)
    exact = SsimMax(candidates=None).fit(reference).score(queries, query_images)
    from sklearn.metrics import roc_auc_score

    labels = np.r_[np.ones(60), np.zeros(60)]
    assert roc_auc_score(labels, exact) > 0.85
    assert np.mean(np.isclose(fast, exact)) > 0.9  # the nearest 20 hold the best match
    assert (fast <= exact + 1e-12).all()


def test_ssim_matches_known_values() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (32, 32), dtype=np.uint8)
    assert ssim(image, image[None])[0] == pytest.approx(1.0)
    noisy = np.clip(image + rng.normal(0, 40, image.shape), 0, 255).astype(np.uint8)
    value = ssim(image, np.stack([noisy, 255 - image]))
    assert 0 < value[0] < 0.9 and value[1] < 0


def test_ssim_max_rejects_size_mismatch() -> None:
    used, not_used, synthetic = memorised_population(dims=4)
    reference = Reference(synthetic, not_used, used, _images(synthetic, 0, size=16))
    attack = SsimMax().fit(reference)
    with pytest.raises(MembershipError, match="query images are 8x8 but the synthetic images "):
        attack.score(used[:2], _images(used[:2], 0, size=8))


def test_unknown_attack_lists_the_known_ones() -> None:
    with pytest.raises(MembershipError, match="unknown attack 'logan'; known: domias, gan_leaks"):
        make_attack("logan")
    assert set(available_attacks()) == {*ATTACKS, "meta"}


def test_attack_settings_are_the_configurable_attacks_config_sections() -> None:
    config = {"folds": 5, "domias": {"components": 3}, "ssim_max": {"candidates": 7}}
    settings = attack_settings(config, ["ssim_max", "gan_leaks", "domias", "meta"])
    assert settings == {"domias": {"components": 3}, "ssim_max": {"candidates": 7}}
    assert list(settings) == ["domias", "ssim_max"]  # registry order, whatever the listed order
    settings["domias"]["components"] = 4  # plain copies: the config is left alone
    assert config["domias"] == {"components": 3}
    assert attack_settings(config, ["gan_leaks", "meta"]) == {}
    assert {name for name, cls in ATTACKS.items() if cls.configurable} == {"domias", "ssim_max"}
    # Each configurable attack takes its section's keys as keyword settings.
    assert isinstance(make_attack("ssim_max", settings["ssim_max"]), SsimMax)
