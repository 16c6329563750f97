"""Where a calibration writes: its folder (data, trainer report and log) and its model file."""

from __future__ import annotations

import time
from pathlib import Path

from bci_app.session.files import unique_path

__all__ = ["calibration_paths"]


def calibration_paths(recording: Path | None, stamp: str | None = None,
                      folder: Path | None = None) -> tuple[Path, Path]:
    """Where a calibration writes: ``(folder, model file)``.

    Beside the recording ``s.xdf``: ``s-calibration/`` and ``s-calibrated.safetensors``; without
    one, ``calibration-<date-time>/calibrated.safetensors`` in the working directory. Existing
    files and folders are never reused (``-1``, ``-2``... as for every output of the app).

    Args:
        recording: the session's XDF file (None: not recording).
        stamp: the date-time text (default: now, ``YYYYmmdd-HHMMSS``).
        folder: the folder asked for (``--calibrate-dir``), used as given; the model file
            stays beside the recording, else goes into it.
    """
    if recording is not None:
        base = Path(recording).with_suffix("")
        model = unique_path(base.with_name(f"{base.name}-calibrated.safetensors"))
        return (Path(folder) if folder else
                unique_path(base.with_name(f"{base.name}-calibration"))), model
    if folder is None:
        folder = unique_path(Path(f"calibration-{stamp or time.strftime('%Y%m%d-%H%M%S')}"))
    return Path(folder), Path(folder) / "calibrated.safetensors"
