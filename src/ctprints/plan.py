"""The run's plan: what a validated config means for the workflow, computed once.

:func:`ctprints.checks.build_plan` turns the config (after schema validation and defaults) into
a frozen :class:`RunPlan`: the datasets to run and their image sources, the embedders, Task 2
methods, labels, network sizes, rounds and pseudo-label counts, the Task 1 groups, attacks and
the paper's runs, and the run names. Its queries give every target's files, filled in from the
output patterns of :mod:`ctprints.paths`.

``workflow/rules/common.smk`` only reads the plan; nothing here knows about snakemake, so the plan
is unit-tested from small config dicts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ctprints.attribution import MAX_NEW, NEEDS_REAL, new_labels
from ctprints.datasets import (
    Source,
)
from ctprints.demo.scenarios import Plan as DemoPlan
from ctprints.embed import (
    CNN_BACKBONES,
    FINGERPRINTS,
)
from ctprints.paths import AUDIT_FILES, CALIBRATION_FILES, PATHS, Paths, fill, input_key
from ctprints.submission import TASK1_LABELS


@dataclass(frozen=True)
class Task2Plan:
    """What Task 2 means for one dataset."""

    labels: tuple[str, ...]  # labels of the training folders, in source order
    n_generators: int | None  # known plus unseen; None: unknown, estimated by each method
    new_label: str | None
    size: int  # network input size
    epochs: int  # training epochs per round
    rounds: tuple[str, ...]  # round0, and round1 when pseudo-labels give it a class to learn
    pseudo_count: int | None  # images the weakest source labels; None otherwise
    truth: str | None

    @property
    def unseen_label(self) -> str:
        """The name pseudo-labels give the unseen generator (docs/data.md: model_<k> continuing)."""
        return new_labels(list(self.labels), 1, self.new_label)[0]

    @property
    def truth_labels(self) -> list[str]:
        """The labels Task 2 ground truth may use: the training labels and the names the runs give
        the unseen generators (the only names a run can submit, since accuracy compares names)."""
        if self.n_generators is None:  # unknown: any name a method may give (attribution.MAX_NEW)
            unseen = MAX_NEW
        else:
            unseen = self.n_generators - len(self.labels)
        return [*self.labels, *new_labels(list(self.labels), unseen, self.new_label)]


@dataclass(frozen=True)
class TruthFile:
    """One ground-truth file of a dataset's task, as the truth check reads it."""

    input: str  # the rule input's name: "truth", or input_key("truth", group) for Task 1
    path: str
    key: str  # the config key that names the file
    group: str | None  # the Task 1 group; None for Task 2


@dataclass(frozen=True)
class Task1Group:
    """One Task 1 group of a dataset: its dev patients file and its ground truth, if any."""

    name: str
    patients: str | None
    truth: str | None
    test: bool = True  # a test folder of real images; without one the group is audit-only


def gives_real_subsets(sources) -> bool:
    """Task 2 gives each generator's real training images (the 2025 ``real/<subset>/``)."""
    return any(s.task == "task2" and s.role == "real" for s in sources)


@dataclass(frozen=True)
class DatasetPlan:
    name: str
    spec: dict[str, Any]  # the dataset config the rules use (derived from `demo` for the demo)
    sources: tuple[Source, ...]
    task2: Task2Plan | None
    task1: tuple[Task1Group, ...]  # the groups Task 1 scores: those with a test folder
    seed: int  # of the analysis; a demo-built dataset's is its demo seed
    demo: DemoPlan | None = None  # the demo plan of a `builder: demo` dataset
    audit_only: tuple[Task1Group, ...] = ()  # groups with dev folders only: the audit's
    paper_time_limit: int = 60  # AutoGluon seconds per model directory (task1.paper.time_limit)

    @property
    def has_real_subsets(self) -> bool:
        return gives_real_subsets(self.sources)

    @property
    def builder(self) -> str | None:
        return self.spec["builder"]

    @property
    def image_size(self) -> int | None:
        return self.spec["image_size"]

    @property
    def groups(self) -> list[str]:
        return [group.name for group in self.task1]

    def group(self, name: str) -> Task1Group:
        return next(group for group in (*self.task1, *self.audit_only) if group.name == name)

    @property
    def audit_groups(self) -> list[str]:
        """Every group with dev folders: Task 1's and the audit-only ones, in config order."""
        order = list(self.spec.get("task1") or {})
        return sorted([*self.groups, *(g.name for g in self.audit_only)], key=order.index)

    @property
    def task1_evaluated(self) -> bool:
        """Task 1 ground truth is configured (for every group: a part is refused earlier)."""
        return any(group.truth for group in self.task1)


