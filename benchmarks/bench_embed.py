"""Embedding throughput and memory: streamed batches against a naive per-image loop.

Usage:
  python benchmarks/bench_embed.py speed [--images N] [--workers W]
  python benchmarks/bench_embed.py rss --embedder NAME --images N

``speed`` writes N 256x256 PNGs and embeds them with ``spectrum`` and with resnet18 at 224 px,
once through ctprints' DataLoader pipeline (batches, W worker processes) and once with a naive loop
(open, convert, embed one image at a time), in the same run, and prints a Markdown table.
``rss`` embeds N images in this process and prints its peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ctprints.embed import embed_paths, make_embedder
from ctprints.io import read_image, write_png


def write_images(folder: Path, count: int, size: int = 256) -> list[str]:
    rng = np.random.default_rng(0)
    paths = []
    for index in range(count):
        base = rng.integers(0, 256, (size // 8, size // 8), dtype=np.uint8)
        path = folder / f"img_{index:05d}.png"
        write_png(path, np.kron(base, np.ones((8, 8), dtype=np.uint8)))
        paths.append(str(path))
    return paths


def naive(paths: list[str], embedder) -> np.ndarray:
    return np.concatenate([embedder(read_image(path)[None]) for path in paths])


def speed(args) -> None:
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_images(Path(tmp), args.images)
        print("| embedder | pipeline | images | seconds | images/s | speed-up |")
        print("|---|---|---|---|---|---|")
        for name, count in (("spectrum", args.images), ("resnet18", min(args.images, 256))):
            embedder = make_embedder(name, device="cpu")
            subset = paths[:count]
            start = time.perf_counter()
            baseline = naive(subset, embedder)
            naive_seconds = time.perf_counter() - start
            start = time.perf_counter()
            batched = embed_paths(subset, embedder, 32, args.workers, progress=False)
            seconds = time.perf_counter() - start
            assert np.allclose(batched, baseline, rtol=1e-3, atol=1e-3)
            for label, value in (("naive loop", naive_seconds), ("batched DataLoader", seconds)):
                print(
                    f"| {name} | {label} | {count} | {value:.1f} | {count / value:.1f} "
                    f"| {naive_seconds / value:.2f}x |"
                )


def rss(args) -> None:
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_images(Path(tmp), args.images)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start = time.perf_counter()
        features = embed_paths(
            paths, make_embedder(args.embedder, device="cpu"), 64, args.workers, progress=False
        )
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(
            f"| {args.embedder} | {args.images} | {features.shape[1]} | {seconds:.0f} "
            f"| {before:.0f} | {peak:.0f} | {children:.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["speed", "rss"])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--embedder", default="spectrum")
    args = parser.parse_args()
    {"speed": speed, "rss": rss}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
