"""How far off is `novelty`'s p-value? Its classifier two-sample test under the null, against
a held-out variant whose p is exact given the fitted model.

    python benchmarks/trial_novelty_calibration.py [N_SIMS] [--permutation]

Per simulation, a class's training rows (n_train) and the test rows named after it (n_test) are
drawn from one Gaussian (the null: nothing hidden) or the test rows from a mixture with a shifted
sibling (power). Two tests of training against test rows:

- ``oof``: ctprints' own (``NoveltyAttribution._two_sample``): 5-fold out-of-fold logistic
  regression scores, then a one-sided Mann-Whitney of test against training scores. The scores
  come from five models fitted on overlapping rows, so they are not independent.
- ``split``: the model fitted on a random half of the rows, Mann-Whitney on the other half's
  scores only: exact given that model, with half the rows.
- ``perm``: ``novelty``'s ``test: permutation``: the out-of-fold AUC against 99 relabellings
  of the rows, each cross-validated afresh (only with ``--permutation``: about 2 s a test).

Printed: the share of simulations with p at most 0.05 and at most 0.0125 (Bonferroni over 4
classes), for the null and for a sibling making up half of the test rows. Results:
benchmarks/RESULTS.md, "novelty's two-sample p-value".
"""

from __future__ import annotations

import sys

import numpy as np
from scipy.stats import mannwhitneyu
from sklearn.linear_model import LogisticRegression
from tqdm.auto import tqdm

from ctprints.openset import NoveltyAttribution

DIMS, N_TRAIN, N_TEST = 10, 100, 50


def split_test(reference: np.ndarray, queries: np.ndarray, rng: np.random.Generator) -> float:
    rows = np.vstack([reference, queries])
    target = np.r_[np.zeros(len(reference)), np.ones(len(queries))]
    order = rng.permutation(len(rows))
    fit, score = order[: len(rows) // 2], order[len(rows) // 2 :]
    model = LogisticRegression(C=0.1, max_iter=5000).fit(rows[fit], target[fit])
    p = model.predict_proba(rows[score])[:, 1]
    held = target[score]
    return float(mannwhitneyu(p[held == 1], p[held == 0], alternative="greater").pvalue)


def main(n_sims: int, permutation: bool = False) -> None:
    rng = np.random.default_rng(0)
    novelty = NoveltyAttribution(4)
    permuted = NoveltyAttribution(4, test="permutation", n_permutations=99)
    for shift, label in ((0.0, "null (nothing hidden)"), (1.0, "sibling, half the test rows")):
        p = {"oof": [], "split": [], **({"perm": []} if permutation else {})}
        for _ in tqdm(range(n_sims), desc=label):
            reference = rng.normal(0, 1, (N_TRAIN, DIMS))
            queries = rng.normal(0, 1, (N_TEST, DIMS))
            queries[: N_TEST // 2, 0] += shift
            novelty.random_state = int(rng.integers(2**31))
            p["oof"].append(novelty._two_sample(reference, queries)[1])
            p["split"].append(split_test(reference, queries, rng))
            if permutation:
                permuted.random_state = novelty.random_state
                p["perm"].append(permuted._two_sample(reference, queries)[1])
        for name, values in p.items():
            values = np.asarray(values)
            print(
                f"{label:28s} {name:5s}  p<=0.05: {np.mean(values <= 0.05):.3f}  "
                f"p<=0.0125: {np.mean(values <= 0.0125):.3f}  ({n_sims} simulations)",
                flush=True,
            )


if __name__ == "__main__":
    numbers = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    main(int(numbers[0]) if numbers else 500, "--permutation" in sys.argv)
