# ctprints: generator fingerprints (task 2) and training-data membership (task 1) in synthetic CT.
# This file is wiring only; stages live in workflow/rules/, logic in src/ctprints/.
import sys

from snakemake.utils import min_version, validate

# The workflow imports its library from this checkout, so it also runs under a snakemake that
# was installed without ctprints (for example with `--sdm conda`).
sys.path.insert(0, f"{workflow.basedir}/src")
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


# Run files are a few kilobytes rewritten from a prediction table: under a cluster profile they
# run in the snakemake process itself instead of waiting in the queue for a node.
localrules:
    run_file_task2,
    run_file_network,
    run_file_task1,
    run_file_paper,


rule manifests:
    input:
        expand(rules.manifest.output.manifest, dataset=RUN_DATASETS),


rule embeddings:
    input:
        expand(
            rules.embed_fingerprint.output.embeddings,
            dataset=RUN_DATASETS,
            embedder=EMBEDDERS,
        ),


rule submission_task2:
    input:
        expand(
            "results/{dataset}/submissions/task2/{run}.csv",
            dataset=TASK2_DATASETS,
            run=task2_run_name(),
        ),


rule submission_task1:
    input:
        [task1_run_files(name, [task1_run_name()]) for name in TASK1_GROUPS],
        [task1_run_files(name, list(paper_runs().values())) for name in TASK1_GROUPS],


rule evaluate:
    input:
        expand(rules.evaluate_task2.output.table, dataset=evaluated_datasets()),
        expand(rules.table_html.output.html, dataset=evaluated_datasets(), task="task2"),
        expand(
            rules.table_html.output.html,
            dataset=task1_evaluated_datasets(),
            task="task1",
        ),
        [
            expand(
                rules.confusion_task2.output.figure, dataset=name, run=task2_runs(name)
            )
            for name in evaluated_datasets()
        ],
        expand(
            rules.evaluate_task1.output.table,
            dataset=task1_evaluated_datasets(),
        ),
        [
            expand(
                rules.roc_task1.output.figure,
                dataset=name,
                group=group,
                embedder=EMBEDDERS,
            )
            for name, group in task1_evaluated()
        ],


rule submission_task2_networks:
    input:
        [
            expand(
                rules.run_file_network.output.run,
                dataset=name,
                network=NETWORKS,
                size=train_size(name),
                round=ROUNDS_OF[name],
            )
            for name in TASK2_DATASETS
        ],


rule all:
    default_target: True
    input:
        rules.manifests.input,
        rules.submission_task2.input,
        rules.submission_task2_networks.input,
        rules.submission_task1.input,
        rules.evaluate.input,
        expand(
            rules.tsne_plot.output.figure, dataset=TASK2_DATASETS, embedder=EMBEDDERS
        ),
        expand(rules.tsne_panel.output.figure, dataset=TASK2_DATASETS),
        expand(rules.summary.output.summary, dataset=RUN_DATASETS),
        demo_targets(),
