"""Packaging: conda environments mirror pyproject.toml; the config schema documents every key."""

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
    defs = schema["$defs"]
    for path, prop in _schema_properties(schema):
        if "$ref" in prop:
            prop = {**defs[prop["$ref"].split("/")[-1]], **prop}
        assert "description" in prop, f"{path} has no description"
        assert "default" in prop, f"{path} has no default"


def test_default_config_is_valid() -> None:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
