"""The run's plan, built from small config dicts without running snakemake."""

from __future__ import annotations

import dataclasses
import fnmatch
import math
import os
import re
from pathlib import Path

import pytest
import yaml
from conftest import REPO, write_layout
from snakemake.utils import validate

from ctprints.checks import build_plan
from ctprints.config import ConfigError, check_config
from ctprints.paths import AUDIT_FILES, PATHS, fill, input_key, one_of

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
EMBEDDERS = ("spectrum", "residual", "pixels", "resnet18")  # config.yaml's


def config_with(**changes) -> dict:
    """config.yaml with dotted changes, checked and completed with the schema's defaults."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for dotted, value in changes.items():
        node = config
        *parents, last = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    check_config(config, SCHEMA)
    validate(config, str(SCHEMA))
    return config


def test_the_default_config_plans_the_quick_demo_in_full() -> None:
    plan = build_plan(config_with())
    assert plan.run_datasets == ("demo",)
    # The study's datasets are planned too (so `snakemake study` needs no other config), but no
    # target of `all` reaches them.
    assert [name for name in plan.datasets if name != "demo"] == list(plan.study)
    demo = plan.datasets["demo"]
    assert demo.builder == "demo" and demo.image_size == 64
    assert demo.task2.labels == ("model_1", "model_2", "model_3")
    assert demo.task2.n_generators == 4 and demo.task2.unseen_label == "model_4"
    assert demo.task2.size == 64 and demo.task2.rounds == ("round0", "round1")
    # fraction 0.1 of the 4 x 50 test images
    assert demo.task2.pseudo_count == math.ceil(0.1 * 200)
    assert demo.groups == ["group1", "group2", "group3"]  # group3: leakage-free
    assert demo.group("group1").patients == "data/demo/task1/group1/dev_patients.csv"
    assert demo.group("group2").truth == "data/demo/ground_truth/task1_group2.csv"
    assert plan.embedders == EMBEDDERS
    assert plan.fingerprint_embedders == ["spectrum", "residual", "pixels"]
    assert plan.cnn_embedders == ["resnet18"]
    assert plan.task2_run == "tsne_kmeans_spectrum"
    assert plan.task1_run is None and plan.task1_metric == "f1"  # chosen on dev, by F1
    assert plan.task1_threshold == "f1"  # task1.threshold: metric, the challenge's metric
    assert plan.paper_runs == {("spectrum", "0.5"): "paper_f0.5_spectrum"}
    assert plan.autogluon_runs == {"spectrum": "autogluon_spectrum"}
    assert len(plan.task1_candidates()) == len(plan.attacks) * len(EMBEDDERS) + 1
    assert plan.task1_candidates()["autogluon_spectrum"] == "autogluon"
    assert plan.submission_task1() == [
        *(f"results/demo/submissions/task1/group{i}/submitted.csv" for i in (1, 2, 3)),
        *(f"results/demo/submissions/task1/group{i}/paper_f0.5_spectrum.csv" for i in (1, 2, 3)),
    ]


def test_the_threshold_rule_follows_the_challenge_metric_unless_named() -> None:
    assert build_plan(config_with(**{"task1.metric": "kappa"})).task1_threshold == "kappa"
    named = config_with(**{"task1.metric": "kappa", "task1.threshold": "youden"})
    assert build_plan(named).task1_threshold == "youden"
    with pytest.raises(ConfigError, match="task1.threshold: 'median' is not one of"):
        config_with(**{"task1.threshold": "median"})


def test_task2_runs_are_every_method_embedder_and_network_round() -> None:
    plan = build_plan(config_with())
    runs = plan.task2_runs("demo")
    assert len(runs) == 4 * 4 + 4 * 2  # methods x embedders + (3 archs + ensemble) x rounds
    assert runs["openset_pixels"] == {"method": "openset", "features": "pixels"}
    assert runs["ensemble_64_round1"] == {"method": "cnn_round1", "features": "ensemble_64"}
    assert plan.task2_paper_runs("demo") == ["tsne_kmeans_spectrum", "ensemble_64_round1"]
    assert plan.submission_task2() == ["results/demo/submissions/task2/tsne_kmeans_spectrum.csv"]
    assert len(plan.submission_task2_networks()) == 8


def test_every_planned_file_follows_a_named_pattern() -> None:
    plan = build_plan(config_with())
    patterns = [
        re.compile(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(pattern)) + "$")
        for pattern in dataclasses.asdict(PATHS).values()
    ]
    files = (
        plan.manifests()
        + plan.embedding_files()
        + plan.submission_task2()
        + plan.submission_task2_networks()
        + plan.submission_task1()
        + plan.evaluation_files()
        + plan.figures()
        + plan.summaries()
        + plan.demo_truth_files("demo")
        + plan.study_files()
        + list(plan.task1_evaluation_inputs("demo").values())
    )
    assert len(set(files)) > 100
    unmatched = [path for path in files if not any(p.match(path) for p in patterns)]
    assert not unmatched


def test_evaluation_targets_cover_every_group_run_and_space() -> None:
    plan = build_plan(config_with())
    files = plan.evaluation_files()
    assert "results/demo/evaluation/task1.tsv" in files
    assert "results/demo/evaluation/task2.html" in files
    assert sum("/confusion/" in f for f in files) == 24
    assert sum("/roc/" in f for f in files) == 3 * len(EMBEDDERS)


def test_task1_evaluation_inputs_are_keyed_not_ordered() -> None:
    plan = build_plan(config_with())
    inputs = plan.task1_evaluation_inputs("demo")
    attacks = len(plan.attacks)
    # truth, score files, attack run files, AutoGluon's score and run files, the paper's
    per_group = 1 + len(EMBEDDERS) + attacks * len(EMBEDDERS) + 2 + 2 * len(plan.paper_runs)
    assert len(inputs) == 3 * per_group
    assert inputs[input_key("truth", "group2")] == "data/demo/ground_truth/task1_group2.csv"
    assert inputs[input_key("scores", "group1", "pixels")] == (
        "results/demo/task1/group1/scores/pixels.csv"
    )
    assert inputs[input_key("run", "group2", "domias_spectrum")] == (
        "results/demo/submissions/task1/group2/domias_spectrum.csv"
    )
    assert inputs[input_key("paper", "group1", "spectrum_f0.5")] == (
        "results/demo/task1/group1/paper/spectrum_f0.5.csv"
    )
    assert inputs[input_key("paper_run", "group1", "paper_f0.5_spectrum")] == (
        "results/demo/submissions/task1/group1/paper_f0.5_spectrum.csv"
    )


def test_tiny_scale_trains_at_32_pixels_and_labels_a_tenth_of_its_test_images() -> None:
    plan = build_plan(config_with(**{"demo.scale": "tiny"}))
    task2 = plan.datasets["demo"].task2
    assert task2.size == 32 and "32" in plan.sizes
    assert task2.pseudo_count == math.ceil(0.1 * 32)


def test_without_pseudo_labels_or_an_unseen_generator_there_is_only_round0() -> None:
    none = build_plan(config_with(**{"task2.train.pseudo.source": "none"}))
    assert none.datasets["demo"].task2.rounds == ("round0",)
    assert none.task2_paper_runs("demo")[-1] == "ensemble_64_round0"
    all_known = build_plan(config_with(**{"demo.task2.unseen": 0}))
    assert all_known.datasets["demo"].task2.rounds == ("round0",)
    assert all_known.datasets["demo"].task2.pseudo_count is None


def test_openset_pseudo_labels_need_no_count() -> None:
    plan = build_plan(config_with(**{"task2.train.pseudo.source": "openset"}))
    assert plan.datasets["demo"].task2.rounds == ("round0", "round1")
    assert plan.datasets["demo"].task2.pseudo_count is None


def test_attack_settings_come_from_the_attacks_that_have_them() -> None:
    run = {"attack": "gan_leaks", "embedder": "pixels"}
    plan = build_plan(config_with(**{"task1.attacks": ["gan_leaks", "domias"], "task1.run": run}))
    assert list(plan.attack_settings) == ["domias"]
    plan = build_plan(config_with(**{"task1.attacks": ["gan_leaks"], "task1.run": run}))
    assert plan.attack_settings == {}


def test_the_plan_is_frozen() -> None:
    plan = build_plan(config_with())
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.seed = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.datasets["demo"].task2.size = 128


def test_fill_leaves_the_other_wildcards() -> None:
    assert fill(PATHS.task2_run, run="{method}_{embedder}") == (
        "results/{dataset}/submissions/task2/{method}_{embedder}.csv"
    )
    assert one_of(["a.b", "c"]) == r"a\.b|c"
    assert re.fullmatch(one_of([]), "") is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"demo.scale": "huge"}, "demo.scale: unknown scale 'huge'"),
        ({"run_datasets": ["nowhere"]}, "run_datasets: 'nowhere' is not a dataset under"),
        ({"embed.embedders": ["spectrum", "sift"]}, "embed.embedders: unknown embedder(s) sift"),
        ({"embed.weights": {"spectrum": "imagenet"}}, "embed.weights.spectrum: weights apply to"),
        ({"task2.run.method": "openset", "task2.methods": ["kmeans"]}, "task2.run.method:"),
        ({"task2.train.size": 48}, "task2.train.size: 48 is not a positive multiple of 32"),
        ({"task2.train.pseudo.n": 500}, "datasets.demo: task2.train.pseudo.n: 500 is more than"),
        ({"task2.train.weights": {"resnet101": "imagenet"}}, "task2.train.weights.resnet101"),
        (
            {"task1.attacks": ["meta"], "task1.run": {"attack": "meta", "embedder": "pixels"}},
            "task1.attacks: meta stacks",
        ),
        (
            {"task1.run": {"attack": "meta", "embedder": "vgg"}},
            "task1.run.embedder: 'vgg' is not among embed.embedders",
        ),
        ({"task1.run.attack": "meta"}, "task1.run: attack is set but not the other; give both"),
        ({"task1.paper.embedders": ["vgg"]}, "task1.paper.embedders: vgg not among"),
        ({"datasets.demo.task2": {"n_generators": 9}}, "datasets.demo.task2: set by the `demo`"),
        ({"study.scenarios": ["families", "gans"]}, "study.scenarios[1]: unknown scenario 'gans'"),
        ({"study.scale": "huge"}, "study.scale: unknown scale 'huge'"),
        (
            {"study.scenarios": ["families", "seeds"], "study.primary.candidate": "novelty_pixels"},
            "study.primary.scenarios[1]: 'subsets_unseen' is not among study.scenarios",
        ),
        (
            {"datasets.study": {"builder": "demo"}, "run_datasets": ["study"]},
            "datasets.study: the name is taken by the study",
        ),
        (
            {"datasets.b": {"builder": "demo", "demo": {"task2": {"scenario": "x"}}}},
            "",  # not run: only run_datasets and the study are planned
        ),
        (
            {
                "datasets.b": {"builder": "demo", "demo": {"task2": {"scenario": "x"}}},
                "run_datasets": ["b"],
            },
            "datasets.b.demo.task2.scenario: unknown scenario 'x'",
        ),
        (
            {"task2.run": {"method": "subsets", "embedder": "spectrum"}},
            "task2.run.method: subsets needs each generator's real training images",
        ),
    ],
)
def test_a_bad_config_raises_one_error_type_naming_the_key(changes, message) -> None:
    if not message:
        build_plan(config_with(**changes))
        return
    with pytest.raises(ConfigError) as error:
        build_plan(config_with(**changes))
    assert str(error.value).startswith(message), str(error.value)


@pytest.fixture
def custom(tmp_path: Path):
    """A small custom dataset beside the demo, with the working directory at its root."""
    dataset = write_layout(tmp_path)
    here = os.getcwd()
    os.chdir(tmp_path)
    yield dataset
    os.chdir(here)


def test_a_custom_dataset_is_planned_from_its_folders(custom) -> None:
    plan = build_plan(config_with(**{"datasets.clef": custom, "run_datasets": ["clef"]}))
    clef = plan.datasets["clef"]
    assert clef.builder is None and clef.groups == ["group1"]
    assert clef.task2.labels == ("model_1", "model_2", "model_3")
    assert clef.task2.size == 32 and clef.task2.unseen_label == "model_4"
    assert clef.task2.pseudo_count == 1  # a tenth of 4 test images, rounded up
    assert clef.task2.truth is None and plan.task2_evaluated == []
    assert {source.key for source in clef.sources} >= {"datasets.clef.task2.test"}
    assert plan.summary_inputs("clef") == {
        "task2_runs": plan.task2_run_files("clef"),
        "task1_runs": plan.task1_all_run_files("clef")
        + ["results/clef/submissions/task1/group1/submitted.csv"],
        "task1_selection": ["results/clef/task1/group1/selection.tsv"],
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"task2.n_generators": 2}, "datasets.clef.task2.n_generators: 2 is smaller than"),
        ({"task2.new_label": "model_2"}, "datasets.clef.task2.new_label: 'model_2' is already"),
        ({"task1.group1.patients": "nowhere.csv"}, "datasets.clef.task1.group1.patients:"),
        ({"image_size": None}, "task2.train.size: null trains at the image size"),
        ({"task2.test": "missing"}, "datasets.clef.task2.test: folder"),
    ],
)
def test_a_bad_custom_dataset_names_its_key(custom, changes, message) -> None:
    for dotted, value in changes.items():
        node = custom
        *parents, last = dotted.split(".")
        for key in parents:
            node = node[key]
        node[last] = value
    with pytest.raises(ConfigError) as error:
        build_plan(config_with(**{"datasets.clef": custom, "run_datasets": ["clef"]}))
    assert str(error.value).startswith(message), str(error.value)


# ----------------------------------------------------------------------------- hardening


@pytest.mark.parametrize("seed", [2**31, 2**32 - 1, 2**32, 2**64])
def test_a_seed_beyond_what_every_library_takes_names_seed(seed) -> None:
    with pytest.raises(
        ConfigError, match=rf"  seed: {seed} is greater than the maximum of 2147483647"
    ):
        config_with(seed=seed)


def test_the_largest_seed_is_planned() -> None:
    assert build_plan(config_with(seed=2**31 - 1)).seed == 2**31 - 1


def test_the_truth_check_reads_every_truth_file_with_its_key() -> None:
    plan = build_plan(config_with())
    (task2,) = plan.truth_files("demo", "task2")
    assert (task2.input, task2.key, task2.group) == (
        "truth",
        "datasets.demo.ground_truth.task2",
        None,
    )
    assert task2.path == "data/demo/ground_truth/task2.csv"
    group1, group2, _ = plan.truth_files("demo", "task1")
    assert group2.input == input_key("truth", "group2") and group2.group == "group2"
    assert group2.key == "datasets.demo.ground_truth.task1.group2"
    assert group2.path == plan.task1_evaluation_inputs("demo")[input_key("truth", "group2")]
    assert plan.truth_labels("demo", "task1") == ["0", "1"]
    # the training labels and the unseen generator as the runs name it
    assert plan.truth_labels("demo", "task2") == ["model_1", "model_2", "model_3", "model_4"]
    assert fill(PATHS.truth_check, dataset="demo", task="task2") == (
        "results/demo/evaluation/truth_check/task2.tsv"
    )


def test_truth_labels_follow_new_label_and_several_unseen_generators(custom) -> None:
    custom["task2"]["new_label"] = "stylegan"
    custom["ground_truth"] = {"task2": "truth.csv"}
    Path("truth.csv").write_text("")
    clef = {"datasets.clef": custom, "run_datasets": ["clef"]}
    plan = build_plan(config_with(**clef))
    assert plan.truth_labels("clef", "task2") == ["model_1", "model_2", "model_3", "stylegan"]
    assert plan.truth_files("clef", "task1") == []
    custom["task2"].update(new_label=None, n_generators=5)
    plan = build_plan(config_with(**clef, **{"task2.train.pseudo.source": "none"}))
    assert plan.datasets["clef"].task2.truth_labels[3:] == ["model_4", "model_5"]


def test_an_unknown_number_of_generators_is_planned(custom) -> None:
    """n_generators null: the methods estimate it; the truth may name up to MAX_NEW unseen
    generators, and round 1 learns one, as the paper's did."""
    custom["task2"].update(n_generators=None, new_label=None)
    plan = build_plan(config_with(**{"datasets.clef": custom, "run_datasets": ["clef"]}))
    task2 = plan.datasets["clef"].task2
    assert task2.n_generators is None and task2.rounds == ("round0", "round1")
    assert task2.truth_labels == [f"model_{k}" for k in range(1, 7)]
    assert task2.unseen_label == "model_4"


