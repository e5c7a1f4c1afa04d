rule example_data:
    output:
        root=directory("data/{dataset}"),
    log:
        "logs/example_data/{dataset}.log",
    wildcard_constraints:
        dataset=one_of(EXAMPLE_DATASETS),
    conda:
        "../../envs/core.yaml"
    params:
        seed=lookup(dpath="seed", within=config),
        image_size=lookup(dpath="datasets/{dataset}/image_size", within=config),
    script:
        "../scripts/example_data.py"
