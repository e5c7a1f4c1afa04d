"""Task 1's hard labels against the test ground truth: what the run files' labels score.

Usage (in a workflow directory where the datasets' Task 1 score files, run files and truth are
built):
  python benchmarks/trial_task1_labels.py --datasets d0 d1 d2 --out DIR [--approaches]

An evaluation on test ground truth, never used to choose anything in the workflow. For every
dataset, group and run file (attack x feature space, AutoGluon, the paper's) it reads the run
file's labels and the scores behind them, and records the dev AUC (out of fold), the test AUC,
F1, kappa, the share labelled used, and the F1 of the best threshold in hindsight and of
labelling every image used. Per dataset it gives the figures the labels are held to: constant
run files where the dev AUC is over 0.6, the mean test F1 of those runs against their mean
hindsight F1, those under the all-used F1, and the submitted run (``selection.tsv``'s choice,
or ``--submitted`` where a build has none). Run it on two builds to compare them.

With ``--approaches`` it also labels every attack's test images four ways from one build's
score files, each threshold chosen on the same out-of-fold dev scores, to show what the scale
of the test scores does:

- ``refit_youden``: Youden's threshold on scores of attacks refit on all dev images
  (:func:`ctprints.membership.final_scores`, recomputed here from the manifest and embeddings);
- ``refit_top_share``: the top share of the refit scores, the share of used dev images, a rule
  free of the scale;
- ``crossfit_youden``, ``crossfit_prior``, ``crossfit_f1``, ``crossfit_kappa``: each threshold
  rule (:func:`ctprints.labelling.choose_threshold`) on the cross-fitted test scores, as the
  run files label them (:func:`ctprints.labelling.label_images`; ``f1`` or ``kappa`` is the
  default, ``task1.threshold: metric``).

Writes runs.tsv, datasets.tsv and summary.md (mean and sd over the datasets given) to --out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from ctprints.io import read_image
from ctprints.labelling import DEFECT_AUC, choose_threshold, hard_labels, label_images, top_share
from ctprints.manifest import read_manifest
from ctprints.membership import dev_labelled, final_scores, group_rows, part_features, read_patients
from ctprints.metrics import auc, hard_metrics, hindsight_f1
from ctprints.paths import PATHS, fill
from ctprints.submission import read_run

ATTACKS = ["gan_leaks", "gan_leaks_cal", "monte_carlo", "domias", "ssim_max", "meta"]
EMBEDDERS = ["spectrum", "residual", "pixels", "resnet18"]
APPROACHES = [
    "refit_youden",
    "refit_top_share",
    "crossfit_youden",
    "crossfit_prior",
    "crossfit_f1",
    "crossfit_kappa",
]
PAPER = "paper_f0.5_spectrum"


def _scores(dataset: str, group: str, embedder: str) -> pd.DataFrame:
    return pd.read_csv(
        fill(PATHS.task1_scores, dataset=dataset, group=group, embedder=embedder),
        dtype={"image_id": str},
    )


def _figures(truth: np.ndarray, scores: np.ndarray, predicted: np.ndarray) -> dict:
    hard = hard_metrics(truth, predicted)
    return {
        "test_auc": float(auc(truth, scores)[0]),
        "f1": float(hard["f1"][0]),
        "kappa": float(hard["kappa"][0]),
        "share_used": float(predicted.mean()),
        "constant": bool(predicted.min() == predicted.max()),
        "hindsight_f1": hindsight_f1(truth, scores),
        "all_used_f1": float(hard_metrics(truth, np.ones_like(truth))["f1"][0]),
    }


def _sources(dataset: str, group: str) -> dict[str, tuple[str, str]]:
    """Each run of a group -> (score file, score column), for the runs a build has."""
    where = {"dataset": dataset, "group": group}
    runs = {
        f"{attack}_{embedder}": (fill(PATHS.task1_scores, embedder=embedder, **where), attack)
        for embedder in EMBEDDERS
        for attack in ATTACKS
    }
    runs["autogluon_spectrum"] = (
        fill(PATHS.autogluon_cv_scores, paper_embedder="spectrum", **where),
        "autogluon",
    )
    runs[PAPER] = (fill(PATHS.paper_scores, paper="spectrum_f0.5", **where), "paper")
    return {run: source for run, source in runs.items() if Path(source[0]).exists()}


def file_rows(dataset: str, group: str, submitted: str) -> list[dict]:
    """Every run file of a group against the truth; the submitted one marked."""
    truth_run = read_run(fill(PATHS.demo_truth, dataset=dataset, name=f"task1_{group}"), task=1)
    folder = Path(fill(PATHS.task1_run, dataset=dataset, group=group, run="x")).parent
    selection = Path(fill(PATHS.task1_selection, dataset=dataset, group=group))
    if selection.exists():
        submitted = pd.read_csv(selection, sep="\t").query("chosen").run.iloc[0]
    rows = []
    for run, (path, column) in _sources(dataset, group).items():
        scores = pd.read_csv(path, dtype={"image_id": str})
        dev, test = scores[scores.split == "dev"], scores[scores.split == "test"]
        labels = read_run(folder / f"{run}.csv", task=1, expected_ids=test.image_id)
        predicted = np.array([int(labels[i]) for i in test.image_id])
        truth = np.array([int(truth_run[i]) for i in test.image_id])
        dev_auc = (
            float(auc(dev.label.astype(int), dev[column])[0]) if dev.label.nunique() > 1 else np.nan
        )
        rows.append(
            {
                "dataset": dataset,
                "group": group,
                "run": run,
                "approach": "run_file",
                "submitted": run == submitted,
                "dev_auc": dev_auc,
                **_figures(truth, test[column].to_numpy(), predicted),
            }
        )
    return rows


def refit_scores(dataset: str, group: str, embedder: str, dev_scores: pd.DataFrame, patients):
    """The test images' scores from attacks refit on every dev image."""
    parts = group_rows(read_manifest(fill(PATHS.manifest, dataset=dataset)), group, dataset)
    features = pd.read_parquet(fill(PATHS.embeddings, dataset=dataset, embedder=embedder))
    features = features.set_index("key")
    pixels = lambda part: np.stack([read_image(p) for p in part["path"]])  # noqa: E731
    dev, labelled = dev_labelled(parts, features, pixels, patients, n_folds=5)
    by_id = dev_scores.set_index("image_id").loc[dev.image_id]
    oof = {name: by_id[name].to_numpy() for name in ATTACKS}
    test = parts["test"]
    scores = final_scores(
        ATTACKS,
        labelled,
        part_features(features, parts["generated"]),
        part_features(features, test),
        pixels(test),
        pixels(parts["generated"]),
        oof,
        {"domias": {"components": 5}, "ssim_max": {"candidates": 50}},
    )
    return pd.DataFrame(scores, index=test.image_id.to_numpy())


