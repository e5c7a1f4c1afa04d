# Evaluation against ground truth, where it is configured. Only these rules read ground truth.


rule evaluate_task2:
    input:
        truth=task2_truth,
        runs=task2_run_files,
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
        runs=task2_run_table,
        seed=lookup(dpath="seed", within=config),
    script:
        "../scripts/evaluate_task2.py"


rule confusion_task2:
    input:
        truth=task2_truth,
        run="results/{dataset}/submissions/task2/{run}.csv",
    output:
        figure=report(
            "results/{dataset}/evaluation/confusion/task2_{run}.png",
            caption="../report/confusion_task2.rst",
            category="Task 2 attribution",
            subcategory="Confusion matrices",
            labels={"dataset": "{dataset}", "run": "{run}"},
        ),
    log:
        "logs/confusion_task2/{dataset}_{run}.log",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/confusion_task2.py"
