"""Logging for workflow scripts: everything a step says goes to its rule's log file."""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def configure(log_path: str | None, level: int = logging.INFO) -> logging.Logger:
    """Send stderr and stdout (tracebacks, progress bars, the prints of fastai, AutoGluon and
    openTSNE) and ``logging`` to ``log_path``.

    Returns the ``ctprints`` logger. With ``log_path`` None, logs go to the current stderr.
    """
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        sys.stderr = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the step
        sys.stdout = sys.stderr
    logging.basicConfig(
        stream=sys.stderr,
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    return logging.getLogger("ctprints")
