"""Task 2 end to end on the tiny demo: run files, scores, figures, reruns and bad config."""

import pandas as pd
import pytest
import torch
from conftest import (
    PARAMS_CHANGED,
    assert_config_stops_before_any_job,
    planned_jobs,
    planned_reasons,
    run_snakemake,
)
from conftest import tiny_config as _config

from ctprints.evaluation import COLUMNS
from ctprints.metrics import attribution_metrics
from ctprints.submission import read_run

pytestmark = pytest.mark.workflow
EMBEDDERS = ["spectrum", "residual", "pixels", "resnet18"]  # config.yaml's
CLUSTER_METHODS = ("kmeans", "tsne_kmeans", "openset", "novelty")  # config.yaml's, where it runs


NETWORK_RUNS = [
    f"{network}_32_{round_}"
    for network in ("resnet18", "resnet34", "resnet50", "ensemble")
    for round_ in ("round0", "round1")
]


def test_default_run_file_is_valid_and_names_the_unseen_generator(built, margin) -> None:
    test_ids = {p.stem for p in (built / "data/demo/task2/test/generated_unknown").glob("*.png")}
    run = read_run(
        built / "results/demo/submissions/task2/tsne_kmeans_spectrum.csv",
        task=2,
        expected_ids=test_ids,
    )
    truth = read_run(built / "data/demo/ground_truth/task2.csv", task=2)
    accuracy = sum(run[i] == truth[i] for i in truth) / len(truth)
    margin("tsne_kmeans_spectrum accuracy", accuracy, ">=", 0.9)  # 3 of 32 wrong at most
    unseen = [i for i in truth if truth[i] == "model_4"]
    recall = sum(run[i] == "model_4" for i in unseen) / len(unseen)
    margin("tsne_kmeans_spectrum recall of model_4", recall, ">=", 0.75)  # 6 of its 8 images


def test_every_run_file_is_valid(built) -> None:
    test_ids = {p.stem for p in (built / "data/demo/task2/test/generated_unknown").glob("*.png")}
    runs = {p.stem for p in (built / "results/demo/submissions/task2").glob("*.csv")}
    clusters = {f"{m}_{e}" for m in CLUSTER_METHODS for e in EMBEDDERS}
    assert runs == clusters | set(NETWORK_RUNS)
    for name in runs:
        read_run(built / f"results/demo/submissions/task2/{name}.csv", 2, expected_ids=test_ids)


def test_round1_trains_on_the_least_confident_test_images_as_the_unseen_generator(built) -> None:
    """Round 0 knows three generators; round 1 adds the test images round 0 is least sure of as
    a fourth class. Whether round 1 then names them model_4 depends, at 38 training images, on
    the CPU's floating point; test_train.py checks that it learns such a class on a signal with
    room to spare."""
    root = built / "results/demo/task2"
    for network in ("resnet18", "resnet34", "resnet50", "ensemble"):
        round0 = pd.read_csv(root / f"predictions/{network}_32_round0.csv")
        round1 = pd.read_csv(root / f"predictions/{network}_32_round1.csv")
        assert set(round0.label) <= {"model_1", "model_2", "model_3"}
        assert [c for c in round0.columns if c.startswith("p_")] == [
            "p_model_1",
            "p_model_2",
            "p_model_3",
        ]
        assert [c for c in round1.columns if c.startswith("p_")][-1] == "p_model_4"
        assert len(round0) == len(round1) == 32
    for arch in ("resnet18", "resnet34", "resnet50"):
        pseudo = pd.read_csv(root / f"pseudo/{arch}_32.csv")
        assert len(pseudo) == 4 and set(pseudo.label) == {"model_4"}  # ceil(0.1 * 32)
        round0 = pd.read_csv(root / f"predictions/{arch}_32_round0.csv").set_index("key")
        weakest = round0.loc[pseudo.key].filter(like="p_").max(axis=1).max()
        others = round0.drop(pseudo.key).filter(like="p_").max(axis=1).min()
        assert weakest <= others  # the least confident test images, none skipped
        log = (built / f"logs/train_round1/demo_{arch}_32.log").read_text()
        assert "round 1: 4 pseudo-labelled test images added as ['model_4']" in log
        # 48 training images and 4 pseudo-labelled ones, a fifth of each class held out
        assert (
            "42 training and 10 validation images, "
            "classes ['model_1', 'model_2', 'model_3', 'model_4']" in log
        )


def test_training_writes_learners_metrics_and_logs(built) -> None:
    for arch in ("resnet18", "resnet34", "resnet50"):
        for round_ in ("round0", "round1"):
            folder = built / f"results/demo/task2/models/{arch}_32/{round_}"
            assert (folder / "export.pkl").stat().st_size > 1_000_000
            metrics = pd.read_csv(folder / "metrics.csv")
            # fine_tune: one epoch with the body frozen, then 10 on the whole network
            assert list(metrics.phase) == ["frozen"] + ["whole"] * 10
            assert metrics.accuracy.between(0, 1).all()
            log = (built / f"logs/train_{round_}/demo_{arch}_32.log").read_text()
            assert "final validation accuracy" in log and "epoch 10 (whole)" in log


