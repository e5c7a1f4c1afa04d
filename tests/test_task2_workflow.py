"""Task 2 end to end on the tiny demo: run files, scores, figures, reruns and bad config."""

import re
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from conftest import REPO, planned_jobs, run_snakemake

from ctprints.submission import read_run

pytestmark = pytest.mark.workflow


def _config(workdir: Path, name: str = "config.yaml", **changes) -> dict:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["demo"]["scale"] = "tiny"
    for dotted, value in changes.items():
        node = config
        *parents, last = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    (workdir / name).write_text(yaml.safe_dump(config, sort_keys=False))
    return config


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("task2")
    _config(workdir)
    run_snakemake(workdir, "--cores", "2", "all")
    return workdir


def test_default_run_file_is_valid_and_names_the_unseen_generator(built) -> None:
    test_ids = {p.stem for p in (built / "data/demo/task2/test/generated_unknown").glob("*.png")}
    runs = list((built / "results/demo/submissions/task2").glob("*.csv"))
    assert [p.name for p in runs] == ["tsne_kmeans_spectrum.csv"]
    run = read_run(runs[0], task=2, expected_ids=test_ids)
    truth = read_run(built / "data/demo/ground_truth/task2.csv", task=2)
    accuracy = sum(run[i] == truth[i] for i in truth) / len(truth)
    assert accuracy >= 0.95
    unseen = [i for i in truth if truth[i] == "model_4"]
    assert sum(run[i] == "model_4" for i in unseen) / len(unseen) >= 0.9


def test_evaluation_table_has_every_embedder_and_method(built) -> None:
    table = pd.read_csv(built / "results/demo/evaluation/task2.tsv", sep="\t")
    config = yaml.safe_load((built / "config.yaml").read_text())
    embedders = config.get("embed", {}).get(
        "embedders", ["spectrum", "residual", "pixels", "resnet18"]
    )
    assert len(table) == len(embedders) * 3
    assert set(zip(table.method, table.embedder, strict=True)) == {
        (method, embedder)
        for method in ("kmeans", "tsne_kmeans", "openset")
        for embedder in embedders
    }
    assert (table.n == 32).all()  # the tiny demo's test images
    assert (table.accuracy_ci_low <= table.accuracy).all()
    assert (table.accuracy <= table.accuracy_ci_high).all()
    # The fingerprints separate the tiny demo's generators; label-free scores agree with accuracy.
    spectrum = table[table.embedder == "spectrum"]
    assert (spectrum.accuracy >= 0.95).all() and (spectrum.nmi >= 0.9).all()


def test_figures_exist_for_every_embedder_and_run(built) -> None:
    plots = built / "results/demo/task2/plots"
    assert {p.name for p in plots.glob("*.png")} >= {
        "tsne_spectrum.png",
        "tsne_resnet18.png",
        "tsne_panel.png",
    }
    assert len(list((built / "results/demo/evaluation/confusion").glob("task2_*.png"))) == 12


def test_changing_perplexity_replans_tsne_but_no_embedding(built) -> None:
    _config(built, "perplexity.yaml", **{"task2.tsne.perplexity": 7})
    result = run_snakemake(built, "-n", "all", configfile="perplexity.yaml")
    jobs = planned_jobs(result.stdout)
    assert jobs.get("tsne") == 4
    # Only the t-SNE chain: maps and plots, the tsne_kmeans clusters (4, not 12), their run file,
    # confusion matrices and the evaluation table.
    assert set(jobs) <= {
        "tsne",
        "tsne_plot",
        "tsne_panel",
        "cluster",
        "run_file_task2",
        "confusion_task2",
        "evaluate_task2",
        "all",
    }
    assert jobs.get("cluster") == 4


def test_changing_a_kmeans_setting_plans_no_tsne(built) -> None:
    _config(built, "kmeans.yaml", **{"task2.kmeans.n_init": 3})
    jobs = planned_jobs(run_snakemake(built, "-n", "all", configfile="kmeans.yaml").stdout)
    assert jobs.get("cluster") == 4
    assert "tsne" not in jobs and not any(name.startswith("embed") for name in jobs)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"embed.embedders": ["spectrum", "resnet9"]}, r"unknown embedder\(s\) resnet9; known: "),
        ({"task2.methods": ["kmeans", "dbscan"]}, r"unknown method\(s\) dbscan; known: kmeans"),
        ({"embed.weights": {"resnet18": "/nowhere/r18.pt"}}, r"r18\.pt does not exist"),
        ({"task2.run.embedder": "vgg16"}, r"task2\.run\.embedder: 'vgg16' is not among"),
        ({"embed.weights": {"resnet18": "imagnet"}}, r"imagnet does not exist \(weights are none"),
    ],
)
def test_bad_task2_config_stops_before_any_job(tmp_path, changes, message) -> None:
    _config(tmp_path, **changes)
    result = run_snakemake(tmp_path, "all", check=False)
    assert result.returncode != 0
    assert re.search(message, result.stderr), result.stderr
    for folder in ("results", "data", "logs"):
        assert not (tmp_path / folder).exists()


def test_wrong_shaped_weights_stop_before_any_job(tmp_path) -> None:
    import torchvision

    torch.save(torchvision.models.resnet34(weights=None).state_dict(), tmp_path / "r34.pt")
    _config(tmp_path, **{"embed.weights": {"resnet18": str(tmp_path / "r34.pt")}})
    result = run_snakemake(tmp_path, "all", check=False)
    assert result.returncode != 0
    assert "r34.pt does not fit resnet18" in result.stderr
    assert not (tmp_path / "results").exists()


def test_n_generators_below_training_folders_stops(layout) -> None:
    from conftest import write_config

    workdir, spec = layout
    spec["task2"]["n_generators"] = 2
    write_config(workdir, {"clef": spec}, ["clef"])
    result = run_snakemake(workdir, "all", check=False)
    assert result.returncode != 0
    assert "datasets.clef.task2.n_generators: 2 is smaller than the 3 training folders" in (
        result.stderr
    )


def test_openset_with_two_training_generators_stops_before_any_job(tmp_path) -> None:
    from conftest import write_config, write_layout

    spec = write_layout(tmp_path)
    del spec["task2"]["train"]["model_3"]
    spec["task2"]["n_generators"] = 3
    write_config(tmp_path, {"clef": spec}, ["clef"])
    result = run_snakemake(tmp_path, "all", check=False)
    assert result.returncode != 0
    assert "openset needs at least 3 training generators" in result.stderr
    assert not (tmp_path / "results").exists()
