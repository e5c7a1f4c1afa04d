"""The SLURM profile against a real single-node SLURM cluster that the tests start and stop.

Needs root (to start slurmctld/slurmd and write /etc/slurm) and Debian's slurm-wlm and munge,
which are installed with apt-get when missing. Skipped, with the reason, only where that is
impossible.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, SNAKEMAKE, tiny_config
from slurm_cluster import SlurmCluster, free_port, missing_reason

from ctprints.submission import read_run

pytestmark = pytest.mark.slurm

PROFILE = str(REPO / "profiles" / "slurm")
GPU_RULES = {"demo_generator", "embed_cnn", "train_round0", "train_round1"}
SUBMITTED = re.compile(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: (\S+)\)")
SBATCH = re.compile(r"^sbatch call: (sbatch .*?--comment rule_(\w+?)(?:_wildcards_\S+)?\s.*)$")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    # Two fake GPUs and one-thread jobs (below): two jobs run at once on the 2-CPU test machine.
    slurm = SlurmCluster(tmp_path_factory.mktemp("slurm"), gpus=2)
    try:
        slurm.start()
        yield slurm
    finally:
        slurm.stop()


def run_profile(
    workdir: Path, *args: str, snakefile: Path | None = None, env: dict | None = None, timeout=1200
) -> subprocess.CompletedProcess:
    """`snakemake --profile profiles/slurm` with quick status checks, as a user would run it."""
    command = [
        SNAKEMAKE,
        "--snakefile",
        str(snakefile or REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--profile",
        PROFILE,
        # Rules ask for up to 8 threads; one each lets the test node run several jobs at once.
        "--max-threads",
        "1",
        # Poll squeue 2 s after a submission instead of the plugin's 40 s, and then every 1 s
        # instead of snakemake's 10 s: the jobs here take seconds.
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--seconds-between-status-checks",
        "1",
        "--latency-wait",
        "5",
        "--verbose",
        *args,
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )


def submissions(log: str) -> dict[str, list[str]]:
    """Rule name -> SLURM job IDs, from the lines the executor logs on each submission."""
    jobs: dict[str, list[str]] = {}
    for job_id, slurm_log in SUBMITTED.findall(log):
        rule = re.search(r"/rule_(\w+?)/", slurm_log).group(1)
        jobs.setdefault(rule, []).append(job_id)
    return jobs


def sbatch_calls(log: str) -> dict[str, list[str]]:
    calls: dict[str, list[str]] = {}
    for line in log.splitlines():
        match = SBATCH.match(line)
        if match:
            calls.setdefault(match.group(2), []).append(match.group(1).split(" --wrap=")[0])
    return calls


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    """The tiny demo to both tasks' run files (and the networks' ones) through SLURM."""
    workdir = tmp_path_factory.mktemp("slurm_demo")
    # The two challenge-like groups: the leakage-free group3 adds nothing SLURM-specific.
    tiny_config(workdir, **{"demo.task1": {g: {"family": "vae"} for g in ("group1", "group2")}})
    result = run_profile(
        workdir, "submission_task1", "submission_task2", "submission_task2_networks"
    )
    log = result.stdout + result.stderr
    (workdir / "snakemake.out").write_text(log)
    assert result.returncode == 0, log[-6000:] + cluster.logs()
    return workdir, log


def test_run_files_are_written_and_valid(slurm_run) -> None:
    workdir, _ = slurm_run
    runs = workdir / "results" / "demo" / "submissions"
    test2 = {p.stem for p in (workdir / "data/demo/task2/test").rglob("*.png")}
    for name in ("tsne_kmeans_spectrum", "ensemble_32_round1", "resnet18_32_round0"):
        assert read_run(runs / "task2" / f"{name}.csv", task=2, expected_ids=test2)
    for group in ("group1", "group2"):
        test1 = {p.stem for p in (workdir / f"data/demo/task1/{group}/real_unknown_1").glob("*")}
        for name in ("meta_pixels", "paper_f0.5_spectrum"):
            assert read_run(runs / "task1" / group / f"{name}.csv", task=1, expected_ids=test1)


def test_every_job_went_through_slurm_and_completed(slurm_run, cluster) -> None:
    workdir, log = slurm_run
    jobs = submissions(log)
    # Every rule with work to do, except the run-file localrules, was an sbatch job.
    assert {"demo_patients", "demo_generator", "manifest", "tsne", "cluster", "paper_task1"} <= set(
        jobs
    )
    assert {"train_round0", "train_round1", "scores_task1", "embed_fingerprint"} <= set(jobs)
    assert not {"run_file_task1", "run_file_task2", "run_file_network", "select_task1"} & set(jobs)
    assert len(jobs["demo_generator"]) == 6 and len(jobs["train_round0"]) == 3
    for rule, ids in jobs.items():
        for job_id in ids:
            record = cluster.job(job_id)
            assert record["JobState"] == "COMPLETED", (rule, record)
            assert record["WorkDir"] == str(workdir)
            assert record["Partition"] == "main"


def test_gpu_rules_and_only_they_request_a_gpu(slurm_run, cluster) -> None:
    _, log = slurm_run
    calls = sbatch_calls(log)
    assert GPU_RULES & set(calls) == GPU_RULES  # embed_cnn: resnet18 is a Task 1 candidate
    for rule, lines in calls.items():
        for line in lines:
            assert ("--gpus=1" in line) == (rule in GPU_RULES), line
            assert re.search(r" -t \d+ --mem \d+ ", line), line
    for rule, ids in submissions(log).items():
        for job_id in ids:
            allocated = cluster.job(job_id).get("TresPerJob", "")
            assert ("gpu:1" in allocated) == (rule in GPU_RULES), (rule, allocated)


def test_the_local_one_gpu_cap_is_lifted_on_the_cluster(slurm_run) -> None:
    """profiles/default's `gpu=1` would submit one GPU job at a time; the cluster gets them all."""
    _, log = slurm_run
    first_finish = log.index("(Rule: demo_generator)")
    before = SUBMITTED.findall(log[:first_finish])
    generators = [path for _, path in before if "/rule_demo_generator/" in path]
    assert len(generators) == 6


