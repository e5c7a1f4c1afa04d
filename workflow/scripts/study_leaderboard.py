"""Rule study_leaderboard: the study's leaderboard (table, markdown, two figures) from the
evaluation tables of every scenario and benchmark seed."""

import sys

# Under `--sdm conda` the rule's environment has the dependencies but not ctprints itself, so
# import the library from this checkout.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")

from ctprints.runlog import configure  # noqa: E402
from ctprints.study import best_by_scenario, write_study  # noqa: E402

log = configure(snakemake.log[0])
output = snakemake.output
# params.datasets: one dict per dataset (dataset, scenario, seed, task2, task1, paper_runs).
board, task1 = write_study(
    snakemake.params.datasets,
    table=output.table,
    markdown=output.markdown,
    figure=output.figure,
    task1_figure=output.task1_figure,
)
if not board.empty:
    log.info("task 2, best run against the paper's:\n%s", best_by_scenario(board).to_string())
log.info(
    "wrote %s, %s, %s and %s", output.table, output.markdown, output.figure, output.task1_figure
)
