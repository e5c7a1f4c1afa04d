"""Rule audit_calibration_family: how often an audit of the dataset's groups gets any group
wrong, each group resampled from its own member-vs-member control
(ctprints.audit.calibration.family_table)."""

import json
from pathlib import Path

import pandas as pd

from ctprints.audit.calibration import family_table, pool_of
from ctprints.runlog import configure

log = configure(snakemake.log[0])
params = snakemake.params
verdicts = [json.loads(Path(path).read_text()) for path in snakemake.input.verdicts]
pools = [
    pool_of(pd.read_csv(path, sep="\t"), verdict["group"])
    for path, verdict in zip(snakemake.input.units, verdicts, strict=True)
]
counts = [(verdict["members"], verdict["holdout"]) for verdict in verdicts]
log.info("groups %s, counts %s", [verdict["group"] for verdict in verdicts], counts)
table = family_table(pools, counts, verdicts[0]["budget"], params.sims, params.seed)
table.to_csv(snakemake.output[0], sep="\t", index=False, float_format="%.4f")
log.info("family-wise rates:\n%s", table.to_string())
