"""Rule demo_task1_truth: one Task 1 group's ground truth from the demo data's truth table."""

from ctprints.demo.layout import split_task1_truth
from ctprints.runlog import configure

log = configure(snakemake.log[0])
count = split_task1_truth(snakemake.input.table, snakemake.wildcards.group, snakemake.output.truth)
log.info("%d test images of group %s", count, snakemake.wildcards.group)
