# Embeddings: one parquet per dataset and embedder, every image of the manifest.


rule embed_fingerprint:
    input:
        manifest=rules.manifest.output.manifest,
    output:
        embeddings="results/{dataset}/embeddings/{embedder}.parquet",
    log:
        "logs/embed/{dataset}_{embedder}.log",
    benchmark:
        "benchmarks/embed/{dataset}_{embedder}.tsv"
    wildcard_constraints:
        embedder=one_of(FINGERPRINT_EMBEDDERS),
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
        # Batch size changes memory and speed, not results, so it is a resource (no rerun).
        batch_size=lookup(dpath="embed/batch_size", within=config),
    params:
        weights="none",
        device="cpu",
        seed=lookup(dpath="seed", within=config),
    script:
        "../scripts/embed.py"


use rule embed_fingerprint as embed_cnn with:
    wildcard_constraints:
        embedder=one_of(CNN_EMBEDDERS),
    resources:
        mem_mb=per_attempt(8000),
        runtime=per_attempt(120),
        gpu=1,
        batch_size=lookup(dpath="embed/batch_size", within=config),
    params:
        weights=embedder_weights,
        device=lookup(dpath="embed/device", within=config),
        seed=lookup(dpath="seed", within=config),
