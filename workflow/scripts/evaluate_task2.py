"""Rule evaluate_task2: score every task 2 run file (part 1's clusters, part 2's networks)."""

import pandas as pd

from ctprints.metrics import attribution_metrics
from ctprints.runlog import configure
from ctprints.submission import read_run

log = configure(snakemake.log[0])
truth = read_run(snakemake.input.truth, task=2)
ids = sorted(truth)
rows = []
for info, path in zip(snakemake.params.runs, snakemake.input.runs, strict=True):
    # The run file must name exactly the images the truth names, once each.
    predicted = read_run(path, task=2, expected_ids=ids)
    scores = attribution_metrics(
        [truth[i] for i in ids], [predicted[i] for i in ids], known=snakemake.params.known
    )
    rows.append({**info, **scores})
table = pd.DataFrame(rows).sort_values(["accuracy", "nmi"], ascending=False)
table.to_csv(snakemake.output.table, sep="\t", index=False, float_format="%.4f")
log.info("task 2 scores:\n%s", table.to_string(index=False))
