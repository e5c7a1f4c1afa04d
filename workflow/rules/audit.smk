# Membership audit before release: per Task 1 group, the risk of every dev real image and
# patient, the evidence, and a three-valued verdict against the budget whose error rates hold
# over the dataset's audited groups (docs/task1-and-audit.md). Reads only the dev folders.


rule audit_group:
    input:
        unpack(audit_embeddings),
        manifest=rules.manifest.output.manifest,
        patients=task1_patients_input,
    output:
        risk=audit_output("risk"),
        patients=audit_output("patients"),
        attacks=audit_output("attacks"),
        units=audit_output("units"),
        statistics=audit_output("statistics"),
        verdict=audit_output("verdict"),
        evidence=audit_output("evidence", item="evidence: riskiest images"),
        scores=audit_output("scores", item="score histogram"),
        report=audit_output("report", item="audit page"),
    log:
        "logs/audit_group/{dataset}_{group}.log",
    benchmark:
        "logs/benchmarks/audit_group/{dataset}_{group}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 2
    resources:
        mem_mb=per_attempt(8000),
        runtime=per_attempt(60),
    params:
        embedders=audit_embedders,
        attacks=list(PLAN.attacks),
        attack=lookup(dpath="audit/attack", within=config),
        embedder=lookup(dpath="audit/embedder", within=config),
        settings=PLAN.attack_settings,
        folds=lookup(dpath="task1/folds", within=config),
        k=lookup(dpath="audit/k", within=config),
        n_boot=lookup(dpath="audit/n_boot", within=config),
        n_permutations=lookup(dpath="audit/n_permutations", within=config),
        budget=lookup(dpath="audit/budget", within=config),
        n_groups=lambda wildcards: max(
            len(PLAN.audit_groups.get(wildcards.dataset, ())), 1
        ),
        patients=task1_patients_path,
        seed=dataset_seed,
    script:
        "../scripts/audit.py"


# Target audit_gate: fails (non-zero exit, one line per failing group) when any audited group
# fails its budget. It has no output, so it runs every time it is asked for.
rule audit_gate:
    input:
        **PLAN.audit_verdicts(),
    log:
        "logs/audit_gate/gate.log",
    conda:
        "../../envs/core.yaml"
    threads: 1
    script:
        "../scripts/audit_gate.py"


# Target audit_calibration (not part of `all`): how often the gate passes, fails or is
# inconclusive at this group's counts and others, by simulation from its member-vs-member
# control (docs/task1-and-audit.md).
rule audit_calibration_group:
    input:
        units=audit_output("units"),
        verdict=audit_output("verdict"),
    output:
        rates=fill(PATHS.calibration, name=CALIBRATION_FILES["rates"]),
        to_pass=fill(PATHS.calibration, name=CALIBRATION_FILES["to_pass"]),
        figure=report(
            fill(PATHS.calibration, name=CALIBRATION_FILES["figure"]),
            caption="../report/audit_calibration.rst",
            category="Audit",
            labels={
                "dataset": "{dataset}",
                "group": "{group}",
                "item": "gate calibration",
            },
        ),
    log:
        "logs/audit_calibration_group/{dataset}_{group}.log",
    benchmark:
        "logs/benchmarks/audit_calibration_group/{dataset}_{group}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
    params:
        sims=lookup(dpath="audit/calibration_sims", within=config),
        seed=dataset_seed,
    script:
        "../scripts/audit_calibration.py"


# Target audit_calibration: how often one audit of this dataset's groups gets any group wrong,
# each group simulated from its own control at its share of alpha (docs/task1-and-audit.md).
rule audit_calibration_family:
    input:
        units=lambda wildcards: list(
            PLAN.audit_group_files(wildcards.dataset, "units").values()
        ),
        verdicts=lambda wildcards: list(
            PLAN.audit_group_files(wildcards.dataset, "verdict").values()
        ),
    output:
        PATHS.family_calibration,
    log:
        "logs/audit_calibration_family/{dataset}.log",
    benchmark:
        "logs/benchmarks/audit_calibration_family/{dataset}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
    params:
        sims=lookup(dpath="audit/calibration_sims", within=config),
        seed=dataset_seed,
    script:
        "../scripts/audit_calibration_family.py"
