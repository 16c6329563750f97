"""The end-of-session summary file (JSON; NaN and infinities written as null)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bci_app.session.files import OutputError, open_new
from models.jsonable import jsonable

__all__ = ["write_summary"]


def write_summary(path: str | Path, data: Mapping[str, Any], overwrite: bool = False) -> Path:
    """Write ``data`` as indented JSON (NaN/inf become null).

    Args:
        path: requested file; its folder must exist.
        data: e.g. :meth:`SummaryStats.to_dict`.
        overwrite: replace an existing file; otherwise a ``-<n>`` suffix is added as for
            :class:`SessionLog`.

    Returns:
        The path written.

    Raises:
        OutputError: missing folder or failed write.
    """
    path = Path(path)
    text = json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n"
    if overwrite:
        if not path.parent.is_dir():
            raise OutputError(
                f"cannot create {str(path)!r}: folder {str(path.parent)!r} does not exist"
            )
        target = path
        try:
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, target)
        except OSError as err:
            raise OutputError(f"cannot write {str(path)!r}: {err.strerror or err}") from err
        return target
    file, target = open_new(path)
    try:
        with file:
            file.write(text)
    except OSError as err:
        raise OutputError(f"cannot write {str(target)!r}: {err.strerror or err}") from err
    return target