def test_a_failed_truth_check_removes_outputs_of_any_run_not_just_planned_ones() -> None:
    plan = build_plan(config_with())
    assert plan.evaluation_outputs("demo", "task2") == [
        "results/demo/evaluation/task2.tsv",
        "results/demo/evaluation/task2.html",
        "results/demo/evaluation/confusion/task2_*.png",
        "results/demo/evaluation/task2_paired.tsv",
        "results/demo/summary.md",
    ]
    assert plan.evaluation_outputs("demo", "task1") == [
        "results/demo/evaluation/task1.tsv",
        "results/demo/evaluation/task1.html",
        "results/demo/evaluation/roc/task1_*_*.png",
        "results/demo/summary.md",
    ]
    # every planned evaluation output is among them, so none survives a failed check
    patterns = plan.evaluation_outputs("demo", "task2") + plan.evaluation_outputs("demo", "task1")
    assert all(
        any(fnmatch.fnmatch(path, pattern) for pattern in patterns)
        for path in plan.evaluation_files()
    )


def test_an_empty_study_seed_list_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match=r"study\.seeds: \[\] should be non-empty"):
        config_with(**{"study.seeds": []})


def test_epochs_follow_the_demo_scale_unless_configured(custom) -> None:
    """null: 3 at the quick default demo, the paper's 10 on the study's small datasets and on a
    dataset the workflow did not build; a configured number holds everywhere."""
    config = config_with(**{"datasets.clef": custom, "run_datasets": ["demo", "clef"]})
    plan = build_plan(config)
    assert plan.datasets["demo"].demo.scale == "quick"
    assert plan.datasets["demo"].task2.epochs == 3
    assert plan.datasets["clef"].task2.epochs == 10
    assert plan.datasets["study_seeds_s0"].task2.epochs == 10
    config["task2"]["train"]["epochs"] = 3
    assert {name: d.task2.epochs for name, d in build_plan(config).datasets.items()} == {
        name: 3 for name in plan.datasets
    }


