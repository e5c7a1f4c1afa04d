"""Where the `study` target's time went: the rules' own `benchmark:` files, summed.

    python benchmarks/study_cost.py WORKDIR

WORKDIR is the directory the study ran in. Every rule that states a `benchmark:` writes
logs/benchmarks/<rule>/<dataset>_<...>.tsv with the job's wall seconds (`s`) and CPU seconds;
files whose dataset is a study dataset (study_<scenario>_s<seed>) are read. Printed as
Markdown: seconds per rule (jobs, wall total, largest job, CPU total), per scenario and per
seed. A job paused (SIGSTOP) counts its pause in wall seconds but not in CPU seconds. The rules
without a `benchmark:` (run files, plots, evaluation) are short and not counted; the workflow's
wall time is the snakemake log's, which this script does not see.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd

from ctprints.demo.scenarios import SCENARIOS

# Longest names first, so that subsets_unseen is not read as subsets.
NAMES = "|".join(sorted(SCENARIOS, key=len, reverse=True))
STUDY = re.compile(rf"^study_({NAMES})_s(\d+)(?:_|$)")


def jobs(workdir: Path) -> pd.DataFrame:
    """One row per benchmarked study job: rule, scenario, seed, wall and CPU seconds."""
    rows = []
    for path in sorted((workdir / "logs" / "benchmarks").glob("*/*.tsv")):
        match = STUDY.match(path.stem)
        if not match:
            continue
        last = pd.read_csv(path, sep="\t").iloc[-1]
        rows.append(
            {
                "rule": path.parent.name,
                "scenario": match.group(1),
                "seed": int(match.group(2)),
                "s": float(last["s"]),
                "cpu_s": float(last["cpu_time"]),
            }
        )
    if not rows:
        raise SystemExit(f"{workdir}/logs/benchmarks: no benchmark file of a study dataset")
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame, by: str) -> str:
    grouped = table.groupby(by).agg(
        jobs=("s", "count"), total=("s", "sum"), largest=("s", "max"), cpu=("cpu_s", "sum")
    )
    grouped.loc["all"] = [len(table), table.s.sum(), table.s.max(), table.cpu_s.sum()]
    grouped = grouped.sort_values("total", ascending=False)
    lines = [f"| {by} | jobs | wall s | largest job (wall s) | CPU s |", "|---|---|---|---|---|"]
    for name, row in grouped.iterrows():
        lines.append(
            f"| {name} | {row.jobs:.0f} | {row.total:,.0f} | {row.largest:,.0f} | {row.cpu:,.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit(__doc__)
    table = jobs(Path(argv[0]))
    seeds = sorted(set(table.seed))
    print(f"Benchmarked study jobs: {len(table)}, seeds {seeds}\n")
    print(markdown(table, "rule"), end="\n\n")
    print(markdown(table, "scenario"), end="\n\n")
    print(markdown(table, "seed"))


if __name__ == "__main__":
    main(sys.argv[1:])
