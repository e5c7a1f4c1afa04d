"""Rank Task 2 methods and embedders on a built dataset's training folders only.

    python benchmarks/tune_on_training.py ROOT DATASET [--methods kmeans openset novelty]
        [--embedders spectrum residual pixels resnet18] [--n-generators estimated|oracle]
        > table.tsv

ROOT is a work directory where the workflow has built results/<DATASET>/manifest.parquet and
results/<DATASET>/embeddings/<embedder>.parquet. Only the training rows are read (their labels
are the folders' names, which a user has); the test folder and any ground truth are not. Each
known generator in turn plays the unseen one (ctprints.tuning.leave_one_out); the table ranks
method x embedder by the mean accuracy over the held-out generators. Methods that need three
known generators (openset, novelty, subsets) need four in the training folders.
"""

import argparse
import sys

import pandas as pd
from tqdm.auto import tqdm

from ctprints.attribution import task2_rows
from ctprints.tuning import tuning_table


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("dataset")
    parser.add_argument("--methods", nargs="+", default=["kmeans", "openset", "novelty"])
    parser.add_argument(
        "--embedders", nargs="+", default=["spectrum", "residual", "pixels", "resnet18"]
    )
    parser.add_argument("--n-generators", choices=["estimated", "oracle"], default="estimated")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    results = f"{args.root}/results/{args.dataset}"
    manifest = pd.read_parquet(f"{results}/manifest.parquet")
    embeddings = {}
    for embedder in tqdm(args.embedders, desc="embeddings"):
        rows, X = task2_rows(manifest, pd.read_parquet(f"{results}/embeddings/{embedder}.parquet"))
        train = (rows["split"] == "train").to_numpy()
        embeddings[embedder] = (X[train], list(rows.loc[train, "label"]))
    candidates = {method: (method, {}) for method in args.methods}
    table = tuning_table(embeddings, candidates, args.n_generators, seed=args.seed)
    table.to_csv(sys.stdout, sep="\t", index=False, float_format="%.3f")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
