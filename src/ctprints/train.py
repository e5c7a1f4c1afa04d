"""Task 2, the paper's network path: fastai ResNets, pseudo-labels, retraining and an ensemble.

Round 0 trains one classifier per architecture on the training folders (known generators only)
and predicts the test images. The test images it is least sure about, or those part 1 names as
the unseen generator, become an extra class; round 1 retrains with it. The ensemble averages the
architectures' probabilities.

Only learners this workflow exported are ever unpickled (:func:`load_trusted_learner`).
"""

from __future__ import annotations

import logging
import math
import os
import random
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ctprints.errors import TrainError

# pandas is imported where used: ctprints.checks imports this module while snakemake parses
# the Snakefile.
if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("ctprints")

ARCHS = ("resnet18", "resnet34", "resnet50")
PSEUDO_SOURCES = ("weakest", "openset", "none")
RECIPES = ("fine_tune", "one_cycle")
PROBABILITY_PREFIX = "p_"


# ----------------------------------------------------------------------------- settings


def check_size(size, key: str = "task2.train.size") -> int:
    """The network input size: a positive multiple of 32 (ResNets downsample by 32)."""
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0 or size % 32:
        raise TrainError(f"{key}: {size!r} is not a positive multiple of 32 (e.g. 64, 224, 256)")
    return size


def default_size(image_size: int) -> int:
    """The input size when none is configured: the image size, rounded up to a multiple of 32."""
    return max(32, math.ceil(image_size / 32) * 32)


def check_arch(arch: str, key: str = "task2.train.archs") -> str:
    if arch not in ARCHS:
        raise TrainError(f"{key}: unknown architecture {arch!r}; known: {', '.join(ARCHS)}")
    return arch


def pseudo_count(n: int | None, fraction: float, test_size: int, key: str) -> int:
    """How many test images the `weakest` source labels: ``n``, or ``fraction`` of the test set.

    Raises :class:`TrainError` for 0 (pseudo-labelling is on, so it must label something) and for
    more images than the test set holds.
    """
    count = n if n is not None else math.ceil(fraction * test_size)
    what = f"{key}.n: {n}" if n is not None else f"{key}.fraction: {fraction} of {test_size}"
    if count < 1:
        raise TrainError(
            f"{what} gives {count} images, but pseudo-labelling is on; label at least one image "
            f"or set {key}.source: none"
        )
    if count > test_size:
        raise TrainError(f"{what} is more than the {test_size} test images")
    return count


# ----------------------------------------------------------------------------- data


def task2_images(manifest: pd.DataFrame) -> pd.DataFrame:
    """Task 2 images of a manifest: key, image_id, path, split, label (None for test images)."""
    rows = manifest[(manifest["task"] == "task2") & (manifest["role"] == "generated")]
    rows = rows[["key", "image_id", "path", "split", "label"]].reset_index(drop=True)
    rows["label"] = rows["label"].where(rows["split"] == "train", None)
    return rows


def with_pseudo_labels(images: pd.DataFrame, pseudo: pd.DataFrame) -> pd.DataFrame:
    """Training rows of round 1: the training images plus the pseudo-labelled test images."""
    import pandas as pd

    test = images[images["split"] == "test"].set_index("key")
    unknown = sorted(set(pseudo["key"]) - set(test.index))
    if unknown:
        raise TrainError(
            f"pseudo-labels name {len(unknown)} keys that are not task 2 test images, "
            f"e.g. {unknown[0]}"
        )
    extra = test.loc[list(pseudo["key"])].reset_index()
    extra["label"] = list(pseudo["label"])
    extra["split"] = "train"
    return pd.concat([images[images["split"] == "train"], extra], ignore_index=True)


