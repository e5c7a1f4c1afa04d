"""Pseudo-patients recover the phantom's scans from their slices alone, without being told how
many there are."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from ctprints.embed import pixel_features
from ctprints.phantom import render_patient, sample_anatomy
from ctprints.pseudo_patients import pseudo_patients


def _scans(patients: int, slices: int, size: int, seed: int):
    images, truth = [], []
    for patient in range(patients):
        anatomy = sample_anatomy(f"p{patient}", 1000 * seed + patient, slices)
        images.append(render_patient(anatomy, slices, size))
        truth += [patient] * slices
    return np.concatenate(images), np.array(truth)


@pytest.mark.parametrize(("patients", "slices", "size"), [(16, 4, 32), (12, 8, 64)])
def test_pseudo_patients_recover_the_scans(patients, slices, size) -> None:
    images, truth = _scans(patients, slices, size, seed=0)
    order = np.random.default_rng(0).permutation(len(truth))  # slices arrive shuffled
    labels = pseudo_patients(pixel_features(images[order]))
    assert adjusted_rand_score(truth[order], labels) >= 0.8
    assert abs(len(set(labels)) - patients) <= 2


def test_few_or_identical_slices() -> None:
    assert list(pseudo_patients(np.zeros((2, 4)))) == [0, 1]
    assert len(set(pseudo_patients(np.zeros((6, 4))))) == 1  # all alike: one scan


def test_dev_pseudo_patients_never_span_used_and_not_used() -> None:
    """The used and not-used images of one group are clustered apart: even identical scans on
    both sides give pseudo-patients of one side each."""
    import pandas as pd

    from ctprints.pseudo_patients import dev_pseudo_patients

    images, truth = _scans(4, 4, 32, seed=1)
    pixels = {f"img{i}.png": image for i, image in enumerate(images)}
    names = list(pixels)
    parts = {
        role: pd.DataFrame({"image_id": [f"{role}_{n}" for n in names], "path": names})
        for role in ("used", "not_used")
    }
    patients = dev_pseudo_patients(parts, lambda paths: np.stack([pixels[p] for p in paths]))
    assert len(patients) == 2 * len(names)
    used = {patients[f"used_{n}"] for n in names}
    not_used = {patients[f"not_used_{n}"] for n in names}
    assert not used & not_used and len(used) == len(not_used) == 4
    labels = [patients[f"used_{n}"] for n in names]
    assert adjusted_rand_score(truth, labels) == 1.0
