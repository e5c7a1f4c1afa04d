"""Rules run_file_task2 / run_file_network: the challenge run file of one run (test images only).

The input is a cluster or prediction table; both have image_id, split and label columns.
"""

import sys

# Under `--sdm conda` the rule's environment has the dependencies but not ctprints itself, so
# import the library from this checkout.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")

import pandas as pd  # noqa: E402

from ctprints.runlog import configure  # noqa: E402
from ctprints.submission import write_run  # noqa: E402

log = configure(snakemake.log[0])
labels = pd.read_csv(snakemake.input.labels, dtype={"image_id": str, "label": str})
test = labels[labels.split == "test"]
write_run(snakemake.output.run, list(test.image_id), list(test.label), task=2)
log.info("%d lines: %s", len(test), test.label.value_counts().to_dict())