@dataclass(frozen=True)
class RunPlan:
    """Everything the rules need to know about a run, derived from the config once."""

    seed: int
    datasets: dict[str, DatasetPlan]  # every dataset the rules may run on: run_datasets, study's
    run_datasets: tuple[str, ...]  # the datasets the target rules run on
    study: dict[str, tuple[str, int]]  # the study's datasets: name -> (scenario, seed)
    embedders: tuple[str, ...]
    embed_weights: dict[str, str]
    methods: tuple[str, ...]
    method_settings: dict[str, dict]
    task2_run: str  # <method>_<embedder> of task2.run
    task2_run_method: str
    task2_run_embedder: str
    archs: tuple[str, ...]
    train_weights: dict[str, str]
    pseudo_source: str
    attacks: tuple[str, ...]
    attack_settings: dict[str, dict]
    task1_run: str | None  # <attack>_<embedder> of task1.run; None: chosen on dev
    task1_metric: str  # the challenge's metric that chooses the submitted run: f1 or kappa
    task1_threshold: str  # the hard labels' threshold rule: f1, kappa, youden or prior
    paper_embedders: tuple[str, ...]
    paper_fractions: tuple[str, ...]  # as written in names: 0.5, 1
    audit_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # dataset -> groups
    paths: Paths = field(default=PATHS)

    # ------------------------------------------------------------------ names

    @property
    def fingerprint_embedders(self) -> list[str]:
        return [name for name in self.embedders if name in FINGERPRINTS]

    @property
    def cnn_embedders(self) -> list[str]:
        return [name for name in self.embedders if name in CNN_BACKBONES]

    @property
    def networks(self) -> list[str]:
        return [*self.archs, "ensemble"]

    @property
    def task2_datasets(self) -> list[str]:
        return [name for name in self.run_datasets if self.datasets[name].task2]

    @property
    def task1_datasets(self) -> list[str]:
        return [name for name in self.run_datasets if self.datasets[name].task1]

    @property
    def task2_evaluated(self) -> list[str]:
        """Task 2 datasets whose ground truth is configured (the demo's always is)."""
        return [name for name in self.task2_datasets if self.datasets[name].task2.truth]

    @property
    def task1_evaluated(self) -> list[str]:
        """Datasets with Task 1 ground truth, sorted."""
        return sorted(name for name in self.run_datasets if self.datasets[name].task1_evaluated)

    @property
    def rounds(self) -> list[str]:
        return sorted({r for task2 in self._task2_plans for r in task2.rounds})

    @property
    def sizes(self) -> list[str]:
        return sorted({str(task2.size) for task2 in self._task2_plans})

    @property
    def groups(self) -> list[str]:
        return sorted({g for dataset in self.datasets.values() for g in dataset.audit_groups})

    @property
    def _task2_plans(self) -> list[Task2Plan]:
        """Task 2 of every dataset the rules may run on (for the wildcards' values)."""
        return [dataset.task2 for dataset in self.datasets.values() if dataset.task2]

    @property
    def demo_datasets(self) -> list[str]:
        """Every dataset built by the demo (run or study): the demo rules' `dataset` values."""
        return [name for name, dataset in self.datasets.items() if dataset.demo]

    @property
    def instances(self) -> list[str]:
        """Every demo generator name (the `instance` wildcard)."""
        return sorted(
            {i for name in self.demo_datasets for i in self.datasets[name].demo.instances}
        )

    @property
    def paper_runs(self) -> dict[tuple[str, str], str]:
        """The paper's Task 1 runs: (embedder, fraction) -> their name in tables and run files."""
        return {
            (embedder, fraction): f"paper_f{fraction}_{embedder}"
            for embedder in self.paper_embedders
            for fraction in self.paper_fractions
        }

    def task2_runs(self, dataset: str) -> dict[str, dict[str, str]]:
        """Every Task 2 run of a dataset: run name -> method and features, in table order."""
        runs = {
            f"{method}_{embedder}": {"method": method, "features": embedder}
            for method in self.task2_methods(dataset)
            for embedder in self.embedders
        }
        task2 = self.datasets[dataset].task2
        for round_ in task2.rounds:
            for network in self.networks:
                runs[f"{network}_{task2.size}_{round_}"] = {
                    "method": f"cnn_{round_}",
                    "features": f"{network}_{task2.size}",
                }
        return runs

    def task2_methods(self, dataset: str) -> list[str]:
        """The configured methods that can run on a dataset: those needing real subsets
        (:data:`ctprints.attribution.NEEDS_REAL`) only where the dataset gives them."""
        real = self.datasets[dataset].has_real_subsets
        return [method for method in self.methods if real or method not in NEEDS_REAL]

    def skipped_methods(self, dataset: str) -> list[str]:
        """Configured methods that do not run on a dataset, because it lacks what they need."""
        return [method for method in self.methods if method not in self.task2_methods(dataset)]

    @property
    def run_names(self) -> list[str]:
        """Every Task 2 run name of every dataset (the `run` wildcard)."""
        names = [name for name, dataset in self.datasets.items() if dataset.task2]
        return sorted({run for name in names for run in self.task2_runs(name)})

    def task2_paper_runs(self, dataset: str) -> list[str]:
        """The paper's Task 2 approach as runs of this workflow: t-SNE + k-means, the ensemble."""
        task2 = self.datasets[dataset].task2
        if task2 is None:
            return []
        return [
            f"tsne_kmeans_{self.task2_run_embedder}",
            f"ensemble_{task2.size}_{task2.rounds[-1]}",
        ]

    def task2_paper_baselines(self, dataset: str) -> dict[str, str]:
        """How each of the paper's Task 2 runs here stands to the paper's own: run -> "pretrained
        (<weights>)" where the user gave weights, else what stands in for them (a fingerprint
        for the paper's pretrained CNN embedding, or a random-weight network)."""
        if not (runs := self.task2_paper_runs(dataset)):
            return {}
        tsne, ensemble = runs
        embedder, weights = self.task2_run_embedder, self.embed_weights
        note = "random-weight stand-in" if weights.get(embedder, "none") == "none" else None
        if embedder in FINGERPRINTS:
            note = f"stand-in: the {embedder} fingerprint for a pretrained CNN embedding"
        notes = {tsne: note or f"pretrained ({weights[embedder]})"}
        weights = sorted({self.train_weights.get(arch, "none") for arch in self.archs})
        if weights == ["none"]:
            notes[ensemble] = "random-weight stand-in"
        elif "none" in weights:
            notes[ensemble] = "partly random-weight stand-in"
        else:
            notes[ensemble] = f"pretrained ({', '.join(weights)})"
        return notes

    def task1_attack_runs(self) -> list[str]:
        """Every attack run name, embedders outer (the evaluation table's order)."""
        return [f"{attack}_{embedder}" for embedder in self.embedders for attack in self.attacks]

    @property
    def autogluon_runs(self) -> dict[str, str]:
        """The pair classifier on equal terms with the attacks: embedder -> run name."""
        return {embedder: f"autogluon_{embedder}" for embedder in self.paper_embedders}

    def task1_candidates(self) -> dict[str, str]:
        """The runs the submitted run is chosen from, each with its score column: every attack
        run, then AutoGluon's."""
        runs = {
            f"{attack}_{embedder}": attack for embedder in self.embedders for attack in self.attacks
        }
        return runs | {run: "autogluon" for run in self.autogluon_runs.values()}

    def task1_candidate_scores(self, dataset: str, group: str) -> dict[str, str]:
        """Each candidate run's score file, for the choice of the submitted run."""
        where = {"dataset": dataset, "group": group}
        files = {
            f"{attack}_{embedder}": fill(self.paths.task1_scores, embedder=embedder, **where)
            for embedder in self.embedders
            for attack in self.attacks
        }
        return files | {
            run: fill(self.paths.autogluon_cv_scores, paper_embedder=embedder, **where)
            for embedder, run in self.autogluon_runs.items()
        }

    # ------------------------------------------------------------------ files

    def task2_run_files(self, dataset: str, runs=None) -> list[str]:
        runs = self.task2_runs(dataset) if runs is None else runs
        return [fill(self.paths.task2_run, dataset=dataset, run=run) for run in runs]

    def task1_run_files(self, dataset: str, runs) -> list[str]:
        """Run files of the given runs in every Task 1 group of the dataset, groups outer."""
        return [
            fill(self.paths.task1_run, dataset=dataset, group=group, run=run)
            for group in self.datasets[dataset].groups
            for run in runs
        ]

    def task1_all_run_files(self, dataset: str) -> list[str]:
        """Every Task 1 run file of a dataset: the candidates', then the paper's."""
        return self.task1_run_files(dataset, list(self.task1_candidates())) + self.task1_run_files(
            dataset, self.paper_runs.values()
        )

    def task1_submitted_files(self, dataset: str, kind: str = "task1_submitted") -> list[str]:
        """Every Task 1 group's submitted run file (or, with ``kind="task1_selection"``, the
        table that chose it)."""
        pattern = getattr(self.paths, kind)
        groups = self.datasets[dataset].groups
        return [fill(pattern, dataset=dataset, group=group) for group in groups]

    def task1_evaluation_inputs(self, dataset: str) -> dict[str, str]:
        """Inputs of the Task 1 evaluation, each named by :func:`input_key`: every group's truth,
        score files, attack run files, the paper's scores and run files."""
        paths, inputs = self.paths, {}
        for group in self.datasets[dataset].task1:
            where = {"dataset": dataset, "group": group.name}
            inputs[input_key("truth", group.name)] = group.truth
            for embedder in self.embedders:
                inputs[input_key("scores", group.name, embedder)] = fill(
                    paths.task1_scores, embedder=embedder, **where
                )
            for run in self.task1_attack_runs():
                inputs[input_key("run", group.name, run)] = fill(paths.task1_run, run=run, **where)
            for embedder, run in self.autogluon_runs.items():
                inputs[input_key("autogluon", group.name, embedder)] = fill(
                    paths.autogluon_cv_scores, paper_embedder=embedder, **where
                )
                inputs[input_key("run", group.name, run)] = fill(paths.task1_run, run=run, **where)
            for (embedder, fraction), run in self.paper_runs.items():
                paper = f"{embedder}_f{fraction}"
                inputs[input_key("paper", group.name, paper)] = fill(
                    paths.paper_scores, paper=paper, **where
                )
                inputs[input_key("paper_run", group.name, run)] = fill(
                    paths.task1_run, run=run, **where
                )
        return inputs

    def truth_files(self, dataset: str, task: str) -> list[TruthFile]:
        """The configured ground truth of a dataset's task: Task 2's file, or every Task 1
        group's."""
        plan, base = self.datasets[dataset], f"datasets.{dataset}.ground_truth"
        if task == "task2":
            truth = plan.task2.truth if plan.task2 else None
            return [TruthFile("truth", truth, f"{base}.task2", None)] if truth else []
        return [
            TruthFile(
                input_key("truth", group.name),
                group.truth,
                f"{base}.task1.{group.name}",
                group.name,
            )
            for group in plan.task1
            if group.truth
        ]

    def truth_labels(self, dataset: str, task: str) -> list[str]:
        """The labels a dataset's ground truth may use for a task."""
        if task == "task1":
            return list(TASK1_LABELS)
        return self.datasets[dataset].task2.truth_labels

    def evaluation_outputs(self, dataset: str, task: str) -> list[str]:
        """Glob patterns of every evaluation output of a dataset's task, of any run, group or
        embedder, and its summary: what a failed truth check removes, so that nothing scored
        against an earlier truth stays on disk looking current. They do not depend on the
        configured runs, so a changed run list does not rerun the check."""
        paths, where = self.paths, {"dataset": dataset, "task": task}
        patterns = [fill(paths.table, **where), fill(paths.table_html, **where)]
        if task == "task2":
            patterns += [
                fill(paths.confusion, dataset=dataset, run="*"),
                fill(paths.paired, **where),
            ]
        else:
            patterns.append(fill(paths.roc, dataset=dataset, group="*", embedder="*"))
        return [*patterns, fill(paths.summary, dataset=dataset)]

    def summary_inputs(self, dataset: str) -> dict[str, Any]:
        """Every run file of the dataset, and its evaluation tables where ground truth exists."""
        inputs: dict[str, Any] = {"task2_runs": [], "task1_runs": []}
        plan = self.datasets[dataset]
        if plan.task2:
            inputs["task2_runs"] = self.task2_run_files(dataset)
            if plan.task2.truth:
                inputs["task2_table"] = fill(self.paths.table, dataset=dataset, task="task2")
        if plan.task1:
            inputs["task1_runs"] = self.task1_all_run_files(dataset) + self.task1_submitted_files(
                dataset
            )
            inputs["task1_selection"] = self.task1_submitted_files(dataset, "task1_selection")
            if plan.task1_evaluated:
                inputs["task1_table"] = fill(self.paths.table, dataset=dataset, task="task1")
        return inputs

    # ------------------------------------------------------------------ targets

    def demo_data_files(self) -> list[str]:
        """The image folders and ground truth of every demo-built dataset of run_datasets."""
        files = []
        for name in self.run_datasets:
            if self.datasets[name].demo:
                files += self.demo_folders(name) + self.demo_truth_files(name)
        return files

    def manifests(self) -> list[str]:
        return [fill(self.paths.manifest, dataset=name) for name in self.run_datasets]

    def embedding_files(self) -> list[str]:
        return [
            fill(self.paths.embeddings, dataset=name, embedder=embedder)
            for name in self.run_datasets
            for embedder in self.embedders
        ]

    def submission_task2(self) -> list[str]:
        return [
            name for d in self.task2_datasets for name in self.task2_run_files(d, [self.task2_run])
        ]

    def submission_task2_networks(self) -> list[str]:
        files = []
        for name in self.task2_datasets:
            task2 = self.datasets[name].task2
            runs = [
                f"{network}_{task2.size}_{round_}"
                for network in self.networks
                for round_ in task2.rounds
            ]
            files += self.task2_run_files(name, runs)
        return files

    def submission_task1(self) -> list[str]:
        files = [f for name in self.task1_datasets for f in self.task1_submitted_files(name)]
        return files + [
            f
            for name in self.task1_datasets
            for f in self.task1_run_files(name, self.paper_runs.values())
        ]

    def evaluation_files(self) -> list[str]:
        """Tables, HTML tables, confusion matrices and ROC figures of every evaluated dataset."""
        paths = self.paths
        files = [fill(paths.table, dataset=name, task="task2") for name in self.task2_evaluated]
        files += [
            fill(paths.table_html, dataset=name, task="task2") for name in self.task2_evaluated
        ]
        files += [
            fill(paths.table_html, dataset=name, task="task1") for name in self.task1_evaluated
        ]
        files += [
            fill(paths.confusion, dataset=name, run=run)
            for name in self.task2_evaluated
            for run in self.task2_runs(name)
        ]
        files += [fill(paths.table, dataset=name, task="task1") for name in self.task1_evaluated]
        files += [
            fill(paths.roc, dataset=name, group=group.name, embedder=embedder)
            for name in self.task1_evaluated
            for group in self.datasets[name].task1
            if group.truth
            for embedder in self.embedders
        ]
        return files

    def figures(self) -> list[str]:
        """t-SNE figures of every Task 2 dataset and the demo's own figure and signal report."""
        paths = self.paths
        files = [
            fill(paths.tsne_plot, dataset=name, embedder=embedder)
            for name in self.task2_datasets
            for embedder in self.embedders
        ]
        files += [fill(paths.tsne_panel, dataset=name) for name in self.task2_datasets]
        for name in self.run_datasets:
            if self.datasets[name].demo:
                files += [fill(paths.demo_contact_sheet, dataset=name)]
                files += [fill(paths.demo_signal, dataset=name)]
        return files

    def summaries(self) -> list[str]:
        return [fill(self.paths.summary, dataset=name) for name in self.run_datasets]

    def audit_file(self, dataset: str, group: str, name: str) -> str:
        return fill(self.paths.audit, dataset=dataset, group=group, name=AUDIT_FILES[name])

    def audit_files(self) -> list[str]:
        """Every audited group's files (target audit)."""
        return [
            self.audit_file(dataset, group, name)
            for dataset, groups in self.audit_groups.items()
            for group in groups
            for name in AUDIT_FILES
        ]

    def calibration_files(self) -> list[str]:
        """Every audited group's calibration files and every audited dataset's family-wise
        table (target audit_calibration)."""
        return [
            fill(self.paths.calibration, dataset=dataset, group=group, name=name)
            for dataset, groups in self.audit_groups.items()
            for group in groups
            for name in CALIBRATION_FILES.values()
        ] + [fill(self.paths.family_calibration, dataset=dataset) for dataset in self.audit_groups]

    def audit_group_files(self, dataset: str, name: str) -> dict[str, str]:
        """Group -> its audit file ``name`` (a key of AUDIT_FILES), for every audited group of
        ``dataset``, in config order."""
        return {
            group: self.audit_file(dataset, group, name)
            for group in self.audit_groups.get(dataset, ())
        }

    def audit_verdicts(self) -> dict[str, str]:
        """``input_key("verdict", dataset, group)`` -> its verdict.json (target audit_gate)."""
        return {
            input_key("verdict", dataset, group): self.audit_file(dataset, group, "verdict")
            for dataset, groups in self.audit_groups.items()
            for group in groups
        }

    def demo_folders(self, dataset: str) -> list[str]:
        """The Task 1 and Task 2 image folders rule demo_layout writes for a dataset."""
        return [fill(self.paths.demo_folder, dataset=dataset, task=t) for t in ("task1", "task2")]

    def demo_truth_files(self, dataset: str) -> list[str]:
        """The ground truth a demo-built dataset's builder writes."""
        groups = self.datasets[dataset].demo.task1_groups
        names = [f"task1_{group}" for group in groups] + ["task2", "patients"]
        return [fill(self.paths.demo_truth, dataset=dataset, name=name) for name in names]

    def demo_instance(self, dataset: str, name: str) -> dict[str, Any]:
        """A planned demo generator as plain data."""
        return asdict(self.datasets[dataset].demo.instances[name])

    def demo_samples(self, dataset: str) -> list[str]:
        """The sample files of every generator of a demo-built dataset."""
        instances = self.datasets[dataset].demo.instances
        return [fill(self.paths.demo_samples, dataset=dataset, instance=name) for name in instances]

    def study_files(self) -> list[str]:
        """What the study's leaderboard reads: each study dataset's evaluation tables and its
        signal report (the files :meth:`study_datasets` names)."""
        entries = self.study_datasets()
        return [
            entry[key] for key in ("task2", "task1", "signal") for entry in entries if entry[key]
        ]

    def study_datasets(self) -> list[dict[str, Any]]:
        """The study's datasets as the leaderboard script reads them."""
        return [
            {
                "dataset": name,
                "scenario": scenario,
                "seed": seed,
                "task2": fill(self.paths.table, dataset=name, task="task2"),
                "task1": fill(self.paths.table, dataset=name, task="task1")
                if self.datasets[name].task1_evaluated
                else None,
                "signal": fill(self.paths.demo_signal, dataset=name),
                "paper_runs": self.task2_paper_runs(name),
                "paper_baselines": self.task2_paper_baselines(name),
            }
            for name, (scenario, seed) in self.study.items()
        ]