def validation_index(labels: Sequence[str], valid_pct: float, seed: int) -> list[int]:
    """A seeded, stratified held-out split: the same images every run with the same seed."""
    import pandas as pd
    from sklearn.model_selection import train_test_split

    labels = list(labels)
    counts = pd.Series(labels).value_counts()
    if (counts < 2).any():
        raise TrainError(
            f"label {counts.idxmin()!r} has {counts.min()} training image; each label needs "
            "at least 2 (one to train on, one to validate)"
        )
    n_valid = max(int(round(valid_pct * len(labels))), len(counts))
    _, valid = train_test_split(
        np.arange(len(labels)), test_size=n_valid, stratify=labels, random_state=seed
    )
    return sorted(int(i) for i in valid)


def _read_rgb(path):
    """An image as the 3-channel PIL image fastai's ResNets take (grayscale repeated)."""
    from PIL import Image

    from ctprints.io import read_image

    return Image.fromarray(read_image(path)).convert("RGB")


def _get_x(row):
    from fastai.vision.core import PILImage

    return PILImage(_read_rgb(row["path"]))


def _get_y(row):
    return row["label"]


def resolve_device(device: str):
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise TrainError(f"task2.train.device: {device!r}, but torch sees no CUDA device")
    return torch.device(device)


def dataloaders(
    train: pd.DataFrame,
    size: int,
    batch_size: int,
    valid_pct: float,
    seed: int,
    device,
    num_workers: int = 0,
):
    """fastai DataLoaders over the training rows, with the seeded held-out validation split."""
    from fastai.data.block import CategoryBlock, DataBlock
    from fastai.data.transforms import IndexSplitter, Normalize
    from fastai.vision.augment import Resize, ResizeMethod
    from fastai.vision.core import imagenet_stats
    from fastai.vision.data import ImageBlock

    train = train.reset_index(drop=True)
    block = DataBlock(
        blocks=(ImageBlock, CategoryBlock(vocab=sorted(set(train["label"])))),
        get_x=_get_x,
        get_y=_get_y,
        splitter=IndexSplitter(validation_index(train["label"], valid_pct, seed)),
        # No flips or crops: they would move the very pixel-grid artefacts being learnt. At the
        # images' own size the resize is a no-op.
        item_tfms=Resize(size, method=ResizeMethod.Squish),
        batch_tfms=Normalize.from_stats(*imagenet_stats),
    )
    return block.dataloaders(train, bs=batch_size, num_workers=num_workers, device=device)


# ----------------------------------------------------------------------------- training


def _load_body(learn, arch: str, weights: str) -> None:
    """Load ImageNet or state-dict weights into the learner's ResNet body (not the new head)."""
    from torch import nn

    from ctprints.embed import EmbedderError, bare_backbone, load_weights

    if weights == "none":
        return
    model = bare_backbone(arch)
    try:
        load_weights(model, arch, weights)
    except EmbedderError as error:
        raise TrainError(f"task2.train.weights.{error}") from None
    # fastai's body is the torchvision ResNet without its pooling and classifier (cut -2).
    learn.model[0].load_state_dict(nn.Sequential(*list(model.children())[:-2]).state_dict())


def _epoch_logger():
    from fastai.callback.core import Callback
    from fastai.learner import Recorder

    class EpochLog(Callback):
        """Every epoch's losses and accuracy, with the phase (frozen head / whole network)."""

        order = Recorder.order + 1

        def __init__(self):
            self.rows = []

        def after_epoch(self):
            names = self.recorder.metric_names
            values = dict(zip(names, self.recorder.log, strict=False))
            phase = "frozen" if getattr(self.learn.opt, "frozen_idx", 0) > 0 else "whole"
            row = {
                "epoch": len(self.rows),
                "phase": phase,
                "train_loss": float(values["train_loss"]),
                "valid_loss": float(values["valid_loss"]),
                "accuracy": float(values["accuracy"]),
            }
            self.rows.append(row)
            log.info(
                "epoch %d (%s): train_loss %.4f valid_loss %.4f accuracy %.4f",
                row["epoch"],
                phase,
                row["train_loss"],
                row["valid_loss"],
                row["accuracy"],
            )

    return EpochLog()


