"""The demo plan: who is used, who is held out, and clear errors for impossible settings."""

import os
import re

import numpy as np
import pytest

from ctprints.demo.layout import split_task1_truth, write_layout
from ctprints.demo.scenarios import SCALES, dataset_spec, group_leaks, max_used_patients, plan_demo
from ctprints.errors import DemoConfigError


def demo_config(**overrides) -> dict:
    config = {
        "scale": "tiny",
        "window": "lung",
        "steps": None,
        "slices_per_patient": None,
        "device": "auto",
        "task1": {
            "group1": {"family": "vae", "patients": None, "used_patients": None},
            "group2": {"family": "vae", "patients": None, "used_patients": None},
        },
        "task2": {"families": ["upconv_gan", "resize_gan", "vae", "ddpm"], "unseen": 1},
    }
    config.update(overrides)
    return config


def _patients(plan, group, role=None, split=None):
    return {
        p
        for p, (task, g, r, s) in plan.assignment.items()
        if task == "task1" and g == group and role in (None, r) and split in (None, s)
    }


@pytest.mark.parametrize("scale", sorted(SCALES))
def test_used_and_not_used_patients_are_disjoint(scale) -> None:
    plan = plan_demo(demo_config(scale=scale), seed=0)
    for group in plan.task1_groups:
        used, not_used = _patients(plan, group, "used"), _patients(plan, group, "not_used")
        assert used and not_used and not used & not_used
        # The generator trains on exactly the used patients.
        assert set(plan.instances[f"task1_{group}"].patients) == used


def test_test_real_patients_are_not_in_dev_and_balanced() -> None:
    plan = plan_demo(demo_config(scale="small"), seed=0)
    for group in plan.task1_groups:
        dev, test = _patients(plan, group, split="dev"), _patients(plan, group, split="test")
        assert not dev & test
        assert len(_patients(plan, group, "used", "test")) == len(
            _patients(plan, group, "not_used", "test")
        )


def test_group1_has_fewer_used_patients_than_group2() -> None:
    plan = plan_demo(demo_config(scale="small"), seed=0)
    assert len(plan.instances["task1_group1"].patients) < len(
        plan.instances["task1_group2"].patients
    )


def test_last_generator_is_unseen_and_has_no_training_folder() -> None:
    plan = plan_demo(demo_config(), seed=0)
    assert plan.task2_unseen == ["model_4"]
    assert "train" not in plan.instances["task2_model_4"].samples
    spec = dataset_spec(plan)
    assert sorted(spec["task2"]["train"]) == ["model_1", "model_2", "model_3"]
    assert spec["task2"]["n_generators"] == 4


def test_seed_changes_the_assignment_and_the_same_seed_repeats_it() -> None:
    assert plan_demo(demo_config(), 0).to_dict() == plan_demo(demo_config(), 0).to_dict()
    assert plan_demo(demo_config(), 0).assignment != plan_demo(demo_config(), 1).assignment


def test_unknown_family_names_the_key() -> None:
    config = demo_config()
    config["task2"]["families"][2] = "stylegan9"
    with pytest.raises(DemoConfigError, match=r"demo\.task2\.families\[2\]: unknown .*stylegan9"):
        plan_demo(config, 0)


@pytest.mark.parametrize(("total", "most"), [(3, 1), (4, 2), (5, 3), (12, 7), (13, 8)])
def test_max_used_patients_is_the_largest_plan_that_builds(total, most) -> None:
    assert max_used_patients(total) == most
    config = demo_config()
    config["task1"]["group1"].update(patients=total, used_patients=max(most, 2))
    if most >= 2:
        plan = plan_demo(config, 0)
        assert len(plan.instances["task1_group1"].patients) == most
    config["task1"]["group1"].update(used_patients=most + 1)
    with pytest.raises(DemoConfigError, match=f"at most {most} can be used"):
        plan_demo(config, 0)


def test_more_used_patients_than_exist_names_the_key_and_the_limit() -> None:
    config = demo_config()
    config["task1"]["group1"].update(patients=6, used_patients=6)
    with pytest.raises(
        DemoConfigError, match=r"demo\.task1\.group1\.used_patients: 6 used .* at most 3 can"
    ):
        plan_demo(config, 0)


