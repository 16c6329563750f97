"""Creating the session's output files: never overwriting, errors that name the path."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

__all__ = ["OutputError", "open_new", "unique_path"]


class OutputError(OSError):
    """An output file cannot be created or written; the message names the path."""


def unique_path(path: str | Path) -> Path:
    """``path`` if it does not exist, else the first free ``<stem>-<n><suffix>`` (n = 1, 2...).

    Raises:
        OutputError: the folder does not exist or is not a folder.
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"cannot create {str(path)!r}: folder {str(folder)!r} does not exist")
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def open_new(path: Path) -> tuple[TextIO, Path]:
    """Open a new text file at ``unique_path(path)`` (exclusive create, races retried)."""
    for _ in range(1000):
        candidate = unique_path(path)
        try:
            return open(candidate, "x", encoding="utf-8", newline=""), candidate
        except FileExistsError:
            continue
        except OSError as err:
            raise OutputError(f"cannot create {str(candidate)!r}: {err.strerror or err}") from err
    raise OutputError(f"cannot find a free file name next to {str(path)!r}")
