"""Every error ctprints raises on bad input, in one place.

Each is a ``ValueError`` whose message names the file, key or value at fault. The config errors
share :class:`ConfigError`, so one ``except ConfigError`` catches every config problem. The
modules that raise them import them from here; tests and callers may import them from either.
"""

from __future__ import annotations

import os


class ConfigError(ValueError):
    """A config that cannot work: it does not match its schema, or a value is impossible.

    :func:`check_config` raises it listing each wrong key; the demo plan and the dataset configs
    raise its subclasses (``DemoConfigError``, ``DatasetConfigError``), so one ``except
    ConfigError`` catches every config problem.
    """


class DatasetConfigError(ConfigError):
    """A dataset config that cannot be resolved; the message starts with the config key."""


class DemoConfigError(ConfigError):
    """A demo config value that cannot work; the message starts with the config key."""


def shown_path(path: str | os.PathLike) -> str:
    """``path`` for a message: as it is, or quoted with escapes when it holds a line break, a
    control character or bytes that are not UTF-8, so that one message stays one line."""
    path = str(path)
    return path if path.isprintable() else repr(path)


class ImageError(ValueError):
    """An image file that cannot be used; the message names the file and the problem."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{shown_path(self.path)}: {problem}")


class FolderError(ValueError):
    """A folder that cannot be used as an image folder (missing, not a folder, or empty)."""


class ManifestError(ValueError):
    """A dataset that cannot be turned into a manifest; the message names the file or folder."""


class EmbedderError(ValueError):
    """An embedder that cannot be built (unknown name, bad weights); the message says why."""


class AttributionError(ValueError):
    """A method that cannot run on the data it was given; the message says why."""


class TrainError(ValueError):
    """A training setting or input that cannot work; the message names the key or file."""


class MembershipError(ValueError):
    """A membership setting or input that cannot work; the message names what is wrong."""


class AuditError(ValueError):
    """An audit input or setting that cannot work; the message names the group (and file or key)
    and what is wrong."""


class RunFileError(ValueError):
    """A run file that the official validator would reject; the message names file and line."""


class TruthError(ValueError):
    """A ground-truth file that does not fit the dataset; the message starts with the config key
    and names the file and lines."""


class SummaryError(ValueError):
    """An evaluation table the summary cannot read."""


class StudyError(ValueError):
    """An evaluation table or dataset list the study cannot use; the message names the file."""


class DocTableError(ValueError):
    """A marked block that names no known table, or a source file that is missing."""
