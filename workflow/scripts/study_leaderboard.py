"""Rule study_leaderboard: the study's leaderboard (table, markdown, two figures), the
registered primary hypothesis and the record of its settings (frozen.json), from the evaluation
tables of every scenario and demo seed."""

import json
from pathlib import Path

from ctprints.freeze import freeze_record
from ctprints.io import atomic_output
from ctprints.runlog import configure
from ctprints.study import best_by_scenario, write_study

log = configure(snakemake.log[0])
output, params = snakemake.output, snakemake.params
# params.datasets: one dict per dataset (dataset, scenario, seed, task2, task1, paper_runs).
names = [spec["dataset"] for spec in params.datasets]
logs = [
    path
    for path in Path("logs").rglob("*")
    if path.is_file() and any(name in path.name for name in names)
]
# A confirmatory record refuses any of the study's tables and logs older than the freeze.
settings = freeze_record(snakemake.config, params.repo, [*snakemake.input, *logs])
log.info("settings: %s", settings)
board, task1 = write_study(
    params.datasets,
    table=output.table,
    markdown=output.markdown,
    figure=output.figure,
    task1_figure=output.task1_figure,
    primary=output.primary,
    registered=params.primary,
    settings=settings,
)
with atomic_output(output.frozen) as path:
    Path(path).write_text(json.dumps(settings, indent=1) + "\n")
if not board.empty:
    log.info("task 2, best run against the paper's:\n%s", best_by_scenario(board).to_string())
log.info("wrote %s, %s, %s and %s", output.table, output.markdown, output.primary, output.frozen)
