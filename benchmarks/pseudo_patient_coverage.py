"""Do intervals and p-values built on pseudo-patients mean what those built on true patients do?

A pool of phantom patients (the demo's 64 px, 8 slices each) is rendered once. Each simulated
Task 1 test set draws ``--patients`` patients from it, half of them members, and scores every
slice with a random projection of its pixels (so that slices of one patient score alike, as
real attacks' scores do) plus ``delta`` for members' slices. The statistics of
:func:`ctprints.metrics.membership_metrics` (percentile bootstrap 95% interval of the AUC,
permutation p) are then computed three ways: resampling images, true patients, and the
pseudo-patients of :func:`ctprints.pseudo_patients.pseudo_patients` (split by label, as
Task 1's evaluation does). The table gives, per ``delta`` and unit, the interval's coverage of
the population AUC and the share of p-values under 0.05, each with its Clopper-Pearson 95%
interval over the simulations, and the mean ARI of the pseudo-patients.

    python benchmarks/pseudo_patient_coverage.py [--sims 200] [--patients 16] > table.tsv

The population AUC at ``delta`` 0 is 0.5 (members are drawn at random); at other values it is
the mean image AUC over 200 random member assignments of the whole pool.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, roc_auc_score
from tqdm.auto import tqdm

from ctprints.demo.generate import render_patients
from ctprints.embed import pixel_features
from ctprints.inference import clopper_pearson
from ctprints.metrics import membership_metrics
from ctprints.pseudo_patients import pseudo_patients


def pool_scores(features: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A standardised random projection of every slice's pixels: the slice's score before the
    members' shift."""
    centred = features - features.mean(axis=0)
    score = centred @ rng.normal(size=features.shape[1])
    return (score - score.mean()) / score.std()


def population_auc(score, patient, delta, rng, draws: int = 200) -> float:
    names = np.unique(patient)
    values = []
    for _ in range(draws):
        members = rng.permutation(names)[: len(names) // 2]
        label = np.isin(patient, members).astype(int)
        values.append(roc_auc_score(label, score + delta * label))
    return float(np.mean(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=160, help="phantom patients rendered")
    parser.add_argument("--patients", type=int, default=16, help="patients per test set")
    parser.add_argument("--sims", type=int, default=200)
    parser.add_argument("--deltas", type=float, nargs="+", default=[0.0, 0.5])
    parser.add_argument("--n-boot", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    ids = {f"pool_{k:03d}": int(rng.integers(2**31)) for k in range(args.pool)}
    real = render_patients(ids, 8, 64, "lung", workers=2)
    features = pixel_features(real["images"])
    base = pool_scores(features, rng)
    names = np.asarray(list(ids))
    rows = []
    for delta in args.deltas:
        truth = 0.5 if delta == 0 else population_auc(base, real["patient"], delta, rng)
        for _ in tqdm(range(args.sims), desc=f"delta {delta}", file=sys.stderr):
            drawn = rng.choice(names, args.patients, replace=False)
            members = drawn[: args.patients // 2]
            rows_ = np.flatnonzero(np.isin(real["patient"], drawn))
            patient = real["patient"][rows_]
            label = np.isin(patient, members).astype(int)
            noise = rng.normal(scale=0.3, size=len(rows_))
            score = base[rows_] + noise + delta * label
            pseudo = pseudo_patients(features[rows_])
            split = np.char.add(pseudo.astype(str), np.char.add("_", label.astype(str)))
            ari = adjusted_rand_score(patient, pseudo)
            for unit, ids_ in (("image", None), ("patient", patient), ("pseudo-patient", split)):
                result = membership_metrics(
                    label,
                    score,
                    n_boot=args.n_boot,
                    n_permutations=999,
                    seed=int(rng.integers(2**31)),
                    patient_ids=ids_,
                    unit=unit,
                )
                rows.append(
                    {
                        "delta": delta,
                        "true_auc": truth,
                        "unit": unit,
                        "covered": result["auc_ci_low"] <= truth <= result["auc_ci_high"],
                        "p_below_05": result["p_value"] < 0.05,
                        "ari": ari,
                        "units": len(set(split)) if unit == "pseudo-patient" else args.patients,
                    }
                )
    raw = pd.DataFrame(rows)
    out = []
    for (delta, unit), part in raw.groupby(["delta", "unit"], sort=False):
        n = len(part)
        covered, below = int(part.covered.sum()), int(part.p_below_05.sum())
        cov_low, cov_high = clopper_pearson(covered, n)
        p_low, p_high = clopper_pearson(below, n)
        out.append(
            {
                "delta": delta,
                "true_auc": part.true_auc.iloc[0],
                "unit": unit,
                "sims": n,
                "coverage": covered / n,
                "coverage_ci": f"{cov_low:.3f}-{cov_high:.3f}",
                "share_p_below_05": below / n,
                "share_ci": f"{p_low:.3f}-{p_high:.3f}",
                "mean_ari": part.ari.mean(),
                "min_ari": part.ari.min(),
                "mean_units": part.units.mean(),
            }
        )
    pd.DataFrame(out).to_csv(sys.stdout, sep="\t", index=False, float_format="%.3f")


if __name__ == "__main__":
    main()
