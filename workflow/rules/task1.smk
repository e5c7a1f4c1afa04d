# Task 1 membership: every attack in every embedder's feature space, per group; run files.


rule scores_task1:
    input:
        manifest=rules.manifest.output.manifest,
        embeddings=rules.embed_fingerprint.output.embeddings,
        patients=task1_patients_input,
    output:
        scores=PATHS.task1_scores,
    log:
        "logs/scores_task1/{dataset}_{group}_{embedder}.log",
    benchmark:
        "logs/benchmarks/scores_task1/{dataset}_{group}_{embedder}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 2
    resources:
        mem_mb=per_attempt(8000),
        runtime=per_attempt(60),
    params:
        attacks=list(PLAN.attacks),
        folds=lookup(dpath="task1/folds", within=config),
        settings=PLAN.attack_settings,
        patients=task1_patients_path,
        seed=dataset_seed,
    script:
        "../scripts/scores_task1.py"


rule run_file_task1:
    input:
        scores=rules.scores_task1.output.scores,
    output:
        run=report(
            fill(PATHS.task1_run, run="{attack}_{embedder}"),
            caption="../report/run_file.rst",
            category="Run files",
            subcategory="Task 1",
            labels={
                "dataset": "{dataset}",
                "group": "{group}",
                "run": "{attack}_{embedder}",
            },
        ),
    log:
        "logs/run_file_task1/{dataset}_{group}_{attack}_{embedder}.log",
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    params:
        column=lambda wildcards: wildcards.attack,
        threshold=PLAN.task1_threshold,
    script:
        "../scripts/run_file_task1.py"


rule paper_task1:
    input:
        manifest=rules.manifest.output.manifest,
        embeddings=fill(PATHS.embeddings, embedder="{paper_embedder}"),
        patients=task1_patients_input,
    output:
        model=directory(fill(PATHS.autogluon, paper="{paper_embedder}_f{fraction}")),
        scores=fill(PATHS.paper_scores, paper="{paper_embedder}_f{fraction}"),
    log:
        "logs/paper_task1/{dataset}_{group}_{paper_embedder}_f{fraction}.log",
    benchmark:
        "logs/benchmarks/paper_task1/{dataset}_{group}_{paper_embedder}_f{fraction}.tsv"
    conda:
        "../../envs/automl.yaml"
    threads: 2
    resources:
        mem_mb=per_attempt(8000),
        runtime=per_attempt(30),
    params:
        k=lookup(dpath="task1/paper/k", within=config),
        pca=lookup(dpath="task1/paper/pca", within=config),
        presets=lookup(dpath="task1/paper/presets", within=config),
        time_limit=lambda wildcards: dataset_of(wildcards).paper_time_limit,
        patients=task1_patients_path,
        seed=dataset_seed,
    script:
        "../scripts/paper_task1.py"


use rule run_file_task1 as run_file_paper with:
    input:
        scores=rules.paper_task1.output.scores,
    output:
        run=report(
            fill(PATHS.task1_run, run="paper_f{fraction}_{paper_embedder}"),
            caption="../report/run_file.rst",
            category="Run files",
            subcategory="Task 1",
            labels={
                "dataset": "{dataset}",
                "group": "{group}",
                "run": "paper_f{fraction}_{paper_embedder}",
            },
        ),
    log:
        "logs/run_file_paper/{dataset}_{group}_paper_f{fraction}_{paper_embedder}.log",
    params:
        column="paper",
        threshold=PLAN.task1_threshold,


rule autogluon_task1:
    input:
        manifest=rules.manifest.output.manifest,
        embeddings=fill(PATHS.embeddings, embedder="{paper_embedder}"),
        patients=task1_patients_input,
    output:
        scores=PATHS.autogluon_cv_scores,
    log:
        "logs/autogluon_task1/{dataset}_{group}_{paper_embedder}.log",
    benchmark:
        "logs/benchmarks/autogluon_task1/{dataset}_{group}_{paper_embedder}.tsv"
    conda:
        "../../envs/automl.yaml"
    threads: 2
    resources:
        mem_mb=per_attempt(8000),
        runtime=per_attempt(60),
    params:
        folds=lookup(dpath="task1/folds", within=config),
        k=lookup(dpath="task1/paper/k", within=config),
        pca=lookup(dpath="task1/paper/pca", within=config),
        presets=lookup(dpath="task1/paper/presets", within=config),
        time_limit=lambda wildcards: dataset_of(wildcards).paper_time_limit,
        patients=task1_patients_path,
        seed=dataset_seed,
    script:
        "../scripts/autogluon_task1.py"


use rule run_file_task1 as run_file_autogluon with:
    input:
        scores=rules.autogluon_task1.output.scores,
    output:
        run=report(
            fill(PATHS.task1_run, run="autogluon_{paper_embedder}"),
            caption="../report/run_file.rst",
            category="Run files",
            subcategory="Task 1",
            labels={
                "dataset": "{dataset}",
                "group": "{group}",
                "run": "autogluon_{paper_embedder}",
            },
        ),
    log:
        "logs/run_file_autogluon/{dataset}_{group}_autogluon_{paper_embedder}.log",
    params:
        column="autogluon",
        threshold=PLAN.task1_threshold,


rule select_task1:
    input:
        unpack(task1_selection_inputs),
    output:
        selection=PATHS.task1_selection,
        submitted=report(
            PATHS.task1_submitted,
            caption="../report/run_file.rst",
            category="Run files",
            subcategory="Task 1",
            labels={"dataset": "{dataset}", "group": "{group}", "run": "submitted"},
        ),
    log:
        "logs/select_task1/{dataset}_{group}.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    params:
        runs=PLAN.task1_candidates(),
        metric=lookup(dpath="task1/metric", within=config),
        threshold=PLAN.task1_threshold,
        fixed=PLAN.task1_run,
    script:
        "../scripts/select_task1.py"
