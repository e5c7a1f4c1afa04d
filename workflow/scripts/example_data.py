"""Rule example_data: write the built-in example layout."""

import sys

# Under `--sdm conda` the rule's environment has the dependencies but not ctprints itself, so
# import the library from this checkout.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")


from ctprints.example import write_example_layout  # noqa: E402
from ctprints.runlog import configure  # noqa: E402

log = configure(snakemake.log[0])
root = write_example_layout(
    snakemake.output.root, size=snakemake.params.image_size or 32, seed=snakemake.params.seed
)
log.info("wrote the example layout under %s", root)