def test_repeated_task2_family_is_an_error() -> None:
    config = demo_config()
    config["task2"]["families"] = ["vae", "upconv_gan", "vae"]
    with pytest.raises(DemoConfigError, match="demo.task2.families: vae listed twice"):
        plan_demo(config, 0)


def test_demo_without_task1_groups_builds_task2_only() -> None:
    plan = plan_demo(demo_config(task1={}), 0)
    assert plan.task1_groups == [] and len(plan.task2_labels) == 4
    assert dataset_spec(plan)["task1"] == {}


def test_unknown_scale_names_the_key() -> None:
    with pytest.raises(DemoConfigError, match="demo.scale: unknown scale 'huge'"):
        plan_demo(demo_config(scale="huge"), 0)


def test_demo_and_dataset_errors_are_config_errors() -> None:
    """The run's plan catches every config problem as one type."""
    from ctprints.config import ConfigError
    from ctprints.datasets import DatasetConfigError

    assert issubclass(DatasetConfigError, ConfigError)
    with pytest.raises(ConfigError, match="demo.window: unknown window 'bone'"):
        plan_demo(demo_config(window="bone"), 0)


def test_parallel_rendering_equals_serial_rendering() -> None:
    from ctprints.demo.generate import render_patients

    patients = {"P0001": 11, "P0002": 12, "P0003": 13}
    serial = render_patients(patients, 3, 32, "lung", workers=1, progress=False)
    parallel = render_patients(patients, 3, 32, "lung", workers=2, progress=False)
    for key in ("images", "patient", "slice"):
        assert (serial[key] == parallel[key]).all()
    assert serial["patient"].tolist()[:4] == ["P0001"] * 3 + ["P0002"]


# ----------------------------------------------------------------------------- scenarios


def scenario_config(scenario: str, **task2) -> dict:
    config = demo_config()
    config["task2"] = {
        "scenario": scenario,
        "families": ["upconv_gan", "resize_gan", "vae", "ddpm"],
        "family": "upconv_gan",
        "generators": 4,
        "patients": None,
        "unseen": None,
        **task2,
    }
    return config


def _task2_patients(plan, label):
    return set(plan.instances[f"task2_{label}"].patients)


def test_subsets_scenario_trains_one_family_on_disjoint_subsets_in_the_2025_layout() -> None:
    plan = plan_demo(scenario_config("subsets"), 0)
    assert plan.task2_labels == ["subset_1", "subset_2", "subset_3", "subset_4"]
    assert plan.task2_unseen == [] and plan.layout == "2025"
    assert {plan.instances[f"task2_{label}"].family for label in plan.task2_labels} == {
        "upconv_gan"
    }
    subsets = [_task2_patients(plan, label) for label in plan.task2_labels]
    assert all(a.isdisjoint(b) for i, a in enumerate(subsets) for b in subsets[i + 1 :])
    assert len({plan.instances[f"task2_{label}"].seed for label in plan.task2_labels}) == 4
    spec = dataset_spec(plan, "data/x")
    assert spec["task2"] == {"preset": "imageclef2025", "root": "data/x/task2", "n_generators": 4}


def test_subsets_unseen_holds_back_the_last_subset() -> None:
    plan = plan_demo(scenario_config("subsets_unseen"), 0)
    assert plan.task2_unseen == ["subset_4"] and plan.task2_known() == [
        "subset_1",
        "subset_2",
        "subset_3",
    ]
    assert "train" not in plan.instances["task2_subset_4"].samples


def test_seeds_scenario_shares_the_patients_and_differs_only_in_seed() -> None:
    plan = plan_demo(scenario_config("seeds", generators=3), 0)
    assert plan.task2_labels == ["model_1", "model_2", "model_3"] and plan.layout == "2023"
    assert _task2_patients(plan, "model_1") == _task2_patients(plan, "model_3")
    assert len({plan.instances[f"task2_{label}"].seed for label in plan.task2_labels}) == 3
    assert plan.task2_unseen == ["model_3"]


