"""The paper's Task 1 approach, reproduced: AutoGluon on (synthetic, real) pair features.

Each real image's features (PCA of the synthetic images' space) sit next to those of k random
synthetic images; AutoGluon's ``TabularPredictor`` learns membership from such pairs on a fraction
of the dev images, and an image's score is the mean predicted probability over its k pairs.
AutoGluon validates on pairs, so one image lands on both sides of its split and the validation
AUC it reports leaks; the dev images left out of training are the honest hold-out
(:func:`paper_autogluon`). :func:`paper_group_scores` runs it for one task 1 group.
"""

from __future__ import annotations

import numpy as np

from ctprints.attacks import MembershipError, pca_projection
from ctprints.membership import dev_groups, dev_rows, part_features


def _pca(synthetic: np.ndarray, components: int, seed: int):
    """The synthetic images' PCA projection (:func:`ctprints.attacks.pca_projection`), float32."""
    project = pca_projection(synthetic, components, seed)
    return lambda X: project(X).astype(np.float32)


def pair_table(real: np.ndarray, synthetic: np.ndarray, k: int, rng, labels=None):
    """The paper's pair features: each real row next to k random synthetic rows.

    Returns a DataFrame with columns s0.., r0.. (and ``used`` when labels are given) and the
    index of the real row each pair came from.
    """
    import pandas as pd

    chosen = rng.integers(0, len(synthetic), (len(real), k))
    owner = np.repeat(np.arange(len(real)), k)
    table = pd.DataFrame(
        np.hstack([synthetic[chosen.ravel()], real[owner]]),
        columns=[f"s{i}" for i in range(synthetic.shape[1])]
        + [f"r{i}" for i in range(real.shape[1])],
    )
    if labels is not None:
        table["used"] = np.asarray(labels)[owner]
    return table, owner


def paper_autogluon(
    used: np.ndarray,
    not_used: np.ndarray,
    synthetic: np.ndarray,
    queries: np.ndarray,
    fraction: float,
    path: str,
    k: int = 5,
    components: int = 16,
    presets: str = "medium_quality",
    time_limit: int = 60,
    seed: int = 0,
    threads: int = 1,
    groups: np.ndarray | None = None,
):
    """The paper's task 1 approach: AutoGluon on (synthetic, real) pair features.

    ``fraction`` of the dev used and of the not-used images (at least 2 each) build the training
    pairs, each real image paired with ``k`` random synthetic images and labelled with its own
    membership. AutoGluon's internal validation split is over pairs, so one real image lands in
    both its training and validation data: the score it reports (``autogluon_val_auc``) leaks.
    The other dev images are the honest hold-out; with ``groups`` (the patient of each used then
    not-used row) the fraction is taken of patients, so no patient is on both sides. An image's
    score is the mean predicted
    probability of "used" over its k pairs.

    Returns (held-out mask over used+not_used rows, held-out scores, query scores, info dict).
    """
    from autogluon.tabular import TabularPredictor

    if not 0 < fraction <= 1:
        raise MembershipError(f"fraction {fraction} is outside (0, 1]")
    rng = np.random.default_rng(seed)
    project = _pca(synthetic, components, seed)
    real = np.vstack([used, not_used])
    labels = np.r_[np.ones(len(used)), np.zeros(len(not_used))].astype(int)
    units = np.arange(len(real)).astype(str) if groups is None else np.asarray(groups, str)
    train = np.zeros(len(real), dtype=bool)
    for value in (1, 0):
        names = np.unique(units[labels == value])
        count = min(len(names), max(1, int(round(fraction * len(names)))))
        train |= np.isin(units, rng.choice(names, count, replace=False))
    synthetic_p, real_p = project(synthetic), project(real)
    table, _ = pair_table(real_p[train], synthetic_p, k, rng, labels[train])
    predictor = TabularPredictor(
        label="used",
        path=path,
        eval_metric="roc_auc",
        problem_type="binary",
        verbosity=2,
        learner_kwargs={"random_state": seed},
    ).fit(table, presets=presets, time_limit=time_limit, num_cpus=threads, num_gpus=0)
    board = predictor.leaderboard(silent=True)
    info = {
        "autogluon_val_auc": float(board["score_val"].max()),
        "best_model": str(predictor.model_best),
        "train_images": int(train.sum()),
        "train_pairs": len(table),
    }

    def score(rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.empty(0)
        pairs, owner = pair_table(rows, synthetic_p, k, rng)
        probability = predictor.predict_proba(pairs)[1].to_numpy()
        return np.bincount(owner, probability, minlength=len(rows)) / k

    held_out = ~train
    return held_out, score(real_p[held_out]), score(project(queries)), info


def paper_group_scores(
    parts: dict,
    features,
    fraction: float,
    path: str,
    patients: dict[str, str] | None = None,
    **settings,
):
    """:func:`paper_autogluon` for one group: a DataFrame of the held-out dev rows (split dev,
    label, patient) and the test rows (split test), with the score in column ``paper`` and
    AutoGluon's figures (``autogluon_val_auc``, ...) and the hold-out grouping in every row."""
    import pandas as pd

    dev = dev_rows(parts)
    groups = dev_groups(dev, patients)
    held_out, held_scores, test_scores, info = paper_autogluon(
        part_features(features, parts["used"]),
        part_features(features, parts["not_used"]),
        part_features(features, parts["generated"]),
        part_features(features, parts["test"]),
        fraction=fraction,
        path=path,
        groups=groups,
        **settings,
    )
    dev_labels = [1] * len(parts["used"]) + [0] * len(parts["not_used"])
    frames = [
        pd.DataFrame(
            {
                "key": dev["key"][held_out],
                "image_id": dev["image_id"][held_out],
                "split": "dev",
                "label": pd.array(dev_labels, dtype="Int64")[held_out],
                "paper": held_scores,
                "patient": None if groups is None else groups[held_out],
            }
        ),
        pd.DataFrame(
            {
                "key": parts["test"]["key"].to_numpy(),
                "image_id": parts["test"]["image_id"].to_numpy(),
                "split": "test",
                "label": pd.array([None] * len(parts["test"]), dtype="Int64"),
                "paper": test_scores,
            }
        ),
    ]
    scores = pd.concat(frames, ignore_index=True)
    for name, value in info.items():
        scores[name] = value
    # AutoGluon's own validation split is by pair; the hold-out is by patient where known.
    scores["grouping"] = "image" if groups is None else "patient"
    return scores, info
