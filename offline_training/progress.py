"""The trainer's progress bars, in one place: ``-q`` (``TQDM_DISABLE=1``) silences every one.

tqdm reads ``TQDM_*`` variables once, when it is imported; ``sicleer-train -q`` sets
``TQDM_DISABLE`` for itself and for the fold processes it starts, which may be after tqdm was
imported. :func:`bar` reads the variable each time a bar is made.
"""

from __future__ import annotations

import os
from typing import Any

from tqdm.auto import tqdm

__all__ = ["QUIET_ENV", "bar", "quiet"]

QUIET_ENV = "TQDM_DISABLE"
"""The environment variable that silences the bars (tqdm's own name for it)."""


def quiet() -> bool:
    """Whether bars are off (``TQDM_DISABLE`` set to anything but ``""``/``0``/``false``)."""
    return os.environ.get(QUIET_ENV, "").strip().lower() not in ("", "0", "false")


def bar(*args: Any, **kwargs: Any) -> tqdm:
    """A tqdm bar (same arguments), disabled while :func:`quiet`."""
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(*args, disable=quiet() or kwargs.pop("disable", False), **kwargs)
