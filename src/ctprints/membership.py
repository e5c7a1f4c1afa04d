"""Task 1's honest evaluation of the membership attacks (:mod:`ctprints.attacks`).

- :func:`cross_fitted_scores`: out-of-fold scores for labelled (dev) images, the held-out fold
  never part of the reference set the attack is fitted on, and the unlabelled test images
  scored by every fold's attack, averaged, so that both are on one scale. :func:`folds` keeps
  each patient's slices in one fold where patients are known.
- :func:`group_scores`: every attack on one task 1 group (its manifest rows checked by
  :func:`group_rows`, its dev patients read by :func:`read_patients`): dev (out-of-fold), test,
  and the member-vs-member control (the used images split into two halves, both members: an
  attack that separates them measures something other than membership).
- :func:`label_images`, :func:`cross_validated_labels`: hard labels from thresholds chosen on
  dev scores only, per image or per patient; the latter as a run file would label unseen images,
  for choosing the submitted run on dev (:func:`select_run`).
- :func:`evaluation_table`: every group's scores and run files against the ground truth, with the
  metrics of :func:`ctprints.metrics.membership_metrics`.

The paper's AutoGluon approach is :mod:`ctprints.paper`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ctprints.attacks import STACKED, MembershipError, Reference, make_attack
from ctprints.metrics import hindsight_f1, membership_metrics
from ctprints.submission import read_run

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- honest scoring


def folds(labels: Sequence[int], k: int, seed: int, groups: Sequence | None = None) -> np.ndarray:
    """Fold number per row: seeded, stratified by label, and with whole groups (patients) in one
    fold when groups are given. Used and not-used rows (or groups) are dealt round-robin
    separately, so every fold's complement holds both classes."""
    labels = np.asarray(labels)
    units = np.arange(len(labels)).astype(str) if groups is None else np.asarray(groups, str)
    rng = np.random.default_rng(seed)
    fold_of: dict[str, int] = {}
    for value in np.unique(labels):
        names = rng.permutation(np.unique(units[labels == value]))
        fold_of |= {name: i % k for i, name in enumerate(names)}
    return np.array([fold_of[unit] for unit in units])


def _n_folds(labelled: Labelled, requested: int) -> int:
    """As many folds as asked, but no more than the used or not-used images (or patients)."""
    units = labelled.groups if labelled.groups is not None else np.arange(len(labelled.y))
    counts = [len(np.unique(np.asarray(units)[labelled.y == value])) for value in (0, 1)]
    return min(requested, *counts)


@dataclass
class Labelled:
    """Labelled real images of one group: features (N, D), labels (1 used, 0 not used), pixels."""

    X: np.ndarray
    y: np.ndarray
    images: np.ndarray | None = None
    groups: np.ndarray | None = None


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
        unit = "images" if labelled.groups is None else "patients"
        raise MembershipError(f"cross-validation needs at least 2 used and 2 not-used {unit}")
    fold = folds(labelled.y, n_folds, seed, labelled.groups)
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


# ----------------------------------------------------------------------------- hard labels


THRESHOLD_RULES = ("f1", "kappa", "youden", "prior")


def _metric_cut(scores: np.ndarray, labels: np.ndarray, metric: str) -> float:
    """The cut that maximises ``metric`` (F1 of used, or Cohen's kappa) of ``score >= cut`` on
    the labelled scores, halfway between two consecutive distinct scores, so that at least one
    labelled image falls on each side; ties go to the lowest cut (the most images used). Where
    every score is the same, that score: every image used."""
    order = np.argsort(-scores, kind="stable")
    ranked, y = scores[order], labels[order].astype(np.float64)
    n, positives = len(y), y.sum()
    # k = the number labelled used, where the cut can fall between ranked[k - 1] and ranked[k]
    k = np.flatnonzero(ranked[:-1] > ranked[1:]) + 1
    if len(k) == 0:  # one score for every image: no ranking; F1 is best with all used
        return float(ranked[0])
    tp = np.cumsum(y)[k - 1]
    fp, fn = k - tp, positives - tp
    if metric == "f1":
        value = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    else:
        observed = (tp + (n - positives - fp)) / n
        chance = (positives * k + (n - positives) * (n - k)) / n**2
        value = (observed - chance) / np.where(chance < 1, 1 - chance, 1)
    best = k[np.flatnonzero(value >= value.max() - 1e-12)[-1]]
    return float((ranked[best - 1] + ranked[best]) / 2)


