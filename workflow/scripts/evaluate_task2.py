"""Rule evaluate_task2: score every task 2 run file (part 1's clusters, part 2's networks), and
set every run against the paper's runs on the same test images (exact McNemar, Holm)."""

import pandas as pd

from ctprints.io import atomic_output
from ctprints.metrics import attribution_metrics, paired_task2
from ctprints.runlog import configure
from ctprints.submission import read_run

log = configure(snakemake.log[0])
params = snakemake.params
truth = read_run(snakemake.input.truth, task=2)
ids = sorted(truth)
rows, names = [], {}
for info, path in zip(params.runs, snakemake.input.runs, strict=True):
    # The run file must name exactly the images the truth names, once each.
    predicted = read_run(path, task=2, expected_ids=ids)
    names[info["run"]] = [predicted[i] for i in ids]
    scores = attribution_metrics([truth[i] for i in ids], names[info["run"]], known=params.known)
    rows.append({**info, **scores})
table = pd.DataFrame(rows).sort_values(["accuracy", "nmi"], ascending=False)
paired = paired_task2([truth[i] for i in ids], names, params.baselines, known=params.known)
with atomic_output(snakemake.output.table) as path:
    table.to_csv(path, sep="\t", index=False, float_format="%.4f")
with atomic_output(snakemake.output.paired) as path:
    paired.to_csv(path, sep="\t", index=False, float_format="%.4g")
log.info("task 2 scores:\n%s", table.to_string(index=False))
log.info("against the paper's runs (McNemar, by image):\n%s", paired.to_string(index=False))
