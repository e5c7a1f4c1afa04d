# Helpers and input functions shared by the rules. Config is checked here, at parse time, so a
# wrong folder or demo setting stops the run before any job starts.
import re
import sys
from dataclasses import asdict

from snakemake.resources import Resource

from ctprints.config import per_attempt
from ctprints.datasets import (
    DatasetConfigError,
    check_paths_exist,
    dataset_sources,
    folder_fingerprint,
    label_subfolders,
)
from ctprints.demo import DemoConfigError, plan_demo
from ctprints.demo import dataset_spec as demo_dataset_spec

DEMO_ROOT = "data/demo"

# profiles/default caps GPU jobs at one, for a workstation's single card, and snakemake loads that
# workflow profile under every other profile too (it wins over --profile). On a cluster the
# scheduler gives each job its own GPU, so profiles/slurm sets `cluster: true` and the cap is
# lifted here; otherwise every training would wait for the one before it, cluster-wide.
if config.get("cluster"):
    workflow.register_resource("gpu", Resource("gpu", sys.maxsize))

# Keys a dataset built by the demo may not set, since the demo section decides them.
_DEMO_DECIDES = {"task1", "task2", "ground_truth"}


def _demo_plan():
    try:
        return plan_demo(config["demo"], config["seed"])
    except DemoConfigError as error:
        raise WorkflowError(f"config error: {error}") from None


DEMO_PLAN = _demo_plan()


def _explicit(value):
    """True when a config mapping holds anything beyond schema defaults (null, {}, generic)."""
    if isinstance(value, dict):
        return any(_explicit(v) for k, v in value.items() if k != "preset")
    return value not in (None, "", [], {})


def _effective_dataset(name):
    """The dataset config the rules use: as written, or derived from the demo section."""
    spec = config["datasets"][name]
    if spec["builder"] != "demo":
        return spec
    if name != "demo":
        raise WorkflowError(
            f"config error: datasets.{name}.builder: the demo builder writes {DEMO_ROOT}/, "
            "so its dataset must be named `demo`"
        )
    for key in sorted(_DEMO_DECIDES):
        if _explicit(spec.get(key)):
            raise WorkflowError(
                f"config error: datasets.demo.{key}: set by the `demo` section for a dataset "
                "with builder: demo; remove it here"
            )
    return demo_dataset_spec(DEMO_PLAN, DEMO_ROOT)


def _checked_datasets():
    """The datasets to run, resolved, with every folder of those not built here checked.

    Returns the dataset configs and, per dataset, its image sources (resolved once, here).
    """
    datasets, sources = {}, {}
    for name in config["run_datasets"]:
        if name not in config["datasets"]:
            raise WorkflowError(
                f"config error: run_datasets: {name!r} is not a dataset under `datasets` "
                f"(known: {', '.join(config['datasets']) or 'none'})"
            )
        spec = _effective_dataset(name)
        try:
            if spec["builder"] is None:
                sources[name] = check_paths_exist(name, spec)
            else:
                sources[name] = dataset_sources(name, spec)
        except DatasetConfigError as error:
            raise WorkflowError(f"config error: {error}") from None
        datasets[name] = spec
    return datasets, sources


DATASETS, SOURCES = _checked_datasets()
RUN_DATASETS = list(DATASETS)


def one_of(names):
    """A wildcard regex matching exactly these names (and nothing when there are none)."""
    return "|".join(re.escape(name) for name in names) or "(?!)"


wildcard_constraints:
    dataset=one_of(RUN_DATASETS),
    instance=one_of(DEMO_PLAN.instances),


def manifest_sources(wildcards):
    """The image sources of a dataset as plain dicts, so that only folder changes rerun it."""
    return [asdict(source) for source in SOURCES[wildcards.dataset]]


def dataset_image_size(wildcards):
    return DATASETS[wildcards.dataset]["image_size"]