def choose_threshold(scores: np.ndarray, labels: np.ndarray, rule: str = "f1") -> float:
    """A score threshold from labelled (dev) scores only; ``score >= threshold`` means used.

    ``f1`` and ``kappa`` maximise the challenge's metric on the labelled scores (the cut between
    two of them, the lowest of equal ones: at least one image on each side). ``youden``
    maximises TPR - FPR, halfway between the lowest score it labels used and the next lower one;
    ``prior`` labels as many images used as the dev share of used images. The test set's
    balance is never looked at.
    """
    from sklearn.metrics import roc_curve

    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels)
    if rule in ("f1", "kappa"):
        return _metric_cut(scores, labels, rule)
    if rule == "youden":
        fpr, tpr, thresholds = roc_curve(labels, scores, drop_intermediate=False)
        best = int(np.argmax(tpr - fpr))
        cut = min(thresholds[best], np.max(scores))
        below = thresholds[best + 1] if best + 1 < len(thresholds) else cut
        return float((cut + below) / 2)
    if rule == "prior":
        share = float(np.mean(labels == 1))
        return float(np.quantile(scores, 1 - share))
    raise MembershipError(f"unknown threshold rule {rule!r}; known: {', '.join(THRESHOLD_RULES)}")


def hard_labels(scores: np.ndarray, threshold: float) -> np.ndarray:
    return (np.asarray(scores) >= threshold).astype(int)


def top_share(scores: np.ndarray, share: float) -> np.ndarray:
    """1 for the ``share`` of highest scores (at least one image, and at least one left out)."""
    scores = np.asarray(scores, dtype=np.float64)
    count = int(np.clip(round(share * len(scores)), 1, max(len(scores) - 1, 1)))
    out = np.zeros(len(scores), dtype=int)
    out[np.argsort(-scores, kind="stable")[:count]] = 1
    return out


def _by_unit(scores: np.ndarray, units: Sequence | None) -> tuple[np.ndarray, np.ndarray]:
    """Mean score per unit (patient or pseudo-patient; each row its own unit without units) and
    each row's unit index."""
    scores = np.asarray(scores, dtype=np.float64)
    if units is None:
        return scores, np.arange(len(scores))
    _, inverse = np.unique(np.asarray(units, dtype=str), return_inverse=True)
    return np.bincount(inverse, scores) / np.bincount(inverse), inverse


class Labelling(NamedTuple):
    """Hard labels (1 used), the dev threshold, and the dev share used at that threshold where
    the labels went by rank instead (``None`` where the threshold cut the scores)."""

    labels: np.ndarray
    threshold: float
    rank_share: float | None


def label_images(
    dev_scores: np.ndarray,
    dev_labels: np.ndarray,
    scores: np.ndarray,
    rule: str = "f1",
    dev_units: Sequence | None = None,
    units: Sequence | None = None,
) -> Labelling:
    """Hard labels of ``scores`` from a threshold chosen on labelled dev scores only
    (:func:`choose_threshold`).

    The dev scores must be on the scale of ``scores``: out-of-fold dev scores with cross-fitted
    test scores (:func:`cross_fitted_scores`). Where the threshold would still label every image
    alike (most often an F1 cut so low on dev that every new image clears it), the share of dev
    images it labels used is labelled used by rank instead, and ``rank_share`` says so. With
    ``units`` (the patient, or pseudo-patient, of each image) an image takes its unit's label:
    the unit's mean score against a threshold chosen on the dev units' mean scores
    (``dev_units``; each dev image its own unit without).
    """
    dev_labels = np.asarray(dev_labels, dtype=int)
    dev_values, dev_index = _by_unit(dev_scores, dev_units)
    first = np.unique(dev_index, return_index=True)[1]
    threshold = choose_threshold(dev_values, dev_labels[first], rule)
    values, index = _by_unit(scores, units)
    labels = hard_labels(values, threshold)
    share = float(np.mean(dev_values >= threshold))
    if len(values) > 1 and labels.min() == labels.max() and 0 < share < 1:
        return Labelling(top_share(values, share)[index], threshold, share)
    return Labelling(labels[index], threshold, None)


