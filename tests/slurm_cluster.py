"""A real single-node SLURM cluster for the tests: munged, slurmctld and slurmd on localhost.

Everything it starts lives under one temporary directory, except the two files SLURM only reads
from /etc/slurm (slurm.conf and gres.conf): jobs submitted by snakemake's SLURM executor find
their configuration only there, because the plugin removes ``SLURM_CONF`` from a job's
environment. Whatever was in those two files before is put back by :meth:`SlurmCluster.stop`,
which also stops every daemon by the PID it started.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

ETC = Path("/etc/slurm")
DAEMONS = ("munged", "slurmctld", "slurmd")
PACKAGES = ("slurm-wlm", "munge")
MARKER = "written by ctprints' tests/slurm_cluster.py"


def missing_reason() -> str | None:
    """Why no cluster can be started here, or None when it can (installing SLURM if needed)."""
    if os.name != "posix" or not hasattr(os, "geteuid"):
        return "SLURM needs a POSIX system"
    if os.geteuid() != 0:
        return "starting slurmctld/slurmd and writing /etc/slurm needs root"
    running = subprocess.run(["pgrep", "-x", "slurmctld|slurmd"], capture_output=True, text=True)
    if running.stdout.strip():
        return "a SLURM daemon already runs here; the test will not replace a live cluster's config"
    if all(Path(daemon(name)).exists() for name in DAEMONS):
        return None
    if not shutil.which("apt-get"):
        return "SLURM is not installed and there is no apt-get to install slurm-wlm and munge"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES]
    result = subprocess.run(install, capture_output=True, text=True, env=env)
    if result.returncode != 0:  # a stale package index: update once, then try again
        subprocess.run(["apt-get", "update"], capture_output=True, text=True, env=env)
        result = subprocess.run(install, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        return f"apt-get install {' '.join(PACKAGES)} failed:\n{result.stderr[-2000:]}"
    return None


def daemon(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def machine_memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


class SlurmCluster:
    """One node called ``localhost`` with the machine's CPUs and memory and ``gpus`` fake GPUs."""

    partition = "main"

    def __init__(self, root: Path, gpus: int = 1):
        self.root = root
        self.gpus = gpus
        self.cpus = os.cpu_count() or 1
        # Leave the system some memory: slurmd drains a node that declares more than it has.
        self.memory_mb = int(machine_memory_mb() * 0.8)
        self.processes: dict[str, subprocess.Popen] = {}
        self.saved: dict[Path, bytes | None] = {}
        self.created_etc = False
        self.socket = root / "munge" / "munge.socket"

    # -- configuration -------------------------------------------------------------------------

    def slurm_conf(self, controller_port: int, node_port: int) -> str:
        r = self.root
        return "\n".join(
            [
                f"# {MARKER}",
                "ClusterName=ctprints-test",
                "SlurmctldHost=localhost(127.0.0.1)",
                f"SlurmctldPort={controller_port}",
                f"SlurmdPort={node_port}",
                "AuthType=auth/munge",
                "CredType=cred/munge",
                f"AuthInfo=socket={self.socket}",
                "SlurmUser=root",
                "SlurmdUser=root",
                f"StateSaveLocation={r}/state",
                f"SlurmdSpoolDir={r}/spool",
                f"SlurmctldPidFile={r}/slurmctld.pid",
                f"SlurmdPidFile={r}/slurmd.pid",
                f"SlurmctldLogFile={r}/slurmctld.log",
                f"SlurmdLogFile={r}/slurmd.log",
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_Core_Memory",
                "AccountingStorageType=accounting_storage/none",
                "JobCompType=jobcomp/none",
                # Memory is enforced without cgroups: the job's processes are sampled every
                # second and killed when they pass their --mem.
                "JobAcctGatherType=jobacct_gather/linux",
                "JobAcctGatherFrequency=task=1",
                "JobAcctGatherParams=OverMemoryKill",
                "GresTypes=gpu",
                "MpiDefault=none",
                "ReturnToService=2",
                "SlurmdParameters=config_overrides",
                # Finished jobs stay visible to scontrol for an hour, so the test can read them.
                "MinJobAge=3600",
                "KillWait=5",
                "OverTimeLimit=0",
                "InactiveLimit=0",
                f"NodeName=localhost NodeAddr=127.0.0.1 CPUs={self.cpus} "
                f"RealMemory={self.memory_mb} Gres=gpu:{self.gpus} State=UNKNOWN",
                f"PartitionName={self.partition} Nodes=localhost Default=YES "
                "MaxTime=INFINITE State=UP",
                "",
            ]
        )

    def gres_conf(self) -> str:
        # No real GPU: character devices stand in, which is enough for SLURM to schedule --gpus=1.
        files = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random"]
        if self.gpus > len(files):
            raise ValueError(f"at most {len(files)} fake GPUs, not {self.gpus}")
        files = files[: self.gpus]
        lines = [f"# {MARKER}"] + [f"NodeName=localhost Name=gpu File={f}" for f in files]
        return "\n".join(lines) + "\n"

    def install_config(self, controller_port: int, node_port: int) -> None:
        """Write slurm.conf and gres.conf to /etc/slurm, keeping what was there.

        The originals are also copied to ``<name>.ctprints-backup`` beside them, so that a test
        run killed before :meth:`stop` is undone by the next one (which restores from there).
        """
        self.created_etc = not ETC.exists()
        ETC.mkdir(parents=True, exist_ok=True)
        for name, text in (
            ("slurm.conf", self.slurm_conf(controller_port, node_port)),
            ("gres.conf", self.gres_conf()),
        ):
            path = ETC / name
            backup = ETC / f"{name}.ctprints-backup"
            if backup.exists():  # left by a killed run: the backup is the real original
                backup.replace(path)
            elif path.exists() and MARKER in path.read_text(errors="replace"):
                path.unlink()  # ours, from a killed run that had nothing to back up
            self.saved[path] = path.read_bytes() if path.exists() else None
            if path.exists():
                backup.write_bytes(self.saved[path])
            path.write_text(text)
            (self.root / f"{name}.in").write_text(text)  # a copy, for tests that vary it

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> None:
        for folder in ("munge", "state", "spool"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root / "munge", 0o700)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o600)
        self.install_config(free_port(), free_port())
        self.spawn(
            "munged",
            "--foreground",
            "--force",
            f"--key-file={key}",
            f"--socket={self.socket}",
            f"--pid-file={self.root}/munge/munged.pid",
            f"--log-file={self.root}/munge/munged.log",
            f"--seed-file={self.root}/munge/munged.seed",
        )
        self.wait(lambda: self.socket.exists(), "munged's socket")
        self.spawn("slurmctld", "-D", "-i", "-f", str(ETC / "slurm.conf"))
        self.spawn("slurmd", "-D", "-N", "localhost", "-f", str(ETC / "slurm.conf"))
        self.wait(self.node_is_ready, "the node to be idle")

    def spawn(self, name: str, *args: str) -> None:
        with open(self.root / f"{name}.stdout", "w") as log:  # the daemon keeps its own copy
            self.processes[name] = subprocess.Popen(
                [daemon(name), *args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def node_is_ready(self) -> bool:
        result = subprocess.run(
            ["sinfo", "--noheader", "--Node", "--format=%T"], capture_output=True, text=True
        )
        return result.returncode == 0 and result.stdout.strip() in ("idle", "mixed")

    def wait(self, ready, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.logs()}")
            if ready():
                return
            time.sleep(0.5)
        raise RuntimeError(f"timed out after {timeout} s waiting for {what}:\n{self.logs()}")

    def logs(self) -> str:
        parts = []
        for path in sorted(self.root.rglob("*.log")) + sorted(self.root.glob("*.stdout")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        """Cancel every job, stop every daemon this object started (by PID), restore /etc/slurm."""
        try:
            if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
                subprocess.run(["scancel", "--user", "root"], capture_output=True, timeout=30)
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and self.queue():
                    time.sleep(1)
            for name in reversed(list(self.processes)):
                self.terminate(self.processes[name])
        finally:
            self.processes.clear()
            self.restore()

    @staticmethod
    def terminate(process: subprocess.Popen) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if process.poll() is not None:
                return
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:  # the group is gone already
                return
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                continue

    def restore(self) -> None:
        for path, content in self.saved.items():
            if content is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(content)
            (path.parent / f"{path.name}.ctprints-backup").unlink(missing_ok=True)
        self.saved.clear()
        if self.created_etc and ETC.exists() and not any(ETC.iterdir()):
            ETC.rmdir()

    def queue(self) -> list[str]:
        result = subprocess.run(
            ["squeue", "--noheader", "--format=%i"], capture_output=True, text=True, timeout=30
        )
        return result.stdout.split() if result.returncode == 0 else []

    # -- queries -------------------------------------------------------------------------------

    def job(self, job_id: str) -> dict[str, str]:
        """``scontrol show job`` as a dict (finished jobs stay for MinJobAge)."""
        result = subprocess.run(
            ["scontrol", "show", "job", "--oneliner", job_id],
            capture_output=True,
            text=True,
            check=True,
        )
        fields = {}
        for token in result.stdout.split():
            key, _, value = token.partition("=")
            fields[key] = value
        return fields
