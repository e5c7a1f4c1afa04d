# Wiring only: the run's plan, the wildcard constraints, and the input and params functions the
# rules call. What the config means (datasets, runs, rounds, every check) is computed once by
# ctprints.checks.build_plan, where unit tests reach it without snakemake; this file only reads it.
import sys
from dataclasses import asdict

from snakemake.resources import Resource

from ctprints.attribution import METHOD_INPUT
from ctprints.config import ConfigError, per_attempt
from ctprints.checks import build_plan
from ctprints.datasets import folder_fingerprint
from ctprints.paths import (
    AUDIT_FILES,
    CALIBRATION_FILES,
    PATHS,
    fill,
    input_key,
    one_of,
)

# A wrong folder or setting stops the run here, before any job starts.
try:
    PLAN = build_plan(config)
except ConfigError as error:
    raise WorkflowError(f"config error: {error}") from None

# profiles/default caps GPU jobs at one, for a workstation's single card, and snakemake loads that
# workflow profile under every other profile too (it wins over --profile). On a cluster the
# scheduler gives each job its own GPU, so profiles/slurm sets `cluster: true` and the cap is
# lifted here; otherwise every training would wait for the one before it, cluster-wide.
if config.get("cluster"):
    workflow.register_resource("gpu", Resource("gpu", sys.maxsize))


wildcard_constraints:
    dataset=one_of(PLAN.datasets),
    instance=one_of(PLAN.instances),
    embedder=one_of(PLAN.embedders),
    method=one_of(PLAN.methods),
    arch=one_of(PLAN.archs),
    network=one_of(PLAN.networks),
    round=one_of(PLAN.rounds),
    size=one_of(PLAN.sizes),
    run=one_of(PLAN.run_names),
    group=one_of(PLAN.groups),
    attack=one_of(PLAN.attacks),
    fraction=one_of(PLAN.paper_fractions),
    paper_embedder=one_of(PLAN.paper_embedders),


def per_dataset(query):
    """An input or params function: the plan's ``query`` for the job's dataset."""
    return lambda wildcards: query(wildcards.dataset)


def dataset_of(wildcards):
    return PLAN.datasets[wildcards.dataset]


def task2_of(wildcards):
    return PLAN.datasets[wildcards.dataset].task2


def group_of(wildcards):
    return PLAN.datasets[wildcards.dataset].group(wildcards.group)


# ----------------------------------------------------------------------------- demo, manifest


def demo_plan(wildcards):
    """The demo plan of a demo-built dataset."""
    return dataset_of(wildcards).demo


def demo_instance(wildcards):
    """The planned generator named by the wildcard, as plain data."""
    return PLAN.demo_instance(wildcards.dataset, wildcards.instance)


def demo_plan_data(wildcards):
    """The whole demo plan as plain data (a changed plan reruns the layout)."""
    return demo_plan(wildcards).to_dict()


def demo_folders(wildcards):
    """The image folders rule demo_layout writes for a dataset."""
    return PLAN.demo_folders(wildcards.dataset)


def dataset_seed(wildcards):
    """The analysis seed: the top-level seed, or a demo-built dataset's demo seed."""
    return dataset_of(wildcards).seed


def folder_contents(wildcards):
    """Digest of the image folders' listings, so an overwritten or added image reruns the manifest."""
    if dataset_of(wildcards).builder is not None:
        return "built by the workflow"
    return folder_fingerprint(list(dataset_of(wildcards).sources))


def dataset_folders(wildcards):
    """Inputs of the manifest: the demo's image folders, or every configured image folder.

    Never the demo's ground truth: no analysis rule may read it.
    """
    if dataset_of(wildcards).demo:
        return demo_folders(wildcards)
    return sorted({source.folder for source in dataset_of(wildcards).sources})


# ----------------------------------------------------------------------------- task 2


def n_generators(wildcards):
    """Generators in the test folder, known plus unseen (checked at parse time)."""
    return task2_of(wildcards).n_generators


