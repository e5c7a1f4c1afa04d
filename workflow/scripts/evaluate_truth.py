"""Rule evaluate_truth: check a dataset's ground truth of one task against the manifest.

Every evaluation rule of the task waits for this check, so a bad truth file (a missing, unknown
or duplicate ID, a header line, a label outside the allowed set) stops the run naming its config
key, instead of being blamed on the first run file scored against it. When the check fails, the
task's evaluation outputs scored against an earlier truth are removed before the error is raised.
"""

import pandas as pd

from ctprints.io import atomic_output
from ctprints.manifest import read_manifest
from ctprints.runlog import configure
from ctprints.truth import (
    TruthError,
    check_truth,
    digest,
    expected_ids,
    remove_outputs,
)

log = configure(snakemake.log[0])
task = snakemake.wildcards.task
manifest = read_manifest(snakemake.input.manifest)
rows = []
try:
    for item in snakemake.params.files:
        path = snakemake.input[item["input"]]
        ids = expected_ids(manifest, task, item["group"])
        truth = check_truth(path, item["key"], ids, snakemake.params.labels, task)
        labels = pd.Series(list(truth.values())).value_counts().sort_index()
        log.info("%s: %s, %d test images, %s", item["key"], path, len(truth), labels.to_dict())
        rows.append(
            {"key": item["key"], "path": path, "images": len(truth), "sha256": digest(path)}
        )
except TruthError:
    removed = remove_outputs(snakemake.params.stale)
    if removed:
        log.warning("removed %d evaluation outputs of an earlier truth: %s", len(removed), removed)
    raise
with atomic_output(snakemake.output.checked) as temporary:
    pd.DataFrame(rows).to_csv(temporary, sep="\t", index=False)
