"""The demo benchmark: phantom patients, generators trained on them, laid out like ImageCLEF.

The plan (:func:`plan_demo`) decides, from the ``demo`` config and the seed, which phantom patient
goes where: task 1 groups (used patients train the group's generator; dev and test real images
come from disjoint patients) and task 2 generators (each trained on its own patients). The rules
then render the patients, train each generator, and :func:`write_layout` writes the folders, the
ground truth and a patient table. Everything is deterministic from the seed.
"""

from __future__ import annotations

import csv
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ctprints.embed import pixel_features, radial_spectrum
from ctprints.errors import DemoConfigError
from ctprints.io import write_png
from ctprints.phantom import WINDOWS, render_patient, sample_anatomy


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


SCALES = {
    # Any other group name (the default demo's leakage-free group3) takes group2's sizes, so that
    # the audit of a group without leakage has enough patients to mean something. At tiny every
    # group has 2 used and 2 not-used dev patients, the fewest the membership audit takes.
    "tiny": Scale(32, 4, {"group1": (8, 4), "group2": (8, 4)}, 16, 2, 16, 8, 30, 16, 8),
    # group1: 8 used of 24 patients, so that 4 members and 12 holdout patients are in dev, the
    # fewest with which the audit can show its memorisation beyond chance (docs/task1-and-audit.md).
    "small": Scale(64, 8, {"group1": (24, 8), "group2": (32, 16)}, 150, 6, 100, 50, 300, 32, 16),
    "full": Scale(
        256, 20, {"group1": (20, 10), "group2": (600, 300)}, 10000, 20, 500, 500, 5000, 32, 32
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
    """A named recipe for the Task 2 generators of a demo benchmark."""

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
}


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


def _sub_seed(seed: int, *words: str | int) -> int:
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
    rng = np.random.default_rng(_sub_seed(seed, "assignment"))
    counter = iter(range(1, 10**6))

    def new_patients(count: int) -> list[str]:
        ids = [f"P{next(counter):04d}" for _ in range(count)]
        for patient in ids:
            plan.patients[patient] = _sub_seed(seed, "patient", patient)
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
    (docs/benchmark-and-study.md)."""
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
    if scenario == "unseen_sibling":
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
    if repeated and scenario in ("families", "unseen_sibling"):
        raise DemoConfigError(
            f"demo.task2.families: {', '.join(repeated)} listed twice; task 2 asks which "
            "generator made an image, so each needs its own family"
        )
    generators, unseen = task2_generators(task2), task2_unseen(task2)
    if scenario == "unseen_sibling" and _family(task2) not in families:
        raise DemoConfigError(
            f"demo.task2.family: {_family(task2)!r} is not among demo.task2.families "
            f"({', '.join(families)}); the unseen_sibling scenario's unseen generator is a second "
            "generator of a known family"
        )
    if scenario == "unseen_sibling" and unseen != 1:
        raise DemoConfigError(
            f"demo.task2.unseen: {unseen}; the unseen_sibling scenario has exactly one unseen "
            "generator (leave unseen null)"
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
        seed=_sub_seed(plan.seed, "generator", name),
    )
    plan.task1_groups.append(group)


def _task2_recipe(task2: dict[str, Any], scale: Scale) -> list[tuple[str, str, int | str]]:
    """The scenario's generators as (label, family, patients): a count of new patients, or
    ``"shared"`` for the patients of the first generator."""
    scenario, family = _scenario(task2), _family(task2)
    count = task2_generators(task2)
    if scenario == "families":
        recipe = [(family_k, scale.task2_patients) for family_k in task2["families"]]
    elif scenario == "unseen_sibling":
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
            seed=_sub_seed(plan.seed, "generator", name),
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


# ----------------------------------------------------------------------------- rendering


def _render_one(job: tuple[str, int, int, int, str]) -> np.ndarray:
    patient, anatomy_seed, slices_per_patient, image_size, window = job
    anatomy = sample_anatomy(patient, anatomy_seed, slices_per_patient)
    return render_patient(anatomy, slices_per_patient, image_size, window)


def render_patients(
    patients: dict[str, int],
    slices_per_patient: int,
    image_size: int,
    window: str,
    workers: int = 1,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Render patients (id -> anatomy seed): ``images`` (N, H, W) uint8, ``patient``, ``slice``.

    Patients are independent, so ``workers`` > 1 renders them in parallel processes; the result
    is identical to a serial run.
    """
    from concurrent.futures import ProcessPoolExecutor

    jobs = [(p, seed, slices_per_patient, image_size, window) for p, seed in patients.items()]
    bar = dict(total=len(jobs), desc="phantom patients", unit="patient", disable=not progress)
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            stacks = list(tqdm(pool.map(_render_one, jobs, chunksize=4), **bar))
    else:
        stacks = list(tqdm(map(_render_one, jobs), **bar))
    return {
        "images": np.concatenate(stacks),
        "patient": np.repeat(np.asarray(list(patients)), slices_per_patient),
        "slice": np.tile(np.arange(slices_per_patient, dtype=np.int32), len(patients)),
    }


def train_generator(
    instance: Instance,
    real: dict[str, np.ndarray],
    image_size: int,
    steps: int,
    batch_size: int,
    base_channels: int,
    device: str = "auto",
    progress: bool = True,
):
    """Train one planned generator on its patients' slices; return (model, samples by purpose)."""
    from ctprints.generators import make_model

    images = real["images"][np.isin(real["patient"], instance.patients)]
    model = make_model(
        instance.family,
        image_size=image_size,
        steps=steps,
        batch_size=batch_size,
        base_channels=base_channels,
        seed=instance.seed,
        device=device,
    ).fit(images, progress=progress)
    samples = {
        purpose: model.sample(count, seed=_sub_seed(instance.seed, "sample", purpose))
        for purpose, count in sorted(instance.samples.items())
    }
    return model, samples


def load_benchmark(
    real_path: str | Path, sample_paths: list[str]
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]]]:
    """Read the rendered patients and each generator's samples (named by their folder)."""
    with np.load(real_path) as archive:
        real = {key: archive[key] for key in archive.files}
    samples = {}
    for path in sample_paths:
        with np.load(path) as archive:
            samples[Path(path).parent.name] = {key: archive[key] for key in archive.files}
    return real, samples


