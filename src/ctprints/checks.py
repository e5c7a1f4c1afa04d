"""From a validated config to the run's plan: :func:`build_plan` and the config checks past the
schema that it runs.

Every config problem that can be found before a job starts raises
:class:`ctprints.config.ConfigError` naming the key. Each helper checks one section and returns
the part of the plan (:mod:`ctprints.plan`) it decides. Nothing here knows about snakemake, so
the checks are unit-tested from small config dicts (``tests/test_plan.py``).
"""

from __future__ import annotations

import os
from typing import Any

from ctprints.attacks import attack_settings, available_attacks
from ctprints.attribution import METHOD_INPUT, NEEDS_REAL
from ctprints.config import ConfigError
from ctprints.datasets import (
    Source,
    check_paths_exist,
    dataset_sources,
    label_subfolders,
    resolve_path,
)
from ctprints.demo.scenarios import SCALES, SCENARIOS, plan_demo
from ctprints.demo.scenarios import Plan as DemoPlan
from ctprints.demo.scenarios import dataset_spec as demo_dataset_spec
from ctprints.embed import (
    CNN_BACKBONES,
    EmbedderError,
    available_embedders,
    check_state_dict,
)
from ctprints.freeze import check_frozen
from ctprints.io import FolderError, scan_folder
from ctprints.paths import DEMO_ROOT, STUDY, fill
from ctprints.plan import DatasetPlan, RunPlan, Task1Group, Task2Plan, gives_real_subsets
from ctprints.train import TrainError, check_size, default_size, pseudo_count

# Keys a dataset built by the demo may not set, since the demo section decides them.
_DEMO_DECIDES = ("ground_truth", "task1", "task2")


PAPER_EPOCHS = 10  # task2.train.epochs: null on a dataset the workflow did not build
PAPER_TIME_LIMIT = 60  # task1.paper.time_limit: null on a dataset the workflow did not build


