"""Exploration and confirmation kept apart: the settings' digest, the confirmatory config's
refusals, and the record of the commit that froze the settings."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess

import pytest
from test_plan import REPO, config_with

from ctprints.checks import build_plan
from ctprints.errors import ConfigError, StudyError
from ctprints.freeze import (
    check_frozen,
    freeze_record,
    freezing_commit,
    frozen_settings,
    main,
    record_markdown,
    settings_digest,
)


def test_the_digest_is_the_sha256_of_the_frozen_settings_only() -> None:
    config = config_with()
    text = json.dumps(frozen_settings(config), sort_keys=True, separators=(",", ":"))
    assert settings_digest(config) == hashlib.sha256(text.encode()).hexdigest()
    assert set(frozen_settings(config)) == {"seed", "embed", "task1", "task2", "audit", "study"}
    # the study's seeds and the digest itself are not settings: a confirmatory run changes them
    other = copy.deepcopy(config)
    other["study"]["seeds"] = [100, 101]
    other["study"]["frozen_sha256"] = "0" * 64
    other["run_datasets"] = ["demo"]
    assert settings_digest(other) == settings_digest(config)
    # a method setting is
    other["task2"]["tsne"]["perplexity"] = 5
    assert settings_digest(other) != settings_digest(config)


def test_the_cli_prints_the_digest_of_the_validated_config(tmp_path, capsys) -> None:
    path = tmp_path / "study.yaml"
    path.write_text("study:\n  seeds: [100]\n")
    assert main([str(REPO / "config.yaml"), str(path)]) == 0
    assert capsys.readouterr().out.strip() == settings_digest(config_with())


def test_a_confirmatory_config_refuses_changed_settings_and_old_seeds() -> None:
    frozen = settings_digest(config_with())
    good = config_with(**{"study.frozen_sha256": frozen, "study.seeds": [100, 101]})
    check_frozen(good)
    build_plan(good)  # the plan runs the check
    changed = copy.deepcopy(good)
    changed["task2"]["tsne"]["perplexity"] = 5
    with pytest.raises(ConfigError, match=r"study.frozen_sha256: the method settings changed"):
        build_plan(changed)
    old = config_with(**{"study.frozen_sha256": frozen, "study.seeds": [100, 2]})
    with pytest.raises(ConfigError, match=r"study.seeds\[1\]: seed 2 is an exploration seed"):
        check_frozen(old)
    check_frozen(config_with(**{"study.seeds": [0]}))  # exploratory: anything goes


def _git(repo, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def _repo_freezing(tmp_path, digest: str):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.org")
    _git(repo, "config", "user.name", "t")
    (repo / "config.yaml").write_text("study:\n  frozen_sha256: null\n")
    _git(repo, "add", "config.yaml")
    _git(repo, "commit", "-qm", "explore")
    (repo / "config.yaml").write_text(f"study:\n  frozen_sha256: {digest}\n")
    _git(repo, "commit", "-qam", "freeze")
    (repo / "config.yaml").write_text(f"study:\n  frozen_sha256: {digest}\n  seeds: [100]\n")
    _git(repo, "commit", "-qam", "later")
    return repo


def test_the_record_names_the_freezing_commit_and_refuses_older_results(tmp_path) -> None:
    config = config_with(**{"study.seeds": [100]})
    digest = settings_digest(config)
    config["study"]["frozen_sha256"] = digest
    repo = _repo_freezing(tmp_path, digest)
    freezing = _git(repo, "rev-list", "--max-count=1", "HEAD~1")
    commit, seconds = freezing_commit(digest, repo)
    assert commit == freezing  # the first commit that holds the digest, not the latest
    fresh = tmp_path / "task2.tsv"
    fresh.write_text("x\n")
    os.utime(fresh, (seconds + 10, seconds + 10))
    record = freeze_record(config, repo, [fresh])
    assert record["mode"] == "confirmatory" and record["frozen_commit"] == freezing
    assert record["commit"] == _git(repo, "rev-parse", "HEAD") and record["dirty"] is False
    assert record["sha256"] == digest and record["frozen_at"].startswith("20")
    assert f"`{digest}` was frozen in commit {freezing}" in record_markdown(record)
    stale = tmp_path / "old.log"
    stale.write_text("x\n")
    os.utime(stale, (seconds - 10, seconds - 10))
    with pytest.raises(StudyError, match=r"old.log: written before the settings were frozen"):
        freeze_record(config, repo, [fresh, stale])


def test_an_unfrozen_or_uncommitted_study_says_what_it_is(tmp_path) -> None:
    config = config_with()
    record = freeze_record(config, tmp_path)  # not a git checkout
    assert record["mode"] == "exploratory" and record["commit"] is None
    assert record["sha256"] == settings_digest(config)
    assert "Exploratory" in record_markdown(record) and "not a git checkout" in (
        record_markdown(record)
    )
    config["study"]["frozen_sha256"] = settings_digest(config)
    with pytest.raises(StudyError, match=r"study.frozen_sha256: no commit of .* holds"):
        freeze_record(config, tmp_path)