# ----------------------------------------------------------------------------- layout


def _names(prefix: str, count: int, digits: int) -> list[str]:
    """``prefix_0001``...; wider than ``digits`` only when the count needs it, never mixed."""
    width = max(digits, len(str(count)))
    return [f"{prefix}_{index:0{width}d}" for index in range(1, count + 1)]


def _write_folder(folder: Path, names: list[str], images: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, pixels in zip(names, images, strict=True):
        write_png(folder / f"{name}.png", pixels)


def _write_csv(path: Path, rows: list[tuple], header: list[str] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")  # the run-file format: LF only
        if header:
            writer.writerow(header)
        writer.writerows(rows)


def write_layout(
    plan: Plan,
    real: dict[str, np.ndarray],
    samples: dict[str, dict[str, np.ndarray]],
    root: str | Path,
    truth_dir: str | Path,
    task1_truth: str | Path,
) -> None:
    """Write the ImageCLEF-style folders under ``root`` and the ground truth under ``truth_dir``.

    ``samples[instance][purpose]`` holds each generator's (n, H, W) uint8 samples. Task 1 groups
    use the 2023 folder names (generated, used, not_used, generated_1, real_unknown_1); task 2
    the scenario's edition (:func:`_write_task2`). Test folders are shuffled, so file order
    reveals nothing. Task 2 truth and the patient table go to ``truth_dir``; every Task 1
    group's truth goes into the one table ``task1_truth`` (group, image_id, label), which
    :func:`split_task1_truth` splits into each group's file.
    """
    root, truth_dir = Path(root), Path(truth_dir)
    rng = np.random.default_rng(_sub_seed(plan.seed, "layout"))
    patient_rows, truth_rows = [], []
    for group in plan.task1_groups:
        rows, truth = _write_task1_group(plan, real, samples, group, root, rng)
        patient_rows += rows
        truth_rows += [(group, *row) for row in truth]
    _write_csv(Path(task1_truth), truth_rows, header=["group", "image_id", "label"])
    patient_rows += _write_task2(plan, real, samples, root, truth_dir, rng)
    _write_csv(
        truth_dir / "patients.csv",
        patient_rows,
        header=["key", "task", "group", "role", "split", "patient_id", "slice"],
    )


def _task1_real(
    plan: Plan, real: dict[str, np.ndarray], group: str, role: str, split: str
) -> tuple[np.ndarray, list[str], list[int]]:
    """A task 1 group's real slices of one role and split: images, patient ids, slice indices."""
    ids = [
        p
        for p, (task, g, r, s) in plan.assignment.items()
        if task == "task1" and g == group and r == role and s == split
    ]
    mask = np.isin(real["patient"], ids)
    return real["images"][mask], list(real["patient"][mask]), list(real["slice"][mask])


def _write_task1_group(
    plan: Plan,
    real: dict[str, np.ndarray],
    samples: dict[str, dict[str, np.ndarray]],
    group: str,
    root: Path,
    rng: np.random.Generator,
) -> tuple[list[tuple], list[tuple]]:
    """Write one task 1 group's folders and dev patients; return its patient rows and its test
    truth rows (image_id, label)."""
    base = root / "task1" / group
    patient_rows = _write_task1_dev(plan, real, group, base)
    rows, truth = _write_task1_test(plan, real, group, base, rng)
    patient_rows += rows
    generated = samples[f"task1_{group}"]
    _write_folder(
        base / "generated", _names("generated", len(generated["dev"]), 4), generated["dev"]
    )
    _write_folder(
        base / "generated_1", _names("generated", len(generated["test"]), 5), generated["test"]
    )
    return patient_rows, truth


def _write_task1_dev(
    plan: Plan, real: dict[str, np.ndarray], group: str, base: Path
) -> list[tuple]:
    """Write the group's used and not_used folders and its dev patient table; return the rows."""
    patient_rows = []
    dev_patients = []
    for role in ("used", "not_used"):
        images, patients, slices = _task1_real(plan, real, group, role, "dev")
        names = _names(role, len(images), 4)
        _write_folder(base / role, names, images)
        patient_rows += [
            (f"task1/{group}/{n}", "task1", group, role, "dev", p, s)
            for n, p, s in zip(names, patients, slices, strict=True)
        ]
        dev_patients += list(zip(names, patients, strict=True))
    # Which patient each dev image shows (not whether it was used: the folders say that), so
    # that cross-validation keeps a patient's slices in one fold.
    _write_csv(base / DEV_PATIENTS, dev_patients, header=["image_id", "patient"])
    return patient_rows


def _write_task1_test(
    plan: Plan,
    real: dict[str, np.ndarray],
    group: str,
    base: Path,
    rng: np.random.Generator,
) -> tuple[list[tuple], list[tuple]]:
    """Write the group's shuffled real_unknown_1 folder; return the patient rows and the truth."""
    used = _task1_real(plan, real, group, "used", "test")
    not_used = _task1_real(plan, real, group, "not_used", "test")
    images = np.concatenate([used[0], not_used[0]])
    membership = [1] * len(used[0]) + [0] * len(not_used[0])
    patients = used[1] + not_used[1]
    slices = used[2] + not_used[2]
    order = rng.permutation(len(images))
    names = _names("real_unknown", len(images), 4)
    _write_folder(base / "real_unknown_1", names, images[order])
    truth = [(names[i], membership[j]) for i, j in enumerate(order)]
    rows = [
        (
            f"task1/{group}/{names[i]}",
            "task1",
            group,
            "used" if membership[j] else "not_used",
            "test",
            patients[j],
            slices[j],
        )
        for i, j in enumerate(order)
    ]
    return rows, truth


def _write_task2(
    plan: Plan,
    real: dict[str, np.ndarray],
    samples: dict[str, dict[str, np.ndarray]],
    root: Path,
    truth_dir: Path,
    rng: np.random.Generator,
) -> list[tuple]:
    """Write the known generators' training folders and the shuffled test folder with its truth.

    The 2023 layout has ``train/<model_k>/`` and ``test/generated_unknown/``; the 2025 layout has
    ``generated/<subset>/``, ``real/<subset>/`` (the subset's real images, which trained that
    generator) and ``generated_unknown/``. Returns the patient rows of the real images written.
    """
    base = root / "task2"
    modern = plan.layout == "2025"
    test_images, test_labels, patient_rows = [], [], []
    for label in plan.task2_labels:
        drawn = samples[f"task2_{label}"]
        if "train" in drawn:
            folder = base / ("generated" if modern else "train") / label
            _write_folder(folder, _names(label, len(drawn["train"]), 4), drawn["train"])
        if modern and label not in plan.task2_unseen:
            patient_rows += _write_task2_real(plan, real, label, base / "real" / label)
        test_images.append(drawn["test"])
        test_labels += [label] * len(drawn["test"])
    images = np.concatenate(test_images)
    order = rng.permutation(len(images))
    names = _names("generated", len(images), 5)
    test = base / ("generated_unknown" if modern else "test/generated_unknown")
    _write_folder(test, names, images[order])
    _write_csv(truth_dir / "task2.csv", [(names[i], test_labels[j]) for i, j in enumerate(order)])
    return patient_rows


def _write_task2_real(
    plan: Plan, real: dict[str, np.ndarray], label: str, folder: Path
) -> list[tuple]:
    """Write the real slices of one generator's patients; return their patient rows."""
    mask = np.isin(real["patient"], plan.instances[f"task2_{label}"].patients)
    names = _names("real", int(mask.sum()), 4)
    _write_folder(folder, names, real["images"][mask])
    return [
        (f"task2/real/{label}/{name}", "task2", label, "train", "train", patient, slice_)
        for name, patient, slice_ in zip(
            names, real["patient"][mask], real["slice"][mask], strict=True
        )
    ]


def split_task1_truth(table: str | Path, group: str, path: str | Path) -> int:
    """Write one group's rows of the benchmark's Task 1 truth table as its truth file (the
    run-file format, ``image_id,label``); return how many. Written whole or not at all."""
    from ctprints.io import atomic_output

    with open(table, newline="") as handle:
        rows = [(r["image_id"], r["label"]) for r in csv.DictReader(handle) if r["group"] == group]
    if not rows:
        raise ValueError(f"{table}: no ground truth for Task 1 group {group!r}")
    with atomic_output(path) as temporary:
        _write_csv(Path(temporary), rows)
    return len(rows)


# ----------------------------------------------------------------------------- evidence


def _nearest_distance(queries: np.ndarray, references: np.ndarray) -> np.ndarray:
    """Euclidean distance from each query row to its nearest reference row."""
    squared = (
        (queries**2).sum(1)[:, None] + (references**2).sum(1)[None] - 2 * queries @ references.T
    )
    return np.sqrt(np.maximum(squared.min(axis=1), 0))


def signal_report(
    plan: Plan, real: dict[str, np.ndarray], samples: dict[str, dict[str, np.ndarray]]
) -> list[dict[str, Any]]:
    """Evidence that the benchmark carries signal, as rows of (check, subject, value, ...).

    - ``realism``: mean nearest-neighbour distance (16x16 pooled pixels) from a generator's
      samples to half of the real patients, divided by the same distance from the other half of
      the real patients. Near 1 means real-like; a noise control shows what "not real" scores.
    - ``family_accuracy``: 5-fold accuracy of a logistic regression on the radial power spectrum
      telling the task 2 generators apart (chance is 1 / number of generators).
    - ``membership_auc``: per task 1 group, ROC AUC of minus the nearest-neighbour distance to the
      group's generated images, used against not-used real images (0.5 is no signal).
    """
    rng = np.random.default_rng(_sub_seed(plan.seed, "signal"))
    rows = _realism_rows(plan, real, samples, rng)
    rows.append(_family_accuracy_row(plan, samples))
    rows += _membership_rows(plan, real, samples)
    return rows


def _realism_rows(
    plan: Plan,
    real: dict[str, np.ndarray],
    samples: dict[str, dict[str, np.ndarray]],
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """The realism rows: the other half of the real patients, a noise control, each generator."""
    patients = np.unique(real["patient"])
    half = set(rng.permutation(patients)[: len(patients) // 2])
    in_half = np.array([p in half for p in real["patient"]])
    reference = pixel_features(real["images"][in_half])
    other = pixel_features(real["images"][~in_half])
    baseline = float(_nearest_distance(other, reference).mean())

    def realism(subject: str, images: np.ndarray) -> dict[str, Any]:
        distance = float(_nearest_distance(pixel_features(images), reference).mean())
        return dict(
            check="realism", subject=subject, value=distance / baseline, detail=f"{distance:.4f}"
        )

    rows = [dict(check="realism", subject="real (other half)", value=1.0, detail=f"{baseline:.4f}")]
    noise = rng.normal(
        real["images"].mean(), real["images"].std(), (len(other), *real["images"].shape[1:])
    )
    noise = np.clip(noise, 0, 255).astype(np.uint8)
    rows.append(realism("noise control", noise))
    for name, drawn in samples.items():
        generated = np.concatenate(list(drawn.values()))
        rows.append(realism(f"{name} ({plan.instances[name].family})", generated))
    return rows


def _family_accuracy_row(plan: Plan, samples: dict[str, dict[str, np.ndarray]]) -> dict[str, Any]:
    """Cross-validated accuracy of telling the task 2 generators apart by their spectra."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    spectra, labels = [], []
    for label in plan.task2_labels:
        drawn = np.concatenate(list(samples[f"task2_{label}"].values()))
        spectra.append(radial_spectrum(drawn, bins=24))
        labels += [label] * len(drawn)
    folds = min(5, min(np.unique(labels, return_counts=True)[1]))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    accuracy = cross_val_score(
        model,
        np.concatenate(spectra),
        labels,
        cv=StratifiedKFold(folds, shuffle=True, random_state=plan.seed),
    )
    return dict(
        check="family_accuracy",
        subject="task2 generators",
        value=float(accuracy.mean()),
        detail=f"{folds}-fold, chance {1 / len(plan.task2_labels):.2f}, sd {accuracy.std():.3f}",
    )


def _membership_rows(
    plan: Plan, real: dict[str, np.ndarray], samples: dict[str, dict[str, np.ndarray]]
) -> list[dict[str, Any]]:
    """Per task 1 group, how well nearness to its generated images tells used from not used."""
    from sklearn.metrics import roc_auc_score

    rows = []
    for group in plan.task1_groups:
        drawn = samples[f"task1_{group}"]
        generated = pixel_features(np.concatenate(list(drawn.values())))
        members = {
            p: r == "used"
            for p, (t, g, r, _) in plan.assignment.items()
            if t == "task1" and g == group and r in ("used", "not_used")
        }
        mask = np.isin(real["patient"], list(members))
        labels = np.array([members[p] for p in real["patient"][mask]])
        score = -_nearest_distance(pixel_features(real["images"][mask]), generated)
        auc = float(roc_auc_score(labels, score))
        rows.append(
            dict(
                check="membership_auc",
                subject=f"task1 {group}",
                value=auc,
                detail=f"{int(labels.sum())} used vs {int((~labels).sum())} not used images, "
                f"{len(plan.instances[f'task1_{group}'].patients)} "
                + ("used patients" if group_leaks(plan, group) else "other patients (leak: false)"),
            )
        )
    return rows
