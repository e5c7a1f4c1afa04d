"""t-SNE time: openTSNE (what the workflow uses) against scikit-learn's TSNE, same data.

Usage: python benchmarks/bench_tsne.py [--sizes 2000 10000 20000] [--threads 2]

Points are a 50-dimensional mixture of 5 Gaussians. Both run with perplexity 30 and their
default iteration counts (openTSNE 250 early + 500; scikit-learn 1000 in all), on the given threads.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000, 20000])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    from openTSNE import TSNE as OpenTSNE
    from sklearn.manifold import TSNE as SklearnTSNE

    print("| points | openTSNE s | scikit-learn s | speed-up |")
    print("|---|---|---|---|")
    for size in args.sizes:
        rng = np.random.default_rng(0)
        centres = rng.normal(0, 5, (5, 50))
        X = centres[rng.integers(0, 5, size)] + rng.normal(size=(size, 50))
        start = time.perf_counter()
        OpenTSNE(perplexity=30, n_jobs=args.threads, random_state=0).fit(X)
        open_seconds = time.perf_counter() - start
        start = time.perf_counter()
        SklearnTSNE(perplexity=30, n_jobs=args.threads, random_state=0, init="pca").fit_transform(X)
        sk_seconds = time.perf_counter() - start
        print(
            f"| {size} | {open_seconds:.1f} | {sk_seconds:.1f} | {sk_seconds / open_seconds:.2f}x |"
        )


if __name__ == "__main__":
    main()
