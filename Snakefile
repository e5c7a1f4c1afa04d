# ctprints: generator fingerprints (task 2) and training-data membership (task 1) in synthetic CT.
# This file is wiring only; stages live in workflow/rules/, logic in src/ctprints/.
from snakemake.utils import min_version, validate

min_version("9.20")


configfile: "config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/example.smk"
include: "workflow/rules/manifest.smk"


rule manifests:
    input:
        expand(rules.manifest.output.manifest, dataset=RUN_DATASETS),


rule all:
    default_target: True
    input:
        rules.manifests.input,
