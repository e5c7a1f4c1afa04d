"""Rule confusion_task2: confusion matrix of one attribution run on the test images."""

import sys

# Under `--sdm conda` the rule's environment has the dependencies but not ctprints itself, so
# import the library from this checkout.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")

import pandas as pd  # noqa: E402

from ctprints.metrics import confusion  # noqa: E402
from ctprints.plots import confusion_figure  # noqa: E402
from ctprints.runlog import configure  # noqa: E402
from ctprints.submission import read_run  # noqa: E402

configure(snakemake.log[0])
truth = read_run(snakemake.input.truth, task=2)
clusters = pd.read_csv(snakemake.input.clusters, dtype={"image_id": str, "label": str})
test = clusters[clusters.split == "test"]
counts, names = confusion([truth[i] for i in test.image_id], list(test.label))
title = f"{snakemake.wildcards.method} on {snakemake.wildcards.embedder}"
confusion_figure(counts, names, snakemake.output.figure, title)
