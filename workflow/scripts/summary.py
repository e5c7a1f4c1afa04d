"""Rule summary: results/<dataset>/summary.md from the evaluation tables and the run files."""

from ctprints.runlog import configure
from ctprints.summary import write_summary

log = configure(snakemake.log[0])
params, inputs = snakemake.params, snakemake.input
task2 = task1 = None
if inputs.task2_runs:
    task2 = {
        "table": inputs.get("task2_table"),
        "submitted": params.task2_submitted,
        "paper": params.task2_paper,
        "run_files": list(inputs.task2_runs),
        "skipped": params.task2_skipped,
    }
if inputs.task1_runs:
    task1 = {
        "table": inputs.get("task1_table"),
        "groups": params.task1_groups,
        "paper": params.task1_paper,
        "run_files": list(inputs.task1_runs),
        "selections": list(inputs.task1_selection),
        "metric": params.task1_metric,
    }
write_summary(snakemake.output.summary, snakemake.wildcards.dataset, task2, task1)
log.info("wrote %s", snakemake.output.summary)
