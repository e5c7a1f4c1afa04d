"""gan_leaks and ssim_max at challenge scale: 200 queries against 10,000 synthetic 256 px images.

Usage:
  python benchmarks/bench_membership.py [--synthetic 10000] [--queries 200] [--brute-queries 4]

Each method runs in its own subprocess; "method peak" is what it allocates (tracemalloc, which
sees NumPy's buffers), "process peak RSS" includes the 655 MB of images and the interpreter:
- gan_leaks, exact nearest-neighbour search (ctprints: scikit-learn NearestNeighbors, exact) against
  the baseline, a brute-force NumPy distance matrix; both in the `pixels` feature space (256-d).
- ssim_max with the feature-space prefilter (50 candidates, ctprints' default) against the
  baseline, exact SSIM with every synthetic image. The baseline is timed on --brute-queries
  queries and its time per query is reported with the extrapolation to all queries.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def images(count: int, seed: int, size: int = 256) -> np.ndarray:
    """Smooth random 'slices': 16x16 noise upsampled, plus fine noise; uint8."""
    rng = np.random.default_rng(seed)
    out = np.empty((count, size, size), dtype=np.uint8)
    for start in range(0, count, 500):  # in chunks, so the harness itself stays small
        coarse = rng.integers(40, 216, (min(500, count - start), size // 16, size // 16))
        block = np.repeat(np.repeat(coarse.astype(np.int16), 16, axis=1), 16, axis=2)
        noise = rng.integers(-10, 11, block.shape, dtype=np.int16)
        out[start : start + len(block)] = np.clip(block + noise, 0, 255)
    return out


def run(method: str, n_synthetic: int, n_queries: int) -> dict:
    import tracemalloc

    from ctprints.attacks import GanLeaks, Reference, SsimMax
    from ctprints.embed import pixel_features
    from ctprints.neighbours import pairwise_distances

    synthetic = images(n_synthetic, 0)
    # Every other query is a noisy copy of a synthetic image (a member), the others are new;
    # the brute-force run takes the first few of the same queries.
    queries = np.empty((200, 256, 256), dtype=np.uint8)
    queries[0::2] = synthetic[:100]
    queries[1::2] = images(100, 1)
    noise = np.random.default_rng(2).integers(-3, 4, queries.shape, dtype=np.int16)
    queries = np.clip(queries + noise, 0, 255).astype(np.uint8)[:n_queries]
    s_features, q_features = pixel_features(synthetic), pixel_features(queries)
    reference = Reference(s_features, s_features[:10], synthetic_images=synthetic)
    tracemalloc.start()  # numpy reports its buffers: the peak is what the method allocates
    start = time.perf_counter()
    if method == "gan_leaks":
        scores = GanLeaks().fit(reference).score(q_features)
    elif method == "gan_leaks_brute":
        attack = GanLeaks().fit(reference)
        scores = -pairwise_distances(attack.scale_(q_features), attack.synthetic_).min(axis=1)
    elif method == "ssim_max":
        scores = SsimMax(candidates=50).fit(reference).score(q_features, queries)
    elif method == "ssim_max_brute":
        scores = SsimMax(candidates=None).fit(reference).score(q_features, queries)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    return {
        "seconds": seconds,
        "per_query_ms": 1000 * seconds / n_queries,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "method_peak_mib": peak / 2**20,
        "scores": [float(x) for x in scores[:4]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=10000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--brute-queries", type=int, default=4)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        method, n_synthetic, n_queries = args.child
        print(json.dumps(run(method, int(n_synthetic), int(n_queries))))
        return
    results = {}
    for method, queries in (
        ("gan_leaks", args.queries),
        ("gan_leaks_brute", args.queries),
        ("ssim_max", args.queries),
        ("ssim_max_brute", args.brute_queries),
    ):
        output = subprocess.run(
            [sys.executable, __file__, "--child", method, str(args.synthetic), str(queries)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results[method] = (queries, json.loads(output.strip().splitlines()[-1]))
    print(f"{args.queries} queries against {args.synthetic} synthetic 256x256 images")
    print(
        "| method | queries timed | seconds | ms per query | est. s for all queries | "
        "method peak MiB | process peak RSS MiB | first scores (member, new, member, new) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for method, (queries, r) in results.items():
        estimate = r["per_query_ms"] * args.queries / 1000
        print(
            f"| {method} | {queries} | {r['seconds']:.1f} | {r['per_query_ms']:.1f} | "
            f"{estimate:.1f} | {r['method_peak_mib']:.0f} | {r['peak_rss_mib']:.0f} | "
            f"{', '.join(f'{x:.4f}' for x in r['scores'])} |"
        )


if __name__ == "__main__":
    main()
