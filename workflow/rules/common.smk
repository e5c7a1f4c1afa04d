# Helpers and input functions shared by the rules. Config is checked here, at parse time, so a
# wrong folder or demo setting stops the run before any job starts.
import re
from dataclasses import asdict

from ctprints.datasets import (
    DatasetConfigError,
    check_paths_exist,
    dataset_sources,
    folder_fingerprint,
)
from ctprints.demo import DemoConfigError, plan_demo
from ctprints.demo import dataset_spec as demo_dataset_spec

DEMO_ROOT = "data/demo"
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
    """The datasets to run, resolved, with every folder of those not built here checked."""
    datasets = {}
    for name in config["run_datasets"]:
        if name not in config["datasets"]:
            raise WorkflowError(
                f"config error: run_datasets: {name!r} is not a dataset under `datasets` "
                f"(known: {', '.join(config['datasets']) or 'none'})"
            )
        spec = _effective_dataset(name)
        try:
            if spec["builder"] is None:
                check_paths_exist(name, spec)
            else:
                dataset_sources(name, spec)
        except DatasetConfigError as error:
            raise WorkflowError(f"config error: {error}") from None
        datasets[name] = spec
    return datasets


DATASETS = _checked_datasets()
RUN_DATASETS = list(DATASETS)


def one_of(names):
    """A wildcard regex matching exactly these names (and nothing when there are none)."""
    return "|".join(re.escape(name) for name in names) or "(?!)"


wildcard_constraints:
    dataset=one_of(RUN_DATASETS),
    instance=one_of(DEMO_PLAN.instances),


def manifest_sources(wildcards):
    """The image sources of a dataset as plain dicts, so that only folder changes rerun it."""
    spec = DATASETS[wildcards.dataset]
    return [asdict(source) for source in dataset_sources(wildcards.dataset, spec)]


def dataset_image_size(wildcards):
    return DATASETS[wildcards.dataset]["image_size"]


def folder_contents(wildcards):
    """Digest of the image folders' listings, so an overwritten or added image reruns the manifest."""
    spec = DATASETS[wildcards.dataset]
    if spec["builder"] is not None:
        return "built by the workflow"
    return folder_fingerprint(dataset_sources(wildcards.dataset, spec))


def dataset_folders(wildcards):
    """Inputs of the manifest: the demo's image folders, or every configured image folder.

    Never the demo's ground truth: no analysis rule may read it.
    """
    spec = DATASETS[wildcards.dataset]
    if spec["builder"] == "demo":
        return [rules.demo_benchmark.output.task1, rules.demo_benchmark.output.task2]
    return sorted(
        {source.folder for source in dataset_sources(wildcards.dataset, spec)}
    )


def demo_instance(wildcards):
    """The planned generator named by the wildcard, as plain data."""
    return asdict(DEMO_PLAN.instances[wildcards.instance])


def demo_truth_files():
    names = [f"task1_{group}" for group in DEMO_PLAN.task1_groups] + [
        "task2",
        "patients",
    ]
    return [f"{DEMO_ROOT}/ground_truth/{name}.csv" for name in names]
