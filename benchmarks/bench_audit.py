"""The membership audit at challenge scale: 10,000 synthetic and 1,000 real 256 px images.

Usage:
  python benchmarks/bench_audit.py [--synthetic 10000] [--real 1000] [--patients 100]

The real images are --patients patients of equal slice counts, half of them members. A fifth of
the synthetic images are noisy copies of members' slices (a memorising generator), the rest new.
Features: ``pixels`` (256-d). Each phase runs in its own subprocess, after the images are made
and cached, so its wall time and peak RSS are its own (the peak includes the 720 MB of images
every phase holds):

- scoring (the baseline): what the audit reuses from Task 1, every attack's cross-validated
  scores on the dev images and on the member-vs-member control
  (:func:`ctprints.audit.candidate_scores`, which calls membership.cross_validated_scores).
- audit: the whole audit of one group, as rule audit_group runs it on the same inputs
  (:func:`ctprints.audit.run_audit` and :func:`~ctprints.audit.write_audit`): candidate scores,
  the attack choice, the risk table (nearest synthetic image and its SSIM for every real image),
  the per-patient table, the statistics and the control's (1,000 patient bootstrap resamples,
  999 permutations), the selection-adjusted p, the verdict, every file, both figures and the
  page.
Prints a Markdown table with the ratio of the audit to the scoring.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ATTACKS = ["gan_leaks", "gan_leaks_cal", "monte_carlo", "domias", "ssim_max"]


def make_data(path: Path, n_synthetic: int, n_real: int, n_patients: int, size: int) -> None:
    """Cache real and synthetic images, patients and membership in one npz."""
    from scipy.ndimage import zoom

    rng = np.random.default_rng(0)
    slices = n_real // n_patients
    real = np.empty((n_real, size, size), dtype=np.uint8)
    for p in range(n_patients):  # a patient: one coarse anatomy, slices vary a little
        anatomy = rng.normal(size=(size // 16, size // 16))
        for s in range(slices):
            coarse = anatomy + 0.3 * rng.normal(size=anatomy.shape)
            image = zoom(coarse, 16, order=1)
            real[p * slices + s] = np.clip(128 + 40 * image + rng.normal(0, 4, image.shape), 0, 255)
    patients = np.repeat([f"P{p:04d}" for p in range(n_patients)], slices)
    member = np.repeat(np.arange(n_patients) < n_patients // 2, slices)
    copies = n_synthetic // 5
    picks = rng.choice(np.flatnonzero(member), copies)
    synthetic = np.empty((n_synthetic, size, size), dtype=np.uint8)
    for i, j in enumerate(picks):
        synthetic[i] = np.clip(real[j].astype(np.int16) + rng.integers(-6, 7, (size, size)), 0, 255)
    for start in range(copies, n_synthetic, 500):
        count = min(500, n_synthetic - start)
        coarse = rng.normal(size=(count, size // 16, size // 16))
        block = np.repeat(np.repeat(coarse, 16, axis=1), 16, axis=2)
        noise = rng.normal(0, 4, block.shape)
        synthetic[start : start + count] = np.clip(128 + 40 * block + noise, 0, 255)
    np.savez(path, real=real, synthetic=synthetic, patients=patients, member=member)


def phase(name: str, data: Path, out: Path) -> dict:
    import pandas as pd

    from ctprints import audit
    from ctprints.embed import pixel_features
    from ctprints.paths import AUDIT_FILES

    cached = np.load(data)
    real, synthetic = cached["real"], cached["synthetic"]
    member, patients = cached["member"], cached["patients"]
    ids = [f"real_{i:05d}" for i in range(len(real))]
    roles = np.where(member, "used", "not_used")
    frame = lambda ids_, role: pd.DataFrame(  # noqa: E731
        {"key": [f"{role}/{i}" for i in ids_], "image_id": ids_, "path": ids_}
    )
    parts = {
        "used": frame([i for i, r in zip(ids, roles, strict=True) if r == "used"], "used"),
        "not_used": frame([i for i, r in zip(ids, roles, strict=True) if r != "used"], "not_used"),
        "generated": frame([f"synthetic_{i:05d}" for i in range(len(synthetic))], "generated"),
    }
    by_path = dict(zip(ids, real, strict=True))
    by_path |= {f"synthetic_{k:05d}": image for k, image in enumerate(synthetic)}
    for part in parts.values():  # the manifest's digests, which the page's folder hashes read
        part["sha256"] = [hashlib.sha256(by_path[p].tobytes()).hexdigest() for p in part.path]
    patient_of = dict(zip(ids, patients, strict=True))
    # In chunks, so that the harness's float copies do not set the phase's peak memory.
    features = np.concatenate(
        [
            pixel_features(images[i : i + 500])
            for images in (real, real, synthetic)
            for i in range(0, len(images), 500)
        ]
    )
    keys = (
        [f"used/{i}" for i in ids] + [f"not_used/{i}" for i in ids] + list(parts["generated"].key)
    )
    table = pd.DataFrame(features, columns=[f"f{j}" for j in range(features.shape[1])])
    table.insert(0, "key", keys)
    embeddings = {"pixels": table.drop_duplicates("key").set_index("key")}

    def read_pixels(paths):
        return np.stack([by_path[p] for p in paths])

    start = time.perf_counter()
    if name == "scoring":
        audit.candidate_scores(parts, embeddings, ATTACKS, 5, 0, {}, read_pixels, patient_of)
    else:  # what rule audit_group runs, on the same inputs
        result = audit.run_audit(
            parts, embeddings, patient_of, read_pixels, "bench", ATTACKS, {}, n_folds=5, seed=0
        )
        audit.write_audit(result, {n: out / f for n, f in AUDIT_FILES.items()})
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row = {"phase": name, "seconds": seconds, "peak_mib": peak}
    if name == "audit":
        stats = result.stats
        auc = next(c for c in result.verdict["criteria"] if c["name"] == "auc")
        row["verdict"] = (
            f"{auc['candidate']}: AUC by patient {auc['value']:.3f}, by image "
            f"{stats['auc_by_image']:.3f}, {result.verdict['verdict']}"
        )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=10000)
    parser.add_argument("--real", type=int, default=1000)
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--phase", choices=["scoring", "audit"])
    parser.add_argument("--data")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, Path(args.data), Path(args.out))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.npz"
        start = time.perf_counter()
        make_data(data, args.synthetic, args.real, args.patients, args.size)
        print(f"made the images in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        rows = []
        for name in ("scoring", "audit"):
            command = [sys.executable, __file__, "--phase", name, "--data", str(data)]
            output = subprocess.run(
                [*command, "--out", tmp], capture_output=True, text=True, check=True
            ).stdout
            rows.append(json.loads(output.strip().splitlines()[-1]))
    base = rows[0]["seconds"]
    print(
        f"{args.synthetic} synthetic, {args.real} real images of {args.size} px, "
        f"{args.patients} patients; attacks {', '.join(ATTACKS)}; features: pixels"
    )
    print("| phase | wall s | vs scoring | peak RSS MiB | result |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['phase']} | {row['seconds']:.1f} | {row['seconds'] / base:.2f}x | "
            f"{row['peak_mib']:.0f} | {row.get('verdict', '')} |"
        )


if __name__ == "__main__":
    main()
