# The manifest: one row per image of a dataset, every image checked.


rule manifest:
    input:
        folders=dataset_folders,
    output:
        manifest=PATHS.manifest,
    log:
        "logs/manifest/{dataset}.log",
    benchmark:
        "logs/benchmarks/manifest/{dataset}.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 4
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(30),
    params:
        # plain dicts, so that only a change of the folders reruns the manifest
        sources=lambda wildcards: [
            asdict(source) for source in dataset_of(wildcards).sources
        ],
        image_size=lambda wildcards: dataset_of(wildcards).image_size,
        contents=folder_contents,
    script:
        "../scripts/manifest.py"