@pytest.mark.parametrize(("family", "known"), [("upconv_gan", "model_1"), ("vae", "model_3")])
def test_unseen_sibling_is_a_second_generator_of_task2_family_on_other_patients(
    family, known
) -> None:
    plan = plan_demo(scenario_config("unseen_sibling", family=family), 0)
    assert plan.task2_labels == [f"model_{k}" for k in range(1, 6)]
    assert plan.task2_unseen == ["model_5"]
    sibling, first = plan.instances["task2_model_5"], plan.instances[f"task2_{known}"]
    assert sibling.family == first.family == family
    assert set(sibling.patients).isdisjoint(first.patients)


def test_two_unseen_hides_the_last_family_and_a_sibling_of_a_known_one() -> None:
    plan = plan_demo(scenario_config("two_unseen", family="vae"), 0)
    assert plan.task2_labels == [f"model_{k}" for k in range(1, 6)]
    assert plan.task2_unseen == ["model_4", "model_5"]
    assert plan.task2_known() == ["model_1", "model_2", "model_3"]
    families = [plan.instances[f"task2_{label}"].family for label in plan.task2_labels]
    assert families == ["upconv_gan", "resize_gan", "vae", "ddpm", "vae"]
    sibling, known = plan.instances["task2_model_5"], plan.instances["task2_model_3"]
    assert set(sibling.patients).isdisjoint(known.patients)


def test_single_family_scenarios_default_to_the_vae() -> None:
    """Without `family`, the seeds, subsets and sibling generators are VAEs (see _family)."""
    config = scenario_config("seeds")
    del config["task2"]["family"]
    plan = plan_demo(config, 0)
    assert {plan.instances[f"task2_{label}"].family for label in plan.task2_labels} == {"vae"}


def test_the_families_scenario_is_todays_demo() -> None:
    """Naming the default scenario changes nothing: the same patients, generators and seeds."""
    old = plan_demo(demo_config(), 3)
    new = plan_demo(scenario_config("families"), 3)
    assert new.to_dict() == old.to_dict()


@pytest.mark.parametrize(
    ("task2", "message"),
    [
        ({"scenario": "gans"}, "demo.task2.scenario: unknown scenario 'gans'; known: families"),
        (
            {"scenario": "subsets", "patients": 5},
            "demo.task2.patients: 5 patients cannot fill 4 disjoint subsets",
        ),
        (
            {"scenario": "unseen_sibling", "unseen": 2},
            "demo.task2.unseen: 2; the unseen_sibling scenario has exactly 1 unseen",
        ),
        ({"scenario": "seeds", "family": "gan"}, "demo.task2.family: unknown generator family"),
        (
            {"scenario": "unseen_sibling", "families": ["upconv_gan", "ddpm"], "family": "vae"},
            "demo.task2.family: 'vae' is not among the known families of demo.task2.families "
            "(upconv_gan, ddpm)",
        ),
        (
            {"scenario": "two_unseen", "family": "ddpm"},
            "demo.task2.family: 'ddpm' is not among the known families of demo.task2.families "
            "(upconv_gan, resize_gan, vae)",
        ),
        (
            {"scenario": "two_unseen", "unseen": 1},
            "demo.task2.unseen: 1; the two_unseen scenario has exactly 2 unseen",
        ),
        ({"scenario": "seeds", "unseen": 4}, "demo.task2.unseen: 4 unseen of 4 generators"),
    ],
)
def test_impossible_scenarios_name_the_key(task2, message) -> None:
    with pytest.raises(DemoConfigError, match=re.escape(message)):
        plan_demo(scenario_config(**task2), 0)


def test_a_datasets_own_demo_section_is_named_in_its_errors() -> None:
    with pytest.raises(DemoConfigError, match=r"^datasets\.b\.demo\.task2\.scenario: unknown"):
        plan_demo(scenario_config("gans"), 0, key="datasets.b.demo")


def _fake_demo_data(plan):
    """Rendered patients and generator samples of the right shapes, without training."""
    size, slices = plan.image_size, plan.slices_per_patient
    patients = list(plan.patients)
    rng = np.random.default_rng(0)
    real = {
        "images": rng.integers(0, 255, (len(patients) * slices, size, size), dtype=np.uint8),
        "patient": np.repeat(np.asarray(patients), slices),
        "slice": np.tile(np.arange(slices), len(patients)),
    }
    samples = {
        name: {
            purpose: rng.integers(0, 255, (count, size, size), dtype=np.uint8)
            for purpose, count in instance.samples.items()
        }
        for name, instance in plan.instances.items()
    }
    return real, samples


