# Membership audit before release: per Task 1 group, the risk of every dev real image, the
# evidence, set-level statistics with patient-bootstrap intervals, and a verdict against the
# budget (docs/task1-and-audit.md). Reads only the dev folders.


rule audit_group:
    input:
        unpack(audit_embeddings),
        manifest=rules.manifest.output.manifest,
        patients=task1_patients_input,
    output:
        risk=audit_output("risk"),
        patients=audit_output("patients"),
        attacks=audit_output("attacks"),
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