def folder_contents(wildcards):
    """Digest of the image folders' listings, so an overwritten or added image reruns the manifest."""
    if DATASETS[wildcards.dataset]["builder"] is not None:
        return "built by the workflow"
    return folder_fingerprint(SOURCES[wildcards.dataset])


def dataset_folders(wildcards):
    """Inputs of the manifest: the demo's image folders, or every configured image folder.

    Never the demo's ground truth: no analysis rule may read it.
    """
    if DATASETS[wildcards.dataset]["builder"] == "demo":
        return [rules.demo_benchmark.output.task1, rules.demo_benchmark.output.task2]
    return sorted({source.folder for source in SOURCES[wildcards.dataset]})


def demo_instance(wildcards):
    """The planned generator named by the wildcard, as plain data."""
    return asdict(DEMO_PLAN.instances[wildcards.instance])


def demo_targets():
    """The demo's own figures and signal report, when the demo is among the datasets run."""
    if "demo" not in DATASETS:
        return []
    return ["results/demo/contact_sheet.png", "results/demo/benchmark/signal.tsv"]


def demo_truth_files():
    names = [f"task1_{group}" for group in DEMO_PLAN.task1_groups] + [
        "task2",
        "patients",
    ]
    return [f"{DEMO_ROOT}/ground_truth/{name}.csv" for name in names]


# ----------------------------------------------------------------------------- embeddings, task 2

from ctprints.attribution import METHOD_INPUT
from ctprints.embed import (
    CNN_BACKBONES,
    FINGERPRINTS,
    EmbedderError,
    available_embedders,
    check_state_dict,
)


def _require_known(key, names, known, noun):
    """Stop unless every configured name is one the library knows; list the known ones."""
    unknown = [name for name in names if name not in known]
    if unknown:
        raise WorkflowError(
            f"config error: {key}: unknown {noun}(s) {', '.join(unknown)}; "
            f"known: {', '.join(known)}"
        )


def _require_listed(key, value, listed_key, listed):
    """Stop unless a run's setting names one of the configured choices."""
    if value not in listed:
        raise WorkflowError(
            f"config error: {key}: {value!r} is not among {listed_key} ({', '.join(listed)})"
        )


def _check_weights_file(section, name, weights):
    """A weights path (anything but none or imagenet) must be a state dict that fits ``name``."""
    if weights in ("none", "imagenet"):
        return
    try:
        check_state_dict(name, weights)
    except EmbedderError as error:  # the message starts with the name
        raise WorkflowError(f"config error: {section}.{error}") from None


def _checked_embedders():
    """Configured embedders, each known, with any weights file checked against its backbone."""
    names = config["embed"]["embedders"]
    _require_known("embed.embedders", names, available_embedders(), "embedder")
    for name, weights in config["embed"]["weights"].items():
        if name not in CNN_BACKBONES:
            raise WorkflowError(
                f"config error: embed.weights.{name}: weights apply to CNN embedders only "
                f"({', '.join(CNN_BACKBONES)})"
            )
        _check_weights_file("embed.weights", name, weights)
    return list(names)


def _checked_methods():
    names = config["task2"]["methods"]
    _require_known("task2.methods", names, sorted(METHOD_INPUT), "method")
    run = config["task2"]["run"]
    _require_listed("task2.run.method", run["method"], "task2.methods", names)
    _require_listed("task2.run.embedder", run["embedder"], "embed.embedders", EMBEDDERS)
    return list(names)


EMBEDDERS = _checked_embedders()
METHODS = _checked_methods()
FINGERPRINT_EMBEDDERS = [name for name in EMBEDDERS if name in FINGERPRINTS]
CNN_EMBEDDERS = [name for name in EMBEDDERS if name in CNN_BACKBONES]


