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
        sources=manifest_sources,
        image_size=dataset_image_size,
        contents=folder_contents,
    script:
        "../scripts/manifest.py"
