"""Rule study_leaderboard: the study's leaderboard (table, markdown, two figures) from the
evaluation tables of every scenario and demo seed."""

from ctprints.runlog import configure
from ctprints.study import best_by_scenario, write_study

log = configure(snakemake.log[0])
output = snakemake.output
# params.datasets: one dict per dataset (dataset, scenario, seed, task2, task1, paper_runs).
board, task1 = write_study(
    snakemake.params.datasets,
    table=output.table,
    markdown=output.markdown,
    figure=output.figure,
    task1_figure=output.task1_figure,
    primary=output.primary,
    registered=snakemake.params.primary,
)
if not board.empty:
    log.info("task 2, best run against the paper's:\n%s", best_by_scenario(board).to_string())
log.info(
    "wrote %s, %s, %s, %s and %s",
    output.table,
    output.markdown,
    output.figure,
    output.task1_figure,
    output.primary,
)