def _checked_task2_datasets():
    """Datasets with a task 2 part, with n_generators checked against the training folders."""
    names = []
    for name, spec in DATASETS.items():
        if not spec.get("task2"):
            continue
        labels = []
        for source in SOURCES[name]:
            if (
                source.task != "task2"
                or source.split != "train"
                or source.role != "generated"
            ):
                continue
            if source.subfolders:
                labels += [folder.name for folder in label_subfolders(source.folder)]
            else:
                labels.append(source.label)
        declared = spec["task2"].get("n_generators")
        key = f"config error: datasets.{name}.task2.n_generators"
        if declared is None:
            raise WorkflowError(
                f"{key}: required for attribution (known plus unseen generators; "
                f"{len(labels)} have training folders)"
            )
        if declared < len(labels):
            raise WorkflowError(
                f"{key}: {declared} is smaller than the {len(labels)} training folders "
                f"({', '.join(labels)})"
            )
        if "openset" in METHODS and len(labels) < 3:
            raise WorkflowError(
                f"config error: task2.methods: openset needs at least 3 training generators "
                f"for its leave-one-generator-out threshold; datasets.{name} has "
                f"{len(labels)} ({', '.join(labels)}). Remove openset from task2.methods."
            )
        chosen = spec["task2"].get("new_label")
        if chosen and chosen in labels:
            raise WorkflowError(
                f"config error: datasets.{name}.task2.new_label: {chosen!r} is already a "
                "training label"
            )
        TASK2_LABELS[name] = labels
        names.append(name)
    return names


TASK2_LABELS = {}  # dataset -> labels of its training folders
TASK2_DATASETS = _checked_task2_datasets()


wildcard_constraints:
    embedder=one_of(EMBEDDERS),
    method=one_of(METHODS),


def embedder_weights(wildcards):
    return config["embed"]["weights"].get(wildcards.embedder, "none")


def n_generators(wildcards):
    """Generators in the test folder, known plus unseen (checked at parse time)."""
    return DATASETS[wildcards.dataset]["task2"]["n_generators"]


def new_label(wildcards):
    return DATASETS[wildcards.dataset]["task2"].get("new_label")


def method_settings(wildcards):
    """The method's config section as plain data (tsne_kmeans and kmeans differ)."""
    return dict(config["task2"].get(wildcards.method, {}))


def cluster_features(wildcards):
    """What a method clusters: the embeddings, or their t-SNE coordinates."""
    if METHOD_INPUT[wildcards.method] == "tsne":
        return rules.tsne.output.coordinates
    return expand(rules.embed_fingerprint.output.embeddings, **wildcards)


def task2_truth(wildcards):
    return DATASETS[wildcards.dataset]["ground_truth"]["task2"]


def evaluated_datasets():
    """Task 2 datasets whose ground truth is configured (the demo's always is)."""
    return [
        name
        for name in TASK2_DATASETS
        if (DATASETS[name].get("ground_truth") or {}).get("task2")
    ]


def task2_run_name():
    run = config["task2"]["run"]
    return f"{run['method']}_{run['embedder']}"


# ----------------------------------------------------------------------------- task 2 networks

from ctprints.attribution import new_labels
from ctprints.io import FolderError, scan_folder
from ctprints.train import TrainError, check_size, default_size, pseudo_count

TRAIN = config["task2"]["train"]
ARCHS = list(TRAIN["archs"])
PSEUDO = TRAIN["pseudo"]["source"]
# Round 1 exists only when pseudo-labels give it an extra class to learn.
ROUNDS_OF = {}  # dataset -> its training rounds (filled by _checked_training)
NETWORKS = ARCHS + ["ensemble"]


def _task2_test_size(name):
    """Images in a dataset's task 2 test folder(s): planned for the demo, counted otherwise."""
    if DATASETS[name]["builder"] == "demo":
        return DEMO_PLAN.task2_test_count()
    count = 0
    for source in SOURCES[name]:
        if source.task == "task2" and source.split == "test":
            try:
                count += len(scan_folder(source.folder).images)
            except FolderError as error:
                raise WorkflowError(f"config error: {source.key}: {error}") from None
    return count


