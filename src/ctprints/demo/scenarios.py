"""The demo's plan: scales, Task 2 scenarios, and which phantom patient goes where.

:func:`plan_demo` decides, from the ``demo`` config and the seed, which phantom patient goes
where: Task 1 groups (used patients train the group's generator; dev and test real images come
from disjoint patients) and Task 2 generators (each trained on its own patients), with the
generator recipe of each. :func:`dataset_spec` gives the dataset config of the layout the plan
writes. Everything is deterministic from the seed.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ctprints.errors import DemoConfigError
from ctprints.phantom import WINDOWS


@dataclass(frozen=True)
class Scale:
    """Sizes of one demo scale. Counts are images unless they say patients."""

    image_size: int
    slices_per_patient: int
    task1_patients: dict[str, tuple[int, int]]  # group: (patients, used patients)
    task1_generated: int  # synthetic images per group, dev and test each
    task2_patients: int  # patients per task 2 generator
    task2_train: int  # images per known generator's training folder
    task2_test: int  # test images per generator
    steps: int  # training steps per generator
    batch_size: int
    base_channels: int
    epochs: int  # ResNet training epochs per round, where task2.train.epochs is null
    time_limit: int  # AutoGluon seconds per model directory, where task1.paper.time_limit is null


SCALES = {
    # Any other group name (the default demo's leakage-free group3) takes group2's sizes, so that
    # the audit of a group without leakage has enough patients to mean something. At tiny every
    # group has 2 used and 2 not-used dev patients, the fewest the membership audit takes.
    "tiny": Scale(32, 4, {"group1": (8, 4), "group2": (8, 4)}, 16, 2, 16, 8, 30, 16, 8, 10, 10),
    # group1: 8 used of 24 patients, so that 4 members and 12 holdout patients are in dev, the
    # fewest with which the audit can show its memorisation beyond chance (docs/task1-and-audit.md).
    "small": Scale(
        64, 8, {"group1": (24, 8), "group2": (32, 16)}, 150, 6, 100, 50, 300, 32, 16, 10, 60
    ),
    # The default demo (`make demo`): small's images and patients, with generators trained 150
    # steps instead of 300, ResNets 3 epochs instead of 10 and AutoGluon 10 seconds per model
    # directory instead of 60, so that the first result, install included, comes in under 20
    # minutes on 2 CPU cores. The study keeps `small`.
    "quick": Scale(
        64, 8, {"group1": (24, 8), "group2": (32, 16)}, 150, 6, 100, 50, 150, 32, 16, 3, 10
    ),
    "full": Scale(
        256,
        20,
        {"group1": (20, 10), "group2": (600, 300)},
        10000,
        20,
        500,
        500,
        5000,
        32,
        32,
        10,
        60,
    ),
}
TRUTH_DIR = "ground_truth"
DEV_PATIENTS = "dev_patients.csv"  # per task 1 group: image_id, patient of the dev real images
# Config names of the generator families. ctprints.generators registers exactly these (a test
# checks it); they are listed here so that planning the demo, which happens every time the
# workflow is parsed, does not import torch.
GENERATOR_FAMILIES = ("upconv_gan", "resize_gan", "vae", "ddpm")


@dataclass(frozen=True)
class Scenario:
    """A named recipe for the Task 2 generators of a demo data."""

    layout: str  # "2023": train/<model_k>/, test/generated_unknown/; "2025": generated/<subset>/,
    #              real/<subset>/, generated_unknown/
    unseen: int  # generators without training data when demo.task2.unseen is null
    summary: str


SCENARIOS = {
    "families": Scenario(
        "2023", 1, "one generator per family in task2.families, each on its own patients"
    ),
    "subsets": Scenario(
        "2025",
        0,
        "task2.generators generators of task2.family, each on its own disjoint patient subset "
        "with its own seed; every generator is known and its real subset is given (2025)",
    ),
    "subsets_unseen": Scenario(
        "2025",
        1,
        "as subsets, but the last subset's generator has neither generated nor real images "
        "in the training folders",
    ),
    "seeds": Scenario(
        "2023",
        1,
        "task2.generators generators of task2.family on the same patients, differing only in "
        "their seed",
    ),
    "unseen_sibling": Scenario(
        "2023",
        1,
        "one known generator per family in task2.families, and an unseen second generator of "
        "task2.family (one of them) trained on other patients",
    ),
    "two_unseen": Scenario(
        "2023",
        2,
        "as unseen_sibling, but the last family's generator is unseen too: two unseen "
        "generators, one of a new family and a sibling of a known one",
    ),
}
SIBLING_SCENARIOS = ("unseen_sibling", "two_unseen")  # a second generator of task2.family


@dataclass
class Instance:
    """One generator to train: its family, its training patients and what it must sample."""

    name: str  # task1_group1, task2_model_1, ...
    family: str
    patients: list[str]
    samples: dict[str, int]  # purpose (dev, test, train) -> count
    seed: int


@dataclass
class Plan:
    seed: int
    scale: str
    window: str
    image_size: int
    slices_per_patient: int
    steps: int
    batch_size: int
    base_channels: int
    scenario: str = "families"
    patients: dict[str, int] = field(default_factory=dict)  # patient_id -> anatomy seed
    # patient_id -> (task, group or generator label, role, split)
    assignment: dict[str, tuple[str, str, str, str]] = field(default_factory=dict)
    instances: dict[str, Instance] = field(default_factory=dict)
    task2_labels: list[str] = field(default_factory=list)
    task2_unseen: list[str] = field(default_factory=list)
    task1_groups: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def layout(self) -> str:
        """The Task 2 folder layout: "2023" (train/model_k) or "2025" (generated/<subset>)."""
        return SCENARIOS[self.scenario].layout

    def task2_known(self) -> list[str]:
        """Task 2 labels with training folders, in order."""
        return [label for label in self.task2_labels if label not in self.task2_unseen]

    def task2_test_count(self) -> int:
        """Images the task 2 test folder will hold (every generator's test samples)."""
        return sum(self.instances[f"task2_{label}"].samples["test"] for label in self.task2_labels)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        data = dict(data)
        data["instances"] = {k: Instance(**v) for k, v in data["instances"].items()}
        data["assignment"] = {k: tuple(v) for k, v in data["assignment"].items()}
        return cls(**data)


def sub_seed(seed: int, *words: str | int) -> int:
    """A stable 32-bit seed derived from the global seed and a purpose."""
    key = [seed] + [zlib.crc32(str(word).encode()) for word in words]
    return int(np.random.SeedSequence(key).generate_state(1)[0])


def group_leaks(plan: Plan, group: str) -> bool:
    """The group's generator trained on its used patients (false for a ``leak: false`` group)."""
    return not any(
        t == "task1" and g == group and r == "trainer" for t, g, r, _ in plan.assignment.values()
    )


def max_used_patients(total: int) -> int:
    """The most used patients a group of ``total`` can have.

    ``used // 2`` used patients go to test with as many not-used ones, and dev keeps at least one
    not-used patient, so ``total - used >= used // 2 + 1``.
    """
    return max((used for used in range(total + 1) if total - used >= used // 2 + 1), default=0)


def plan_demo(demo: dict[str, Any], seed: int, key: str = "demo") -> Plan:
    """Assign patients and generators from a ``demo`` config section; raise naming bad keys.

    ``seed`` is used unless the section sets its own; ``key`` is where the section sits in the
    config, for error messages (``demo``, or a dataset's merged section).
    """
    try:
        return _plan_demo(demo, seed if demo.get("seed") is None else demo["seed"])
    except DemoConfigError as error:
        message = str(error)
        if key == "demo" or not message.startswith("demo."):
            raise
        raise DemoConfigError(key + message.removeprefix("demo")) from None


def _plan_demo(demo: dict[str, Any], seed: int) -> Plan:
    _check_demo(demo)
    scale = SCALES[demo["scale"]]
    plan = Plan(
        seed=seed,
        scale=demo["scale"],
        window=demo["window"],
        image_size=scale.image_size,
        slices_per_patient=demo.get("slices_per_patient") or scale.slices_per_patient,
        steps=demo.get("steps") or scale.steps,
        batch_size=scale.batch_size,
        base_channels=scale.base_channels,
        scenario=_scenario(demo["task2"]),
    )
    rng = np.random.default_rng(sub_seed(seed, "assignment"))
    counter = iter(range(1, 10**6))

    def new_patients(count: int) -> list[str]:
        ids = [f"P{next(counter):04d}" for _ in range(count)]
        for patient in ids:
            plan.patients[patient] = sub_seed(seed, "patient", patient)
        return ids

    # A leakage-free group (leak: false) is planned after Task 2, so that adding one leaves every
    # other patient, generator and image as it was.
    groups = demo["task1"].items()
    for group, spec in [(g, s) for g, s in groups if s.get("leak", True)]:
        _plan_task1_group(plan, group, spec, scale, rng, new_patients)
    _plan_task2(plan, demo["task2"], scale, new_patients)
    for group, spec in [(g, s) for g, s in groups if not s.get("leak", True)]:
        _plan_task1_group(plan, group, spec, scale, rng, new_patients)
    plan.task1_groups = [group for group in demo["task1"] if group in plan.task1_groups]
    return plan


def _check_demo(demo: dict[str, Any]) -> None:
    """Raise on the settings of the whole demo; each task 1 group is checked as it is planned."""
    if demo["scale"] not in SCALES:
        raise DemoConfigError(
            f"demo.scale: unknown scale {demo['scale']!r}; known: {', '.join(SCALES)}"
        )
    if demo["window"] not in WINDOWS:
        raise DemoConfigError(
            f"demo.window: unknown window {demo['window']!r}; known: {', '.join(WINDOWS)}"
        )
    _check_task2(demo["task2"], SCALES[demo["scale"]])


def _check_family(key: str, family: str) -> None:
    if family not in GENERATOR_FAMILIES:
        raise DemoConfigError(
            f"{key}: unknown generator family {family!r}; known: {', '.join(GENERATOR_FAMILIES)}"
        )


def _scenario(task2: dict[str, Any]) -> str:
    """The section's scenario; a section written before scenarios existed is ``families``."""
    return task2.get("scenario") or "families"


def _family(task2: dict[str, Any]) -> str:
    """The one family of the single-family scenarios and of unseen_sibling's sibling (the
    schema's default when unset). ``vae``: at the demo's 300 CPU steps every GAN collapses to a
    few modes of its own, so image content alone tells two GANs apart; the VAE's samples are as
    varied as the real slices, so only its fingerprint differs between seeds
    (docs/demo-and-study.md)."""
    return task2.get("family") or "vae"


def task2_unseen(task2: dict[str, Any]) -> int:
    """Generators without training data: as configured, or the scenario's default."""
    unseen = task2.get("unseen")
    return SCENARIOS[_scenario(task2)].unseen if unseen is None else unseen


def task2_generators(task2: dict[str, Any]) -> int:
    """How many Task 2 generators a scenario trains."""
    scenario = _scenario(task2)
    if scenario == "families":
        return len(task2["families"])
    if scenario in SIBLING_SCENARIOS:
        return len(task2["families"]) + 1
    return task2.get("generators") or 4


def _check_task2(task2: dict[str, Any], scale: Scale) -> None:
    """Raise on a Task 2 scenario that cannot be built."""
    scenario = _scenario(task2)
    if scenario not in SCENARIOS:
        raise DemoConfigError(
            f"demo.task2.scenario: unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}"
        )
    families = list(task2["families"])
    for index, family in enumerate(families):
        _check_family(f"demo.task2.families[{index}]", family)
    _check_family("demo.task2.family", _family(task2))
    repeated = sorted({f for f in families if families.count(f) > 1})
    if repeated and scenario in ("families", *SIBLING_SCENARIOS):
        raise DemoConfigError(
            f"demo.task2.families: {', '.join(repeated)} listed twice; task 2 asks which "
            "generator made an image, so each needs its own family"
        )
    generators, unseen = task2_generators(task2), task2_unseen(task2)
    if scenario in SIBLING_SCENARIOS and _family(task2) not in families[: generators - unseen]:
        raise DemoConfigError(
            f"demo.task2.family: {_family(task2)!r} is not among the known families of "
            f"demo.task2.families ({', '.join(families[: generators - unseen])}); the "
            f"{scenario} scenario's sibling is a second generator of a known family"
        )
    if scenario in SIBLING_SCENARIOS and unseen != SCENARIOS[scenario].unseen:
        raise DemoConfigError(
            f"demo.task2.unseen: {unseen}; the {scenario} scenario has exactly "
            f"{SCENARIOS[scenario].unseen} unseen generator(s) (leave unseen null)"
        )
    if not 0 <= unseen < generators:
        raise DemoConfigError(
            f"demo.task2.unseen: {unseen} unseen of {generators} generators; "
            "at least one generator needs a training folder"
        )
    if scenario.startswith("subsets"):
        patients = task2.get("patients") or generators * scale.task2_patients
        if patients < 2 * generators:
            raise DemoConfigError(
                f"demo.task2.patients: {patients} patients cannot fill {generators} disjoint "
                "subsets of at least 2 patients each; give at least "
                f"{2 * generators} or fewer task2.generators"
            )


def _task1_group_size(group: str, spec: dict[str, Any], scale: Scale) -> tuple[int, int]:
    """A task 1 group's (patients, used patients), from config or scale; raise if impossible."""
    key = f"demo.task1.{group}"
    if spec["family"] not in GENERATOR_FAMILIES:
        raise DemoConfigError(
            f"{key}.family: unknown generator family {spec['family']!r}; "
            f"known: {', '.join(GENERATOR_FAMILIES)}"
        )
    default_total, default_used = scale.task1_patients.get(group, scale.task1_patients["group2"])
    total = spec.get("patients") or default_total
    used = spec.get("used_patients") or default_used
    if total < 3:
        raise DemoConfigError(f"{key}.patients: {total} patients; a group needs at least 3")
    if used < 2:
        raise DemoConfigError(
            f"{key}.used_patients: {used}; at least 2 (one for dev, one for test)"
        )
    most = max_used_patients(total)
    if used > most:
        raise DemoConfigError(
            f"{key}.used_patients: {used} used patients but the group has only {total} "
            f"patients; half the used patients go to test, with as many not-used patients "
            f"beside them, and dev needs at least one not-used patient, so at most {most} "
            "can be used"
        )
    return total, used


def _plan_task1_group(
    plan: Plan,
    group: str,
    spec: dict[str, Any],
    scale: Scale,
    rng: np.random.Generator,
    new_patients: Callable[[int], list[str]],
) -> None:
    """Draw a task 1 group's used patients and split its patients into dev and test.

    Half the used patients (rounded down) go to test beside as many not-used ones; the rest of
    both go to dev. The group's generator trains on the used patients, or, with ``leak: false``,
    on as many other patients who appear nowhere else: a group without any membership, whose
    "used" label is nominal (the audit's leakage-free control).
    """
    total, used = _task1_group_size(group, spec, scale)
    used_test = used // 2
    ids = new_patients(total)
    order = list(rng.permutation(ids))
    used_ids, not_used_ids = order[:used], order[used:]
    for patient in used_ids[: used - used_test]:
        plan.assignment[patient] = ("task1", group, "used", "dev")
    for patient in used_ids[used - used_test :]:
        plan.assignment[patient] = ("task1", group, "used", "test")
    for patient in not_used_ids[:used_test]:
        plan.assignment[patient] = ("task1", group, "not_used", "test")
    for patient in not_used_ids[used_test:]:
        plan.assignment[patient] = ("task1", group, "not_used", "dev")
    trainers = used_ids
    if not spec.get("leak", True):
        trainers = new_patients(used)
        for patient in trainers:
            plan.assignment[patient] = ("task1", group, "trainer", "train")
    name = f"task1_{group}"
    plan.instances[name] = Instance(
        name=name,
        family=spec["family"],
        patients=sorted(trainers),
        samples={"dev": scale.task1_generated, "test": scale.task1_generated},
        seed=sub_seed(plan.seed, "generator", name),
    )
    plan.task1_groups.append(group)


def _task2_recipe(task2: dict[str, Any], scale: Scale) -> list[tuple[str, str, int | str]]:
    """The scenario's generators as (label, family, patients): a count of new patients, or
    ``"shared"`` for the patients of the first generator."""
    scenario, family = _scenario(task2), _family(task2)
    count = task2_generators(task2)
    if scenario == "families":
        recipe = [(family_k, scale.task2_patients) for family_k in task2["families"]]
    elif scenario in SIBLING_SCENARIOS:
        families = list(task2["families"]) + [family]
        recipe = [(f, scale.task2_patients) for f in families]
    elif scenario == "seeds":
        recipe = [(family, scale.task2_patients)] + [(family, "shared")] * (count - 1)
    else:  # subsets: the patients split into disjoint subsets, as evenly as they go
        patients = task2.get("patients") or count * scale.task2_patients
        recipe = [(family, len(part)) for part in np.array_split(np.arange(patients), count)]
    prefix = "subset" if SCENARIOS[scenario].layout == "2025" else "model"
    return [(f"{prefix}_{index}", f, n) for index, (f, n) in enumerate(recipe, start=1)]


def _plan_task2(
    plan: Plan,
    task2: dict[str, Any],
    scale: Scale,
    new_patients: Callable[[int], list[str]],
) -> None:
    """The scenario's generators, each with its patients; the last ``unseen`` have no training
    folder (nor, in the 2025 layout, a real folder)."""
    recipe = _task2_recipe(task2, scale)
    unseen = task2_unseen(task2)
    first: list[str] = []
    for index, (label, family, patients) in enumerate(recipe, start=1):
        ids = list(first) if patients == "shared" else new_patients(patients)
        first = first or ids
        for patient in ids:
            plan.assignment.setdefault(patient, ("task2", label, "train", "train"))
        known = index <= len(recipe) - unseen
        samples = {"test": scale.task2_test}
        if known:
            samples["train"] = scale.task2_train
        name = f"task2_{label}"
        plan.instances[name] = Instance(
            name=name,
            family=family,
            patients=ids,
            samples=samples,
            seed=sub_seed(plan.seed, "generator", name),
        )
        plan.task2_labels.append(label)
        if not known:
            plan.task2_unseen.append(label)


def dataset_spec(plan: Plan, root: str = "data/demo") -> dict[str, Any]:
    """The dataset config (roles to folders, docs/data.md) of the layout :func:`write_layout`
    writes."""
    known = plan.task2_known()
    if plan.layout == "2025":
        task2 = {"preset": "imageclef2025", "root": f"{root}/task2"}
    else:
        task2 = {
            "root": f"{root}/task2",
            "train": {label: f"train/{label}" for label in known},
            "test": "test/generated_unknown",
        }
    task2["n_generators"] = len(plan.task2_labels)
    return {
        "builder": "demo",
        "image_size": plan.image_size,
        "task1": {
            group: {
                "preset": "imageclef2023",
                "root": f"{root}/task1/{group}",
                "patients": DEV_PATIENTS,
            }
            for group in plan.task1_groups
        },
        "task2": task2,
        "ground_truth": {
            "task1": {
                group: f"{root}/{TRUTH_DIR}/task1_{group}.csv" for group in plan.task1_groups
            },
            "task2": f"{root}/{TRUTH_DIR}/task2.csv",
        },
    }
