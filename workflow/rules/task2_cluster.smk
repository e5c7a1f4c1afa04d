# Task 2 attribution: t-SNE maps, clusters named by Hungarian assignment, run files.


rule tsne:
    input:
        manifest=rules.manifest.output.manifest,
        embeddings=rules.embed_fingerprint.output.embeddings,
    output:
        coordinates=PATHS.tsne,
    log:
        "logs/tsne/{dataset}_{embedder}.log",
    benchmark:
        "logs/benchmarks/tsne/{dataset}_{embedder}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 2
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
    params:
        perplexity=lookup(dpath="task2/tsne/perplexity", within=config),
        n_iter=lookup(dpath="task2/tsne/n_iter", within=config),
        pca=lookup(dpath="task2/tsne/pca", within=config),
        seed=dataset_seed,
    script:
        "../scripts/tsne.py"


rule tsne_plot:
    input:
        coordinates=rules.tsne.output.coordinates,
    output:
        figure=report(
            PATHS.tsne_plot,
            caption="../report/tsne.rst",
            category="Task 2 attribution",
            subcategory="t-SNE",
            labels={"dataset": "{dataset}", "embedder": "{embedder}"},
        ),
    log:
        "logs/tsne_plot/{dataset}_{embedder}.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(10),
    script:
        "../scripts/tsne_plot.py"


rule tsne_panel:
    input:
        coordinates=expand(
            rules.tsne.output.coordinates, embedder=PLAN.embedders, allow_missing=True
        ),
    output:
        figure=report(
            PATHS.tsne_panel,
            caption="../report/tsne_panel.rst",
            category="Task 2 attribution",
            subcategory="t-SNE",
            labels={"dataset": "{dataset}", "embedder": "all"},
        ),
    log:
        "logs/tsne_panel/{dataset}.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(10),
    params:
        embedders=list(PLAN.embedders),
    script:
        "../scripts/tsne_panel.py"


rule cluster:
    input:
        manifest=rules.manifest.output.manifest,
        features=cluster_features,
    output:
        clusters=PATHS.clusters,
    log:
        "logs/cluster/{dataset}_{method}_{embedder}.log",
    benchmark:
        "logs/benchmarks/cluster/{dataset}_{method}_{embedder}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(30),
    params:
        settings=method_settings,
        n_generators=n_generators,
        new_label=new_label,
        seed=dataset_seed,
    script:
        "../scripts/cluster.py"


rule run_file_task2:
    input:
        labels=rules.cluster.output.clusters,
    output:
        run=report(
            fill(PATHS.task2_run, run="{method}_{embedder}"),
            caption="../report/run_file.rst",
            category="Run files",
            subcategory="Task 2",
            labels={"dataset": "{dataset}", "run": "{method}_{embedder}"},
        ),
    log:
        "logs/run_file_task2/{dataset}_{method}_{embedder}.log",
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    script:
        "../scripts/run_file_task2.py"
