"""Task 2 open-set attribution: a classifier on the known generators, and a rule that rejects
the images of generators with no training data and clusters them into new ones.

:class:`OpenSetAttribution` rejects by distance to the training rows, :class:`SubsetAttribution`
adds the distance to each generator's real training subset (2025), and
:class:`NoveltyAttribution` rejects by a two-sample test. All follow the estimator contract of
:mod:`ctprints.attribution`, which builds them by name (:func:`ctprints.attribution.make_method`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ctprints.attribution import (
    MAX_NEW,
    estimate_clusters,
    make_reducer,
    new_labels,
    training_mask,
)
from ctprints.errors import AttributionError
from ctprints.neighbours import nearest

# scikit-learn and scipy are imported where they are used (see ctprints.attribution).


class OpenSetAttribution:
    """A classifier on the labelled generators plus a rejection rule for unseen generators.

    Rows are standardised (and optionally PCA-reduced) on the training rows. A test row is
    rejected when its mean distance to its ``k`` nearest training rows exceeds ``threshold_``;
    accepted rows get the label a logistic regression predicts, and rejected rows are clustered
    by k-means into ``n_generators - known`` new generators.

    The threshold is chosen by leave-one-generator-out validation: each known generator in turn
    plays the unseen one (its rows are scored against the others), the others' rows are scored
    leave-one-out, and the threshold maximising balanced accuracy (seen kept, unseen rejected)
    over all folds is used. A distance rule rather than the classifier's confidence: softmax
    probabilities stay high far away from every training generator, which is exactly where an
    unseen generator's images lie. Needs at least three training generators.

    With ``n_generators`` None (unknown), the number of new generators is estimated among the
    rejected rows (:meth:`_count_new`): none where fewer than ``min_new`` rows are rejected
    (they keep the classifier's names), else the gap statistic's choice of 1 to ``max_new``.
    ``n_new_`` records the number used.
    """

    name = "openset"  # how error messages call the method

    def __init__(
        self,
        n_generators: int | None,
        pca: int | None = 50,
        C: float = 1.0,
        k: int = 5,
        new_label: str | None = None,
        random_state: int = 0,
        max_new: int = MAX_NEW,
        min_new: int = 10,
    ):
        self.n_generators = n_generators
        self.max_new = max_new
        self.min_new = min_new
        self.pca = pca
        self.C = C
        self.k = k
        self.new_label = new_label
        self.random_state = random_state

    def _knn_distance(
        self, reference: np.ndarray, queries: np.ndarray, exclude_self: bool, k: int | None = None
    ) -> np.ndarray:
        """Mean distance of each query to its ``k`` (default ``self.k``) nearest reference rows."""
        return nearest(reference, queries, k or self.k, exclude_self)[0].mean(axis=1)

    def _validation_scores(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distances of seen rows (leave-one-out) and of each left-out generator's rows."""
        seen, unseen = [], []
        for held_out in sorted(set(y)):
            inside = y != held_out
            reducer = make_reducer(self.pca, int(inside.sum()), X.shape[1], self.random_state)
            reference = reducer.fit_transform(X[inside])
            seen.append(self._knn_distance(reference, reference, exclude_self=True))
            unseen.append(
                self._knn_distance(reference, reducer.transform(X[~inside]), exclude_self=False)
            )
        return np.concatenate(seen), np.concatenate(unseen)

    def _training_labels(self, y: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray, list]:
        """The training mask, the training rows' labels (as str) and the sorted known labels."""
        train = training_mask(y)
        labels = np.array([str(label) for label in np.asarray(y, dtype=object)[train]])
        known, counts = np.unique(labels, return_counts=True)
        if counts.min() < 2:
            raise AttributionError(f"{self.name} needs at least 2 training images per generator")
        return train, labels, list(known)

    def _fit_threshold(self, X_train: np.ndarray, labels: np.ndarray) -> float:
        """Sets ``threshold_`` by leave-one-generator-out validation (see the class docstring)."""
        n_known = len(set(labels))
        if n_known < 3:
            raise AttributionError(
                f"{self.name} needs at least 3 training generators for leave-one-generator-out "
                f"validation of its unseen-generator rejection; got {n_known}"
            )
        seen, unseen = self._validation_scores(X_train, labels)
        candidates = np.unique(np.concatenate([seen, unseen]))
        accuracy = [((seen <= t).mean() + (unseen > t).mean()) / 2 for t in candidates]
        best = int(np.argmax(accuracy))
        # Halfway to the next observed distance, rather than exactly at the largest seen one.
        upper = candidates[best + 1] if best + 1 < len(candidates) else candidates[best]
        self.threshold_ = float((candidates[best] + upper) / 2)
        self.validation_balanced_accuracy_ = float(accuracy[best])
        return self.threshold_

    def _fit_classifier(
        self, X: np.ndarray, train: np.ndarray, labels: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fit ``reducer_`` and ``classifier_`` on the training rows; return the reduced
        training rows and all rows reduced."""
        from sklearn.linear_model import LogisticRegression

        self.reducer_ = make_reducer(self.pca, int(train.sum()), X.shape[1], self.random_state)
        reference = self.reducer_.fit_transform(X[train])
        self.classifier_ = LogisticRegression(C=self.C, max_iter=5000).fit(reference, labels)
        return reference, self.reducer_.transform(X)

    def _count_new(self, rows: np.ndarray, known: list) -> int:
        """How many new generators the candidate new ``rows`` hold: ``n_generators`` minus the
        known ones where given; where unknown, none with fewer than ``min_new`` rows, else
        :func:`ctprints.attribution.estimate_clusters` between 1 and ``max_new``."""
        if self.n_generators is not None:
            return max(0, self.n_generators - len(known))
        if len(rows) < max(self.min_new, 2):
            return 0
        count, gap = estimate_clusters(rows, 1, self.max_new, 10, self.random_state)
        self.new_gap_ = gap
        return count

    def _split_new(self, rows: np.ndarray, n_new: int) -> np.ndarray:
        """Which of ``n_new`` new generators each of ``rows`` belongs to (k-means above one)."""
        from sklearn.cluster import KMeans

        if n_new == 1:
            return np.zeros(len(rows), dtype=int)
        return KMeans(n_new, n_init=10, random_state=self.random_state).fit_predict(rows)

    def _assign(
        self,
        Z: np.ndarray,
        train: np.ndarray,
        y: Sequence[str | None],
        known: list,
        predicted: np.ndarray,
        threshold: float | None,
    ) -> None:
        """``labels_``, ``clusters_``, ``mapping_`` and ``rejected_`` from the predictions.

        With a threshold, test rows farther than it from the training rows (in ``Z``) are
        rejected; with unseen generators they are split by k-means into new generators.
        """
        rejected = np.zeros(len(Z), dtype=bool)
        if threshold is not None:
            distance = self._knn_distance(Z[train], Z, exclude_self=False)
            rejected = (~train) & (distance > threshold)
        given = self.n_generators is not None
        n_new = self._count_new(Z[rejected], known) if rejected.any() or given else 0
        if self.n_generators is None and n_new == 0:
            rejected[:] = False  # too few to be a generator: they keep the classifier's names
        self.n_new_ = n_new
        names = new_labels(known, n_new, self.new_label)
        labels = np.asarray(y, dtype=object)[train]
        clusters = np.array([known.index(label) for label in predicted])
        clusters[train] = [known.index(str(label)) for label in labels]
        self.labels_ = np.where(train, np.asarray(y, dtype=object), predicted).astype(object)
        if n_new and rejected.sum() >= n_new:
            new_clusters = self._split_new(Z[rejected], n_new)
            clusters[rejected] = len(known) + new_clusters
            self.labels_[rejected] = [names[g] for g in new_clusters]
        self.rejected_ = rejected
        self.clusters_ = clusters
        self.mapping_ = {i: label for i, label in enumerate(known + names)}

    def fit(self, X: np.ndarray, y: Sequence[str | None]) -> OpenSetAttribution:
        X = np.asarray(X, dtype=np.float64)
        train, labels, known = self._training_labels(y)
        threshold = self._fit_threshold(X[train], labels)
        reference, Z = self._fit_classifier(X, train, labels)
        self._assign(Z, train, y, known, self.classifier_.predict(Z), threshold)
        return self


class SubsetAttribution(OpenSetAttribution):
    """Attribution by closeness to each generator's real training subset (ImageCLEF 2025).

    In the 2025 data each generator was trained on its own disjoint subset of real patients,
    given as ``real/<subset>/`` beside its samples in ``generated/<subset>/``, and a
    generator's samples resemble its own training patients. So every row gets, for each real
    subset, the log of its mean distance to its ``k_real`` nearest real images of that subset
    (in a standardised, PCA-reduced space fitted on the real and training rows). These closeness
    features, standardised on the training rows, are appended to the row's own embedding
    (standardised and PCA-reduced as in :class:`OpenSetAttribution`) and a logistic regression
    on the combined features names the row: the real-subset evidence and the fingerprint
    classifier in one model.

    Unseen generators (``n_generators`` above the training generators) are rejected with
    :class:`OpenSetAttribution`'s distance rule on the embedding, which needs three training
    generators; with none unseen (the 2025 setting) nothing is rejected and two suffice.
    ``nearest_subset_accuracy_`` is the share of training rows whose closest real subset is
    their own: how much the subsets alone say.
    """

    name = "subsets"

    def __init__(self, n_generators: int, k_real: int = 5, **settings):
        """``settings``: :class:`OpenSetAttribution`'s (pca, C, k, new_label, random_state)."""
        super().__init__(n_generators, **settings)
        self.k_real = k_real

    def _real_subsets(
        self, n_features: int, real_X, real_labels, known: list
    ) -> tuple[np.ndarray, np.ndarray]:
        """The real rows as floats and their subset labels as str, checked against ``known``."""
        if real_X is None or len(real_X) == 0:
            raise AttributionError(
                "subsets needs the real images of each generator's training subset "
                "(real/<subset>/); this dataset has none"
            )
        real_X = np.asarray(real_X, dtype=np.float64)
        if real_labels is None or len(real_labels) != len(real_X):
            raise AttributionError("subsets needs one subset label per real image")
        if real_X.shape[1] != n_features:
            raise AttributionError(
                f"real images have {real_X.shape[1]} features, generated ones {n_features}"
            )
        real_labels = np.array([str(label) for label in real_labels])
        missing = sorted(set(known) - set(real_labels))
        if missing:
            raise AttributionError(
                f"subsets: training generator(s) {', '.join(missing)} have no real subset "
                "(real/<subset>/ with the same name as generated/<subset>/)"
            )
        extra = sorted(set(real_labels) - set(known))
        if extra:
            raise AttributionError(
                f"subsets: real subset(s) {', '.join(extra)} are not training generators "
                "(no generated/<subset>/ of that name)"
            )
        return real_X, real_labels

    def _closeness(
        self, X: np.ndarray, train: np.ndarray, real_X: np.ndarray, real_labels, subsets: list
    ) -> np.ndarray:
        """(N, subsets) log mean distance of every row to its nearest real images per subset."""
        rows_in = len(real_X) + int(train.sum())
        space = make_reducer(self.pca, rows_in, X.shape[1], self.random_state)
        real = space.fit(np.vstack([real_X, X[train]])).transform(real_X)
        rows = space.transform(X)
        columns = [
            self._knn_distance(real[real_labels == s], rows, exclude_self=False, k=self.k_real)
            for s in subsets
        ]
        return np.log(np.maximum(np.stack(columns, axis=1), 1e-12))

    def fit(
        self,
        X: np.ndarray,
        y: Sequence[str | None],
        real_X: np.ndarray | None = None,
        real_labels: Sequence[str] | None = None,
    ) -> SubsetAttribution:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        X = np.asarray(X, dtype=np.float64)
        train, labels, known = self._training_labels(y)
        real_X, real_labels = self._real_subsets(X.shape[1], real_X, real_labels, known)
        threshold = None
        unknown = self.n_generators is None and len(known) >= 3  # rejection needs three
        if unknown or (self.n_generators or 0) > len(known):
            threshold = self._fit_threshold(X[train], labels)
        self.reducer_ = make_reducer(self.pca, int(train.sum()), X.shape[1], self.random_state)
        self.reducer_.fit(X[train])
        Z = self.reducer_.transform(X)
        closeness = self._closeness(X, train, real_X, real_labels, known)
        self.closeness_scaler_ = StandardScaler().fit(closeness[train])
        combined = np.hstack([Z, self.closeness_scaler_.transform(closeness)])
        self.classifier_ = LogisticRegression(C=self.C, max_iter=5000)
        self.classifier_.fit(combined[train], labels)
        self.nearest_subset_accuracy_ = float(
            (np.asarray(known)[closeness[train].argmin(axis=1)] == labels).mean()
        )
        self._assign(Z, train, y, known, self.classifier_.predict(combined), threshold)
        return self


class NoveltyAttribution(OpenSetAttribution):
    """A classifier on the known generators that finds an unseen generator hiding inside a
    known class, by classifier two-sample tests, then retrains with it.

    An unseen generator of a known family (``unseen_sibling``) or seed (``seeds``) sits close to
    its known sibling, so a distance rule (:class:`OpenSetAttribution`) accepts its images and
    the classifier names them after the sibling. But then the test images named ``k`` are no
    longer drawn like ``k``'s training images. So, for every known class ``k`` with at least
    ``min_rows`` test images named ``k``, a logistic regression (``two_sample_C``) learns
    training-``k`` against test-named-``k`` in 5-fold cross-validation (the classifier
    two-sample test of Lopez-Paz and Oquab, 2017). Its out-of-fold scores are compared by a
    one-sided Mann-Whitney test (test-named above training; out-of-fold scores are not
    independent, so the p is approximate and, as measured, anti-conservative). Where the p is
    at most ``alpha`` divided by the number of known classes (Bonferroni), the test images
    whose out-of-fold score exceeds the ``quantile`` of the training images' scores are taken
    as new. K-means splits them into the ``n_generators - known`` new generators, and the
    classifier is retrained on the training rows plus the current new rows ``rounds`` times,
    each round taking as new the test rows it names new: a reject, cluster, retrain loop
    (Girish et al., 2021) whose rejection is the two-sample test. Rows are standardised and
    PCA-reduced on the training rows as in :class:`OpenSetAttribution`. With no unseen
    generator it is that
    classifier without rejection. ``class_tests_`` records each class's test. With
    ``n_generators`` None (unknown) every class is tested, and the number of new generators
    among the flagged rows is estimated as in :class:`OpenSetAttribution` (``n_new_``).
    """

    name = "novelty"

    def __init__(
        self,
        n_generators: int,
        two_sample_C: float = 0.1,
        quantile: float = 0.95,
        alpha: float = 0.05,
        min_rows: int = 10,
        rounds: int = 2,
        test: str = "mann_whitney",
        n_permutations: int = 199,
        **settings,
    ):
        """``settings``: :class:`OpenSetAttribution`'s (pca, C, new_label, random_state).
        ``test``: "mann_whitney" (the out-of-fold scores' Mann-Whitney p, approximate) or
        "permutation" (the out-of-fold AUC against ``n_permutations`` relabellings of the
        training and test rows, each cross-validated afresh: exact where they are exchangeable,
        with a floor of 1 / (n_permutations + 1))."""
        if test not in ("mann_whitney", "permutation"):
            raise AttributionError(
                f"novelty test must be mann_whitney or permutation, not {test!r}"
            )
        super().__init__(n_generators, **settings)
        self.test = test
        self.n_permutations = n_permutations
        self.two_sample_C = two_sample_C
        self.quantile = quantile
        self.alpha = alpha
        self.min_rows = min_rows
        self.rounds = rounds

    def _two_sample(
        self, reference: np.ndarray, queries: np.ndarray
    ) -> tuple[float, float, np.ndarray]:
        """AUC and one-sided p of reference-vs-queries, and which queries score as new."""
        from scipy.stats import mannwhitneyu
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        from ctprints.metrics import auc as auc_of

        rows = np.vstack([reference, queries])
        target = np.r_[np.zeros(len(reference)), np.ones(len(queries))]
        folds = StratifiedKFold(5, shuffle=True, random_state=self.random_state)
        model = LogisticRegression(C=self.two_sample_C, max_iter=5000)

        def out_of_fold(labels: np.ndarray) -> np.ndarray:
            return cross_val_predict(model, rows, labels, cv=folds, method="predict_proba")[:, 1]

        score = out_of_fold(target)
        reference_score, query_score = score[: len(reference)], score[len(reference) :]
        test = mannwhitneyu(query_score, reference_score, alternative="greater")
        auc, p = float(test.statistic / (len(query_score) * len(reference_score))), test.pvalue
        if self.test == "permutation":
            rng = np.random.default_rng(self.random_state)
            beaten = 0
            for _ in range(self.n_permutations):
                shuffled = rng.permutation(target)
                permuted = out_of_fold(shuffled)
                beaten += auc_of(shuffled, permuted)[0] >= auc
            p = (1 + beaten) / (1 + self.n_permutations)
        cut = np.quantile(reference_score, self.quantile)
        return auc, float(p), query_score > cut

    def fit(self, X: np.ndarray, y: Sequence[str | None]) -> NoveltyAttribution:
        from sklearn.linear_model import LogisticRegression

        X = np.asarray(X, dtype=np.float64)
        train, labels, known = self._training_labels(y)
        reference, Z = self._fit_classifier(X, train, labels)
        predicted = self.classifier_.predict(Z).astype(object)
        test = np.flatnonzero(~train)
        given = None if self.n_generators is None else max(0, self.n_generators - len(known))
        new = np.zeros(len(Z), dtype=bool)
        self.class_tests_ = []
        floor, level = 1 / (self.n_permutations + 1), self.alpha / max(len(known), 1)
        if self.test == "permutation" and floor > level:
            raise AttributionError(
                f"novelty n_permutations {self.n_permutations}: its smallest p, {floor:.3g}, is "
                f"above alpha / {len(known)} classes = {level:.3g}, so no class could be "
                f"flagged; use at least {int(np.ceil(1 / level)) - 1}"
            )
        if given is None or given:  # unknown: test every class, as if some were unseen
            for k in known:
                named = test[predicted[test] == k]
                # the 5-fold test needs five rows on each side (else a fold lacks one)
                if len(named) < max(self.min_rows, 5) or (labels == k).sum() < 5:
                    continue
                auc, p, flagged = self._two_sample(reference[labels == k], Z[named])
                significant = p <= self.alpha / len(known)
                if significant:
                    new[named[flagged]] = True
                self.class_tests_.append(
                    {
                        "class": k,
                        "n_test": len(named),
                        "auc": auc,
                        "p": p,
                        "significant": bool(significant),
                        "flagged": int(flagged.sum()),
                    }
                )
        n_new = self._count_new(Z[new], known) if new.any() or given else 0
        self.n_new_ = n_new
        names = new_labels(known, n_new, self.new_label)
        if n_new and new.sum() >= n_new:
            new_clusters = self._split_new(Z[new], n_new)
            pseudo = np.array([names[g] for g in new_clusters], dtype=object)
            for _ in range(self.rounds):
                model = LogisticRegression(C=self.C, max_iter=5000).fit(
                    np.vstack([reference, Z[new]]), np.r_[labels, pseudo].astype(str)
                )
                predicted = model.predict(Z).astype(object)
                new = (~train) & np.isin(predicted, names)
                pseudo = predicted[new]
                if len(set(pseudo)) < n_new:
                    break
            self.classifier_ = model
        classes = known + names
        self.labels_ = np.where(train, np.asarray(y, dtype=object), predicted).astype(object)
        self.rejected_ = (~train) & np.isin(self.labels_, names)
        self.clusters_ = np.array([classes.index(str(label)) for label in self.labels_])
        self.mapping_ = dict(enumerate(classes))
        return self
