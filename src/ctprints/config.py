"""Readable config errors: one line per problem, naming the dotted key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ctprints.errors import ConfigError


def _dotted(path) -> str:
    return ".".join(str(part) for part in path) or "(top level)"


def schema_errors(config: dict[str, Any], schema_path: str | Path) -> list[str]:
    """Every schema violation of ``config`` as ``<dotted.key>: <problem>``, sorted by key."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    messages = []
    for error in validator.iter_errors(config):
        where = _dotted(error.absolute_path)
        if error.validator == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            unexpected = sorted(set(error.instance) - set(allowed))
            for key in unexpected:
                key_path = f"{where}.{key}" if error.absolute_path else key
                hint = f"; allowed: {', '.join(allowed)}" if allowed else ""
                messages.append(f"{key_path}: unknown key{hint}")
            continue
        if error.validator == "anyOf":
            messages.append(f"{where}: {error.instance!r} is not a valid value here")
            continue
        messages.append(f"{where}: {error.message}")
    return sorted(set(messages))


def check_config(config: dict[str, Any], schema_path: str | Path) -> None:
    """Raise :class:`ConfigError` listing every schema violation, one per line."""
    messages = schema_errors(config, schema_path)
    if messages:
        listing = "\n".join(f"  {message}" for message in messages)
        raise ConfigError(f"invalid config ({len(messages)} problem(s)):\n{listing}")


def per_attempt(base: int):
    """A ``mem_mb`` or ``runtime`` resource that grows with each try: ``base`` times the attempt.

    A job that SLURM kills for passing its memory or time request is resubmitted (``retries`` in
    profiles/slurm) with twice the request, then three times, instead of failing the same way.
    """
    if isinstance(base, bool) or not isinstance(base, int) or base <= 0:
        raise ValueError(f"per_attempt needs a positive integer, not {base!r}")

    def resource(wildcards, attempt: int) -> int:
        return base * attempt

    return resource


SCHEMA = Path(__file__).resolve().parents[2] / "workflow/schemas/config.schema.yaml"


def schema_defaults(dotted: str, schema_path: str | Path = SCHEMA) -> dict[str, Any]:
    """The defaults of the schema's object at ``dotted`` (for example ``audit.budget``): each of
    its properties' ``default``. The schema is the one place a default is written; the library
    reads it from there rather than repeating it."""
    node = yaml.safe_load(Path(schema_path).read_text())
    for key in dotted.split("."):
        node = node["properties"][key]
    return {
        key: child["default"] for key, child in node["properties"].items() if "default" in child
    }
