"""Task 1's honest evaluation of the membership attacks (:mod:`ctprints.attacks`).

- :func:`cross_fitted_scores`: out-of-fold scores for labelled (dev) images, the held-out fold
  never part of the reference set the attack is fitted on, and the unlabelled test images
  scored by every fold's attack, averaged, so that both are on one scale. :func:`folds` keeps
  each patient's slices in one fold where patients are known.
- :func:`group_scores`: every attack on one task 1 group (its manifest rows checked by
  :func:`group_rows`, its dev patients read by :func:`read_patients`): dev (out-of-fold), test,
  and the member-vs-member control (the used images split into two halves, both members: an
  attack that separates them measures something other than membership).
- Hard labels from those scores, and the choice of the submitted run, are in
  :mod:`ctprints.labelling`.
- :func:`ctprints.evaluation.evaluation_table` scores them and the run files against the ground
  truth, resampling the units :func:`group_scores` records (patients, or pseudo-patients of the
  test images where the patients file does not list them).

The paper's AutoGluon approach is :mod:`ctprints.paper`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ctprints.attacks import STACKED, MembershipError, Reference, make_attack

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- honest scoring


def folds(
    labels: Sequence[int], k: int, seed: int, patient_ids: Sequence | None = None
) -> np.ndarray:
    """Fold number per row: seeded, stratified by label, and with each patient's rows in one
    fold when patient_ids are given. Used and not-used rows (or patients) are dealt round-robin
    separately, so every fold's complement holds both classes."""
    labels = np.asarray(labels)
    units = (
        np.arange(len(labels)).astype(str) if patient_ids is None else np.asarray(patient_ids, str)
    )
    rng = np.random.default_rng(seed)
    fold_of: dict[str, int] = {}
    for value in np.unique(labels):
        names = rng.permutation(np.unique(units[labels == value]))
        fold_of |= {name: i % k for i, name in enumerate(names)}
    return np.array([fold_of[unit] for unit in units])


def _n_folds(labelled: Labelled, requested: int) -> int:
    """As many folds as asked, but no more than the used or not-used images (or patients)."""
    units = labelled.patient_ids if labelled.patient_ids is not None else np.arange(len(labelled.y))
    counts = [len(np.unique(np.asarray(units)[labelled.y == value])) for value in (0, 1)]
    return min(requested, *counts)


@dataclass
class Labelled:
    """Labelled real images of one group: features (N, D), labels (1 used, 0 not used), pixels."""

    X: np.ndarray
    y: np.ndarray
    images: np.ndarray | None = None
    patient_ids: np.ndarray | None = None


@dataclass
class CrossFit:
    """Cross-fitted scores: ``dev`` out of fold for every labelled image, ``queries`` the mean
    over folds of each fold's attack on the unlabelled queries (the test images), and ``fold``,
    the fold of each labelled image.

    Each query score averages attacks fitted exactly as the one that scored a held-out dev
    image, so a threshold chosen on the dev scores applies to the query scores. An attack refit
    on every labelled image (:func:`final_scores`) has larger reference sets, and its scores sit
    on another scale."""

    dev: dict[str, np.ndarray]
    queries: dict[str, np.ndarray]
    fold: np.ndarray


def cross_fitted_scores(
    names: Sequence[str],
    labelled: Labelled,
    synthetic: np.ndarray,
    synthetic_images: np.ndarray | None = None,
    n_folds: int = 5,
    seed: int = 0,
    settings: dict | None = None,
    queries: np.ndarray | None = None,
    query_images: np.ndarray | None = None,
    make: Callable = make_attack,
) -> CrossFit:
    """Out-of-fold scores of every attack for every labelled image, and cross-fitted scores
    for the ``queries``.

    In each fold the attack is fitted with the other folds' used and not-used images as its
    reference, and scores the held-out fold, which it has never seen, and the queries.
    ``meta`` is stacked on the other attacks' out-of-fold scores with the same folds: fold k's
    model is trained on the other folds' rows and scores fold k's rows and fold k's base scores
    of the queries. ``make(name, settings)`` builds an attack
    (:func:`ctprints.attacks.make_attack`).
    """
    settings = settings or {}
    n_folds = _n_folds(labelled, n_folds)
    if n_folds < 2:
        unit = "images" if labelled.patient_ids is None else "patients"
        raise MembershipError(f"cross-validation needs at least 2 used and 2 not-used {unit}")
    fold = folds(labelled.y, n_folds, seed, labelled.patient_ids)
    base = [name for name in names if name not in STACKED]
    n_queries = 0 if queries is None else len(queries)
    scores = {name: np.full(len(labelled.y), np.nan) for name in base}
    per_fold = {name: np.full((n_folds, n_queries), np.nan) for name in base}
    for k in range(n_folds):
        train, test = fold != k, fold == k
        y_train = labelled.y[train]
        reference = Reference(
            synthetic=synthetic,
            not_used=labelled.X[train][y_train == 0],
            used=labelled.X[train][y_train == 1],
            synthetic_images=synthetic_images,
        )
        held_out_images = None if labelled.images is None else labelled.images[test]
        for name in base:
            attack = make(name, settings.get(name)).fit(reference)
            scores[name][test] = attack.score(labelled.X[test], held_out_images)
            if n_queries:
                per_fold[name][k] = attack.score(queries, query_images)
    if "meta" in names:
        stacked = np.column_stack([scores[name] for name in base])
        meta = np.full(len(labelled.y), np.nan)
        per_fold["meta"] = np.full((n_folds, n_queries), np.nan)
        for k in range(n_folds):
            train, test = fold != k, fold == k
            model = make_attack("meta", settings.get("meta")).fit(stacked[train], labelled.y[train])
            meta[test] = model.score(stacked[test])
            if n_queries:
                per_fold["meta"][k] = model.score(
                    np.column_stack([per_fold[name][k] for name in base])
                )
        scores["meta"] = meta
    averaged = {name: values.mean(axis=0) for name, values in per_fold.items()}
    return CrossFit(scores, averaged, fold)