def cross_validated_labels(
    scores: np.ndarray,
    labels: np.ndarray,
    fold: np.ndarray,
    rule: str = "f1",
    units: Sequence | None = None,
) -> np.ndarray:
    """Hard labels of out-of-fold dev scores as a run file would label new images: fold k's
    images are cut by a threshold chosen on the other folds' scores (:func:`label_images`)."""
    scores, labels, fold = np.asarray(scores), np.asarray(labels, dtype=int), np.asarray(fold)
    units = None if units is None else np.asarray(units, dtype=str)
    out = np.zeros(len(scores), dtype=int)
    for k in np.unique(fold):
        train, test = fold != k, fold == k
        out[test] = label_images(
            scores[train],
            labels[train],
            scores[test],
            rule,
            None if units is None else units[train],
            None if units is None else units[test],
        ).labels
    return out


DEFECT_AUC = 0.6


def constant_defect(dev_scores, dev_labels, labels) -> str | None:
    """A message when a run file's labels are all alike although its out-of-fold dev AUC is
    over :data:`DEFECT_AUC`: the scores carry a signal that the labels throw away."""
    from ctprints.metrics import auc

    labels = np.asarray(labels)
    if labels.min() != labels.max():
        return None
    dev_auc = float(auc(np.asarray(dev_labels, dtype=int), np.asarray(dev_scores))[0])
    if dev_auc <= DEFECT_AUC:
        return None
    word = "used" if labels[0] else "not used"
    return (
        f"every test image is labelled {word}, although the cross-validated dev AUC is "
        f"{dev_auc:.3f} (> {DEFECT_AUC})"
    )


SELECT_METRICS = ("f1", "kappa")


def select_run(
    candidates: Mapping,
    metric: str = "f1",
    rule: str = "f1",
    fixed: str | None = None,
):
    """The submitted run of one group, chosen on dev by the challenge's metric.

    ``candidates`` maps each run name to a DataFrame of its dev rows (columns ``score``,
    ``label`` and ``fold``; out-of-fold scores, every candidate with the same folds). Each is
    labelled as its run file labels the test images, fold by fold
    (:func:`cross_validated_labels`), and scored
    with the challenge's ``metric`` (F1 of "used" or Cohen's kappa). The best is chosen, ties
    broken by the higher dev AUC, then by name; ``fixed`` (a configured run) overrides the
    choice, and the table says so. Returns a DataFrame, one row per run: run, dev_auc, dev_f1,
    dev_kappa, dev_share_used, chosen (bool) and reason.
    """
    import pandas as pd

    from ctprints.metrics import auc, hard_metrics

    if metric not in SELECT_METRICS:
        raise MembershipError(f"unknown metric {metric!r}; known: {', '.join(SELECT_METRICS)}")
    rows = []
    for run, dev in candidates.items():
        folds_seen = dev["fold"].to_numpy()
        if pd.isna(folds_seen).any():
            raise MembershipError(f"{run}: dev rows without a fold; it was not cross-validated")
        labels = dev["label"].astype(int).to_numpy()
        predicted = cross_validated_labels(dev["score"], labels, folds_seen.astype(int), rule)
        hard = hard_metrics(labels, predicted)
        rows.append(
            {
                "run": run,
                "dev_auc": float(auc(labels, dev["score"].to_numpy())[0]),
                "dev_f1": float(hard["f1"][0]),
                "dev_kappa": float(hard["kappa"][0]),
                "dev_share_used": float(predicted.mean()),
            }
        )
    table = pd.DataFrame(rows)
    ranked = table.sort_values(
        [f"dev_{metric}", "dev_auc", "run"], ascending=[False, False, True], kind="stable"
    )
    best = ranked.iloc[0]["run"]
    if fixed is not None and fixed not in set(table["run"]):
        runs = ", ".join(table.run)
        raise MembershipError(f"task1.run: {fixed!r} is not among the runs ({runs})")
    chosen = fixed or best
    table["chosen"] = table["run"] == chosen
    what = f"cross-validated dev {'F1' if metric == 'f1' else 'kappa'}"
    table["reason"] = ""
    table.loc[table.chosen, "reason"] = (
        f"fixed by task1.run (the best {what} is {best})"
        if fixed
        else f"highest {what} of {len(table)} runs, same folds for all"
    )
    return table


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


