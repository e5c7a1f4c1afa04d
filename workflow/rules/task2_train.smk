# Task 2, the paper's network path: fastai ResNets (round 0), pseudo-labels for the unseen
# generator, retraining with it as an extra class (round 1), the ensemble, and their run files.


rule train_round0:
    input:
        manifest=rules.manifest.output.manifest,
    output:
        learner="results/{dataset}/task2/models/{arch}_{size}/round0/export.pkl",
        metrics="results/{dataset}/task2/models/{arch}_{size}/round0/metrics.csv",
        predictions="results/{dataset}/task2/predictions/{arch}_{size}_round0.csv",
    log:
        "logs/train/{dataset}_{arch}_{size}_round0.log",
    benchmark:
        "benchmarks/train/{dataset}_{arch}_{size}_round0.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        mem_mb=per_attempt(8000),
        runtime=per_attempt(240),
        gpu=1,
    params:
        epochs=lookup(dpath="task2/train/epochs", within=config),
        lr=lookup(dpath="task2/train/lr", within=config),
        batch_size=lookup(dpath="task2/train/batch_size", within=config),
        valid_pct=lookup(dpath="task2/train/valid_pct", within=config),
        weights=arch_weights,
        recipe=lookup(dpath="task2/train/recipe", within=config),
        device=lookup(dpath="task2/train/device", within=config),
        seed=lookup(dpath="seed", within=config),
    script:
        "../scripts/train.py"


rule pseudo_labels:
    input:
        unpack(pseudo_input),
    output:
        pseudo="results/{dataset}/task2/pseudo/{arch}_{size}.csv",
    log:
        "logs/pseudo_labels/{dataset}_{arch}_{size}.log",
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    params:
        source=PSEUDO,
        n_images=pseudo_count_of,
        label=pseudo_label,
        known=known_labels,
    script:
        "../scripts/pseudo_labels.py"


use rule train_round0 as train_round1 with:
    input:
        manifest=rules.manifest.output.manifest,
        pseudo=rules.pseudo_labels.output.pseudo,
    output:
        learner="results/{dataset}/task2/models/{arch}_{size}/round1/export.pkl",
        metrics="results/{dataset}/task2/models/{arch}_{size}/round1/metrics.csv",
        predictions="results/{dataset}/task2/predictions/{arch}_{size}_round1.csv",
    log:
        "logs/train/{dataset}_{arch}_{size}_round1.log",
    benchmark:
        "benchmarks/train/{dataset}_{arch}_{size}_round1.tsv"


rule ensemble_task2:
    input:
        predictions=expand(
            "results/{dataset}/task2/predictions/{arch}_{size}_{round}.csv",
            arch=ARCHS,
            allow_missing=True,
        ),
    output:
        predictions="results/{dataset}/task2/predictions/ensemble_{size}_{round}.csv",
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
        labels="results/{dataset}/task2/predictions/{network}_{size}_{round}.csv",
    output:
        run=report(
            "results/{dataset}/submissions/task2/{network}_{size}_{round}.csv",
            caption="../report/run_file.rst",
            category="Run files",
            subcategory="Task 2",
            labels={"dataset": "{dataset}", "run": "{network}_{size}_{round}"},
        ),
    log:
        "logs/run_file_task2/{dataset}_{network}_{size}_{round}.log",
