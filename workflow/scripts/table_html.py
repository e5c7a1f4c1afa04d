"""Rule table_html: an evaluation table as HTML, so that the report shows it as a table."""

import sys

# Under `--sdm conda` the rule's environment has the dependencies but not ctprints itself, so
# import the library from this checkout.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")

from ctprints.runlog import configure  # noqa: E402
from ctprints.summary import table_html  # noqa: E402

log = configure(snakemake.log[0])
title = f"{snakemake.wildcards.dataset}: {snakemake.wildcards.task}.tsv"
table_html(snakemake.input.table, snakemake.output.html, title)
log.info("wrote %s", snakemake.output.html)