def test_evaluation_table_has_every_run(built) -> None:
    table = pd.read_csv(built / "results/demo/evaluation/task2.tsv", sep="\t")
    assert set(COLUMNS["task2"]) <= set(table.columns)  # what the summary and the study read
    assert len(table) == len(EMBEDDERS) * len(CLUSTER_METHODS) + len(NETWORK_RUNS)
    assert set(table.run) == {f"{m}_{e}" for m in CLUSTER_METHODS for e in EMBEDDERS} | set(
        NETWORK_RUNS
    )
    clusters = table[~table.method.str.startswith("cnn_")]
    assert set(zip(clusters.method, clusters.features, strict=True)) == {
        (method, embedder) for method in CLUSTER_METHODS for embedder in EMBEDDERS
    }
    networks = table[table.method.str.startswith("cnn_")].set_index("run")
    assert networks.loc["resnet18_32_round1", "method"] == "cnn_round1"
    assert networks.loc["ensemble_32_round0", "features"] == "ensemble_32"
    # Round 0 knows three of the four generators: at most 3/4 of the images can be right.
    assert (networks[networks.method == "cnn_round0"].accuracy <= 0.75).all()
    assert (table.n == 32).all()  # the tiny demo's test images
    assert (table.accuracy_ci_low <= table.accuracy).all()
    assert (table.accuracy <= table.accuracy_ci_high).all()
    # every run against each of the paper's runs, on the same 32 images
    paired = pd.read_csv(built / "results/demo/evaluation/task2_paired.tsv", sep="\t")
    assert set(paired.baseline) == {"tsne_kmeans_spectrum", "ensemble_32_round1"}
    assert len(paired) == 2 * (len(table) - 1) and (paired.unit == "image").all()
    accuracy = table.set_index("run")["accuracy"]
    gap = accuracy[paired.run].to_numpy() - accuracy[paired.baseline].to_numpy()
    assert paired.difference.to_numpy() == pytest.approx(gap, abs=1e-3)
    assert ((paired.wins - paired.losses) / 32).to_numpy() == pytest.approx(gap, abs=1e-3)
    assert (paired.p_holm >= paired.p).all()


def test_the_spectrum_separates_the_tiny_demos_generators(built, margin) -> None:
    """Every method on the spectrum fingerprint attributes most test images, and the label-free
    score agrees; a broken fingerprint or label mapping gives about 0.25 and an NMI near 0. (Read
    from the run files, which `make test-other-cpu` builds without the rest of the workflow.)"""
    truth = read_run(built / "data/demo/ground_truth/task2.csv", task=2)
    ids = sorted(truth)
    scores = []
    for method in CLUSTER_METHODS:
        run = read_run(built / f"results/demo/submissions/task2/{method}_spectrum.csv", task=2)
        scores.append(attribution_metrics([truth[i] for i in ids], [run[i] for i in ids]))
    margin("spectrum runs' lowest accuracy", min(s["accuracy"] for s in scores), ">=", 0.85)
    margin("spectrum runs' lowest NMI", min(s["nmi"] for s in scores), ">=", 0.7)


def test_figures_exist_for_every_embedder_and_run(built) -> None:
    plots = built / "results/demo/task2/plots"
    assert {p.name for p in plots.glob("*.png")} >= {
        "tsne_spectrum.png",
        "tsne_resnet18.png",
        "tsne_panel.png",
    }
    confusion = {p.stem for p in (built / "results/demo/evaluation/confusion").glob("task2_*.png")}
    assert len(confusion) == len(EMBEDDERS) * len(CLUSTER_METHODS) + len(NETWORK_RUNS)
    assert "task2_ensemble_32_round1" in confusion


# The pseudo-labels and every rule downstream of them.
AFTER_PSEUDO_LABELS = {
    "pseudo_labels",
    "train_round1",
    "ensemble_task2",
    "run_file_network",
    "confusion_task2",
    "evaluate_task2",
    "table_html",
    "summary",
    "all",
}


def test_changing_epochs_replans_training_but_no_embedding_or_tsne(built) -> None:
    _config(built, "epochs.yaml", **{"task2.train.epochs": 2})
    result = run_snakemake(built, "-n", "all", configfile="epochs.yaml")
    jobs = planned_jobs(result.stdout)
    assert jobs.get("train_round0") == 3 and jobs.get("train_round1") == 3
    assert set(jobs) <= {"train_round0", *AFTER_PSEUDO_LABELS}
    # The user's loop (docs/usage.md "Rerunning one stage"): the edited stage says why it reruns.
    assert planned_reasons(result.stdout)[PARAMS_CHANGED] == {"train_round0"}


