"""Rule table_html: an evaluation table as HTML, so that the report shows it as a table."""

from ctprints.runlog import configure
from ctprints.summary import table_html

log = configure(snakemake.log[0])
title = f"{snakemake.wildcards.dataset}: {snakemake.wildcards.task}.tsv"
table_html(snakemake.input.table, snakemake.output.html, title)
log.info("wrote %s", snakemake.output.html)
