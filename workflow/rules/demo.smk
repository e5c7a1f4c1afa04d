# The demo data: phantom patients -> one trained generator per instance -> ImageCLEF layout,
# for every dataset with `builder: demo` (the run's and the study's).


rule demo_patients:
    output:
        real=PATHS.demo_real,
    log:
        "logs/demo_patients/{dataset}.log",
    benchmark:
        "logs/benchmarks/demo_patients/{dataset}.tsv"
    wildcard_constraints:
        dataset=one_of(PLAN.demo_datasets),
    conda:
        "../../envs/core.yaml"
    threads: 8
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
    params:
        patients=lambda wildcards: demo_plan(wildcards).patients,
        slices_per_patient=lambda wildcards: demo_plan(wildcards).slices_per_patient,
        image_size=lambda wildcards: demo_plan(wildcards).image_size,
        window=lambda wildcards: demo_plan(wildcards).window,
    script:
        "../scripts/demo_patients.py"


rule demo_generator:
    input:
        real=rules.demo_patients.output.real,
    output:
        model=PATHS.demo_model,
        history=PATHS.demo_history,
        samples=PATHS.demo_samples,
    log:
        "logs/demo_generator/{dataset}_{instance}.log",
    benchmark:
        "logs/benchmarks/demo_generator/{dataset}_{instance}.tsv"
    wildcard_constraints:
        dataset=one_of(PLAN.demo_datasets),
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        mem_mb=per_attempt(8000),
        runtime=per_attempt(120),
        gpu=1,
    params:
        instance=demo_instance,
        image_size=lambda wildcards: demo_plan(wildcards).image_size,
        steps=lambda wildcards: demo_plan(wildcards).steps,
        batch_size=lambda wildcards: demo_plan(wildcards).batch_size,
        base_channels=lambda wildcards: demo_plan(wildcards).base_channels,
        device=lookup(dpath="demo/device", within=config),
    script:
        "../scripts/demo_generator.py"


rule demo_layout:
    input:
        real=rules.demo_patients.output.real,
        samples=per_dataset(PLAN.demo_samples),
    output:
        task1=directory(fill(PATHS.demo_folder, task="task1")),
        task2=directory(fill(PATHS.demo_folder, task="task2")),
        task2_truth=fill(PATHS.demo_truth, name="task2"),
        patients=fill(PATHS.demo_truth, name="patients"),
        task1_truth=PATHS.demo_task1_truth,
    log:
        "logs/demo_layout/{dataset}.log",
    benchmark:
        "logs/benchmarks/demo_layout/{dataset}.tsv"
    wildcard_constraints:
        dataset=one_of(PLAN.demo_datasets),
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(30),
    params:
        plan=demo_plan_data,
    script:
        "../scripts/demo_layout.py"


rule demo_task1_truth:
    input:
        table=rules.demo_layout.output.task1_truth,
    output:
        truth=fill(PATHS.demo_truth, name="task1_{group}"),
    log:
        "logs/demo_task1_truth/{dataset}_{group}.log",
    wildcard_constraints:
        dataset=one_of(PLAN.demo_datasets),
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    script:
        "../scripts/demo_task1_truth.py"


rule demo_contact_sheet:
    input:
        real=rules.demo_patients.output.real,
        samples=per_dataset(PLAN.demo_samples),
    output:
        sheet=report(
            PATHS.demo_contact_sheet,
            caption="../report/contact_sheet.rst",
            category="Demo data",
            labels={"dataset": "{dataset}", "figure": "contact sheet"},
        ),
    log:
        "logs/demo_contact_sheet/{dataset}.log",
    wildcard_constraints:
        dataset=one_of(PLAN.demo_datasets),
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(10),
    params:
        plan=demo_plan_data,
    script:
        "../scripts/demo_contact_sheet.py"


rule demo_signal:
    input:
        real=rules.demo_patients.output.real,
        samples=per_dataset(PLAN.demo_samples),
    output:
        table=report(
            PATHS.demo_signal,
            caption="../report/demo_signal.rst",
            category="Demo data",
            labels={"dataset": "{dataset}", "figure": "signal report"},
        ),
    log:
        "logs/demo_signal/{dataset}.log",
    wildcard_constraints:
        dataset=one_of(PLAN.demo_datasets),
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(10),
    params:
        plan=demo_plan_data,
    script:
        "../scripts/demo_signal.py"
