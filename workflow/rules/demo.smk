# The demo benchmark: phantom patients -> one trained generator per instance -> ImageCLEF layout.


rule demo_patients:
    output:
        real=PATHS.demo_real,
    log:
        "logs/demo_patients/demo.log",
    benchmark:
        "logs/benchmarks/demo_patients/demo.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 8
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
    params:
        patients=PLAN.demo.patients,
        slices_per_patient=PLAN.demo.slices_per_patient,
        image_size=PLAN.demo.image_size,
        window=PLAN.demo.window,
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
        "logs/demo_generator/{instance}.log",
    benchmark:
        "logs/benchmarks/demo_generator/{instance}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        mem_mb=per_attempt(8000),
        runtime=per_attempt(120),
        gpu=1,
    params:
        instance=demo_instance,
        image_size=PLAN.demo.image_size,
        steps=PLAN.demo.steps,
        batch_size=PLAN.demo.batch_size,
        base_channels=PLAN.demo.base_channels,
        device=lookup(dpath="demo/device", within=config),
    script:
        "../scripts/demo_generator.py"


rule demo_benchmark:
    input:
        real=rules.demo_patients.output.real,
        samples=expand(
            rules.demo_generator.output.samples, instance=PLAN.demo.instances
        ),
    output:
        task1=directory(fill(PATHS.demo_folder, task="task1")),
        task2=directory(fill(PATHS.demo_folder, task="task2")),
        truth=PLAN.demo_truth_files(),
    log:
        "logs/demo_benchmark/demo.log",
    benchmark:
        "logs/benchmarks/demo_benchmark/demo.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(30),
    params:
        plan=PLAN.demo.to_dict(),
    script:
        "../scripts/demo_benchmark.py"


rule demo_contact_sheet:
    input:
        real=rules.demo_patients.output.real,
        samples=expand(
            rules.demo_generator.output.samples, instance=PLAN.demo.instances
        ),
    output:
        sheet=report(
            PATHS.demo_contact_sheet,
            caption="../report/contact_sheet.rst",
            category="Demo benchmark",
        ),
    log:
        "logs/demo_contact_sheet/demo.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(10),
    params:
        plan=PLAN.demo.to_dict(),
    script:
        "../scripts/demo_contact_sheet.py"


rule demo_signal:
    input:
        real=rules.demo_patients.output.real,
        samples=expand(
            rules.demo_generator.output.samples, instance=PLAN.demo.instances
        ),
    output:
        table=report(
            PATHS.demo_signal,
            caption="../report/demo_signal.rst",
            category="Demo benchmark",
        ),
    log:
        "logs/demo_signal/demo.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(10),
    params:
        plan=PLAN.demo.to_dict(),
    script:
        "../scripts/demo_signal.py"
