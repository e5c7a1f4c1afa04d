# Evaluation against ground truth, where it is configured. Only these rules read ground truth.


rule evaluate_task2:
    input:
        truth=task2_truth,
        clusters=expand(
            rules.cluster.output.clusters,
            method=METHODS,
            embedder=EMBEDDERS,
            allow_missing=True,
        ),
    output:
        table=report(
            "results/{dataset}/evaluation/task2.tsv",
            caption="../report/evaluation_task2.rst",
            category="Task 2 attribution",
            subcategory="Scores",
            labels={"dataset": "{dataset}", "table": "task2.tsv"},
        ),
    log:
        "logs/evaluate_task2/{dataset}.log",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        methods=METHODS,
        embedders=EMBEDDERS,
        seed=lookup(dpath="seed", within=config),
    script:
        "../scripts/evaluate_task2.py"


rule confusion_task2:
    input:
        truth=task2_truth,
        clusters=rules.cluster.output.clusters,
    output:
        figure=report(
            "results/{dataset}/evaluation/confusion/task2_{method}_{embedder}.png",
            caption="../report/confusion_task2.rst",
            category="Task 2 attribution",
            subcategory="Confusion matrices",
            labels={
                "dataset": "{dataset}",
                "method": "{method}",
                "embedder": "{embedder}",
            },
        ),
    log:
        "logs/confusion_task2/{dataset}_{method}_{embedder}.log",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/confusion_task2.py"