def new_label(wildcards):
    return task2_of(wildcards).new_label


def method_settings(wildcards):
    """The method's config section as plain data (tsne_kmeans and kmeans differ)."""
    return PLAN.method_settings[wildcards.method]


def cluster_features(wildcards):
    """What a method clusters: the embeddings, or their t-SNE coordinates."""
    if METHOD_INPUT[wildcards.method] == "tsne":
        return rules.tsne.output.coordinates
    return expand(rules.embed_fingerprint.output.embeddings, **wildcards)


def task2_truth(wildcards):
    return task2_of(wildcards).truth


def task2_run_table(wildcards):
    runs = PLAN.task2_runs(wildcards.dataset)
    return [{"run": run, **info} for run, info in runs.items()]


def pseudo_input(wildcards):
    """Round 0's predictions (weakest) or part 1's submitted run's clusters (openset)."""
    if PLAN.pseudo_source == "openset":
        clusters = fill(
            rules.cluster.output.clusters,
            dataset=wildcards.dataset,
            method=PLAN.task2_run_method,
            embedder=PLAN.task2_run_embedder,
        )
        return {"clusters": clusters}
    return {"predictions": rules.train_round0.output.predictions.format(**wildcards)}


# ----------------------------------------------------------------------------- task 1


def task1_truth(wildcards):
    return group_of(wildcards).truth


def task1_patients_path(wildcards):
    return group_of(wildcards).patients


def task1_patients_input(wildcards):
    """What scores_task1 waits for: the patients file, or the demo folder that will hold it."""
    path = group_of(wildcards).patients
    if path is None:
        return []
    if dataset_of(wildcards).demo:
        return demo_folders(wildcards)[0]
    return path


def task1_selection_inputs(wildcards):
    """Every candidate's score file and run file, keyed by run name (input_key)."""
    scores = PLAN.task1_candidate_scores(wildcards.dataset, wildcards.group)
    where = {"dataset": wildcards.dataset, "group": wildcards.group}
    return {input_key("scores", run): path for run, path in scores.items()} | {
        input_key("run", run): fill(PATHS.task1_run, run=run, **where) for run in scores
    }


def task1_groups(wildcards):
    return dataset_of(wildcards).groups


# ----------------------------------------------------------------------------- evaluation


def truth_inputs(wildcards):
    """The ground-truth files the truth check reads, by input name."""
    files = PLAN.truth_files(wildcards.dataset, wildcards.task)
    return {item.input: item.path for item in files}


def truth_files(wildcards):
    """Each truth file's input name, config key and group, as plain data."""
    files = PLAN.truth_files(wildcards.dataset, wildcards.task)
    return [{"input": f.input, "key": f.key, "group": f.group} for f in files]


def truth_labels(wildcards):
    return PLAN.truth_labels(wildcards.dataset, wildcards.task)


def evaluation_outputs(wildcards):
    return PLAN.evaluation_outputs(wildcards.dataset, wildcards.task)


# ----------------------------------------------------------------------------- audit


def audit_embeddings(wildcards):
    """The embeddings of every candidate feature space, keyed by embedder."""
    return {
        input_key("embeddings", embedder): fill(
            PATHS.embeddings, dataset=wildcards.dataset, embedder=embedder
        )
        for embedder in audit_embedders(wildcards)
    }


def audit_embedders(wildcards):
    chosen = lookup(dpath="audit/embedder", within=config)
    return [chosen] if chosen else list(PLAN.embedders)


def audit_output(name, **report_labels):
    """One of the files rule audit_group writes; figures and the page go into the report."""
    path = fill(PATHS.audit, name=AUDIT_FILES[name])
    if not report_labels:
        return path
    return report(
        path,
        caption="../report/audit.rst",
        category="Audit",
        labels={"dataset": "{dataset}", "group": "{group}", **report_labels},
    )
