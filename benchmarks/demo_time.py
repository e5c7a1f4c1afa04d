"""Where a `make demo` run's time went, per rule, from the rules' own `benchmark:` files.

    python benchmarks/demo_time.py WORKDIR --wall S --date DATE --machine TEXT > rule_times.tsv

WORKDIR is the directory the demo ran in; every logs/benchmarks/<rule>/<dataset>_*.tsv is read
(the job's wall seconds `s` and CPU seconds). Written as TSV, one row per rule (jobs, wall
seconds summed over its jobs, the largest job, CPU seconds), largest first, then `other rules`
(the whole run's wall seconds minus the benchmarked ones: the rules without a `benchmark:`, such
as run files, plots and tables, less the time jobs overlapped) and `make demo` with the whole
run's wall seconds
(``--wall``, measured outside, for example by `/usr/bin/time`), its ``--date`` and ``--machine``
in the ``note`` column. `make demo-docs` copies it into
docs/demo/ for the docs' table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def rule_times(workdir: Path, dataset: str = "demo") -> pd.DataFrame:
    """Per rule: jobs, wall_s (sum), largest_s, cpu_s; largest wall_s first."""
    rows = []
    for path in sorted((workdir / "logs" / "benchmarks").glob(f"*/{dataset}*.tsv")):
        last = pd.read_csv(path, sep="\t").iloc[-1]
        rows.append({"rule": path.parent.name, "wall_s": last["s"], "cpu_s": last["cpu_time"]})
    if not rows:
        raise SystemExit(f"{workdir}/logs/benchmarks: no benchmark files of dataset {dataset}")
    table = (
        pd.DataFrame(rows)
        .groupby("rule")
        .agg(
            jobs=("wall_s", "size"),
            wall_s=("wall_s", "sum"),
            largest_s=("wall_s", "max"),
            cpu_s=("cpu_s", "sum"),
        )
        .reset_index()
        .sort_values("wall_s", ascending=False)
    )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--wall", type=float, required=True, help="the whole run's wall seconds")
    parser.add_argument("--date", required=True, help="the day the run was made")
    parser.add_argument("--machine", required=True, help="the machine it ran on, in words")
    parser.add_argument("--dataset", default="demo")
    args = parser.parse_args(argv)
    table = rule_times(args.workdir, args.dataset)
    other = args.wall - table["wall_s"].sum()
    extra = pd.DataFrame(
        [
            {
                "rule": "other rules",
                "jobs": pd.NA,
                "wall_s": other,
                "largest_s": pd.NA,
                "cpu_s": pd.NA,
            },
            {
                "rule": "make demo",
                "jobs": pd.NA,
                "wall_s": args.wall,
                "largest_s": pd.NA,
                "cpu_s": pd.NA,
                "note": f"{args.date}; {args.machine}",
            },
        ]
    )
    out = pd.concat([table, extra], ignore_index=True)
    out.to_csv(sys.stdout, sep="\t", index=False, float_format="%.1f")
    return 0


if __name__ == "__main__":
    sys.exit(main())
