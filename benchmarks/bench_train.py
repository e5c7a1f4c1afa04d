"""Task 2 network training on the demo: time and quality per architecture and recipe.

Usage:
  python benchmarks/bench_train.py [--manifest results/demo/manifest.parquet]
      [--truth data/demo/ground_truth/task2.csv] [--epochs 10] [--batch-size 16]

Trains every architecture from random initialisation on the demo's task 2 training folders with
two recipes, in the same run: the paper's ``fine_tune`` (the baseline) and ``one_cycle`` (what
``recipe: auto`` picks without pretrained weights). For each it reports wall time, peak resident
memory of this process, held-out validation accuracy, accuracy on the test images of the known
generators, and the purity of the weakest-10% pseudo-labels (the share that really are the
unseen generator). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import resource
import time

from ctprints.manifest import read_manifest
from ctprints.submission import read_run
from ctprints.train import ARCHS, predict, pseudo_count, task2_images, train_learner, weakest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", default="results/demo/manifest.parquet")
    parser.add_argument("--truth", default="data/demo/ground_truth/task2.csv")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    images = task2_images(read_manifest(args.manifest))
    truth = read_run(args.truth, task=2)
    train, test = images[images.split == "train"], images[images.split == "test"]
    known = set(train.label)
    count = pseudo_count(None, 0.1, len(test), "pseudo")
    print(f"{len(train)} training and {len(test)} test images; weakest {count} pseudo-labelled")
    print("| arch | recipe | seconds | peak RSS MiB | valid acc | known-test acc | pseudo purity |")
    print("|---|---|---|---|---|---|---|")
    for arch in ARCHS:
        for recipe in ("fine_tune", "one_cycle"):
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):  # fastai's progress bars
                learn, metrics = train_learner(
                    train,
                    arch,
                    64,
                    args.epochs,
                    0.002,
                    batch_size=args.batch_size,
                    device="cpu",
                    threads=2,
                    recipe=recipe,
                )
                predictions = predict(learn, test)
            seconds = time.perf_counter() - start
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            predictions["truth"] = [truth[i] for i in predictions.image_id]
            seen = predictions[predictions.truth.isin(known)]
            chosen = weakest(predictions, count, "new").merge(predictions[["key", "truth"]])
            purity = (~chosen.truth.isin(known)).mean()
            print(
                f"| {arch} | {recipe} | {seconds:.1f} | {rss:.0f} | "
                f"{metrics.accuracy.iloc[-1]:.3f} | {(seen.label == seen.truth).mean():.3f} | "
                f"{purity:.2f} |"
            )


if __name__ == "__main__":
    main()
