# ctprints: generator fingerprints (task 2) and training-data membership (task 1) in synthetic CT.
# This file is wiring only; stages live in workflow/rules/, logic in src/ctprints/.
import sys

from snakemake.utils import min_version, validate

# The library is this checkout's src/: the Snakefile imports it from there, and every job finds
# it on PYTHONPATH (ctprints.paths.export_library), so no rule's environment installs ctprints
# and no script changes sys.path (docs/ARCHITECTURE.md, "Where the library comes from").
sys.path.insert(0, f"{workflow.basedir}/src")
from ctprints.paths import export_library

export_library(f"{workflow.basedir}/src")
from ctprints.config import check_config

min_version("9.20")


configfile: "config.yaml"


# One readable line per wrong key first; then snakemake's validate fills in the defaults.
check_config(config, f"{workflow.basedir}/workflow/schemas/config.schema.yaml")
validate(config, "workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/manifest.smk"
include: "workflow/rules/embed.smk"
include: "workflow/rules/task2_cluster.smk"
include: "workflow/rules/task2_train.smk"
include: "workflow/rules/task1.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/study.smk"
include: "workflow/rules/audit.smk"


# Light rules run in the snakemake process itself under a cluster profile instead of waiting in
# the queue for a node: the run files (a few kilobytes rewritten from a prediction table) and the
# truth check (reads a manifest and a ground-truth CSV).
localrules:
    run_file_task2,
    run_file_network,
    run_file_task1,
    run_file_paper,
    run_file_autogluon,
    select_task1,
    evaluate_truth,
    demo_task1_truth,
    audit_gate,


# The folders and ground truth of every demo-built dataset of run_datasets.
rule demo_data:
    input:
        PLAN.demo_data_files(),


rule manifests:
    input:
        PLAN.manifests(),


rule embeddings:
    input:
        PLAN.embedding_files(),


rule submission_task2:
    input:
        PLAN.submission_task2(),


rule submission_task1:
    input:
        PLAN.submission_task1(),


rule evaluate:
    input:
        PLAN.evaluation_files(),


rule submission_task2_networks:
    input:
        PLAN.submission_task2_networks(),


# Every audited group's risk tables, figures, verdict and page; never fails on a verdict.
rule audit:
    input:
        PLAN.audit_files(),


rule audit_calibration:
    input:
        PLAN.calibration_files(),


rule all:
    default_target: True
    input:
        rules.audit.input,
        rules.manifests.input,
        rules.submission_task2.input,
        rules.submission_task2_networks.input,
        rules.submission_task1.input,
        rules.evaluate.input,
        PLAN.figures(),
        PLAN.summaries(),


# Not part of `all`: every scenario of the `study` section at every seed (hours on 2 cores).
rule study:
    input:
        rules.study_leaderboard.output,
