"""Rule manifest: read and check every image of a dataset; write its manifest.parquet."""

import sys

# Under `--sdm conda` the rule's environment has the dependencies but not ctprints itself, so
# import the library from this checkout.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")


from ctprints.datasets import Source  # noqa: E402
from ctprints.manifest import build_manifest, write_manifest  # noqa: E402
from ctprints.runlog import configure  # noqa: E402

log = configure(snakemake.log[0])
sources = [Source(**source) for source in snakemake.params.sources]
manifest = build_manifest(sources, snakemake.params.image_size, threads=snakemake.threads)
write_manifest(manifest, snakemake.output.manifest)
counts = manifest.groupby(["task", "split", "role"], dropna=False).size()
log.info("wrote %d rows to %s\n%s", len(manifest), snakemake.output.manifest, counts.to_string())
