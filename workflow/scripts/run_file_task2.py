"""Rules run_file_task2 / run_file_network: the challenge run file of one run (test images only).

The input is a cluster or prediction table; both have image_id, split and label columns.
"""

import pandas as pd

from ctprints.runlog import configure
from ctprints.submission import write_run

log = configure(snakemake.log[0])
labels = pd.read_csv(snakemake.input.labels, dtype={"image_id": str, "label": str})
test = labels[labels.split == "test"]
write_run(snakemake.output.run, list(test.image_id), list(test.label), task=2)
log.info("%d lines: %s", len(test), test.label.value_counts().to_dict())
