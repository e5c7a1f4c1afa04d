"""Rule confusion_task2: confusion matrix of one task 2 run file on the test images."""

from ctprints.metrics import confusion
from ctprints.plots import confusion_figure
from ctprints.runlog import configure
from ctprints.submission import read_run

configure(snakemake.log[0])
truth = read_run(snakemake.input.truth, task=2)
predicted = read_run(snakemake.input.run, task=2, expected_ids=truth)
ids = sorted(truth)
counts, names = confusion([truth[i] for i in ids], [predicted[i] for i in ids])
confusion_figure(counts, names, snakemake.output.figure, snakemake.wildcards.run)
