# Task 2, the paper's network path: fastai ResNets (round 0), pseudo-labels for the unseen
# generator, retraining with it as an extra class (round 1), the ensemble, and their run files.


rule train_round0:
    input:
        manifest=rules.manifest.output.manifest,
    output:
        learner=fill(PATHS.learner, round="round0"),
        metrics=fill(PATHS.train_metrics, round="round0"),
        predictions=fill(PATHS.predictions, run="{arch}_{size}_round0"),
    log:
        "logs/train_round0/{dataset}_{arch}_{size}.log",
    benchmark:
        "logs/benchmarks/train_round0/{dataset}_{arch}_{size}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        mem_mb=per_attempt(8000),
        runtime=per_attempt(240),
        gpu=1,
    params:
        epochs=lambda wildcards: task2_of(wildcards).epochs,
        lr=lookup(dpath="task2/train/lr", within=config),
        batch_size=lookup(dpath="task2/train/batch_size", within=config),
        valid_pct=lookup(dpath="task2/train/valid_pct", within=config),
        weights=lambda wildcards: PLAN.train_weights.get(wildcards.arch, "none"),
        recipe=lookup(dpath="task2/train/recipe", within=config),
        device=lookup(dpath="task2/train/device", within=config),
        seed=dataset_seed,
    script:
        "../scripts/train.py"


rule pseudo_labels:
    input:
        unpack(pseudo_input),
    output:
        pseudo=PATHS.pseudo,
    log:
        "logs/pseudo_labels/{dataset}_{arch}_{size}.log",
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    params:
        source=PLAN.pseudo_source,
        # None for the openset source, so that changing n reruns nothing there
        n_images=lambda wildcards: task2_of(wildcards).pseudo_count,
        label=lambda wildcards: task2_of(wildcards).unseen_label,
        known=lambda wildcards: list(task2_of(wildcards).labels),
    script:
        "../scripts/pseudo_labels.py"


use rule train_round0 as train_round1 with:
    input:
        manifest=rules.manifest.output.manifest,
        pseudo=rules.pseudo_labels.output.pseudo,
    output:
        learner=fill(PATHS.learner, round="round1"),
        metrics=fill(PATHS.train_metrics, round="round1"),
        predictions=fill(PATHS.predictions, run="{arch}_{size}_round1"),
    log:
        "logs/train_round1/{dataset}_{arch}_{size}.log",
    benchmark:
        "logs/benchmarks/train_round1/{dataset}_{arch}_{size}.tsv"


rule ensemble_task2:
    input:
        predictions=expand(
            fill(PATHS.predictions, run="{arch}_{size}_{round}"),
            arch=PLAN.archs,
            allow_missing=True,
        ),
    output:
        predictions=fill(PATHS.predictions, run="ensemble_{size}_{round}"),
    log:
        "logs/ensemble_task2/{dataset}_{size}_{round}.log",
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    script:
        "../scripts/ensemble_task2.py"


use rule run_file_task2 as run_file_network with:
    input:
        labels=fill(PATHS.predictions, run="{network}_{size}_{round}"),
    output:
        run=report(
            fill(PATHS.task2_run, run="{network}_{size}_{round}"),
            caption="../report/run_file.rst",
            category="Run files",
            subcategory="Task 2",
            labels={"dataset": "{dataset}", "run": "{network}_{size}_{round}"},
        ),
    log:
        "logs/run_file_network/{dataset}_{network}_{size}_{round}.log",