def test_changing_pseudo_n_replans_only_round1_and_after(built) -> None:
    _config(built, "pseudo.yaml", **{"task2.train.pseudo.n": 6})
    result = run_snakemake(built, "-n", "all", configfile="pseudo.yaml")
    jobs = planned_jobs(result.stdout)
    assert jobs.get("pseudo_labels") == 3 and jobs.get("train_round1") == 3
    assert jobs.get("ensemble_task2") == 1  # round 1's; round 0's ensemble is unchanged
    assert set(jobs) <= AFTER_PSEUDO_LABELS


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
        "table_html",
        "summary",
        "all",
    }
    assert jobs.get("cluster") == 4
    assert planned_reasons(result.stdout)[PARAMS_CHANGED] == {"tsne"}


def test_forcerun_tsne_replans_tsne_and_only_what_follows(built) -> None:
    result = run_snakemake(built, "-n", "--forcerun", "tsne", "all")
    jobs = planned_jobs(result.stdout)
    assert jobs.get("tsne") == 4 and jobs.get("cluster") == 4
    assert not any(name.startswith(("embed", "train", "task1", "demo")) for name in jobs)
    assert planned_reasons(result.stdout)["forced"] == {"tsne"}


def test_forcerun_training_replans_one_round_and_only_what_follows(built) -> None:
    result = run_snakemake(built, "-n", "--forcerun", "train_round1", "all")
    jobs = planned_jobs(result.stdout)
    assert jobs.get("train_round1") == 3
    assert set(jobs) <= AFTER_PSEUDO_LABELS - {"pseudo_labels"}
    assert planned_reasons(result.stdout)["forced"] == {"train_round1"}


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
        (
            {"task2.train.archs": ["resnet18", "resnet101"]},
            r"task2\.train\.archs\.1: 'resnet101' is not one of \['resnet18', 'resnet34'",
        ),
        ({"task2.train.size": 48}, r"task2\.train\.size: 48 is not a positive multiple of 32"),
        ({"task2.train.size": -64}, r"task2\.train\.size: -64 is not a positive multiple of 32"),
        ({"task2.train.epochs": 0}, r"task2\.train\.epochs: 0 is less than the minimum of 1"),
        (
            {"task2.train.pseudo.n": 33},
            r"datasets\.demo: task2\.train\.pseudo\.n: 33 is more than the 32 test images",
        ),
        (
            {"task2.train.pseudo.n": 0},
            r"task2\.train\.pseudo\.n: 0 gives 0 images, but pseudo-labelling is on",
        ),
        (
            {"task2.train.weights": {"resnet34": "/nowhere/r34.pt"}},
            r"task2\.train\.weights\.resnet34: weights file /nowhere/r34\.pt does not exist",
        ),
        (
            {"task2.train.weights": {"resnet101": "imagenet"}},
            r"task2\.train\.weights\.resnet101: not among task2\.train\.archs",
        ),
    ],
)
def test_bad_task2_config_stops_before_any_job(tmp_path, changes, message) -> None:
    assert_config_stops_before_any_job(tmp_path, message, **changes)


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


def test_novelty_with_one_training_generator_stops_before_any_job(tmp_path) -> None:
    from conftest import write_config, write_layout

    spec = write_layout(tmp_path)
    del spec["task2"]["train"]["model_2"], spec["task2"]["train"]["model_3"]
    write_config(tmp_path, {"clef": spec}, ["clef"], task2={"methods": ["tsne_kmeans", "novelty"]})
    result = run_snakemake(tmp_path, "all", check=False)
    assert result.returncode != 0
    assert "task2.methods: novelty needs at least 2 training generators" in result.stderr
    assert "datasets.clef has 1 (model_1)" in result.stderr
    assert not (tmp_path / "results").exists()


def test_openset_pseudo_labels_come_from_part_1s_run(built) -> None:
    _config(built, "openset.yaml", **{"task2.train.pseudo.source": "openset"})
    result = run_snakemake(built, "-n", "all", configfile="openset.yaml")
    jobs = planned_jobs(result.stdout)
    assert jobs.get("pseudo_labels") == 3 and "train_round0" not in jobs
    blocks = [b for b in result.stdout.split("\n\n") if "rule pseudo_labels:" in b]
    assert len(blocks) == 3
    assert all("results/demo/task2/clusters/tsne_kmeans/spectrum.csv" in b for b in blocks)


def test_without_pseudo_labels_there_is_no_round1(built) -> None:
    _config(built, "none.yaml", **{"task2.train.pseudo.source": "none"})
    result = run_snakemake(built, "-n", "all", configfile="none.yaml")
    jobs = planned_jobs(result.stdout)
    assert "pseudo_labels" not in jobs and "train_round1" not in jobs and "train_round0" not in jobs
    outputs = [line for line in result.stdout.splitlines() if line.strip().startswith("output:")]
    assert outputs and not any("round1" in line for line in outputs)