def _require_known(key: str, names, known, noun: str) -> None:
    """Stop unless every configured name is one the library knows; list the known ones."""
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(
            f"{key}: unknown {noun}(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )


def _require_listed(key: str, value, listed_key: str, listed) -> None:
    """Stop unless a run's setting names one of the configured choices."""
    if value not in listed:
        raise ConfigError(f"{key}: {value!r} is not among {listed_key} ({', '.join(listed)})")


def _check_weights_file(section: str, name: str, weights: str) -> None:
    """A weights path (anything but none or imagenet) must be a state dict that fits ``name``."""
    if weights in ("none", "imagenet"):
        return
    try:
        check_state_dict(name, weights)
    except EmbedderError as error:  # the message starts with the name
        raise ConfigError(f"{section}.{error}") from None


def _explicit(value) -> bool:
    """True when a config mapping holds anything beyond schema defaults (null, {}, generic)."""
    if isinstance(value, dict):
        return any(_explicit(v) for k, v in value.items() if k != "preset")
    return value not in (None, "", [], {})


def _study_specs(config: dict) -> dict[str, tuple[dict, tuple[str, int]]]:
    """The study's datasets: ``study_<scenario>_s<seed>`` -> (dataset config, (scenario, seed)).

    Each is the top-level `demo` section with the study's scale and the seed set, Task 2 made by
    the scenario (the rest of `demo.task2` kept, `unseen` left to the scenario), and Task 1 only
    for the `families` scenario (the other scenarios differ in Task 2 only).
    """
    study = config["study"]
    check_frozen(config)
    for index, scenario in enumerate(study["scenarios"]):
        if scenario not in SCENARIOS:
            raise ConfigError(
                f"study.scenarios[{index}]: unknown scenario {scenario!r}; "
                f"known: {', '.join(SCENARIOS)}"
            )
    if study["scale"] not in SCALES:
        raise ConfigError(
            f"study.scale: unknown scale {study['scale']!r}; known: {', '.join(SCALES)}"
        )
    if study["primary"]["candidate"] is not None:
        for index, scenario in enumerate(study["primary"]["scenarios"]):
            if scenario not in study["scenarios"]:
                raise ConfigError(
                    f"study.primary.scenarios[{index}]: {scenario!r} is not among "
                    f"study.scenarios ({', '.join(study['scenarios'])})"
                )
    specs = {}
    for scenario in study["scenarios"]:
        for seed in study["seeds"]:
            demo = {
                "scale": study["scale"],
                "seed": seed,
                "task2": {**config["demo"]["task2"], "scenario": scenario, "unseen": None},
            }
            if scenario != "families":
                demo["task1"] = {}
            specs[f"{STUDY}_{scenario}_s{seed}"] = (
                {"builder": "demo", "demo": demo},
                (scenario, seed),
            )
    return specs


def _effective_dataset(
    config: dict, name: str, spec: dict, key: str
) -> tuple[dict[str, Any], int, DemoPlan | None]:
    """The dataset config the rules use, its analysis seed and, for a demo-built dataset, its
    demo plan: the top-level `demo` section with the dataset's own `demo` keys (errors in
    it named under ``key``)."""
    if spec["builder"] != "demo":
        return spec, config["seed"], None
    for decided in _DEMO_DECIDES:
        if _explicit(spec.get(decided)):
            raise ConfigError(
                f"datasets.{name}.{decided}: set by the `demo` section for a dataset "
                "with builder: demo; remove it here"
            )
    section = {**config["demo"], **(spec.get("demo") or {})}
    demo = plan_demo(section, config["seed"], key=key)
    return demo_dataset_spec(demo, fill(DEMO_ROOT, dataset=name)), demo.seed, demo


def _resolved_datasets(config: dict, study: dict) -> dict[str, tuple[dict, list[Source], int, Any]]:
    """The datasets to run and the study's: name -> (effective spec, image sources, seed, demo
    plan), folders of those not built here checked."""
    wanted = {}
    for name in config["run_datasets"]:
        if name not in config["datasets"]:
            raise ConfigError(
                f"run_datasets: {name!r} is not a dataset under `datasets` "
                f"(known: {', '.join(config['datasets']) or 'none'})"
            )
        if name == STUDY or name in study:
            raise ConfigError(
                f"datasets.{name}: the name is taken by the study (results/{STUDY}/, "
                f"{STUDY}_<scenario>_s<seed>); rename the dataset"
            )
        wanted[name] = config["datasets"][name]
    wanted.update({name: spec for name, (spec, _) in study.items()})
    resolved = {}
    for name, written in wanted.items():
        # A study dataset is the demo section with the study's settings: its errors name `demo`.
        key = "demo" if name in study or not written.get("demo") else f"datasets.{name}.demo"
        spec, seed, demo = _effective_dataset(config, name, written, key)
        if spec["builder"] is None:
            sources = check_paths_exist(name, spec)
        else:
            sources = dataset_sources(name, spec)
        resolved[name] = (spec, sources, seed, demo)
    return resolved


def _checked_embedders(embed: dict) -> tuple[str, ...]:
    """Configured embedders, each known, with any weights file checked against its backbone."""
    names = embed["embedders"]
    _require_known("embed.embedders", names, available_embedders(), "embedder")
    for name, weights in embed["weights"].items():
        if name not in CNN_BACKBONES:
            raise ConfigError(
                f"embed.weights.{name}: weights apply to CNN embedders only "
                f"({', '.join(CNN_BACKBONES)})"
            )
        _check_weights_file("embed.weights", name, weights)
    return tuple(names)


def _checked_methods(task2: dict, embedders) -> tuple[str, ...]:
    names = task2["methods"]
    _require_known("task2.methods", names, sorted(METHOD_INPUT), "method")
    run = task2["run"]
    _require_listed("task2.run.method", run["method"], "task2.methods", names)
    _require_listed("task2.run.embedder", run["embedder"], "embed.embedders", embedders)
    return tuple(names)


def _training_labels(sources: list[Source]) -> list[str]:
    """Labels of a dataset's Task 2 training folders (one per folder or 2025-style subfolder)."""
    labels = []
    for source in sources:
        if source.task != "task2" or source.split != "train" or source.role != "generated":
            continue
        if source.subfolders:
            labels += [folder.name for folder in label_subfolders(source.folder)]
        else:
            labels.append(source.label)
    return labels


def _check_run_method(name: str, method: str, sources: list[Source]) -> None:
    """The submitted run's method must be able to run on every dataset."""
    if method in NEEDS_REAL and not gives_real_subsets(sources):
        raise ConfigError(
            f"task2.run.method: {method} needs each generator's real training images "
            f"(real/<subset>/), which datasets.{name} does not give; choose another method"
        )


# Methods that need several training generators: the fewest, and what for.
MIN_TRAINING_GENERATORS = {
    "openset": (3, "its leave-one-generator-out threshold"),
    "novelty": (2, "its classifier"),
}


def _checked_labels(name: str, spec: dict, labels: list[str], methods) -> int | None:
    """Check n_generators, openset's and novelty's needs and new_label against the labels."""
    declared = spec["task2"].get("n_generators")  # None: unknown, estimated by each method
    key = f"datasets.{name}.task2.n_generators"
    if declared is not None and declared < len(labels):
        raise ConfigError(
            f"{key}: {declared} is smaller than the {len(labels)} training folders "
            f"({', '.join(labels)})"
        )
    for method, (fewest, reason) in MIN_TRAINING_GENERATORS.items():
        if method in methods and len(labels) < fewest:
            raise ConfigError(
                f"task2.methods: {method} needs at least {fewest} training generators "
                f"for {reason}; datasets.{name} has {len(labels)} "
                f"({', '.join(labels)}). Remove {method} from task2.methods."
            )
    chosen = spec["task2"].get("new_label")
    if chosen and chosen in labels:
        raise ConfigError(
            f"datasets.{name}.task2.new_label: {chosen!r} is already a training label"
        )
    return declared


def _test_size(spec: dict, sources: list[Source], demo: DemoPlan | None) -> int:
    """Images in a dataset's Task 2 test folder(s): planned for the demo, counted otherwise."""
    if demo is not None:
        return demo.task2_test_count()
    count = 0
    for source in sources:
        if source.task == "task2" and source.split == "test":
            try:
                count += len(scan_folder(source.folder).images)
            except FolderError as error:
                raise ConfigError(f"{source.key}: {error}") from None
    return count


def _network_size(name: str, image_size: int | None, configured: int | None) -> int:
    if configured is not None:
        try:
            return check_size(configured)
        except TrainError as error:
            raise ConfigError(str(error)) from None
    if image_size is None:
        raise ConfigError(
            "task2.train.size: null trains at the image size, but "
            f"datasets.{name}.image_size is null too; set one of them"
        )
    return default_size(image_size)


def _pseudo_plan(
    name, train, n_generators, labels, test_size
) -> tuple[tuple[str, ...], int | None]:
    """A dataset's training rounds and, for the weakest source, how many images it labels."""
    source = train["pseudo"]["source"]
    # Round 1 learns the unseen generator; a dataset without one has only round 0. Where the
    # number is unknown, round 1 learns one, as the paper defined it.
    unseen = 1 if n_generators is None else n_generators - len(labels)
    if source == "none" or unseen < 1:
        return ("round0",), None
    if source != "weakest":
        return ("round0", "round1"), None
    # With several unseen generators, weakest still labels one class, as the paper defined
    # round 1: the round-1 networks can name one of them (the evaluation says so by scoring).
    try:
        count = pseudo_count(
            train["pseudo"]["n"], train["pseudo"]["fraction"], test_size(), "task2.train.pseudo"
        )
    except TrainError as error:
        raise ConfigError(f"datasets.{name}: {error}") from None
    return ("round0", "round1"), count


def _task2_plan(name, spec, sources, seed, demo, labels, n_generators, config) -> Task2Plan:
    train = config["task2"]["train"]
    size = _network_size(name, spec["image_size"], train["size"])
    # null: the paper's 10, or a demo-built dataset's scale's (3 at the quick default demo)
    epochs = train["epochs"] or (SCALES[demo.scale].epochs if demo is not None else PAPER_EPOCHS)
    rounds, count = _pseudo_plan(
        name, train, n_generators, labels, lambda: _test_size(spec, sources, demo)
    )
    return Task2Plan(
        labels=tuple(labels),
        n_generators=n_generators,
        new_label=spec["task2"].get("new_label"),
        size=size,
        epochs=epochs,
        rounds=rounds,
        pseudo_count=count,
        truth=(spec.get("ground_truth") or {}).get("task2"),
    )


def _checked_train_weights(train: dict) -> None:
    for name, weights in train["weights"].items():
        if name not in train["archs"]:
            raise ConfigError(
                f"task2.train.weights.{name}: not among task2.train.archs "
                f"({', '.join(train['archs'])})"
            )
        _check_weights_file("task2.train.weights", name, weights)


def _checked_attacks(task1: dict, embedders) -> tuple[str, ...]:
    _require_known("task1.attacks", task1["attacks"], available_attacks(), "attack")
    if "meta" in task1["attacks"] and len(task1["attacks"]) < 2:
        raise ConfigError("task1.attacks: meta stacks other attacks; list at least one more")
    run = task1["run"]
    if (run["attack"] is None) != (run["embedder"] is None):
        given = "attack" if run["embedder"] is None else "embedder"
        raise ConfigError(
            f"task1.run: {given} is set but not the other; give both to fix the submitted run, "
            "or neither to choose it on dev"
        )
    if run["attack"] is not None:
        _require_listed("task1.run.attack", run["attack"], "task1.attacks", task1["attacks"])
        _require_listed("task1.run.embedder", run["embedder"], "embed.embedders", embedders)
    return tuple(task1["attacks"])


def _task1_run(run: dict) -> str | None:
    """The configured submitted run's name, or None where it is chosen on dev."""
    return None if run["attack"] is None else f"{run['attack']}_{run['embedder']}"


def _task1_groups(name: str, spec: dict, sources) -> tuple[Task1Group, ...]:
    """A dataset's Task 1 groups, each with its dev patients file (resolved like its folders)
    and whether it has a test folder (``test``; without one it is for the audit only)."""
    truth = (spec.get("ground_truth") or {}).get("task1") or {}
    groups = []
    for group, roles in (spec.get("task1") or {}).items():
        if not roles:
            continue
        patients = None
        if roles.get("patients"):
            patients = resolve_path(roles.get("root") or "", roles["patients"])
            if spec["builder"] is None and not os.path.isfile(patients):
                raise ConfigError(
                    f"datasets.{name}.task1.{group}.patients: {patients} does not exist"
                )
        tested = any(
            s.task == "task1" and s.group == group and s.role == "real_unknown" for s in sources
        )
        groups.append(
            Task1Group(name=group, patients=patients, truth=truth.get(group), test=tested)
        )
    return tuple(groups)


def _audit_groups(
    audit: dict, datasets: dict[str, DatasetPlan], run_datasets, attacks, embedders
) -> dict[str, tuple[str, ...]]:
    """dataset -> the Task 1 groups the audit covers; raise naming the key on a group that a
    dataset lacks (every group of a dataset has its dev folders: datasets.py requires them)."""
    if audit["attack"] is not None:
        _require_listed("audit.attack", audit["attack"], "task1.attacks", attacks)
    if audit["embedder"] is not None:
        _require_listed("audit.embedder", audit["embedder"], "embed.embedders", embedders)
    audited = {}
    for name in run_datasets:
        plan = datasets[name]
        if not plan.audit_groups:
            continue
        wanted = plan.audit_groups if audit["groups"] is None else audit["groups"]
        for group in wanted:
            if group not in plan.audit_groups:
                raise ConfigError(
                    f"audit.groups: {group} is not a Task 1 group of dataset {name} "
                    f"(its groups: {', '.join(plan.audit_groups)})"
                )
        if wanted:
            audited[name] = tuple(wanted)
    if audit["groups"] and not audited:
        raise ConfigError(
            f"audit.groups: {', '.join(audit['groups'])} asked for, but no dataset of "
            f"run_datasets ({', '.join(run_datasets)}) has Task 1 groups"
        )
    return audited


def _checked_paper(paper: dict, embedders) -> tuple[str, ...]:
    missing = [name for name in paper["embedders"] if name not in embedders]
    if missing:
        raise ConfigError(
            f"task1.paper.embedders: {', '.join(missing)} not among "
            f"embed.embedders ({', '.join(embedders)})"
        )
    return tuple(paper["embedders"])


def build_plan(config: dict[str, Any]) -> RunPlan:
    """The run's plan from a validated config (defaults filled in).

    Raises :class:`ConfigError` with a message that starts with the config key, checking in the
    order a reader meets the config: demo, datasets, embedders, Task 2, training, Task 1.
    """
    study = _study_specs(config)
    resolved = _resolved_datasets(config, study)
    embedders = _checked_embedders(config["embed"])
    task2 = config["task2"]
    methods = _checked_methods(task2, embedders)
    # Every dataset's labels are checked before the training settings, then its networks planned.
    labelled = {}
    for name, (spec, sources, _, demo) in resolved.items():
        if spec.get("task2"):
            # A demo-built dataset's folders may not exist yet: its plan knows their labels.
            labels = demo.task2_known() if demo else _training_labels(sources)
            labelled[name] = (labels, _checked_labels(name, spec, labels, methods))
            _check_run_method(name, task2["run"]["method"], sources)
    _checked_train_weights(task2["train"])
    task2_plans = {
        name: _task2_plan(name, *resolved[name], *labelled[name], config) for name in labelled
    }
    task1 = config["task1"]
    attacks = _checked_attacks(task1, embedders)
    groups = {
        name: _task1_groups(name, spec, sources) for name, (spec, sources, *_) in resolved.items()
    }
    datasets = {
        name: DatasetPlan(
            name=name,
            spec=spec,
            sources=tuple(sources),
            task2=task2_plans.get(name),
            task1=tuple(g for g in groups[name] if g.test),
            seed=seed,
            demo=demo,
            audit_only=tuple(g for g in groups[name] if not g.test),
            # null: 60 seconds, or a demo-built dataset's scale's (10 at the quick default demo)
            paper_time_limit=task1["paper"]["time_limit"]
            or (SCALES[demo.scale].time_limit if demo is not None else PAPER_TIME_LIMIT),
        )
        for name, (spec, sources, seed, demo) in resolved.items()
    }
    paper = task1["paper"]
    return RunPlan(
        seed=config["seed"],
        datasets=datasets,
        run_datasets=tuple(config["run_datasets"]),
        study={name: where for name, (_, where) in study.items()},
        embedders=embedders,
        embed_weights=dict(config["embed"]["weights"]),
        methods=methods,
        method_settings={name: dict(task2.get(name, {})) for name in methods},
        task2_run=f"{task2['run']['method']}_{task2['run']['embedder']}",
        task2_run_method=task2["run"]["method"],
        task2_run_embedder=task2["run"]["embedder"],
        archs=tuple(task2["train"]["archs"]),
        train_weights=dict(task2["train"]["weights"]),
        pseudo_source=task2["train"]["pseudo"]["source"],
        attacks=attacks,
        attack_settings=attack_settings(task1, list(attacks)),
        task1_run=_task1_run(task1["run"]),
        task1_metric=task1["metric"],
        task1_threshold=task1["metric"] if task1["threshold"] == "metric" else task1["threshold"],
        paper_embedders=_checked_paper(paper, embedders),
        paper_fractions=tuple(f"{fraction:g}" for fraction in paper["fractions"]),
        audit_groups=_audit_groups(
            config["audit"], datasets, config["run_datasets"], attacks, embedders
        ),
    )