def test_slurm_logs_go_under_logs_slurm(slurm_run) -> None:
    workdir, log = slurm_run
    for lines in sbatch_calls(log).values():
        for line in lines:
            output = re.search(r"--output (\S+)", line).group(1)
            assert output.startswith(f"{workdir}/logs/slurm/rule_"), line
    # The plugin deletes a successful job's SLURM log; the rules' own logs stay under logs/.
    assert (workdir / "logs" / "train_round0").is_dir() and (workdir / "logs" / "tsne").is_dir()


HOG = """
from ctprints.config import per_attempt


rule hog:
    output:
        "hog.txt",
    resources:
        mem_mb=per_attempt(400),
        runtime=per_attempt(5),
    shell:
        "python3 -c 'import time; x = bytearray(300 * 2**20); time.sleep(4)'"
        " && echo {resources.mem_mb} > {output}"
"""


def test_a_job_killed_for_memory_is_retried_with_more(cluster, tmp_path) -> None:
    """The job needs about 500 MB (300 MB of its own and snakemake's job process, which SLURM counts
    too): SLURM kills the 400 MB first try, and the retry asks for 800 MB and passes."""
    snakefile = tmp_path / "Snakefile"
    snakefile.write_text(HOG)
    result = run_profile(tmp_path, "--workflow-profile", "none", snakefile=snakefile, timeout=600)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    assert (tmp_path / "hog.txt").read_text().strip() == "800"
    first, second = submissions(log)["hog"]
    killed = cluster.job(first)
    assert killed["JobState"] in ("OUT_OF_MEMORY", "FAILED"), killed
    # Killed by SLURM for memory, not failed for another reason: slurmd says so for that job.
    slurmd = (cluster.root / "slurmd.log").read_text()
    assert re.search(rf"StepId={first}\.\S+ exceeded memory limit", slurmd), slurmd[-2000:]
    assert cluster.job(second)["JobState"] == "COMPLETED"
    mems = [re.search(r"--mem (\d+)", line).group(1) for line in sbatch_calls(log)["hog"]]
    assert mems == ["400", "800"]


GPU_RULE = """
rule gpu_step:
    output:
        "gpu.txt",
    resources:
        gpu=1,
        mem_mb=500,
        runtime=5,
    shell:
        "echo $CUDA_VISIBLE_DEVICES > {output}"
"""


def test_gres_only_clusters_get_gres_through_the_documented_override(cluster, tmp_path) -> None:
    """README: on clusters that only accept --gres, `gpu: 0` and `gres: "gpu:1"` per GPU rule."""
    snakefile = tmp_path / "Snakefile"
    snakefile.write_text(GPU_RULE)
    result = run_profile(
        tmp_path,
        "--workflow-profile",
        "none",
        "--set-resources",
        "gpu_step:gpu=0",
        "gpu_step:gres='gpu:1'",
        snakefile=snakefile,
        timeout=300,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    (line,) = sbatch_calls(log)["gpu_step"]
    assert "--gres=gpu:1" in line and "--gpus" not in line, line
    (job_id,) = submissions(log)["gpu_step"]
    assert "gpu:1" in cluster.job(job_id).get("TresPerNode", ""), cluster.job(job_id)
    assert (tmp_path / "gpu.txt").read_text().strip() == "0"  # SLURM assigned the one GPU


def test_a_partition_that_does_not_exist_fails_clearly(cluster, tmp_path) -> None:
    tiny_config(tmp_path)
    result = run_profile(
        tmp_path,
        "--default-resources",
        "slurm_partition=nosuchpartition",
        "mem_mb=1000",
        "runtime=10",
        "--retries",
        "0",
        "--",
        "results/demo/build/real.npz",
        timeout=300,
    )
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Invalid partition name specified" in log, log[-3000:]
    assert "-p nosuchpartition" in log  # the failed sbatch call is shown
    assert not (tmp_path / "results" / "demo" / "build" / "real.npz").exists()


def test_an_unreachable_controller_fails_clearly(cluster, tmp_path) -> None:
    """sbatch in the submitting process reads SLURM_CONF: point it at a port nobody listens on."""
    dead = tmp_path / "slurm.conf"
    conf = (cluster.root / "slurm.conf.in").read_text()
    dead_conf = re.sub(r"SlurmctldPort=\d+", f"SlurmctldPort={free_port()}", conf)
    # Give up on the dead port after 1 s instead of SLURM's 10 s per message.
    dead.write_text(dead_conf + "MessageTimeout=1\nTCPTimeout=1\n")
    tiny_config(tmp_path)
    result = run_profile(
        tmp_path,
        "--retries",
        "0",
        "--",
        "results/demo/build/real.npz",
        env={"SLURM_CONF": str(dead)},
        timeout=300,
    )
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Unable to contact slurm controller" in log, log[-3000:]
    assert not (tmp_path / "results" / "demo" / "build" / "real.npz").exists()
