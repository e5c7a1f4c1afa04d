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
from ctprints.membership import dev_patient_ids, dev_rows, part_features


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


class PairClassifier:
    """The paper's pair classifier with the attacks' protocol (:mod:`ctprints.attacks`):
    ``fit(reference)`` trains AutoGluon on pairs of the reference's used and not-used images,
    ``score(queries)`` is each query's mean probability of "used" over its k pairs.

    AutoGluon's internal validation split is over pairs, so one real image lands in both its
    training and validation data: the score it reports (``info_["autogluon_val_auc"]``) leaks.
    """

    name = "autogluon"

    def __init__(
        self,
        path: str,
        k: int = 5,
        components: int = 16,
        presets: str = "medium_quality",
        time_limit: int = 60,
        seed: int = 0,
        threads: int = 1,
    ):
        self.path, self.k, self.components, self.presets = path, k, components, presets
        self.time_limit, self.seed, self.threads = time_limit, seed, threads

    def fit(self, reference) -> PairClassifier:
        from autogluon.tabular import TabularPredictor

        self.rng_ = np.random.default_rng(self.seed)
        project = _pca(reference.synthetic, self.components, self.seed)
        self.project_, self.synthetic_p_ = project, project(reference.synthetic)
        real = project(np.vstack([reference.used, reference.not_used]))
        labels = np.r_[np.ones(len(reference.used)), np.zeros(len(reference.not_used))]
        table, _ = pair_table(real, self.synthetic_p_, self.k, self.rng_, labels.astype(int))
        self.predictor_ = TabularPredictor(
            label="used",
            path=self.path,
            eval_metric="roc_auc",
            problem_type="binary",
            verbosity=2,
            learner_kwargs={"random_state": self.seed},
        ).fit(
            table,
            presets=self.presets,
            time_limit=self.time_limit,
            num_cpus=self.threads,
            num_gpus=0,
        )
        board = self.predictor_.leaderboard(silent=True)
        self.info_ = {
            "autogluon_val_auc": float(board["score_val"].max()),
            "best_model": str(self.predictor_.model_best),
            "train_images": len(real),
            "train_pairs": len(table),
        }
        return self

    def score(self, queries: np.ndarray, images: np.ndarray | None = None) -> np.ndarray:
        if not len(queries):
            return np.empty(0)
        pairs, owner = pair_table(self.project_(queries), self.synthetic_p_, self.k, self.rng_)
        probability = self.predictor_.predict_proba(pairs)[1].to_numpy()
        return np.bincount(owner, probability, minlength=len(queries)) / self.k


def paper_autogluon(
    used: np.ndarray,
    not_used: np.ndarray,
    synthetic: np.ndarray,
    queries: np.ndarray,
    fraction: float,
    path: str,
    seed: int = 0,
    patient_ids: np.ndarray | None = None,
    **settings,
):
    """The paper's task 1 protocol: the :class:`PairClassifier` trained on ``fraction`` of the
    dev used and of the not-used images (at least 2 each), and scored on the rest.

    The other dev images are the honest hold-out; with ``patient_ids`` (the patient of each used
    then not-used row) the fraction is taken of patients, so no patient is on both sides.
    ``settings`` go to :class:`PairClassifier` (k, components, presets, time_limit, threads).

    Returns (held-out mask over used+not_used rows, held-out scores, query scores, info dict).
    """
    from ctprints.attacks import Reference

    if not 0 < fraction <= 1:
        raise MembershipError(f"fraction {fraction} is outside (0, 1]")
    rng = np.random.default_rng(seed)
    real = np.vstack([used, not_used])
    labels = np.r_[np.ones(len(used)), np.zeros(len(not_used))].astype(int)
    units = (
        np.arange(len(real)).astype(str) if patient_ids is None else np.asarray(patient_ids, str)
    )
    train = np.zeros(len(real), dtype=bool)
    for value in (1, 0):
        names = np.unique(units[labels == value])
        count = min(len(names), max(1, int(round(fraction * len(names)))))
        train |= np.isin(units, rng.choice(names, count, replace=False))
    reference = Reference(synthetic, real[train & (labels == 0)], real[train & (labels == 1)])
    model = PairClassifier(path, seed=seed, **settings).fit(reference)
    held_out = ~train
    return held_out, model.score(real[held_out]), model.score(queries), model.info_


def autogluon_cv_scores(
    parts: dict,
    features,
    path: str,
    patients: dict[str, str] | None = None,
    n_folds: int = 5,
    seed: int = 0,
    **settings,
):
    """The pair classifier on equal terms with the attacks: every dev image, the same folds
    (:func:`ctprints.membership.cross_fitted_scores`), out-of-fold dev scores and cross-fitted
    test scores, in a DataFrame like :func:`ctprints.membership.group_scores`' (dev and test
    rows, score column ``autogluon``). Fold k's model is written to ``path/fold<k>``."""
    import pandas as pd

    from ctprints.membership import cross_fitted_scores, dev_labelled

    # As the attacks' dev images: folds of patients where there are enough of them.
    dev, labelled = dev_labelled(parts, features, lambda part: None, patients, n_folds)
    fitted: list[PairClassifier] = []

    def make(name, _settings):
        model = PairClassifier(f"{path}/fold{len(fitted)}", seed=seed, **settings)
        fitted.append(model)
        return model

    result = cross_fitted_scores(
        ["autogluon"],
        labelled,
        part_features(features, parts["generated"]),
        n_folds=n_folds,
        seed=seed,
        queries=part_features(features, parts["test"]),
        make=make,
    )
    grouping = "image" if labelled.patient_ids is None else "patient"
    frames = [
        pd.DataFrame(
            {
                "key": dev["key"].to_numpy(),
                "image_id": dev["image_id"].to_numpy(),
                "split": "dev",
                "label": pd.array(labelled.y, dtype="Int64"),
                "grouping": grouping,
                "patient": labelled.patient_ids,
                "fold": pd.array(result.fold, dtype="Int64"),
                "autogluon": result.dev["autogluon"],
            }
        ),
        pd.DataFrame(
            {
                "key": parts["test"]["key"].to_numpy(),
                "image_id": parts["test"]["image_id"].to_numpy(),
                "split": "test",
                "label": pd.array([None] * len(parts["test"]), dtype="Int64"),
                "grouping": grouping,
                "patient": None,
                "fold": pd.array([None] * len(parts["test"]), dtype="Int64"),
                "autogluon": result.queries["autogluon"],
            }
        ),
    ]
    scores = pd.concat(frames, ignore_index=True)
    scores["autogluon_val_auc"] = float(np.mean([m.info_["autogluon_val_auc"] for m in fitted]))
    return scores


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
    patient_ids = dev_patient_ids(dev, patients)
    held_out, held_scores, test_scores, info = paper_autogluon(
        part_features(features, parts["used"]),
        part_features(features, parts["not_used"]),
        part_features(features, parts["generated"]),
        part_features(features, parts["test"]),
        fraction=fraction,
        path=path,
        patient_ids=patient_ids,
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
                "patient": None if patient_ids is None else patient_ids[held_out],
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
    scores["grouping"] = "image" if patient_ids is None else "patient"
    return scores, info
