# Embeddings: one parquet per dataset and embedder, every image of the manifest.


rule embed_fingerprint:
    input:
        manifest=rules.manifest.output.manifest,
    output:
        embeddings=PATHS.embeddings,
    log:
        "logs/embed_fingerprint/{dataset}_{embedder}.log",
    benchmark:
        "logs/benchmarks/embed_fingerprint/{dataset}_{embedder}.tsv"
    wildcard_constraints:
        embedder=one_of(PLAN.fingerprint_embedders),
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
        seed=dataset_seed,
    script:
        "../scripts/embed.py"


use rule embed_fingerprint as embed_cnn with:
    log:
        "logs/embed_cnn/{dataset}_{embedder}.log",
    benchmark:
        "logs/benchmarks/embed_cnn/{dataset}_{embedder}.tsv"
    wildcard_constraints:
        embedder=one_of(PLAN.cnn_embedders),
    resources:
        mem_mb=per_attempt(8000),
        runtime=per_attempt(120),
        gpu=1,
        batch_size=lookup(dpath="embed/batch_size", within=config),
    params:
        weights=lambda wildcards: PLAN.embed_weights.get(wildcards.embedder, "none"),
        device=lookup(dpath="embed/device", within=config),
        seed=dataset_seed,
