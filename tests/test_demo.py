"""The demo plan: who is used, who is held out, and clear errors for impossible settings."""

import pytest

from ctprints.demo import SCALES, DemoConfigError, dataset_spec, max_used_patients, plan_demo


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


def test_demo_without_task1_groups_is_an_error() -> None:
    with pytest.raises(DemoConfigError, match="demo.task1: no groups"):
        plan_demo(demo_config(task1={}), 0)


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
    from ctprints.demo import render_patients

    patients = {"P0001": 11, "P0002": 12, "P0003": 13}
    serial = render_patients(patients, 3, 32, "lung", workers=1, progress=False)
    parallel = render_patients(patients, 3, 32, "lung", workers=2, progress=False)
    for key in ("images", "patient", "slice"):
        assert (serial[key] == parallel[key]).all()
    assert serial["patient"].tolist()[:4] == ["P0001"] * 3 + ["P0002"]