def _checked_training():
    """Per task 2 dataset: the network input size and, with pseudo-labels on, how many."""
    for name, weights in TRAIN["weights"].items():
        if name not in ARCHS:
            raise WorkflowError(
                f"config error: task2.train.weights.{name}: not among task2.train.archs "
                f"({', '.join(ARCHS)})"
            )
        _check_weights_file("task2.train.weights", name, weights)
    sizes, counts = {}, {}
    for name in TASK2_DATASETS:
        image_size = DATASETS[name]["image_size"]
        if TRAIN["size"] is not None:
            try:
                sizes[name] = check_size(TRAIN["size"])
            except TrainError as error:
                raise WorkflowError(f"config error: {error}") from None
        elif image_size is None:
            raise WorkflowError(
                "config error: task2.train.size: null trains at the image size, but "
                f"datasets.{name}.image_size is null too; set one of them"
            )
        else:
            sizes[name] = default_size(image_size)
        unseen = n_generators_of(name) - len(TASK2_LABELS[name])
        # Round 1 learns the unseen generator; a dataset without one has only round 0.
        ROUNDS_OF[name] = (
            ["round0"] if PSEUDO == "none" or unseen < 1 else ["round0", "round1"]
        )
        if len(ROUNDS_OF[name]) == 1:
            continue
        if PSEUDO == "weakest" and unseen > 1:
            raise WorkflowError(
                f"config error: task2.train.pseudo.source: weakest labels one unseen generator, "
                f"but datasets.{name} has {unseen} (n_generators {n_generators_of(name)}, "
                f"{len(TASK2_LABELS[name])} training folders); use source: openset"
            )
        if PSEUDO == "weakest":
            try:
                counts[name] = pseudo_count(
                    TRAIN["pseudo"]["n"],
                    TRAIN["pseudo"]["fraction"],
                    _task2_test_size(name),
                    "task2.train.pseudo",
                )
            except TrainError as error:
                raise WorkflowError(f"config error: datasets.{name}: {error}") from None
    return sizes, counts


def n_generators_of(name):
    return DATASETS[name]["task2"]["n_generators"]


TRAIN_SIZES, PSEUDO_COUNTS = _checked_training()


wildcard_constraints:
    arch=one_of(ARCHS),
    network=one_of(NETWORKS),
    round=one_of(sorted({r for rounds in ROUNDS_OF.values() for r in rounds})),
    size=one_of(sorted({str(size) for size in TRAIN_SIZES.values()})),


def train_size(dataset):
    return TRAIN_SIZES[dataset]


def arch_weights(wildcards):
    return TRAIN["weights"].get(wildcards.arch, "none")


def pseudo_input(wildcards):
    """Round 0's predictions (weakest) or part 1's submitted run's clusters (openset)."""
    if PSEUDO == "openset":
        run = config["task2"]["run"]
        clusters = "results/{dataset}/task2/clusters/{method}/{embedder}.csv"
        return {"clusters": clusters.format(dataset=wildcards.dataset, **run)}
    return {"predictions": rules.train_round0.output.predictions.format(**wildcards)}


def pseudo_count_of(wildcards):
    """How many images the weakest source labels; None for openset (so n changes nothing)."""
    return PSEUDO_COUNTS.get(wildcards.dataset)


def pseudo_label(wildcards):
    """The name of the unseen generator (DATA.md: model_<k> continuing, or new_label)."""
    name = wildcards.dataset
    return new_labels(TASK2_LABELS[name], 1, new_label(wildcards))[0]


def known_labels(wildcards):
    return TASK2_LABELS[wildcards.dataset]


def task2_runs(dataset):
    """Every task 2 run of a dataset: run name -> (method, features) for the evaluation table."""
    runs = {
        f"{method}_{embedder}": {"method": method, "features": embedder}
        for method in METHODS
        for embedder in EMBEDDERS
    }
    size = TRAIN_SIZES[dataset]
    for round_ in ROUNDS_OF[dataset]:
        for network in NETWORKS:
            runs[f"{network}_{size}_{round_}"] = {
                "method": f"cnn_{round_}",
                "features": f"{network}_{size}",
            }
    return runs