@pytest.mark.parametrize("scenario", ["families", "subsets", "subsets_unseen", "seeds"])
def test_every_scenario_writes_its_editions_layout_and_ground_truth(tmp_path, scenario) -> None:
    from ctprints.datasets import dataset_sources

    config = scenario_config(scenario, generators=3)
    config["task1"] = {}
    plan = plan_demo(config, 0)
    real, samples = _fake_demo_data(plan)
    root = tmp_path / "data" / "b"
    write_layout(plan, real, samples, root, root / "ground_truth", tmp_path / "t1.csv")
    task2 = root / "task2"
    known = plan.task2_known()
    if plan.layout == "2025":
        assert sorted(p.name for p in (task2 / "generated").iterdir()) == known
        assert sorted(p.name for p in (task2 / "real").iterdir()) == known
        real_1 = sorted(p.name for p in (task2 / "real" / known[0]).iterdir())
        assert real_1[0] == "real_0001.png"
        assert len(real_1) == len(plan.instances[f"task2_{known[0]}"].patients) * 4
        test = task2 / "generated_unknown"
    else:
        assert sorted(p.name for p in (task2 / "train").iterdir()) == known
        test = task2 / "test" / "generated_unknown"
    test_ids = sorted(p.stem for p in test.iterdir())
    truth = (root / "ground_truth" / "task2.csv").read_text().splitlines()
    assert sorted(line.split(",")[0] for line in truth) == test_ids
    assert {line.split(",")[1] for line in truth} == set(plan.task2_labels)
    # The dataset config the plan derives reads exactly these folders.
    sources = dataset_sources("b", dataset_spec(plan, str(root)))
    assert all(os.path.isdir(source.folder) for source in sources)
    assert any(s.role == "real" for s in sources) == (plan.layout == "2025")


def test_task1_truth_table_splits_into_each_groups_truth_file(tmp_path) -> None:
    plan = plan_demo(demo_config(), 0)
    real, samples = _fake_demo_data(plan)
    root = tmp_path / "data"
    write_layout(plan, real, samples, root, root / "gt", tmp_path / "t1.csv")
    assert not list((root / "gt").glob("task1_*"))
    counts = [
        split_task1_truth(tmp_path / "t1.csv", g, tmp_path / f"{g}.csv")
        for g in ("group1", "group2")
    ]
    lines = (tmp_path / "group1.csv").read_text().splitlines()
    assert len(lines) == counts[0] > 0 and set(line.split(",")[1] for line in lines) == {"0", "1"}
    with pytest.raises(ValueError, match="no ground truth for Task 1 group 'group3'"):
        split_task1_truth(tmp_path / "t1.csv", "group3", tmp_path / "group3.csv")
    assert not (tmp_path / "group3.csv").exists()


def test_a_leakage_free_group_trains_on_patients_that_appear_nowhere_else() -> None:
    task1 = {
        "group1": {"family": "vae", "patients": None, "used_patients": None},
        "group2": {"family": "vae", "patients": None, "used_patients": None},
    }
    before = plan_demo(demo_config(scale="small", task1=task1), seed=0)
    task1["group3"] = {"family": "vae", "patients": None, "used_patients": None, "leak": False}
    plan = plan_demo(demo_config(scale="small", task1=task1), seed=0)
    trainers = set(plan.instances["task1_group3"].patients)
    used = _patients(plan, "group3", "used")
    # group2's sizes: 32 patients, 16 used, and 16 others who train its generator
    assert len(trainers) == len(used) == 16 and len(_patients(plan, "group3")) == 32 + 16
    # its generator saw none of the group's patients, nor any other group's or generator's
    placed = {p for p, (_, _, role, _) in plan.assignment.items() if role != "trainer"}
    assert not trainers & placed
    assert all(plan.assignment[p][2] == "trainer" for p in trainers)
    assert plan.task1_groups == ["group1", "group2", "group3"]
    # adding it leaves every other patient, generator and assignment as it was
    for name, instance in before.instances.items():
        assert plan.instances[name] == instance
    assert {p: a for p, a in plan.assignment.items() if p in before.assignment} == before.assignment
    # the demo data's membership signal says which generator saw whom
    assert group_leaks(plan, "group1") and not group_leaks(plan, "group3")
