"""The run's plan: what a validated config means for the workflow, computed once.

:func:`build_plan` turns the config (after schema validation and defaults) into a frozen
:class:`RunPlan`: the datasets to run and their image sources, the embedders, Task 2 methods,
labels, network sizes, rounds and pseudo-label counts, the Task 1 groups, attacks and the paper's
runs, the run names, and every output path pattern (:class:`Paths`). Every config problem that can
be found before a job starts raises :class:`ctprints.config.ConfigError` naming the key.

``workflow/rules/common.smk`` only reads the plan; nothing here knows about snakemake, so the plan
is unit-tested from small config dicts.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ctprints.attacks import attack_settings, available_attacks
from ctprints.attribution import METHOD_INPUT, NEEDS_REAL, new_labels
from ctprints.config import ConfigError
from ctprints.datasets import (
    Source,
    check_paths_exist,
    dataset_sources,
    label_subfolders,
    resolve_path,
)
from ctprints.demo import SCALES, SCENARIOS, plan_demo
from ctprints.demo import Plan as DemoPlan
from ctprints.demo import dataset_spec as demo_dataset_spec
from ctprints.embed import (
    CNN_BACKBONES,
    FINGERPRINTS,
    EmbedderError,
    available_embedders,
    check_state_dict,
)
from ctprints.io import FolderError, scan_folder
from ctprints.submission import TASK1_LABELS
from ctprints.train import TrainError, check_size, default_size, pseudo_count

DEMO_ROOT = "data/{dataset}"  # where a `builder: demo` dataset is written
STUDY = "study"  # results/study/ holds the study's leaderboard, so no dataset may take the name
# Keys a dataset built by the demo may not set, since the demo section decides them.
_DEMO_DECIDES = ("ground_truth", "task1", "task2")


@dataclass(frozen=True)
class Paths:
    """Every output path pattern of the workflow, each named once.

    A rule writes a pattern (filling some wildcards with :func:`fill`), and every other place that
    needs the file formats the same pattern.
    """

    demo_real: str = "results/{dataset}/benchmark/real.npz"
    demo_model: str = "results/{dataset}/benchmark/generators/{instance}/model.pt"
    demo_history: str = "results/{dataset}/benchmark/generators/{instance}/history.tsv"
    demo_samples: str = "results/{dataset}/benchmark/generators/{instance}/samples.npz"
    demo_folder: str = DEMO_ROOT + "/{task}"
    demo_truth: str = DEMO_ROOT + "/ground_truth/{name}.csv"
    # Every Task 1 group's truth in one table, which rule demo_task1_truth splits per group.
    demo_task1_truth: str = "results/{dataset}/benchmark/task1_truth.csv"
    demo_signal: str = "results/{dataset}/benchmark/signal.tsv"
    demo_contact_sheet: str = "results/{dataset}/contact_sheet.png"
    manifest: str = "results/{dataset}/manifest.parquet"
    embeddings: str = "results/{dataset}/embeddings/{embedder}.parquet"
    tsne: str = "results/{dataset}/task2/tsne/{embedder}.parquet"
    tsne_plot: str = "results/{dataset}/task2/plots/tsne_{embedder}.png"
    tsne_panel: str = "results/{dataset}/task2/plots/tsne_panel.png"
    clusters: str = "results/{dataset}/task2/clusters/{method}/{embedder}.csv"
    learner: str = "results/{dataset}/task2/models/{arch}_{size}/{round}/export.pkl"
    train_metrics: str = "results/{dataset}/task2/models/{arch}_{size}/{round}/metrics.csv"
    predictions: str = "results/{dataset}/task2/predictions/{run}.csv"
    pseudo: str = "results/{dataset}/task2/pseudo/{arch}_{size}.csv"
    task2_run: str = "results/{dataset}/submissions/task2/{run}.csv"
    task1_scores: str = "results/{dataset}/task1/{group}/scores/{embedder}.csv"
    autogluon: str = "results/{dataset}/task1/{group}/autogluon/{paper}"
    paper_scores: str = "results/{dataset}/task1/{group}/paper/{paper}.csv"
    # The pair classifier on equal terms with the attacks: every dev image, the same folds.
    autogluon_cv_scores: str = "results/{dataset}/task1/{group}/autogluon_cv/{paper_embedder}.csv"
    # Every candidate run's cross-validated dev F1 and kappa, and which run is submitted.
    task1_selection: str = "results/{dataset}/task1/{group}/selection.tsv"
    task1_submitted: str = "results/{dataset}/submissions/task1/{group}/submitted.csv"
    task1_run: str = "results/{dataset}/submissions/task1/{group}/{run}.csv"
    truth_check: str = "results/{dataset}/evaluation/truth_check/{task}.tsv"
    table: str = "results/{dataset}/evaluation/{task}.tsv"
    table_html: str = "results/{dataset}/evaluation/{task}.html"
    confusion: str = "results/{dataset}/evaluation/confusion/task2_{run}.png"
    roc: str = "results/{dataset}/evaluation/roc/task1_{group}_{embedder}.png"
    summary: str = "results/{dataset}/summary.md"
    audit: str = "results/{dataset}/audit/{group}/{name}"  # name: one of AUDIT_FILES
    leaderboard: str = f"results/{STUDY}/leaderboard.tsv"
    leaderboard_md: str = f"results/{STUDY}/leaderboard.md"
    leaderboard_plot: str = f"results/{STUDY}/leaderboard.png"
    leaderboard_task1_plot: str = f"results/{STUDY}/leaderboard_task1.png"


PATHS = Paths()
# What rule audit writes per group (docs/task1-and-audit.md).
AUDIT_FILES = {
    "risk": "risk.csv",
    "patients": "patients.csv",
    "attacks": "attacks.tsv",
    "statistics": "statistics.tsv",
    "verdict": "verdict.json",
    "evidence": "evidence.png",
    "scores": "scores.png",
    "report": "report.md",
}


def fill(pattern: str, **parts: str) -> str:
    """``pattern`` with the named wildcards replaced and every other wildcard left in place.

    ``fill(PATHS.task2_run, run="{method}_{embedder}")`` is the pattern rule run_file_task2
    writes; ``fill(PATHS.task2_run, dataset="demo", run="openset_spectrum")`` is one file.
    """
    for name, value in parts.items():
        pattern = pattern.replace("{" + name + "}", str(value))
    return pattern


def one_of(names) -> str:
    """A wildcard regex matching exactly these names (and nothing when there are none)."""
    return "|".join(re.escape(name) for name in names) or "(?!)"


def input_key(kind: str, *parts: str) -> str:
    """The name of one keyed rule input, e.g. ``input_key("scores", "group1", "spectrum")``.

    A rule with a variable number of inputs names each one with this function (in its input
    function) and its script looks each one up the same way, so nothing depends on input order.
    """
    return "__".join([kind, *parts])


@dataclass(frozen=True)
class Task2Plan:
    """What Task 2 means for one dataset."""

    labels: tuple[str, ...]  # labels of the training folders, in source order
    n_generators: int  # known plus unseen
    new_label: str | None
    size: int  # network input size
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
    seed: int  # of the analysis; a demo-built dataset's is its benchmark seed
    demo: DemoPlan | None = None  # the benchmark plan of a `builder: demo` dataset
    audit_only: tuple[Task1Group, ...] = ()  # groups with dev folders only: the audit's

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
            patterns.append(fill(paths.confusion, dataset=dataset, run="*"))
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

    def benchmark_files(self) -> list[str]:
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

    def audit_verdicts(self) -> dict[str, str]:
        """``input_key("verdict", dataset, group)`` -> its verdict.json (target audit_gate)."""
        return {
            input_key("verdict", dataset, group): self.audit_file(dataset, group, "verdict")
            for dataset, groups in self.audit_groups.items()
            for group in groups
        }

    def demo_folders(self, dataset: str) -> list[str]:
        """The Task 1 and Task 2 image folders rule demo_benchmark writes for a dataset."""
        return [fill(self.paths.demo_folder, dataset=dataset, task=t) for t in ("task1", "task2")]

    def demo_truth_files(self, dataset: str) -> list[str]:
        """The ground truth a demo-built dataset's benchmark writes."""
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
            }
            for name, (scenario, seed) in self.study.items()
        ]