def label(approach: str, dev: pd.DataFrame, attack: str, test_scores: np.ndarray) -> np.ndarray:
    labels = dev.label.astype(int).to_numpy()
    if approach == "refit_top_share":
        return top_share(test_scores, labels.mean())
    if approach == "refit_youden":  # the labels before cross-fitting: the threshold alone
        return hard_labels(test_scores, choose_threshold(dev[attack], labels, "youden"))
    return label_images(dev[attack], labels, test_scores, approach.split("_")[1]).labels


def approach_rows(dataset: str, group: str, embedder: str, patients_path: str | None) -> list:
    scores = _scores(dataset, group, embedder)
    dev, test = scores[scores.split == "dev"], scores[scores.split == "test"]
    truth_run = read_run(fill(PATHS.demo_truth, dataset=dataset, name=f"task1_{group}"), task=1)
    truth = np.array([int(truth_run[i]) for i in test.image_id])
    parts = group_rows(read_manifest(fill(PATHS.manifest, dataset=dataset)), group, dataset)
    patients = read_patients(patients_path, parts) if patients_path else None
    refit = refit_scores(dataset, group, embedder, dev, patients).loc[test.image_id]
    rows = []
    for attack in ATTACKS:
        dev_auc = float(auc(dev.label.astype(int), dev[attack])[0])
        for approach in APPROACHES:
            values = (refit[attack] if approach.startswith("refit") else test[attack]).to_numpy()
            rows.append(
                {
                    "dataset": dataset,
                    "group": group,
                    "run": f"{attack}_{embedder}",
                    "approach": approach,
                    "submitted": False,
                    "dev_auc": dev_auc,
                    **_figures(truth, values, label(approach, dev, attack, values)),
                }
            )
    return rows