def test_autogluon_time_limit_follows_the_demo_scale_unless_configured(custom) -> None:
    """null: 10 s at the quick default demo, 60 s on the study's small datasets and on a dataset
    the workflow did not build; a configured number holds everywhere."""
    config = config_with(**{"datasets.clef": custom, "run_datasets": ["demo", "clef"]})
    plan = build_plan(config)
    limits = {name: d.paper_time_limit for name, d in plan.datasets.items()}
    assert limits["demo"] == 10 and limits["clef"] == 60 and limits["study_seeds_s0"] == 60
    config["task1"]["paper"]["time_limit"] = 7
    assert {name: d.paper_time_limit for name, d in build_plan(config).datasets.items()} == {
        name: 7 for name in plan.datasets
    }


def test_the_study_plans_every_scenario_at_every_seed() -> None:
    plan = build_plan(config_with(**{"study.seeds": [4, 7]}))
    assert list(plan.study) == [
        f"study_{scenario}_s{seed}"
        for scenario in (
            "families",
            "subsets",
            "subsets_unseen",
            "seeds",
            "unseen_sibling",
            "two_unseen",
        )
        for seed in (4, 7)
    ]
    subsets = plan.datasets["study_subsets_s7"]
    assert subsets.seed == 7 and subsets.demo.seed == 7 and subsets.demo.scale == "small"
    assert subsets.spec["task2"]["root"] == "data/study_subsets_s7/task2"
    assert subsets.has_real_subsets and not subsets.task1
    assert subsets.task2.labels == ("subset_1", "subset_2", "subset_3", "subset_4")
    assert subsets.task2.rounds == ("round0",)  # no unseen generator, so no round 1
    # Task 1 only on families; subsets runs only where real subsets exist.
    assert [name for name in plan.study if plan.datasets[name].task1] == [
        "study_families_s4",
        "study_families_s7",
    ]
    assert "subsets_spectrum" in plan.task2_runs("study_subsets_s4")
    assert "subsets_spectrum" not in plan.task2_runs("study_seeds_s4")
    assert plan.skipped_methods("study_seeds_s4") == ["subsets"]
    sibling = plan.datasets["study_unseen_sibling_s4"].task2
    assert sibling.n_generators == 5 and sibling.unseen_label == "model_5"
    # two unseen: round 1 still learns one pseudo-labelled class, as the paper's did
    two = plan.datasets["study_two_unseen_s4"].task2
    assert two.labels == ("model_1", "model_2", "model_3") and two.n_generators == 5
    assert two.rounds == ("round0", "round1") and two.unseen_label == "model_4"
    assert two.truth_labels[3:] == ["model_4", "model_5"]
    files = plan.study_files()
    assert "results/study_subsets_unseen_s4/evaluation/task2.tsv" in files
    assert "results/study_families_s7/evaluation/task1.tsv" in files
    assert "results/study_seeds_s7/evaluation/task1.tsv" not in files
    rows = {row["dataset"]: row for row in plan.study_datasets()}
    assert rows["study_seeds_s7"]["paper_runs"] == ["tsne_kmeans_spectrum", "ensemble_64_round1"]
    assert rows["study_seeds_s7"]["paper_baselines"] == {
        "tsne_kmeans_spectrum": "stand-in: the spectrum fingerprint for a pretrained CNN embedding",
        "ensemble_64_round1": "random-weight stand-in",
    }
    # None of it is a target of `all`.
    assert not any("study_" in f for f in plan.manifests() + plan.evaluation_files())


