"""Rule confusion_task2: confusion matrix of one task 2 run file on the test images."""

import sys

# Under `--sdm conda` the rule's environment has the dependencies but not ctprints itself, so
# import the library from this checkout.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")

from ctprints.metrics import confusion  # noqa: E402
from ctprints.plots import confusion_figure  # noqa: E402
from ctprints.runlog import configure  # noqa: E402
from ctprints.submission import read_run  # noqa: E402

configure(snakemake.log[0])
truth = read_run(snakemake.input.truth, task=2)
predicted = read_run(snakemake.input.run, task=2, expected_ids=truth)
ids = sorted(truth)
counts, names = confusion([truth[i] for i in ids], [predicted[i] for i in ids])
confusion_figure(counts, names, snakemake.output.figure, snakemake.wildcards.run)
