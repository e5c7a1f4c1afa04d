"""Manifest throughput: images per second and peak memory, serial against threaded decoding.

Usage: python benchmarks/bench_manifest.py [--images N] [--size PX] [--threads T]

Writes N random grayscale PNGs of PX x PX into a temporary folder laid out as one task 2 dataset,
then builds the manifest with 1 thread (the baseline) and with T threads, in the same run, and
prints one Markdown table row per setting. Peak memory is the process's max RSS after each build.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from ctprints.datasets import dataset_sources
from ctprints.io import write_png
from ctprints.manifest import build_manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        half = args.images // 2
        for folder, count in (("train/model_1", half), ("test", args.images - half)):
            (root / folder).mkdir(parents=True)
            for index in range(count):
                # Smooth-ish content so PNG compression is realistic, not incompressible noise.
                base = rng.integers(0, 256, (args.size // 8, args.size // 8), dtype=np.uint8)
                pixels = np.kron(base, np.ones((8, 8), dtype=np.uint8))
                write_png(root / folder / f"img_{folder[-1]}_{index:05d}.png", pixels)
        spec = {
            "task2": {"train": {"model_1": str(root / "train/model_1")}, "test": str(root / "test")}
        }
        sources = dataset_sources("bench", spec)
        print("| threads | images | seconds | images/s | speed-up | peak RSS MiB |")
        print("|---|---|---|---|---|---|")
        baseline = None
        for threads in (1, args.threads):
            start = time.perf_counter()
            manifest = build_manifest(sources, args.size, threads=threads, progress=False)
            seconds = time.perf_counter() - start
            assert len(manifest) == args.images
            baseline = baseline or seconds
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"| {threads} | {args.images} | {seconds:.2f} | {args.images / seconds:.0f} "
                f"| {baseline / seconds:.2f}x | {rss:.0f} |"
            )


if __name__ == "__main__":
    main()
