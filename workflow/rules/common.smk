# Helpers and input functions shared by the rules. Config is checked here, at parse time, so a
# wrong folder stops the run before any job starts.
import re
from dataclasses import asdict

from ctprints.datasets import (
    DatasetConfigError,
    check_paths_exist,
    dataset_sources,
    folder_fingerprint,
)


def _checked_run_datasets():
    """The datasets to run, with every folder of those not built by the workflow checked."""
    names = config["run_datasets"]
    for name in names:
        if name not in config["datasets"]:
            raise WorkflowError(
                f"run_datasets: {name!r} is not a dataset under `datasets` "
                f"(known: {', '.join(config['datasets']) or 'none'})"
            )
        spec = config["datasets"][name]
        try:
            if spec["builder"] is None:
                check_paths_exist(name, spec)
            else:
                dataset_sources(name, spec)
        except DatasetConfigError as error:
            raise WorkflowError(f"config error: {error}") from None
    return names


RUN_DATASETS = _checked_run_datasets()


def one_of(names):
    """A wildcard regex matching exactly these names (and nothing when there are none)."""
    return "|".join(re.escape(name) for name in names) or "(?!)"


EXAMPLE_DATASETS = [
    n for n in RUN_DATASETS if config["datasets"][n]["builder"] == "example"
]


wildcard_constraints:
    dataset=one_of(RUN_DATASETS),


def manifest_sources(wildcards):
    """The image sources of a dataset as plain dicts, so that only folder changes rerun it."""
    spec = config["datasets"][wildcards.dataset]
    return [asdict(source) for source in dataset_sources(wildcards.dataset, spec)]


def folder_contents(wildcards):
    """Digest of the image folders' listings, so an overwritten or added image reruns the manifest."""
    spec = config["datasets"][wildcards.dataset]
    if spec["builder"] is not None:
        return "built by the workflow"
    return folder_fingerprint(dataset_sources(wildcards.dataset, spec))


def dataset_folders(wildcards):
    """Inputs of the manifest: the builder's output, or every configured image folder."""
    spec = config["datasets"][wildcards.dataset]
    if spec["builder"] == "example":
        return expand(rules.example_data.output.root, dataset=wildcards.dataset)
    return sorted(
        {source.folder for source in dataset_sources(wildcards.dataset, spec)}
    )
