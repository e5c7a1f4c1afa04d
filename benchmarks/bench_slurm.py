"""Wall time of the tiny demo through profiles/slurm against the same targets run locally.

Usage (as root, with Debian's slurm-wlm and munge; installed when missing):
    python benchmarks/bench_slurm.py [--poll 2 40]

Starts the single-node SLURM cluster of the tests (tests/slurm_cluster.py), then runs the Task 1,
Task 2 and network run files of the `tiny` demo once locally (`--cores <all>`, the baseline) and
once through SLURM per status-polling interval, each in a fresh directory, and prints a Markdown
table. The plugin's default first status check comes 40 s after a submission.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from conftest import SNAKEMAKE, tiny_config  # noqa: E402
from slurm_cluster import SlurmCluster, missing_reason  # noqa: E402

TARGETS = ["submission_task1", "submission_task2", "submission_task2_networks"]


def run(workdir: Path, *args: str) -> tuple[float, str]:
    workdir.mkdir(parents=True)
    tiny_config(workdir)
    command = [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir)]
    start = time.perf_counter()
    result = subprocess.run([*command, *args, *TARGETS], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"snakemake failed in {workdir}:\n{result.stderr[-4000:]}")
    return seconds, result.stdout + result.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poll", type=int, nargs="+", default=[2])
    args = parser.parse_args()
    reason = missing_reason()
    if reason:
        raise SystemExit(f"cannot start SLURM here: {reason}")
    cpus = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        local, _ = run(root / "local", "--cores", str(cpus))
        rows = [f"| local, --cores {cpus} (baseline) | {local:.0f} | - | 1.00x |"]
        cluster = SlurmCluster(root / "slurm")
        try:
            cluster.start()
            for poll in args.poll:
                seconds, log = run(
                    root / f"slurm_{poll}",
                    "--profile",
                    str(REPO / "profiles" / "slurm"),
                    "--max-threads",
                    str(cpus),
                    "--slurm-init-seconds-before-status-checks",
                    str(poll),
                    "--latency-wait",
                    "5",
                )
                jobs = len(re.findall(r"has been submitted with SLURM jobid", log))
                rows.append(
                    f"| profiles/slurm, status every {poll} s | {seconds:.0f} | {jobs} "
                    f"| {seconds / local:.2f}x |"
                )
        finally:
            cluster.stop()
    print("| run | wall s | sbatch jobs | vs local |")
    print("|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
