"""Trial of Task 2 method `novelty` against the workflow's own embeddings of a built dataset.

    PYTHONPATH=src python benchmarks/trial_novelty.py ROOT DATASET [DATASET ...]

ROOT is a work directory where the workflow has built results/<dataset>/manifest.parquet,
results/<dataset>/embeddings/<embedder>.parquet and data/<dataset>/ground_truth/task2.csv.
For each embedder it fits `novelty` with its default settings (as rule `cluster` does) and
prints the test accuracy, the seconds taken, and the classes whose two-sample test fired
(class, AUC, p). Results: docs/demo-and-study.md.

This is an evaluation on test ground truth, with the number of generators taken from that
truth: it may describe a method, never choose its settings. Settings are chosen on the training
folders only, with benchmarks/tune_on_training.py (ctprints.tuning).
"""

import sys
import time

import pandas as pd

from ctprints.attribution import make_method, task2_rows


def main(root: str, datasets: list[str]) -> None:
    for dataset in datasets:
        manifest = pd.read_parquet(f"{root}/results/{dataset}/manifest.parquet")
        truth = pd.read_csv(
            f"{root}/data/{dataset}/ground_truth/task2.csv",
            header=None,
            names=["image_id", "label"],
            dtype=str,
        ).set_index("image_id")["label"]
        for embedder in ("spectrum", "residual", "pixels", "resnet18"):
            features = pd.read_parquet(f"{root}/results/{dataset}/embeddings/{embedder}.parquet")
            rows, X = task2_rows(manifest, features)
            start = time.time()
            model = make_method("novelty", truth.nunique(), {}, None, 0)
            model.fit(X, list(rows["label"]))
            test = rows["split"].eq("test").to_numpy()
            expected = truth.reindex(rows["image_id"][test]).to_numpy()
            accuracy = (model.labels_[test] == expected).mean()
            fired = [
                (str(t["class"]), round(t["auc"], 2), float(f"{t['p']:.2g}"))
                for t in model.class_tests_
                if t["significant"]
            ]
            print(
                dataset, embedder, f"accuracy {accuracy:.3f}", f"{time.time() - start:.1f}s", fired
            )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
