"""Exploration and confirmation kept apart: the study's method settings, frozen by their sha256.

A study is exploratory until ``study.frozen_sha256`` holds the digest of the settings it runs
(:func:`settings_digest`). Then it is confirmatory, and the config is refused where the settings
differ from the frozen ones (:func:`check_frozen`) or where a study seed is under
:data:`CONFIRM_SEEDS_FROM` (seeds 0-99 are for exploration). The leaderboard records the digest,
the commit that froze it (the first commit whose files contain the digest) and the commit it
ran at (:func:`freeze_record`), and refuses a confirmatory result written before the freezing
commit.

    python -m ctprints.freeze [config.yaml ...]   # prints the digest to freeze
"""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ctprints.errors import ConfigError, StudyError

CONFIRM_SEEDS_FROM = 100
# What the digest covers: every method's settings and the study's design, not its seeds (the
# confirmatory run changes those) nor the digest itself.
FROZEN_SECTIONS = ("seed", "embed", "task1", "task2", "audit")
FROZEN_STUDY_KEYS = ("scenarios", "scale", "primary")


def frozen_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The part of a validated ``config`` (schema defaults filled in) the digest covers."""
    settings = {key: config.get(key) for key in FROZEN_SECTIONS}
    study = config.get("study") or {}
    settings["study"] = {key: study.get(key) for key in FROZEN_STUDY_KEYS}
    return copy.deepcopy(settings)


def settings_digest(config: dict[str, Any]) -> str:
    """The sha256 of :func:`frozen_settings` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(frozen_settings(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def check_frozen(config: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` where ``study.frozen_sha256`` is set and the settings' digest
    differs from it, or a study seed is under :data:`CONFIRM_SEEDS_FROM`."""
    study = config.get("study") or {}
    frozen = study.get("frozen_sha256")
    if frozen is None:
        return
    now = settings_digest(config)
    if now != frozen:
        raise ConfigError(
            f"study.frozen_sha256: the method settings changed since they were frozen (frozen "
            f"{frozen[:12]}..., now {now[:12]}...); a confirmatory study runs the frozen "
            "settings, or it is exploratory again (set study.frozen_sha256: null)"
        )
    for index, seed in enumerate(study.get("seeds") or []):
        if seed < CONFIRM_SEEDS_FROM:
            raise ConfigError(
                f"study.seeds[{index}]: seed {seed} is an exploration seed; a confirmatory "
                f"study (study.frozen_sha256 set) runs fresh seeds from {CONFIRM_SEEDS_FROM}"
            )


def _git(repo: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def freezing_commit(digest: str, repo: str | Path) -> tuple[str, int] | None:
    """(commit, commit time in Unix seconds) of the first commit of ``repo`` whose changes add
    ``digest``; None where ``repo`` is not a git checkout or no commit holds it."""
    found = _git(Path(repo), "log", "--reverse", f"-S{digest}", "--format=%H %ct")
    if not found:
        return None
    commit, seconds = found.splitlines()[0].split()
    return commit, int(seconds)


def freeze_record(
    config: dict[str, Any], repo: str | Path, results: list[str | Path] = ()
) -> dict[str, Any]:
    """What the leaderboard says of its settings: mode (exploratory or confirmatory), sha256
    (the settings' digest), frozen_sha256, frozen_commit and frozen_at (the freezing commit and
    its UTC time, confirmatory only), commit (HEAD of ``repo``, None outside git) and dirty
    (uncommitted changes to tracked files). A confirmatory record raises :class:`StudyError`
    where no commit holds the digest, or where one of ``results`` (the study's logs and tables)
    was written before the freezing commit, naming it."""
    frozen = (config.get("study") or {}).get("frozen_sha256")
    repo = Path(repo)
    status = _git(repo, "status", "--porcelain", "--untracked-files=no")
    record: dict[str, Any] = {
        "mode": "exploratory" if frozen is None else "confirmatory",
        "sha256": settings_digest(config),
        "frozen_sha256": frozen,
        "frozen_commit": None,
        "frozen_at": None,
        "commit": _git(repo, "rev-parse", "HEAD"),
        "dirty": None if status is None else bool(status),
    }
    if frozen is None:
        return record
    found = freezing_commit(frozen, repo)
    if found is None:
        raise StudyError(
            f"study.frozen_sha256: no commit of {repo} holds {frozen[:12]}...; commit the frozen "
            "config before the confirmatory run, so that the record can name the commit"
        )
    commit, seconds = found
    for path in results:
        if Path(path).stat().st_mtime < seconds:
            raise StudyError(
                f"{path}: written before the settings were frozen in commit {commit[:12]}; a "
                "confirmatory result must be computed after the freeze (rerun it)"
            )
    record["frozen_commit"] = commit
    record["frozen_at"] = datetime.fromtimestamp(seconds, UTC).isoformat()
    return record


def record_markdown(record: dict[str, Any]) -> str:
    """The leaderboard's settings section."""
    commit = record["commit"] or "unknown (not a git checkout)"
    if record["dirty"]:
        commit += ", with uncommitted changes"
    if record["mode"] == "exploratory":
        return (
            "\n## Settings\n\nExploratory: the settings are not frozen (`study.frozen_sha256` "
            f"is null). Their sha256 is `{record['sha256']}`, at commit {commit}. Every table "
            "here was seen while methods were developed; none is confirmatory.\n"
        )
    return (
        "\n## Settings\n\nConfirmatory: the settings' sha256 `{sha}` was frozen in commit "
        "{frozen} ({at}), and every result here was written after it. Ran at commit "
        "{commit}.\n"
    ).format(
        sha=record["sha256"], frozen=record["frozen_commit"], at=record["frozen_at"], commit=commit
    )


def main(argv: list[str]) -> int:
    """Print the settings' digest of the config files (later ones override, as snakemake's
    --configfile does), after the schema's defaults are filled in."""
    import yaml
    from snakemake.utils import update_config, validate

    from ctprints.config import SCHEMA, check_config

    config: dict[str, Any] = {}
    for path in argv or ["config.yaml"]:
        update_config(config, yaml.safe_load(Path(path).read_text()) or {})
    check_config(config, SCHEMA)
    validate(config, str(SCHEMA))
    print(settings_digest(config))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