# ----------------------------------------------------------------------------- building


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
    benchmark plan: the top-level `demo` section with the dataset's own `demo` keys (errors in
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


def _checked_labels(name: str, spec: dict, labels: list[str], methods) -> int:
    """Check n_generators, openset's and novelty's needs and new_label against the labels."""
    declared = spec["task2"].get("n_generators")
    key = f"datasets.{name}.task2.n_generators"
    if declared is None:
        raise ConfigError(
            f"{key}: required for attribution (known plus unseen generators; "
            f"{len(labels)} have training folders)"
        )
    if declared < len(labels):
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
    unseen = n_generators - len(labels)
    # Round 1 learns the unseen generator; a dataset without one has only round 0.
    if source == "none" or unseen < 1:
        return ("round0",), None
    if source != "weakest":
        return ("round0", "round1"), None
    if unseen > 1:
        raise ConfigError(
            f"task2.train.pseudo.source: weakest labels one unseen generator, "
            f"but datasets.{name} has {unseen} (n_generators {n_generators}, "
            f"{len(labels)} training folders); use source: openset"
        )
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
    rounds, count = _pseudo_plan(
        name, train, n_generators, labels, lambda: _test_size(spec, sources, demo)
    )
    return Task2Plan(
        labels=tuple(labels),
        n_generators=n_generators,
        new_label=spec["task2"].get("new_label"),
        size=size,
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
