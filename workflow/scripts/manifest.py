"""Rule manifest: read and check every image of a dataset; write its manifest.parquet."""

from ctprints.datasets import Source
from ctprints.manifest import build_manifest, write_manifest
from ctprints.runlog import configure

log = configure(snakemake.log[0])
sources = [Source(**source) for source in snakemake.params.sources]
manifest = build_manifest(sources, snakemake.params.image_size, threads=snakemake.threads)
write_manifest(manifest, snakemake.output.manifest)
counts = manifest.groupby(["task", "split", "role"], dropna=False).size()
log.info("wrote %d rows to %s\n%s", len(manifest), snakemake.output.manifest, counts.to_string())
