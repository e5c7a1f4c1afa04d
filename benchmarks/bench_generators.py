"""Generator training speed: seconds per step for each family, 1 torch thread against N.

Usage: python benchmarks/bench_generators.py [--size PX] [--steps N] [--threads T]

Renders a few phantom patients, then trains every registered family for N steps on the CPU with
1 thread (the baseline) and with T threads, in the same run, and prints one Markdown row per
family: seconds per step for each, the speed-up, and the process's peak RSS so far.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

from ctprints.generators import FAMILIES, make_model
from ctprints.phantom import render_patient, sample_anatomy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    images = np.concatenate(
        [render_patient(sample_anatomy(f"P{i}", i, 8), 8, args.size) for i in range(6)]
    )
    print(f"| family | s/step 1 thread | s/step {args.threads} threads | speed-up | peak RSS MiB |")
    print("|---|---|---|---|---|")
    for family in sorted(FAMILIES):
        timings = []
        for threads in (1, args.threads):
            torch.set_num_threads(threads)
            model = make_model(family, image_size=args.size, steps=args.steps, seed=0, device="cpu")
            start = time.perf_counter()
            model.fit(images, progress=False)
            timings.append((time.perf_counter() - start) / args.steps)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"| {family} | {timings[0]:.3f} | {timings[1]:.3f} | {timings[0] / timings[1]:.2f}x "
            f"| {rss:.0f} |"
        )


if __name__ == "__main__":
    main()
