# Evaluation against ground truth, where it is configured. Only these rules read ground truth.


# Every evaluation rule waits for its task's truth check, so a bad truth file is named as such.
rule evaluate_truth:
    input:
        unpack(truth_inputs),
        manifest=rules.manifest.output.manifest,
    output:
        checked=PATHS.truth_check,
    log:
        "logs/evaluate_truth/{dataset}_{task}.log",
    wildcard_constraints:
        task="task1|task2",
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    params:
        files=truth_files,
        labels=truth_labels,
        stale=evaluation_outputs,
    script:
        "../scripts/evaluate_truth.py"


rule evaluate_task2:
    input:
        checked=fill(PATHS.truth_check, task="task2"),
        truth=task2_truth,
        runs=per_dataset(PLAN.task2_run_files),
    output:
        table=report(
            fill(PATHS.table, task="task2"),
            caption="../report/evaluation_task2.rst",
            category="Task 2 attribution",
            subcategory="Scores",
            labels={"dataset": "{dataset}", "table": "task2.tsv"},
        ),
        paired=PATHS.paired,
    log:
        "logs/evaluate_task2/{dataset}.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(10),
    params:
        runs=task2_run_table,
        known=lambda wildcards: list(task2_of(wildcards).labels),
        baselines=per_dataset(PLAN.task2_paper_runs),
    script:
        "../scripts/evaluate_task2.py"


rule confusion_task2:
    input:
        checked=fill(PATHS.truth_check, task="task2"),
        truth=task2_truth,
        run=PATHS.task2_run,
    output:
        figure=report(
            PATHS.confusion,
            caption="../report/confusion_task2.rst",
            category="Task 2 attribution",
            subcategory="Confusion matrices",
            labels={"dataset": "{dataset}", "run": "{run}"},
        ),
    log:
        "logs/confusion_task2/{dataset}_{run}.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(10),
    script:
        "../scripts/confusion_task2.py"


rule evaluate_task1:
    input:
        unpack(per_dataset(PLAN.task1_evaluation_inputs)),
        checked=fill(PATHS.truth_check, task="task1"),
    output:
        table=report(
            fill(PATHS.table, task="task1"),
            caption="../report/evaluation_task1.rst",
            category="Task 1 membership",
            subcategory="Scores",
            labels={"dataset": "{dataset}", "table": "task1.tsv"},
        ),
    log:
        "logs/evaluate_task1/{dataset}.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(30),
    params:
        groups=task1_groups,
        paper=[list(run) for run in PLAN.paper_runs],
        autogluon=list(PLAN.autogluon_runs),
        attacks=list(PLAN.attacks),
        embedders=list(PLAN.embedders),
        n_boot=lookup(dpath="task1/n_boot", within=config),
        n_permutations=lookup(dpath="task1/n_permutations", within=config),
        seed=dataset_seed,
    script:
        "../scripts/evaluate_task1.py"


rule roc_task1:
    input:
        checked=fill(PATHS.truth_check, task="task1"),
        truth=task1_truth,
        scores=rules.scores_task1.output.scores,
    output:
        figure=report(
            PATHS.roc,
            caption="../report/roc_task1.rst",
            category="Task 1 membership",
            subcategory="ROC curves",
            labels={
                "dataset": "{dataset}",
                "group": "{group}",
                "embedder": "{embedder}",
            },
        ),
    log:
        "logs/roc_task1/{dataset}_{group}_{embedder}.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(10),
    params:
        attacks=list(PLAN.attacks),
    script:
        "../scripts/roc_task1.py"


rule summary:
    input:
        unpack(per_dataset(PLAN.summary_inputs)),
    output:
        summary=report(
            PATHS.summary,
            caption="../report/summary.rst",
            category="Summary",
            labels={"dataset": "{dataset}"},
        ),
    log:
        "logs/summary/{dataset}.log",
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    params:
        task2_submitted=PLAN.task2_run,
        task2_paper=per_dataset(PLAN.task2_paper_runs),
        task2_skipped=lambda wildcards: PLAN.skipped_methods(wildcards.dataset),
        task1_metric=lookup(dpath="task1/metric", within=config),
        task1_paper=list(PLAN.paper_runs.values()),
        task1_groups=task1_groups,
    script:
        "../scripts/summary.py"


rule table_html:
    input:
        table=PATHS.table,
    output:
        html=report(
            PATHS.table_html,
            caption="../report/table_html.rst",
            category="Tables",
            labels={"dataset": "{dataset}", "table": "{task}"},
        ),
    log:
        "logs/table_html/{dataset}_{task}.log",
    wildcard_constraints:
        task="task1|task2",
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    script:
        "../scripts/table_html.py"
