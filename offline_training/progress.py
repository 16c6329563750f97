"""The trainer's progress bars and phase lines, in one place: ``-q`` silences every one.

A phase of a fold says what it does with a bar (:func:`bar`) or with one INFO line of the
``sicleer.train`` logger. :func:`set_quiet` (what ``-q`` calls) turns both off for this process
and for the fold processes it starts: the lines by the logging level (warnings and errors still
print), the bars by ``TQDM_DISABLE``. tqdm reads ``TQDM_*`` variables once, when it is
imported, which may be before ``-q`` was read; :func:`bar` reads the variable each time a bar
is made. A fold process (started with ``spawn``) has no logging set up of its own: the parent
hands it :func:`worker_log_level` and the child calls :func:`follow_parent_logging`.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from tqdm.auto import tqdm

__all__ = ["LOG_FORMAT", "QUIET_ENV", "bar", "follow_parent_logging", "quiet", "set_quiet",
           "worker_log_level"]

QUIET_ENV = "TQDM_DISABLE"
"""The environment variable that silences the bars (tqdm's own name for it)."""
LOG_FORMAT = "%(levelname)s %(message)s"
"""How the trainer's messages look on stderr."""


def quiet() -> bool:
    """Whether bars are off (``TQDM_DISABLE`` set to anything but ``""``/``0``/``false``)."""
    return os.environ.get(QUIET_ENV, "").strip().lower() not in ("", "0", "false")


def bar(*args: Any, **kwargs: Any) -> tqdm:
    """A tqdm bar (same arguments), disabled while :func:`quiet`."""
    kwargs.setdefault("dynamic_ncols", True)
    disable = bool(kwargs.pop("disable", False)) or quiet()
    return tqdm(*args, disable=disable, **kwargs)


def set_quiet(is_quiet: bool) -> None:
    """Set up the messages of a command: the phase lines (INFO) and the bars, or with
    ``is_quiet`` only warnings and errors, here and in the fold processes started later."""
    level = logging.WARNING if is_quiet else logging.INFO
    logging.basicConfig(level=level, format=LOG_FORMAT)
    logging.getLogger().setLevel(level)  # also when logging was configured before
    if is_quiet:
        os.environ[QUIET_ENV] = "1"  # inherited by the fold processes


def worker_log_level() -> int | None:
    """The level a fold process should show the trainer's lines at: this process's, or None
    when nothing set logging up here (then the fold process shows warnings only, as here)."""
    if not logging.getLogger().handlers:
        return None
    return logging.getLogger("sicleer.train").getEffectiveLevel()


def follow_parent_logging(level: int | None) -> None:
    """In a fold process: show the trainer's lines as the parent does (see
    :func:`worker_log_level`)."""
    if level is not None:
        logging.basicConfig(level=level, format=LOG_FORMAT)
        logging.getLogger().setLevel(level)