def dev_groups(dev, patients: dict[str, str] | None) -> np.ndarray | None:
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
        dev_groups(dev, patients),
    )
    if labelled.groups is not None and _n_folds(labelled, n_folds) < 2:
        # One used (or not-used) patient cannot be cross-validated by patient: fall back to
        # folds of images, and say so in the grouping column.
        labelled.groups = None
    return dev, labelled


def _control(labelled: Labelled, n_used: int, n_folds: int, seed: int) -> Labelled:
    """The member-vs-member control: the used dev images (the first ``n_used`` rows of
    ``labelled``) split at random into two halves labelled 1 and 0."""
    rng = np.random.default_rng(seed)

    def halves(units):
        """1 for the units (images or patients) in the first half of a random order, else 0."""
        names = rng.permutation(np.unique(units))
        return np.isin(units, names[: len(names) // 2]).astype(int)

    images_only = np.arange(n_used)
    groups = None if labelled.groups is None else labelled.groups[:n_used]
    # Halves of whole patients where they are known, so that no patient is on both sides.
    control = Labelled(
        labelled.X[:n_used],
        halves(images_only if groups is None else groups),
        None if labelled.images is None else labelled.images[:n_used],
        groups,
    )
    if groups is not None and _n_folds(control, n_folds) < 2:
        # Fewer than 4 used patients: halves of whole patients cannot be cross-validated, so
        # the control falls back to halves of images (and says so in its grouping column).
        control.groups = None
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
    for test), grouping, patient, fold (of dev and control rows) and one column per attack.
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
    control = _control(labelled, len(parts["used"]), n_folds, seed)
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
        frame["grouping"] = "image" if folded.groups is None else "patient"
        if split == "test":  # where the patients file lists the test images (or pseudo-patients)
            known = patients is not None and all(i in patients for i in rows["image_id"])
            frame["patient"] = [patients[i] for i in rows["image_id"]] if known else None
        else:
            frame["patient"] = folded.groups
        frame["fold"] = pd.array([None] * len(rows) if fold is None else fold, dtype="Int64")
        for name in names:
            frame[name] = scores[name]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


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


def _patients_of(frame) -> np.ndarray | None:
    """Patients for a cluster bootstrap, where the rows were cross-validated by patient."""
    if frame.grouping.iloc[0] == "patient" and frame.patient.notna().all():
        return frame.patient.astype(str).to_numpy()
    return None


def _attack_rows(group, embedder, scores_path, truth_path, runs, settings) -> list[dict]:
    """The rows of one score file (:func:`group_scores`): every attack on cv_dev, control and
    test; ``runs`` maps each attack, in order, to its run file (the test images' hard labels)."""
    import pandas as pd

    scores = pd.read_csv(scores_path, dtype={"image_id": str})
    dev = scores[scores.split == "dev"]
    control = scores[scores.split == "control"]
    test = scores[scores.split == "test"]
    truth = read_run(truth_path, task=1, expected_ids=test.image_id)
    test_labels = [int(truth[i]) for i in test.image_id]
    rows = []
    for attack, run_path in runs.items():
        predicted = read_run(run_path, task=1, expected_ids=test.image_id)
        common = {"group": group, "attack": attack, "features": embedder}
        for split, frame, labels, hard in (
            ("cv_dev", dev, dev.label.astype(int), None),
            ("control", control, control.label.astype(int), None),
            ("test", test, test_labels, [int(predicted[i]) for i in test.image_id]),
        ):
            if frame.empty:  # AutoGluon's score files have no control
                continue
            groups = _patients_of(frame)
            result = membership_metrics(labels, frame[attack], hard, groups=groups, **settings)
            if hard is not None:
                result |= _label_figures(labels, frame[attack], hard)
            rows.append({**common, "split": split, "grouping": frame.grouping.iloc[0], **result})
        row = rows[-1]
        log.info(
            "%s %s %s: test AUC %.3f, F1 %.3f (%.0f%% labelled used; in hindsight %.3f)",
            group,
            embedder,
            attack,
            row["auc"],
            row["f1"],
            100 * row["share_used"],
            row["hindsight_f1"],
        )
    return rows


def _label_figures(labels, scores, predicted) -> dict:
    """What the hard labels did: the share labelled used, and, for reference only, the F1 of the
    best threshold on these test scores in hindsight and of labelling every image used."""
    labels = np.asarray(labels, dtype=int)
    return {
        "share_used": float(np.mean(predicted)),
        "hindsight_f1": hindsight_f1(labels, np.asarray(scores)),
        "all_used_f1": float(2 * labels.sum() / (len(labels) + labels.sum())),
    }


def _paper_rows(group, embedder, fraction, scores_path, run_path, truth_path, settings):
    """The rows of one paper score file (:func:`ctprints.paper.paper_group_scores`): the honest
    hold-out (where it holds both classes; empty at fraction 1) and the test images."""
    import pandas as pd

    scores = pd.read_csv(scores_path, dtype={"image_id": str})
    predicted = read_run(run_path, task=1)
    test = scores[scores.split == "test"]
    dev = scores[scores.split == "dev"]
    truth = read_run(truth_path, task=1, expected_ids=test.image_id)
    common = {
        "group": group,
        "attack": f"paper_autogluon_f{fraction}",
        "features": embedder,
        "autogluon_val_auc": scores.autogluon_val_auc.iloc[0],
    }
    rows = []
    if len(set(dev.label)) == 2:
        result = membership_metrics(
            dev.label.astype(int), dev.paper, None, groups=_patients_of(dev), **settings
        )
        rows.append({**common, "split": "holdout_dev", "grouping": dev.grouping.iloc[0], **result})
    labels = [int(truth[i]) for i in test.image_id]
    hard = [int(predicted[i]) for i in test.image_id]
    result = membership_metrics(labels, test.paper, hard, **settings)
    result |= _label_figures(labels, test.paper, hard)
    rows.append({**common, "split": "test", "grouping": scores.grouping.iloc[0], **result})
    log.info(
        "%s paper f%s %s: AutoGluon's validation AUC %.3f, test AUC %.3f",
        group,
        fraction,
        embedder,
        common["autogluon_val_auc"],
        result["auc"],
    )
    return rows


def evaluation_table(
    truth: Mapping[str, str],
    scores: Mapping[tuple[str, str], str],
    runs: Mapping[tuple[str, str], Mapping[str, str]],
    paper: Mapping[tuple[str, str, str], str],
    paper_runs: Mapping[tuple[str, str, str], str],
    autogluon: Mapping[tuple[str, str], str] | None = None,
    autogluon_runs: Mapping[tuple[str, str], str] | None = None,
    n_boot: int = 1000,
    n_permutations: int = 999,
    seed: int = 0,
):
    """Task 1's evaluation table: every attack's cv_dev, control and test metrics
    (:func:`ctprints.metrics.membership_metrics`) per group and feature space, then the paper's
    runs' holdout_dev and test metrics.

    Files by key, so that nothing depends on their order: ``truth`` group -> ground-truth run
    file; ``scores`` (group, embedder) -> score file of :func:`group_scores`; ``runs`` (group,
    embedder) -> attack -> the attack's run file; ``paper`` (group, embedder, fraction) -> score
    file of :func:`ctprints.paper.paper_group_scores` and ``paper_runs`` (same key) -> its run
    file; ``autogluon`` (group, embedder) -> score file of
    :func:`ctprints.paper.autogluon_cv_scores` and ``autogluon_runs`` (same key) -> its run
    file (attack ``autogluon``). Rows follow the order of ``scores`` (and of each ``runs``
    mapping's attacks), then of ``autogluon``, then of ``paper``. Test rows also give the share
    labelled used and, for reference only, the hindsight-best and all-used F1.
    """
    import pandas as pd

    settings = {"n_boot": n_boot, "n_permutations": n_permutations, "seed": seed}
    rows = []
    for (group, embedder), path in scores.items():
        rows += _attack_rows(group, embedder, path, truth[group], runs[group, embedder], settings)
    for (group, embedder), path in (autogluon or {}).items():
        run = {"autogluon": autogluon_runs[group, embedder]}
        rows += _attack_rows(group, embedder, path, truth[group], run, settings)
    for (group, embedder, fraction), path in paper.items():
        run = paper_runs[group, embedder, fraction]
        rows += _paper_rows(group, embedder, fraction, path, run, truth[group], settings)
    return pd.DataFrame(rows)