def task2_run_files(wildcards):
    return [
        f"results/{wildcards.dataset}/submissions/task2/{run}.csv"
        for run in task2_runs(wildcards.dataset)
    ]


def task2_run_table(wildcards):
    return [{"run": run, **info} for run, info in task2_runs(wildcards.dataset).items()]


wildcard_constraints:
    run=one_of(sorted({run for name in TASK2_DATASETS for run in task2_runs(name)})),


# ----------------------------------------------------------------------------- task 1

import os

from ctprints.datasets import _resolve as resolve_path
from ctprints.membership import available_attacks

TASK1 = config["task1"]


def _checked_task1():
    """Datasets with task 1 groups -> their group names; attacks and the run checked."""
    _require_known("task1.attacks", TASK1["attacks"], available_attacks(), "attack")
    if "meta" in TASK1["attacks"] and len(TASK1["attacks"]) < 2:
        raise WorkflowError(
            "config error: task1.attacks: meta stacks other attacks; list at least one more"
        )
    run = TASK1["run"]
    _require_listed(
        "task1.run.attack", run["attack"], "task1.attacks", TASK1["attacks"]
    )
    _require_listed("task1.run.embedder", run["embedder"], "embed.embedders", EMBEDDERS)
    groups = {}
    for name, spec in DATASETS.items():
        named = [group for group, roles in (spec.get("task1") or {}).items() if roles]
        if named:
            groups[name] = named
    return groups


TASK1_GROUPS = _checked_task1()
ATTACKS = list(TASK1["attacks"])


wildcard_constraints:
    group=one_of(sorted({g for groups in TASK1_GROUPS.values() for g in groups})),
    attack=one_of(ATTACKS),


def attack_settings(wildcards):
    """Per-attack settings as plain data (only the attacks that have any)."""
    return {
        name: dict(TASK1[name]) for name in ("domias", "ssim_max") if name in ATTACKS
    }


def task1_truth(wildcards):
    return DATASETS[wildcards.dataset]["ground_truth"]["task1"][wildcards.group]


def task1_evaluated():
    """(dataset, group) pairs whose task 1 ground truth is configured (the demo's always is)."""
    return [
        (name, group)
        for name, groups in TASK1_GROUPS.items()
        for group in groups
        if group in ((DATASETS[name].get("ground_truth") or {}).get("task1") or {})
    ]


def task1_evaluated_datasets():
    """Datasets with at least one task 1 group whose ground truth is configured."""
    return sorted({name for name, _ in task1_evaluated()})


def task1_run_name():
    return f"{TASK1['run']['attack']}_{TASK1['run']['embedder']}"


def task1_run_files(dataset, runs):
    """Run files of the given runs in every task 1 group of the dataset, groups outer."""
    return [
        f"results/{dataset}/submissions/task1/{group}/{run}.csv"
        for group in TASK1_GROUPS.get(dataset, [])
        for run in runs
    ]


def _task1_patients_path(dataset, group):
    """The group's dev patients CSV (resolved like its folders), or None."""
    spec = DATASETS[dataset]["task1"][group]
    if not spec.get("patients"):
        return None
    return resolve_path(spec.get("root") or "", spec["patients"])


def _checked_patients():
    for name, groups in TASK1_GROUPS.items():
        if DATASETS[name]["builder"] is not None:
            continue
        for group in groups:
            path = _task1_patients_path(name, group)
            if path and not os.path.isfile(path):
                raise WorkflowError(
                    f"config error: datasets.{name}.task1.{group}.patients: {path} does not exist"
                )


_checked_patients()


