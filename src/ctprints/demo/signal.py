"""Checks that the demo holds the signal it is built for (:func:`signal_report`): how real-like
each generator's samples are, whether the generators can be told apart, and whether the used
patients are memorised."""

from __future__ import annotations

from typing import Any

import numpy as np

from ctprints.demo.scenarios import Plan, group_leaks, sub_seed
from ctprints.embed import pixel_features, radial_spectrum
from ctprints.neighbours import nearest


def signal_report(
    plan: Plan, real: dict[str, np.ndarray], samples: dict[str, dict[str, np.ndarray]]
) -> list[dict[str, Any]]:
    """Evidence that the demo data carry signal, as rows of (check, subject, value, ...).

    - ``realism``: mean nearest-neighbour distance (16x16 pooled pixels) from a generator's
      samples to half of the real patients, divided by the same distance from the other half of
      the real patients. Near 1 means real-like; a noise control shows what "not real" scores.
    - ``family_accuracy``: 5-fold accuracy of a logistic regression on the radial power spectrum
      telling the task 2 generators apart (chance is 1 / number of generators).
    - ``membership_auc``: per task 1 group, ROC AUC of minus the nearest-neighbour distance to the
      group's generated images, used against not-used real images (0.5 is no signal).
    """
    rng = np.random.default_rng(sub_seed(plan.seed, "signal"))
    rows = _realism_rows(plan, real, samples, rng)
    rows.append(_family_accuracy_row(plan, samples))
    rows += _membership_rows(plan, real, samples)
    return rows


def _realism_rows(
    plan: Plan,
    real: dict[str, np.ndarray],
    samples: dict[str, dict[str, np.ndarray]],
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """The realism rows: the other half of the real patients, a noise control, each generator."""
    patients = np.unique(real["patient"])
    half = set(rng.permutation(patients)[: len(patients) // 2])
    in_half = np.array([p in half for p in real["patient"]])
    reference = pixel_features(real["images"][in_half])
    other = pixel_features(real["images"][~in_half])
    baseline = float(nearest(reference, other)[0][:, 0].mean())

    def realism(subject: str, images: np.ndarray) -> dict[str, Any]:
        distance = float(nearest(reference, pixel_features(images))[0][:, 0].mean())
        return dict(
            check="realism", subject=subject, value=distance / baseline, detail=f"{distance:.4f}"
        )

    rows = [dict(check="realism", subject="real (other half)", value=1.0, detail=f"{baseline:.4f}")]
    noise = rng.normal(
        real["images"].mean(), real["images"].std(), (len(other), *real["images"].shape[1:])
    )
    noise = np.clip(noise, 0, 255).astype(np.uint8)
    rows.append(realism("noise control", noise))
    for name, drawn in samples.items():
        generated = np.concatenate(list(drawn.values()))
        rows.append(realism(f"{name} ({plan.instances[name].family})", generated))
    return rows


def _family_accuracy_row(plan: Plan, samples: dict[str, dict[str, np.ndarray]]) -> dict[str, Any]:
    """Cross-validated accuracy of telling the task 2 generators apart by their spectra."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    spectra, labels = [], []
    for label in plan.task2_labels:
        drawn = np.concatenate(list(samples[f"task2_{label}"].values()))
        spectra.append(radial_spectrum(drawn, bins=24))
        labels += [label] * len(drawn)
    folds = min(5, min(np.unique(labels, return_counts=True)[1]))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    accuracy = cross_val_score(
        model,
        np.concatenate(spectra),
        labels,
        cv=StratifiedKFold(folds, shuffle=True, random_state=plan.seed),
    )
    return dict(
        check="family_accuracy",
        subject="task2 generators",
        value=float(accuracy.mean()),
        detail=f"{folds}-fold, chance {1 / len(plan.task2_labels):.2f}, sd {accuracy.std():.3f}",
    )


def _membership_rows(
    plan: Plan, real: dict[str, np.ndarray], samples: dict[str, dict[str, np.ndarray]]
) -> list[dict[str, Any]]:
    """Per task 1 group, how well nearness to its generated images tells used from not used."""
    from sklearn.metrics import roc_auc_score

    rows = []
    for group in plan.task1_groups:
        drawn = samples[f"task1_{group}"]
        generated = pixel_features(np.concatenate(list(drawn.values())))
        members = {
            p: r == "used"
            for p, (t, g, r, _) in plan.assignment.items()
            if t == "task1" and g == group and r in ("used", "not_used")
        }
        mask = np.isin(real["patient"], list(members))
        labels = np.array([members[p] for p in real["patient"][mask]])
        score = -nearest(generated, pixel_features(real["images"][mask]))[0][:, 0]
        auc = float(roc_auc_score(labels, score))
        rows.append(
            dict(
                check="membership_auc",
                subject=f"task1 {group}",
                value=auc,
                detail=f"{int(labels.sum())} used vs {int((~labels).sum())} not used images, "
                f"{len(plan.instances[f'task1_{group}'].patients)} "
                + ("used patients" if group_leaks(plan, group) else "other patients (leak: false)"),
            )
        )
    return rows
