"""What the rules ask a scheduler for: portable resources only, growing with each retry."""

from __future__ import annotations

import re

import pytest
from conftest import run_snakemake, tiny_config

from ctprints.config import per_attempt

pytestmark = pytest.mark.workflow

GPU_RULES = {"demo_generator", "embed_cnn", "train_round0", "train_round1"}
# Target rules only collect inputs; they run nothing and ask for nothing.
TARGETS = {"all", "manifests", "embeddings", "evaluate"} | {
    f"submission_{name}" for name in ("task1", "task2", "task2_networks")
}


def test_per_attempt_grows_with_each_try() -> None:
    resource = per_attempt(4000)
    assert [resource({}, attempt) for attempt in (1, 2, 3)] == [4000, 8000, 12000]


@pytest.mark.parametrize("base", [0, -5, 1.5, "4G", True])
def test_per_attempt_rejects_what_is_not_a_positive_integer(base) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(base))):
        per_attempt(base)


def planned_resources(output: str) -> list[tuple[str, dict[str, str]]]:
    """(rule, resources) for every job of a dry run."""
    jobs, rule = [], None
    for line in output.splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
        elif line.strip().startswith("resources:") and rule:
            pairs = line.split(":", 1)[1].split(",")
            if rule not in TARGETS:
                jobs.append((rule, dict(pair.strip().split("=", 1) for pair in pairs)))
            rule = None
    return jobs


def test_every_job_states_memory_and_time_and_doubles_them_on_the_second_try(tmp_path) -> None:
    tiny_config(tmp_path)  # resnet18 among the embedders: embed_cnn is planned
    first = planned_resources(run_snakemake(tmp_path, "-n", "all").stdout)
    second = planned_resources(run_snakemake(tmp_path, "-n", "--attempt", "2", "all").stdout)
    assert len(first) == len(second) > 50
    for rule, one in first:
        # Portable needs only: nothing about partitions, accounts or GPU models in a rule.
        assert not any(key.startswith(("slurm", "gres", "gpu_model")) for key in one), rule
        assert (one.get("gpu") == "1") == (rule in GPU_RULES), rule

    def needs(jobs, rule, factor=1):
        return sorted(
            (int(r["mem_mb"]) * factor, int(r["runtime"]) * factor)
            for name, r in jobs
            if name == rule
        )

    rules = {rule for rule, _ in first}
    assert GPU_RULES <= rules
    for rule in rules:
        assert needs(second, rule) == needs(first, rule, factor=2), rule