def test_a_second_demo_dataset_is_written_to_its_own_folder() -> None:
    plan = build_plan(
        config_with(
            **{
                "datasets.hard": {
                    "builder": "demo",
                    "demo": {"seed": 5, "task2": {"scenario": "seeds"}, "task1": {}},
                },
                "run_datasets": ["demo", "hard"],
            }
        )
    )
    hard = plan.datasets["hard"]
    assert hard.seed == 5 and plan.datasets["demo"].seed == 0
    assert hard.spec["task2"]["root"] == "data/hard/task2"
    assert hard.spec["ground_truth"]["task2"] == "data/hard/ground_truth/task2.csv"
    assert hard.demo.scale == "quick" and hard.demo.scenario == "seeds"  # the top-level scale
    assert "results/hard/contact_sheet.png" in plan.figures()
    assert plan.demo_truth_files("hard") == [
        "data/hard/ground_truth/task2.csv",
        "data/hard/ground_truth/patients.csv",
    ]
    assert "results/hard/manifest.parquet" in plan.manifests()


# ----------------------------------------------------------------------------- audit


def test_the_audit_covers_every_task1_group_of_the_run_datasets() -> None:
    plan = build_plan(config_with())
    assert plan.audit_groups == {"demo": ("group1", "group2", "group3")}
    files = plan.audit_files()
    assert "results/demo/audit/group1/verdict.json" in files
    assert "results/demo/audit/group3/report.md" in files
    assert len(files) == 3 * len(AUDIT_FILES)
    assert plan.audit_verdicts()[input_key("verdict", "demo", "group2")] == (
        "results/demo/audit/group2/verdict.json"
    )
    # the study's datasets are never audited, and `[]` audits nothing
    assert build_plan(config_with(**{"audit.groups": []})).audit_files() == []
    assert build_plan(config_with(**{"audit.groups": ["group1"]})).audit_groups == {
        "demo": ("group1",)
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"audit.groups": ["group9"]}, r"audit\.groups: group9 is not a Task 1 group of dataset"),
        ({"audit.attack": "nope"}, r"audit\.attack: 'nope' is not among task1\.attacks"),
        ({"audit.embedder": "resnet50"}, r"audit\.embedder: 'resnet50' is not among embed"),
        (
            {"audit.groups": ["group1"], "demo.task1": {}},
            r"audit\.groups: group1 asked for, but no dataset of run_datasets \(demo\) has Task 1",
        ),
    ],
)
def test_an_audit_of_a_group_that_is_not_there_is_refused_by_name(changes, message) -> None:
    with pytest.raises(ConfigError, match=message):
        build_plan(config_with(**changes))


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        ({"max_leak": 0.1}, r"audit\.budget.*max_leak"),
        ({"max_auc": 1.5}, r"audit\.budget\.max_auc: 1\.5 is greater than the maximum of 1"),
        ({"max_auc": 0.3}, r"audit\.budget\.max_auc: 0\.3 is less than the minimum of 0\.5"),
        ({"max_tpr_at_1pct_fpr": -0.1}, r"audit\.budget\.max_tpr_at_1pct_fpr: -0\.1 is less"),
        ({"alpha": 0}, r"audit\.budget\.alpha: 0 is less than or equal to the minimum of 0"),
        ({"decide_on": "lower"}, r"audit\.budget.*decide_on"),  # not a budget key
    ],
)
def test_a_budget_key_that_does_not_exist_or_is_out_of_range_is_refused_by_name(
    budget, message
) -> None:
    with pytest.raises(ConfigError, match=message):
        config_with(**{"audit.budget": budget})