def task1_patients_input(wildcards):
    """What task1_scores waits for: the patients file, or the demo folder that will hold it."""
    path = _task1_patients_path(wildcards.dataset, wildcards.group)
    if path is None:
        return []
    if DATASETS[wildcards.dataset]["builder"] == "demo":
        return rules.demo_benchmark.output.task1
    return path


def task1_patients_path(wildcards):
    return _task1_patients_path(wildcards.dataset, wildcards.group)


def task1_groups_of(wildcards):
    return TASK1_GROUPS[wildcards.dataset]


def task1_truth_files(wildcards):
    """Ground truth of every group of the dataset, in group order."""
    truth = DATASETS[wildcards.dataset]["ground_truth"]["task1"]
    return [truth[group] for group in TASK1_GROUPS[wildcards.dataset]]


def task1_score_files(wildcards):
    """Score files of every group and embedder, groups outer (evaluate_task1 reads this order)."""
    return [
        f"results/{wildcards.dataset}/task1/{group}/scores/{embedder}.csv"
        for group in TASK1_GROUPS[wildcards.dataset]
        for embedder in EMBEDDERS
    ]


def task1_all_run_files(wildcards):
    """Run files of every group, embedder and attack, in the order evaluate_task1 reads them."""
    runs = [f"{attack}_{embedder}" for embedder in EMBEDDERS for attack in ATTACKS]
    return task1_run_files(wildcards.dataset, runs)


PAPER = TASK1["paper"]
PAPER_EMBEDDERS = list(PAPER["embedders"])
PAPER_FRACTIONS = [f"{fraction:g}" for fraction in PAPER["fractions"]]


def _checked_paper():
    missing = [name for name in PAPER_EMBEDDERS if name not in EMBEDDERS]
    if missing:
        raise WorkflowError(
            f"config error: task1.paper.embedders: {', '.join(missing)} not among "
            f"embed.embedders ({', '.join(EMBEDDERS)})"
        )


_checked_paper()


wildcard_constraints:
    fraction=one_of(PAPER_FRACTIONS),
    paper_embedder=one_of(PAPER_EMBEDDERS),


def paper_runs():
    """The paper's runs: (embedder, fraction) -> their name in tables and run files."""
    return {
        (embedder, fraction): f"paper_f{fraction}_{embedder}"
        for embedder in PAPER_EMBEDDERS
        for fraction in PAPER_FRACTIONS
    }


def task1_paper_files(wildcards):
    return [
        f"results/{wildcards.dataset}/task1/{group}/paper/{embedder}_f{fraction}.csv"
        for group in TASK1_GROUPS[wildcards.dataset]
        for (embedder, fraction) in paper_runs()
    ]


def task1_paper_run_files(wildcards):
    return task1_run_files(wildcards.dataset, paper_runs().values())


# ----------------------------------------------------------------------------- summary


def summary_inputs(wildcards):
    """Every run file of the dataset, and its evaluation tables where ground truth exists."""
    name = wildcards.dataset
    inputs = {"task2_runs": [], "task1_runs": []}
    if name in TASK2_DATASETS:
        inputs["task2_runs"] = task2_run_files(wildcards)
        if name in evaluated_datasets():
            inputs["task2_table"] = f"results/{name}/evaluation/task2.tsv"
    if TASK1_GROUPS.get(name):
        inputs["task1_runs"] = task1_all_run_files(wildcards) + task1_paper_run_files(
            wildcards
        )
        if name in task1_evaluated_datasets():
            inputs["task1_table"] = f"results/{name}/evaluation/task1.tsv"
    return inputs


def task2_paper_runs(wildcards):
    """The paper's Task 2 approach as runs of this workflow: t-SNE + k-means, ResNet ensemble."""
    name = wildcards.dataset
    if name not in TASK2_DATASETS:
        return []
    runs = [f"tsne_kmeans_{config['task2']['run']['embedder']}"]
    return runs + [f"ensemble_{TRAIN_SIZES[name]}_{ROUNDS_OF[name][-1]}"]
