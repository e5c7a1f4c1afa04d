"""Packaging: conda environments mirror pyproject.toml; the config schema documents every key."""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from snakemake.utils import validate

REPO = Path(__file__).resolve().parents[1]
# The workflow engine runs the rules; it is not a dependency of the rules' environments.
ENGINE = {"snakemake", "snakemake-executor-plugin-slurm"}


def _name(requirement: str) -> str:
    for separator in "[<>=!~ ":
        requirement = requirement.split(separator)[0]
    return requirement.lower()


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return {_name(r): r.replace(" ", "") for r in project["dependencies"]}


def _env_requirements() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((REPO / "envs").glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text())["dependencies"]:
            if isinstance(entry, dict):
                for requirement in entry["pip"]:
                    found.setdefault(_name(requirement), set()).add(requirement.replace(" ", ""))
    return found


def test_every_env_pin_matches_pyproject_exactly() -> None:
    pyproject = _pyproject_requirements()
    for name, pins in _env_requirements().items():
        assert name in pyproject, f"envs/ requires {name}, which pyproject.toml does not"
        assert pins == {pyproject[name]}, f"{name}: envs/ say {pins}, pyproject {pyproject[name]}"


def test_every_pyproject_dependency_is_in_some_env() -> None:
    missing = set(_pyproject_requirements()) - ENGINE - set(_env_requirements())
    assert not missing, f"pyproject.toml dependencies missing from envs/*.yaml: {missing}"


def test_torch_is_pinned_exactly() -> None:
    pyproject = _pyproject_requirements()
    assert pyproject["torch"] == "torch==2.14.1"
    assert pyproject["torchvision"] == "torchvision==0.29.1"


def test_every_rule_names_an_existing_env() -> None:
    for rules in (REPO / "workflow" / "rules").glob("*.smk"):
        for line in rules.read_text().splitlines():
            if line.strip().startswith('"../../envs/'):
                env = (rules.parent / line.strip().strip('"')).resolve()
                assert env.is_file(), f"{rules.name} names missing {env}"


def _schema_properties(node, where="config"):
    """Yield (path, property schema) for every property in the schema, following $ref."""
    if isinstance(node, dict):
        for key, value in node.get("properties", {}).items():
            yield f"{where}.{key}", value
            yield from _schema_properties(value, f"{where}.{key}")
        for key in ("additionalProperties", "items"):
            if isinstance(node.get(key), dict):
                yield from _schema_properties(node[key], f"{where}.*")
    if isinstance(node, dict) and "$defs" in node:
        for key, value in node["$defs"].items():
            yield from _schema_properties(value, f"$defs.{key}")


def test_every_schema_key_has_description_and_default() -> None:
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())

    def resolve(ref: str) -> dict:
        node = schema
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        return node

    for path, prop in _schema_properties(schema):
        if "$ref" in prop:
            prop = {**resolve(prop["$ref"]), **prop}
        assert "description" in prop, f"{path} has no description"
        assert "default" in prop, f"{path} has no default"


def test_default_config_is_valid() -> None:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))


def _rule_envs_and_scripts() -> dict[str, tuple[str, str]]:
    """rule -> (conda env file name, script path) for every rule that names both."""
    found = {}
    for path in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=rule |use rule )", path.read_text()):
            name = re.match(r"(?:use )?rule (\w+)", block.strip())
            env = re.search(r'conda:\n\s+"\.\./\.\./envs/([\w.]+)"', block)
            script = re.search(r'script:\n\s+"\.\./(scripts/[\w.]+)"', block)
            if name and env and script:
                found[name.group(1)] = (env.group(1), str(REPO / "workflow" / script.group(1)))
    return found


def test_only_the_torch_rules_use_the_torch_environment() -> None:
    rules = _rule_envs_and_scripts()
    torch_rules = {rule for rule, (env, _) in rules.items() if env == "torch.yaml"}
    assert torch_rules == {"demo_generator", "embed_fingerprint", "train_round0"}
    assert {env for env, _ in rules.values()} == {p.name for p in (REPO / "envs").glob("*.yaml")}


def test_rules_outside_the_torch_environments_import_no_torch() -> None:
    """Every ctprints module a light rule's script imports loads with torch made unimportable."""
    heavy = {"torch.yaml", "automl.yaml"}  # automl: AutoGluon needs torch
    modules = set()
    for env, script in _rule_envs_and_scripts().values():
        if env not in heavy:
            modules |= set(
                re.findall(r"^from (ctprints[\w.]*) import", Path(script).read_text(), re.M)
            )
    assert "ctprints.membership" in modules and "ctprints.plots" in modules
    blocker = (
        "import sys\n"
        "class Blocked:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'torchvision', 'fastai'):\n"
        "            raise ImportError(f'{name} is not in this environment')\n"
        "sys.meta_path.insert(0, Blocked())\n"
    )
    imports = "\n".join(f"import {module}" for module in sorted(modules))
    result = subprocess.run(
        [sys.executable, "-c", blocker + imports],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    assert result.returncode == 0, result.stderr


LIBRARY_IMPORTERS = [
    "workflow/scripts",
    "src",
    "benchmarks",
    "tests",
    "Snakefile",
    "workflow/rules",
]


def test_only_the_snakefile_puts_the_library_on_the_path() -> None:
    """Scripts import ctprints as an installed package would; the Snakefile alone adds src/."""
    offenders = []
    for root in LIBRARY_IMPORTERS:
        path = REPO / root
        files = [path] if path.is_file() else [*path.rglob("*.py"), *path.rglob("*.smk")]
        for file in files:
            text = file.read_text()
            for line in text.splitlines():
                if line.lstrip().startswith("sys.path.insert") and '"tests"' not in line:
                    offenders.append(f"{file.relative_to(REPO)}: {line.strip()}")
    assert offenders == ['Snakefile: sys.path.insert(0, f"{workflow.basedir}/src")']


def test_export_library_reaches_a_python_without_ctprints(tmp_path, monkeypatch) -> None:
    """A python with no site-packages (`-S`: no editable install) imports this checkout's
    ctprints once export_library has set PYTHONPATH, as a job's script does."""
    from ctprints.paths import export_library

    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    bare = [sys.executable, "-S", "-c", "import ctprints.paths as p; print(p.__file__)"]
    before = subprocess.run(bare, capture_output=True, text=True)
    assert before.returncode != 0 and "No module named 'ctprints'" in before.stderr
    export_library(str(REPO / "src"))
    export_library(str(REPO / "src"))  # a cluster job parses the Snakefile again
    assert os.environ["PYTHONPATH"].split(os.pathsep) == [str(REPO / "src"), str(tmp_path)]
    after = subprocess.run(bare, capture_output=True, text=True, check=True)
    assert after.stdout.strip() == str(REPO / "src/ctprints/paths.py")