def test_a_group_with_dev_folders_only_is_audited_but_not_scored(custom) -> None:
    """An audit needs no test split: a group without test_real is the audit's, not Task 1's."""
    custom["task1"]["group2"] = {**custom["task1"]["group1"], "test_real": False}
    plan = build_plan(config_with(**{"datasets.clef": custom, "run_datasets": ["clef"]}))
    clef = plan.datasets["clef"]
    assert clef.groups == ["group1"] and clef.audit_groups == ["group1", "group2"]
    assert clef.group("group2").test is False
    assert plan.audit_groups == {"clef": ("group1", "group2")}
    assert "results/clef/audit/group2/verdict.json" in plan.audit_files()
    assert not any("/group2/" in path for path in plan.submission_task1())
    assert "group2" in plan.groups  # the wildcard's values
    # Ground truth for it has nothing to score.
    custom["ground_truth"] = {"task1": {"group1": "t1.csv", "group2": "t2.csv"}}
    Path("t1.csv").write_text("")
    Path("t2.csv").write_text("")
    with pytest.raises(
        ConfigError, match=r"ground_truth\.task1\.group2: group group2 has no test folder"
    ):
        build_plan(config_with(**{"datasets.clef": custom, "run_datasets": ["clef"]}))
    # Truth for the groups that have a test folder is enough.
    custom["ground_truth"] = {"task1": {"group1": "t1.csv"}}
    plan = build_plan(config_with(**{"datasets.clef": custom, "run_datasets": ["clef"]}))
    assert [f.group for f in plan.truth_files("clef", "task1")] == ["group1"]


def test_the_paper_baselines_say_whether_they_ran_as_the_paper_did() -> None:
    """Weights given for the t-SNE run's CNN and every network: pretrained; some networks
    without: partly a stand-in; a CNN embedder without weights: a random-weight stand-in."""
    weights = {"resnet18": "imagenet", "resnet34": "imagenet", "resnet50": "imagenet"}
    plan = build_plan(
        config_with(
            **{
                "task2.run.embedder": "resnet18",
                "embed.weights": {"resnet18": "imagenet"},
                "task2.train.weights": weights,
            }
        )
    )
    assert plan.task2_paper_baselines("demo") == {
        "tsne_kmeans_resnet18": "pretrained (imagenet)",
        "ensemble_64_round1": "pretrained (imagenet)",
    }
    plan = build_plan(
        config_with(
            **{"task2.run.embedder": "resnet18", "task2.train.weights": {"resnet18": "imagenet"}}
        )
    )
    assert plan.task2_paper_baselines("demo") == {
        "tsne_kmeans_resnet18": "random-weight stand-in",
        "ensemble_64_round1": "partly random-weight stand-in",
    }
