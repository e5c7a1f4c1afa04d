# The demo benchmark: phantom patients -> one trained generator per instance -> ImageCLEF layout.


rule demo_patients:
    output:
        real="results/demo/benchmark/real.npz",
    log:
        "logs/demo_patients/demo.log",
    benchmark:
        "benchmarks/demo_patients/demo.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 8
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
    params:
        patients=DEMO_PLAN.patients,
        slices_per_patient=DEMO_PLAN.slices_per_patient,
        image_size=DEMO_PLAN.image_size,
        window=DEMO_PLAN.window,
    script:
        "../scripts/demo_patients.py"


rule demo_generator:
    input:
        real=rules.demo_patients.output.real,
    output:
        model="results/demo/benchmark/generators/{instance}/model.pt",
        history="results/demo/benchmark/generators/{instance}/history.tsv",
        samples="results/demo/benchmark/generators/{instance}/samples.npz",
    log:
        "logs/demo_generator/{instance}.log",
    benchmark:
        "benchmarks/demo_generator/{instance}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        mem_mb=per_attempt(8000),
        runtime=per_attempt(120),
        gpu=1,
    params:
        instance=demo_instance,
        image_size=DEMO_PLAN.image_size,
        steps=DEMO_PLAN.steps,
        batch_size=DEMO_PLAN.batch_size,
        base_channels=DEMO_PLAN.base_channels,
        device=lookup(dpath="demo/device", within=config),
    script:
        "../scripts/demo_generator.py"


rule demo_benchmark:
    input:
        real=rules.demo_patients.output.real,
        samples=expand(
            rules.demo_generator.output.samples, instance=DEMO_PLAN.instances
        ),
    output:
        task1=directory(f"{DEMO_ROOT}/task1"),
        task2=directory(f"{DEMO_ROOT}/task2"),
        truth=demo_truth_files(),
    log:
        "logs/demo_benchmark/demo.log",
    benchmark:
        "benchmarks/demo_benchmark/demo.tsv"
    conda:
        "../../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(30),
    params:
        plan=DEMO_PLAN.to_dict(),
    script:
        "../scripts/demo_benchmark.py"


rule demo_contact_sheet:
    input:
        real=rules.demo_patients.output.real,
        samples=expand(
            rules.demo_generator.output.samples, instance=DEMO_PLAN.instances
        ),
    output:
        sheet=report(
            "results/demo/contact_sheet.png",
            caption="../report/contact_sheet.rst",
            category="Demo benchmark",
        ),
    log:
        "logs/demo_contact_sheet/demo.log",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(10),
    params:
        plan=DEMO_PLAN.to_dict(),
    script:
        "../scripts/demo_contact_sheet.py"


rule demo_signal:
    input:
        real=rules.demo_patients.output.real,
        samples=expand(
            rules.demo_generator.output.samples, instance=DEMO_PLAN.instances
        ),
    output:
        table=report(
            "results/demo/benchmark/signal.tsv",
            caption="../report/demo_signal.rst",
            category="Demo benchmark",
        ),
    log:
        "logs/demo_signal/demo.log",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(10),
    params:
        plan=DEMO_PLAN.to_dict(),
    script:
        "../scripts/demo_signal.py"