def train_learner(
    train: pd.DataFrame,
    arch: str,
    size: int,
    epochs: int,
    lr: float,
    weights: str = "none",
    batch_size: int = 64,
    valid_pct: float = 0.2,
    seed: int = 0,
    device: str = "auto",
    threads: int = 1,
    recipe: str = "fine_tune",
):
    """Train one classifier; returns (learner, per-epoch metrics).

    ``fine_tune`` is the paper's recipe, ``fine_tune(epochs)``: one epoch on the new head with the
    body frozen, then ``epochs`` on the whole network with discriminative learning rates.
    ``one_cycle`` is ``fit_one_cycle(epochs, lr)`` on the whole network, the textbook choice for
    a randomly initialised body; on the demo both do equally well (benchmarks/RESULTS.md).
    """
    import fastai.callback.fp16  # noqa: F401 - patches Learner.to_fp16 / to_fp32
    import fastai.callback.schedule  # noqa: F401 - patches Learner.fit_one_cycle / fine_tune
    import pandas as pd
    import torch
    from fastai.metrics import accuracy
    from fastai.torch_core import set_seed
    from fastai.vision import models
    from fastai.vision.learner import vision_learner

    check_arch(arch)
    check_size(size)
    if epochs < 1:
        raise TrainError(f"task2.train.epochs: {epochs}; at least 1")
    if recipe not in RECIPES:
        raise TrainError(f"task2.train.recipe: {recipe!r}; one of {', '.join(RECIPES)}")
    torch.set_num_threads(max(1, threads))
    set_seed(seed, reproducible=True)
    target = resolve_device(device)
    workers = min(threads, 8) if target.type == "cuda" else 0
    dls = dataloaders(train, size, batch_size, valid_pct, seed, target, workers)
    epoch_log = _epoch_logger()
    learn = vision_learner(
        dls,
        getattr(models, arch),
        pretrained=False,
        normalize=False,
        metrics=accuracy,
        cbs=[epoch_log],
    )
    _load_body(learn, arch, weights)
    if target.type == "cuda":
        learn = learn.to_fp16()  # mixed precision on the GPU
    log.info(
        "%s at %d px on %s: %d training and %d validation images, classes %s, weights %s, %s",
        arch,
        size,
        target,
        len(dls.train_ds),
        len(dls.valid_ds),
        list(dls.vocab),
        weights,
        recipe,
    )
    if recipe == "one_cycle":
        learn.fit_one_cycle(epochs, lr)
    else:
        learn.fine_tune(epochs, base_lr=lr)
    learn.remove_cb(epoch_log)
    if target.type == "cuda":
        learn = learn.to_fp32()
    return learn, pd.DataFrame(epoch_log.rows)


def export_learner(learn, path: str | os.PathLike) -> None:
    """Export for inference (no training items, no optimiser state), byte-reproducibly.

    fastai pickles the whole learner, including its folder (``learn.path``, absolute), its
    Recorder's wall-clock state (the last epoch's start time and formatted duration) and the
    shuffling RNG of the empty DataLoaders it makes for the export, drawn from Python's global
    ``random``. For the export the first two are set to neutral values and ``random`` is seeded
    with 0; all three are restored after. So the same learner gives the same bytes wherever and
    however often it is exported, and two identical trainings give identical files. torch's zip
    entries carry a fixed date (1980), its serialization id is a hash of the record names and
    contents, and the archive's inner folder is named after the file (``export/``).
    """
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    recorder = getattr(learn, "recorder", None)
    volatile = [name for name in ("start_epoch", "log") if hasattr(recorder, name)]
    saved = {name: getattr(recorder, name) for name in volatile}
    folder, learn.path = learn.path, Path(".")  # export joins it with the absolute path: a no-op
    if "start_epoch" in saved:
        recorder.start_epoch = 0.0
    if "log" in saved:
        names = list(getattr(recorder, "metric_names", []))
        timed = [i < len(names) and names[i] == "time" for i in range(len(recorder.log))]
        recorder.log = type(recorder.log)(
            "" if time else value for time, value in zip(timed, recorder.log, strict=True)
        )
    state = random.getstate()
    random.seed(0)
    try:
        learn.export(path)
    finally:
        random.setstate(state)
        learn.path = folder
        for name, value in saved.items():
            setattr(recorder, name, value)