def dataset_rows(runs: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (dataset, approach), mine in runs.groupby(["dataset", "approach"], sort=False):
        signal = mine[mine.dev_auc > DEFECT_AUC]
        row = {
            "dataset": dataset,
            "approach": approach,
            "runs": len(mine),
            "signal_runs": len(signal),
            "constant_signal": int(signal.constant.sum()),
            "constant_all": int(mine.constant.sum()),
            "mean_f1": signal.f1.mean(),
            "mean_hindsight_f1": signal.hindsight_f1.mean(),
            "below_all_used": int((signal.f1 < signal.all_used_f1 - 1e-9).sum()),
        }
        row["f1_share_of_hindsight"] = row["mean_f1"] / row["mean_hindsight_f1"]
        submitted = mine[mine.submitted]
        if len(submitted):
            row |= {
                "submitted": ",".join(submitted.run),
                "submitted_f1": submitted.f1.mean(),
                "submitted_kappa": submitted.kappa.mean(),
                "submitted_hindsight_f1": submitted.hindsight_f1.mean(),
            }
            row["submitted_share_of_hindsight"] = (
                row["submitted_f1"] / row["submitted_hindsight_f1"]
            )
        out.append(row)
    return pd.DataFrame(out)


COLUMNS = [
    "constant_signal",
    "mean_f1",
    "mean_hindsight_f1",
    "f1_share_of_hindsight",
    "below_all_used",
    "submitted_f1",
    "submitted_kappa",
    "submitted_hindsight_f1",
    "submitted_share_of_hindsight",
]


def markdown(table: pd.DataFrame, title: str) -> str:
    """Mean ± sd over the datasets (seeds) of every figure, one row per approach."""
    lines = [
        f"### {title}",
        "",
        "| approach | " + " | ".join(column.replace("_", " ") for column in COLUMNS) + " |",
        "|---" * (len(COLUMNS) + 1) + "|",
    ]
    for approach, rows in table.groupby("approach", sort=False):
        cells = []
        for column in COLUMNS:
            values = rows[column].dropna() if column in rows else pd.Series(dtype=float)
            if values.empty:
                cells.append("")
            elif len(values) == 1:
                cells.append(f"{values.iloc[0]:.3f}")
            else:
                cells.append(f"{values.mean():.3f} ± {values.std(ddof=1):.3f}")
        lines.append(f"| {approach} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", required=True)
    parser.add_argument("--groups", nargs="+", default=["group1", "group2", "group3"])
    parser.add_argument("--out", required=True)
    parser.add_argument("--title", default="Task 1 labels")
    parser.add_argument(
        "--submitted", default="meta_pixels", help="the submitted run where no submitted.csv exists"
    )
    parser.add_argument("--approaches", action="store_true")
    args = parser.parse_args()
    rows = []
    for dataset in args.datasets:
        root = Path(fill(PATHS.demo_folder, dataset=dataset, task="task1"))
        for group in args.groups:
            rows += file_rows(dataset, group, args.submitted)
            if args.approaches:
                patients = root / group / "dev_patients.csv"
                patients_path = str(patients) if patients.exists() else None
                for embedder in EMBEDDERS:
                    rows += approach_rows(dataset, group, embedder, patients_path)
            print(dataset, group, flush=True)
    runs = pd.DataFrame(rows)
    table = dataset_rows(runs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs.to_csv(out / "runs.tsv", sep="\t", index=False, float_format="%.4f")
    table.to_csv(out / "datasets.tsv", sep="\t", index=False, float_format="%.4f")
    text = markdown(table, f"{args.title} ({', '.join(args.datasets)})")
    (out / "summary.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