def cross_validated_scores(
    names: Sequence[str],
    labelled: Labelled,
    synthetic: np.ndarray,
    synthetic_images: np.ndarray | None = None,
    n_folds: int = 5,
    seed: int = 0,
    settings: dict | None = None,
) -> dict[str, np.ndarray]:
    """Out-of-fold scores of every attack for every labelled image (:func:`cross_fitted_scores`
    without queries)."""
    return cross_fitted_scores(
        names, labelled, synthetic, synthetic_images, n_folds, seed, settings
    ).dev


def final_scores(
    names: Sequence[str],
    labelled: Labelled,
    synthetic: np.ndarray,
    queries: np.ndarray,
    query_images: np.ndarray | None = None,
    synthetic_images: np.ndarray | None = None,
    labelled_scores: dict[str, np.ndarray] | None = None,
    settings: dict | None = None,
) -> dict[str, np.ndarray]:
    """Scores of unlabelled queries from attacks refit on all labelled images, ``meta`` trained
    on ``labelled_scores`` (the out-of-fold scores).

    These rank the queries as well as the cross-fitted scores, but on another scale: the refit
    attack's reference sets are larger. The workflow labels test images from
    :func:`cross_fitted_scores`; ``benchmarks/bench_task1_labels.py`` compares the two.
    """
    settings = settings or {}
    reference = Reference(
        synthetic=synthetic,
        not_used=labelled.X[labelled.y == 0],
        used=labelled.X[labelled.y == 1],
        synthetic_images=synthetic_images,
    )
    base = [name for name in names if name not in STACKED]
    scores = {
        name: make_attack(name, settings.get(name)).fit(reference).score(queries, query_images)
        for name in base
    }
    if "meta" in names:
        if labelled_scores is None:
            raise MembershipError("meta needs the labelled images' out-of-fold scores")
        train = np.column_stack([labelled_scores[name] for name in base])
        model = make_attack("meta", settings.get("meta")).fit(train, labelled.y)
        scores["meta"] = model.score(np.column_stack([scores[name] for name in base]))
    return scores


# ----------------------------------------------------------------------------- one task 1 group


def group_rows(manifest, group: str, dataset: str = "dataset", require_test: bool = True):
    """The task 1 rows of one group by role, checked: used, not-used and test real images exist,
    and synthetic and real images have one size.

    Returns a dict role -> DataFrame (``generated`` holds dev and test synthetic images).
    With ``require_test=False`` (the membership audit, which needs only the dev folders) a group
    without test real images is allowed, and its dict then has no ``test`` key.
    """
    rows = manifest[(manifest["task"] == "task1") & (manifest["group"] == group)]
    key = f"datasets.{dataset}.task1.{group}"
    parts = {
        "generated": rows[rows["role"] == "generated"],
        "used": rows[rows["role"] == "used"],
        "not_used": rows[rows["role"] == "not_used"],
        "test": rows[rows["role"] == "real_unknown"],
    }
    if not require_test and parts["test"].empty:
        del parts["test"]
    names = {"generated": "synthetic", "used": "used", "not_used": "not-used", "test": "test real"}
    needed = (
        "synthetic, used, not-used and test real"
        if require_test
        else "synthetic, used and not-used"
    )
    for role, part in parts.items():
        if part.empty:
            raise MembershipError(
                f"{key}: no {names[role]} images; task 1 needs {needed} images for every group"
            )
    sizes = {
        role: sorted({(int(w), int(h)) for w, h in zip(part["width"], part["height"], strict=True)})
        for role, part in parts.items()
    }
    if len({size for values in sizes.values() for size in values}) > 1:
        folders = {
            role: sorted({str(p.rsplit("/", 1)[0]) for p in part["path"]})
            for role, part in parts.items()
        }
        detail = "; ".join(
            f"{names[role]} {', '.join(f'{w}x{h}' for w, h in sizes[role])} "
            f"({', '.join(folders[role])})"
            for role in parts
        )
        raise MembershipError(
            f"{key}: synthetic and real images must have one size, found {detail}"
        )
    return parts


