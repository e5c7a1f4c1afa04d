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
