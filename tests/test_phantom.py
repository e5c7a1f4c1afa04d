"""The chest-CT phantom: seeded, anatomically plausible, smooth within a patient."""

import numpy as np

from ctprints.phantom import WINDOWS, render_hu, render_patient, sample_anatomy, window


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


def test_same_seed_gives_identical_slices_and_other_seeds_differ() -> None:
    first = render_patient(sample_anatomy("P1", 11, 4), 4, 32)
    again = render_patient(sample_anatomy("P1", 11, 4), 4, 32)
    other = render_patient(sample_anatomy("P2", 12, 4), 4, 32)
    assert first.dtype == np.uint8 and first.shape == (4, 32, 32)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_adjacent_slices_resemble_each_other_more_than_other_patients() -> None:
    patients = [render_patient(sample_anatomy(f"P{i}", 100 + i, 6), 6, 64) for i in range(4)]
    within = np.mean([_correlation(p[k], p[k + 1]) for p in patients for k in range(5)])
    across = np.mean(
        [_correlation(patients[i][2], patients[j][2]) for i in range(4) for j in range(i + 1, 4)]
    )
    assert within > 0.9
    assert within > across + 0.03


def test_slice_has_air_lungs_soft_tissue_and_bone_in_hounsfield_units() -> None:
    hu = render_hu(sample_anatomy("P1", 3, 8), z=0.1, size=128)
    assert (hu == -1000).mean() > 0.2  # air around the body
    assert ((hu > -950) & (hu < -600)).mean() > 0.05  # lung parenchyma
    assert ((hu > 0) & (hu < 100)).mean() > 0.1  # soft tissue, heart, vessels
    assert (hu >= 250).any()  # ribs, sternum, vertebra
    # Anterior-posterior: the table is below the body, so the bottom rows hold the table.
    assert (hu[-20:] == 150).any()


def test_patients_differ_in_findings() -> None:
    counts = [len(sample_anatomy(f"P{i}", i, 8).nodules) for i in range(20)]
    assert len(set(counts)) > 3


def test_window_maps_level_to_mid_gray() -> None:
    level, width = WINDOWS["lung"]
    pixels = window(np.array([[level - width, level, level + width]], dtype=np.float32))
    assert pixels.tolist() == [[0, 128, 255]]


def test_lung_texture_is_a_continuous_3d_field() -> None:
    from ctprints.phantom import SLICE_SPACING, _texture

    anatomy = sample_anatomy("P1", 3, 8)
    coords = (np.arange(64) + 0.5) / 64 * 2 - 1
    y, x = np.meshgrid(coords, coords, indexing="ij")
    here = _texture(anatomy, x, y, 0.1)
    nudged = _texture(anatomy, x, y, 0.1 + SLICE_SPACING / 25)
    next_slice = _texture(anatomy, x, y, 0.1 + SLICE_SPACING)
    assert 0.9 < here.std() < 1.1
    assert np.std(here - nudged) < 0.1 < np.std(here - next_slice)