def part_features(features, part) -> np.ndarray:
    """The (N, D) feature rows of a manifest part, from an embeddings frame indexed by key."""
    from ctprints.embed import feature_matrix

    return feature_matrix(features.loc[list(part["key"])].reset_index())


def dev_rows(parts: dict):
    """The dev images of a group's parts (:func:`group_rows`): used, then not-used."""
    import pandas as pd

    return pd.concat([parts["used"], parts["not_used"]], ignore_index=True)


def dev_patient_ids(dev, patients: dict[str, str] | None) -> np.ndarray | None:
    """The patient of each dev row (used then not-used), or None where patients are unknown.

    This is where pseudo-patients (clusters of near-copy slices) plug in where IDs are unknown:
    a mapping image_id -> pseudo-patient serves as ``patients`` everywhere."""
    return None if patients is None else np.array([patients[i] for i in dev["image_id"]])


def dev_labelled(parts: dict, features, pixels: Callable, patients, n_folds: int):
    """The dev rows and their :class:`Labelled` (used 1, not-used 0), grouped by patient where
    patients are known and there are enough of them to cross-validate by patient."""
    dev = dev_rows(parts)
    labelled = Labelled(
        part_features(features, dev),
        np.r_[np.ones(len(parts["used"])), np.zeros(len(parts["not_used"]))].astype(int),
        pixels(dev),
        dev_patient_ids(dev, patients),
    )
    if labelled.patient_ids is not None and _n_folds(labelled, n_folds) < 2:
        # One used (or not-used) patient cannot be cross-validated by patient: fall back to
        # folds of images, and say so in the grouping column.
        labelled.patient_ids = None
    return dev, labelled


