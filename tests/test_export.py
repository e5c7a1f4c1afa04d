"""The exported learner is byte-reproducible: the same training gives the same export.pkl
wherever and however often it is written, and the export still loads as a trusted learner."""

import random

import numpy as np
import pandas as pd
import pytest
from conftest import save

from ctprints.train import export_learner, load_trusted_learner, predict, train_learner


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> pd.DataFrame:
    """18 training images of 3 'generators' and 3 test images, 32 px."""
    root = tmp_path_factory.mktemp("export")
    rows = []
    for kind in range(3):
        for i in range(7):
            rng = np.random.default_rng(100 * kind + i)
            pixels = np.clip(100 + 30 * rng.standard_normal((32, 32)) + 20 * kind, 0, 255)
            split = "test" if i == 6 else "train"
            path = save(root / f"model_{kind + 1}" / f"m{kind}_{i}.png", pixels.astype(np.uint8))
            label = f"model_{kind + 1}" if split == "train" else None
            rows.append((f"task2/m{kind}_{i}", f"m{kind}_{i}", str(path), split, label))
    return pd.DataFrame(rows, columns=["key", "image_id", "path", "split", "label"])


def _train(images):
    train = images[images.split == "train"]
    learn, _ = train_learner(
        train, "resnet18", 32, epochs=1, lr=1e-3, batch_size=8, seed=0, device="cpu", threads=1
    )
    return learn


def test_export_is_byte_identical_across_paths_exports_and_trainings(images, tmp_path) -> None:
    learn = _train(images)
    folder = learn.path
    first = tmp_path / "results" / "a" / "round0" / "export.pkl"
    second = tmp_path / "results" / "somewhere" / "much" / "deeper" / "export.pkl"
    export_learner(learn, first)
    export_learner(learn, second)
    assert first.read_bytes() == second.read_bytes()
    assert learn.path == folder  # restored: the learner itself is unchanged
    # A second identical training, whose epochs took a different time, exports the same bytes.
    again = _train(images)
    again.recorder.log[-1] = "59:59"  # the epoch's duration, "mm:ss"
    third = tmp_path / "results" / "b" / "export.pkl"
    export_learner(again, third)
    assert third.read_bytes() == first.read_bytes()
    assert again.recorder.log[-1] == "59:59"  # restored after the export
    # It still loads through the trusted loader and predicts as the learner in memory does.
    loaded = load_trusted_learner(second, root=tmp_path / "results")
    test = images[images.split == "test"]
    pd.testing.assert_frame_equal(predict(learn, test), predict(loaded, test), atol=1e-5)


def test_export_leaves_pythons_random_state_as_it_was(images, tmp_path) -> None:
    learn = _train(images)
    random.seed(7)
    expected = random.random()
    random.seed(7)
    export_learner(learn, tmp_path / "results" / "export.pkl")
    assert random.random() == expected