def load_trusted_learner(
    path: str | os.PathLike, root: str | os.PathLike = "results", device: str = "cpu"
):
    """Load an exported learner, refusing any file outside ``root``.

    ``load_learner`` unpickles, and unpickling runs code, so only files this workflow wrote under
    its ``results/`` folder are loaded; never a learner downloaded or handed over.
    """
    from fastai.learner import load_learner

    path, root = Path(path).resolve(), Path(root).resolve()
    if not path.is_relative_to(root):
        raise TrainError(
            f"{path}: refusing to load a learner from outside {root}; only learners this "
            "workflow exported are unpickled"
        )
    return load_learner(path, cpu=str(device) == "cpu")


def predict(learn, images: pd.DataFrame, batch_size: int = 64) -> pd.DataFrame:
    """Class probabilities and the argmax label for ``images`` (key, image_id, path rows)."""
    import torch

    images = images.reset_index(drop=True)
    dl = learn.dls.test_dl(images, bs=batch_size, num_workers=0)
    with torch.inference_mode():
        probabilities, _ = learn.get_preds(dl=dl)
    return prediction_frame(images, list(learn.dls.vocab), probabilities.float().numpy())


def prediction_frame(images: pd.DataFrame, classes: Sequence[str], probabilities) -> pd.DataFrame:
    probabilities = np.asarray(probabilities, dtype=np.float64)
    frame = images[["key", "image_id"]].reset_index(drop=True).copy()
    frame["split"] = "test"
    frame["label"] = [classes[i] for i in probabilities.argmax(axis=1)]
    for j, name in enumerate(classes):
        frame[f"{PROBABILITY_PREFIX}{name}"] = probabilities[:, j]
    return frame


def probability_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith(PROBABILITY_PREFIX)]


# ----------------------------------------------------------------------------- pseudo-labels


def weakest(predictions: pd.DataFrame, count: int, label: str) -> pd.DataFrame:
    """The ``count`` test images with the lowest maximum probability, labelled ``label``.

    Ties are broken by key, so the choice does not depend on row order.
    """
    import pandas as pd

    confidence = predictions[probability_columns(predictions)].max(axis=1)
    chosen = predictions.assign(confidence=confidence).sort_values(["confidence", "key"])
    chosen = chosen.head(count)
    return pd.DataFrame(
        {
            "key": chosen["key"],
            "image_id": chosen["image_id"],
            "label": label,
            "confidence": chosen["confidence"],
        }
    ).reset_index(drop=True)


def from_clusters(clusters: pd.DataFrame, known: Sequence[str]) -> pd.DataFrame:
    """Test images part 1 gave a label with no training folder (openset rejections or clusters)."""
    import pandas as pd

    test = clusters[(clusters["split"] == "test") & ~clusters["label"].isin(list(known))]
    if test.empty:
        raise TrainError(
            "task2.train.pseudo.source: openset: part 1's run gave no test image a new label, "
            "so there is nothing to pseudo-label; use source: weakest"
        )
    return pd.DataFrame(
        {
            "key": test["key"],
            "image_id": test["image_id"],
            "label": test["label"],
            "confidence": np.nan,
        }
    ).reset_index(drop=True)


# ----------------------------------------------------------------------------- ensemble


def ensemble(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Mean class probabilities over models that predicted the same images and classes."""
    first = frames[0]
    columns = probability_columns(first)
    for frame in frames[1:]:
        if list(frame["key"]) != list(first["key"]) or probability_columns(frame) != columns:
            raise TrainError("ensemble members disagree on the test images or the classes")
    mean = np.mean([frame[columns].to_numpy() for frame in frames], axis=0)
    classes = [c[len(PROBABILITY_PREFIX) :] for c in columns]
    return prediction_frame(first, classes, mean)