def member_control(labelled: Labelled, n_used: int, n_folds: int, seed: int) -> Labelled:
    """The member-vs-member control: the used dev images (the first ``n_used`` rows of
    ``labelled``) split at random into two halves labelled 1 and 0."""
    rng = np.random.default_rng(seed)

    def halves(units):
        """1 for the units (images or patients) in the first half of a random order, else 0."""
        names = rng.permutation(np.unique(units))
        return np.isin(units, names[: len(names) // 2]).astype(int)

    images_only = np.arange(n_used)
    patient_ids = None if labelled.patient_ids is None else labelled.patient_ids[:n_used]
    # Halves of whole patients where they are known, so that no patient is on both sides.
    control = Labelled(
        labelled.X[:n_used],
        halves(images_only if patient_ids is None else patient_ids),
        None if labelled.images is None else labelled.images[:n_used],
        patient_ids,
    )
    if patient_ids is not None and _n_folds(control, n_folds) < 2:
        # Fewer than 4 used patients: halves of whole patients cannot be cross-validated, so
        # the control falls back to halves of images (and says so in its grouping column).
        control.patient_ids = None
        control.y = halves(images_only)
    return control


def group_scores(
    parts: dict,
    features,
    names: Sequence[str],
    n_folds: int = 5,
    seed: int = 0,
    settings: dict | None = None,
    read_pixels: Callable | None = None,
    patients: dict[str, str] | None = None,
):
    """Every attack's scores for one group: out-of-fold for the dev images, cross-fitted for the
    test images (:func:`cross_fitted_scores`), and out-of-fold for the member-vs-member control.

    ``features`` is an embeddings frame indexed by key; ``read_pixels(paths)`` gives (N, H, W)
    uint8 images and is needed only by ssim_max. ``patients`` (image_id -> patient of the dev
    images) keeps each patient's slices in one fold; without it folds are by image. Returns a
    DataFrame with key, image_id, split (dev, test, control), label (1 used, 0 not used, empty
    for test), grouping, patient, unit and unit_kind (the resampling unit of the evaluation's
    intervals and tests: the patient; for test images the patients file does not list, a
    pseudo-patient of :func:`ctprints.pseudo_patients.pseudo_patients`, inferred from their
    pixels whenever ``read_pixels`` is given; else the image), fold (of dev and control rows)
    and one column per attack.
    The control splits the used images at random into two halves labelled 1 and 0: both were
    used, so an attack that scores above chance there measures something other than membership.
    """
    import pandas as pd

    needs_pixels = "ssim_max" in names
    pixels = (lambda part: read_pixels(list(part["path"]))) if needs_pixels else (lambda part: None)
    synthetic = part_features(features, parts["generated"])
    synthetic_images = pixels(parts["generated"])

    def cross_fit(labelled: Labelled, queries=None, query_images=None) -> CrossFit:
        return cross_fitted_scores(
            names,
            labelled,
            synthetic,
            synthetic_images,
            n_folds,
            seed,
            settings,
            queries,
            query_images,
        )

    dev, labelled = dev_labelled(parts, features, pixels, patients, n_folds)
    test = parts["test"]
    fitted = cross_fit(labelled, part_features(features, test), pixels(test))
    control = member_control(labelled, len(parts["used"]), n_folds, seed)
    control_fit = cross_fit(control)
    frames = []
    for split, rows, labels, scores, fold in (
        ("dev", dev, labelled.y, fitted.dev, fitted.fold),
        ("test", test, [None] * len(test), fitted.queries, None),
        ("control", parts["used"], control.y, control_fit.dev, control_fit.fold),
    ):
        frame = rows[["key", "image_id"]].reset_index(drop=True).copy()
        frame["split"] = split
        frame["label"] = pd.array(labels, dtype="Int64")
        # How the out-of-fold scores were cross-validated (test scores: how dev's were), and the
        # patient of each dev or control row where folds used it, for the cluster bootstrap.
        folded = control if split == "control" else labelled
        frame["grouping"] = "image" if folded.patient_ids is None else "patient"
        if split == "test":  # where the patients file lists the test images
            known = patients is not None and all(i in patients for i in rows["image_id"])
            frame["patient"] = [patients[i] for i in rows["image_id"]] if known else None
        else:
            frame["patient"] = folded.patient_ids
        frame["unit"], frame["unit_kind"] = _units(frame, rows, read_pixels)
        frame["fold"] = pd.array([None] * len(rows) if fold is None else fold, dtype="Int64")
        for name in names:
            frame[name] = scores[name]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _units(frame, rows, read_pixels) -> tuple[list, str]:
    """The resampling unit of each row of a group_scores frame and its kind: the patient where
    every row has one, pseudo-patients of the images where ``read_pixels`` can show them
    (test rows), else the image."""
    from ctprints.embed import pixel_features
    from ctprints.pseudo_patients import pseudo_patients

    if frame["patient"].notna().all() and len(frame):
        return list(frame["patient"].astype(str)), "patient"
    if read_pixels is not None and (frame["split"] == "test").all() and len(frame) > 2:
        labels = pseudo_patients(pixel_features(read_pixels(list(rows["path"]))))
        log.info("%d test images in %d pseudo-patients", len(frame), len(set(labels)))
        return [f"pseudo_{label}" for label in labels], "pseudo-patient"
    return list(frame["image_id"].astype(str)), "image"


def read_patients(path: str, parts: dict) -> dict[str, str]:
    """image_id -> patient for the dev used and not-used images, from a CSV image_id,patient,
    and for the test images where the CSV lists them (then the run files give every slice of a
    test patient one label).

    Raises :class:`MembershipError` naming the file when columns or dev images are missing, or
    when an image is listed more than once.
    """
    import pandas as pd

    try:
        table = pd.read_csv(path, dtype=str)
    except Exception as error:  # noqa: BLE001 - parser and I/O errors alike
        raise MembershipError(f"{path}: not a readable CSV ({error})") from None
    if not {"image_id", "patient"} <= set(table.columns):
        raise MembershipError(
            f"{path}: needs columns image_id,patient, found {', '.join(table.columns)}"
        )
    repeated = table["image_id"][table["image_id"].duplicated()]
    if len(repeated):  # the first repeated image, in file order
        image = repeated.iloc[0]
        times = int((table["image_id"] == image).sum())
        raise MembershipError(f"{path}: image {image} is listed {times} times")
    mapping = dict(zip(table["image_id"], table["patient"], strict=True))
    dev = list(parts["used"]["image_id"]) + list(parts["not_used"]["image_id"])
    missing = [image for image in dev if image not in mapping]
    if missing:
        raise MembershipError(
            f"{path}: no patient for {len(missing)} dev images, e.g. {missing[0]}"
        )
    test = list(parts["test"]["image_id"]) if "test" in parts else []
    listed = [image for image in test if image in mapping]
    if listed and len(listed) < len(test):
        absent = next(image for image in test if image not in mapping)
        raise MembershipError(
            f"{path}: lists patients for {len(listed)} of {len(test)} test images (not for "
            f"{absent}); list every test image or none"
        )
    return {image: mapping[image] for image in dev + listed}


# ----------------------------------------------------------------------------- evaluation
