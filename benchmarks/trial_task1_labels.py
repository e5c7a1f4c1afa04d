"""Task 1's hard labels against the test ground truth: how each threshold approach holds up.

Usage (in a workflow directory where the datasets' Task 1 score files and truth are built):
  python benchmarks/trial_task1_labels.py --datasets d0 d1 d2 --out DIR

An evaluation on test ground truth, never used to choose anything in the workflow: it shows
why run files threshold cross-fitted test scores. For every dataset, group, feature space and
attack it labels the test images four ways, each threshold chosen on the dev images'
out-of-fold scores (the same in all four):

- ``refit_youden``: Youden's threshold on scores of the attack refit on all dev images
  (:func:`ctprints.membership.final_scores`, recomputed here);
- ``refit_top_share``: the top share of the refit scores, the share of used dev images;
- ``crossfit_youden``: Youden's threshold on the cross-fitted test scores of the score file
  (what run files do);
- ``crossfit_prior``: the ``prior`` rule on the cross-fitted scores.

Per run it records the dev AUC, test AUC, F1, kappa, the share labelled used, the F1 of the
best threshold in hindsight and of labelling every image used; per dataset and approach, the
targets of the Task 1 labels: constant run files with dev AUC > 0.6, the mean test F1 over
those runs against their mean hindsight F1, runs under the all-used F1, and the submitted run
(``before``: meta on pixels; ``after``: chosen by cross-validated dev F1). Writes runs.tsv,
datasets.tsv and summary.md (mean and sd over the datasets given) to --out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from ctprints.io import read_image
from ctprints.manifest import read_manifest
from ctprints.membership import (
    DEFECT_AUC,
    Labelled,
    dev_groups,
    dev_rows,
    final_scores,
    group_rows,
    label_images,
    part_features,
    read_patients,
    select_run,
)
from ctprints.metrics import auc, hard_metrics, hindsight_f1
from ctprints.plan import PATHS, fill
from ctprints.submission import read_run

ATTACKS = ["gan_leaks", "gan_leaks_cal", "monte_carlo", "domias", "ssim_max", "meta"]
EMBEDDERS = ["spectrum", "residual", "pixels", "resnet18"]
APPROACHES = ["refit_youden", "refit_top_share", "crossfit_youden", "crossfit_prior"]
BEFORE, AFTER = "refit_youden", "crossfit_youden"


def refit_scores(dataset: str, group: str, embedder: str, dev_scores: pd.DataFrame, patients):
    """The test images' scores from attacks refit on every dev image (the workflow's labels
    before cross-fitting)."""
    parts = group_rows(read_manifest(fill(PATHS.manifest, dataset=dataset)), group, dataset)
    features = pd.read_parquet(fill(PATHS.embeddings, dataset=dataset, embedder=embedder))
    features = features.set_index("key")
    dev = dev_rows(parts)
    pixels = lambda part: np.stack([read_image(p) for p in part["path"]])  # noqa: E731
    labelled = Labelled(
        part_features(features, dev),
        np.r_[np.ones(len(parts["used"])), np.zeros(len(parts["not_used"]))].astype(int),
        pixels(dev),
        dev_groups(dev, patients),
    )
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
        count = int(round(labels.mean() * len(test_scores)))
        order = np.argsort(-test_scores, kind="stable")
        out = np.zeros(len(test_scores), dtype=int)
        out[order[:count]] = 1
        return out
    rule = "prior" if approach == "crossfit_prior" else "youden"
    return label_images(dev[attack], labels, test_scores, rule)[0]


def run_rows(dataset: str, group: str, embedder: str, patients_path: str | None) -> list[dict]:
    scores = pd.read_csv(
        fill(PATHS.task1_scores, dataset=dataset, group=group, embedder=embedder),
        dtype={"image_id": str},
    )
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
            predicted = label(approach, dev, attack, values)
            hard = hard_metrics(truth, predicted)
            rows.append(
                {
                    "dataset": dataset,
                    "group": group,
                    "run": f"{attack}_{embedder}",
                    "approach": approach,
                    "dev_auc": dev_auc,
                    "test_auc": float(auc(truth, values)[0]),
                    "f1": float(hard["f1"][0]),
                    "kappa": float(hard["kappa"][0]),
                    "share_used": float(predicted.mean()),
                    "constant": bool(predicted.min() == predicted.max()),
                    "hindsight_f1": hindsight_f1(truth, values),
                    "all_used_f1": float(hard_metrics(truth, np.ones_like(truth))["f1"][0]),
                }
            )
    return rows


def submitted(runs: pd.DataFrame, dataset: str, group: str) -> dict:
    """The submitted run before (meta on pixels, the old default) and after (chosen on dev by
    cross-validated F1 among every attack and feature space)."""
    candidates = {}
    for embedder in EMBEDDERS:
        scores = pd.read_csv(
            fill(PATHS.task1_scores, dataset=dataset, group=group, embedder=embedder),
            dtype={"image_id": str},
        )
        dev = scores[scores.split == "dev"]
        for attack in ATTACKS:
            candidates[f"{attack}_{embedder}"] = dev.assign(score=dev[attack])
    chosen = select_run(candidates, "f1").query("chosen").run.iloc[0]
    mine = runs[(runs.dataset == dataset) & (runs.group == group)].set_index(["approach", "run"])
    return {
        "before": mine.loc[(BEFORE, "meta_pixels")],
        "after": mine.loc[(AFTER, chosen)],
        "after_run": chosen,
    }


def dataset_rows(runs: pd.DataFrame, datasets, groups) -> pd.DataFrame:
    out = []
    for dataset in datasets:
        picks = {group: submitted(runs, dataset, group) for group in groups}
        for approach in APPROACHES:
            mine = runs[(runs.dataset == dataset) & (runs.approach == approach)]
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
                "below_all_used": int((signal.f1 < signal.all_used_f1).sum()),
            }
            row["f1_share_of_hindsight"] = row["mean_f1"] / row["mean_hindsight_f1"]
            when = "before" if approach == BEFORE else "after" if approach == AFTER else None
            if when:
                rows = [picks[g][when] for g in groups]
                row |= {
                    "submitted": ",".join(
                        "meta_pixels" if when == "before" else picks[g]["after_run"] for g in groups
                    ),
                    "submitted_f1": np.mean([r.f1 for r in rows]),
                    "submitted_kappa": np.mean([r.kappa for r in rows]),
                    "submitted_hindsight_f1": np.mean([r.hindsight_f1 for r in rows]),
                }
                row["submitted_share_of_hindsight"] = (
                    row["submitted_f1"] / row["submitted_hindsight_f1"]
                )
            out.append(row)
    return pd.DataFrame(out)


def markdown(table: pd.DataFrame, title: str) -> str:
    columns = [
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
    lines = [
        f"### {title}",
        "",
        "| approach | " + " | ".join(columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for approach, rows in table.groupby("approach", sort=False):
        cells = []
        for column in columns:
            values = rows[column].dropna()
            if values.empty:
                cells.append("")
            elif len(values) == 1:
                cells.append(f"{values.iloc[0]:.3f}".rstrip("0").rstrip("."))
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
    args = parser.parse_args()
    rows = []
    for dataset in args.datasets:
        patients_dir = Path(fill(PATHS.demo_truth, dataset=dataset, name="x")).parent.parent
        for group in args.groups:
            patients = patients_dir / "task1" / group / "dev_patients.csv"
            patients_path = str(patients) if patients.exists() else None
            for embedder in EMBEDDERS:
                rows += run_rows(dataset, group, embedder, patients_path)
                print(dataset, group, embedder, flush=True)
    runs = pd.DataFrame(rows)
    table = dataset_rows(runs, args.datasets, args.groups)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs.to_csv(out / "runs.tsv", sep="\t", index=False, float_format="%.4f")
    table.to_csv(out / "datasets.tsv", sep="\t", index=False, float_format="%.4f")
    text = markdown(table, f"{args.title} ({', '.join(args.datasets)})")
    (out / "summary.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
