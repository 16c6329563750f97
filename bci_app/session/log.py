"""The CSV session log: one row per predicted window, flushed as it goes.

Times are on LSL's clock (``local_clock``, seconds); latencies and inference times are in
milliseconds; band powers are log10 of microvolts squared.
"""

from __future__ import annotations

import csv
import math
import re
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bci_app.session.files import OutputError, open_new
from models.eeg.bands import BAND_NAMES
from models.eeg.regions import REGIONS

__all__ = ["SessionLog", "class_columns"]


def _column(name: str) -> str:
    """Safe CSV column fragment: non-alphanumerics become ``_``."""
    return re.sub(r"\W+", "_", name.strip()).strip("_") or "class"


def _distinct(columns: Sequence[str]) -> list[str]:
    """Column fragments made distinct: a repeat (``left-hand``, ``left hand``) gets ``_2``..."""
    out: list[str] = []
    for c in columns:
        name, k = c, 1
        while name in out:
            k += 1
            name = f"{c}_{k}"
        out.append(name)
    return out


def class_columns(class_names: Sequence[str]) -> list[str]:
    """The column fragment of each class (``left hand`` -> ``left_hand``), made distinct; the
    log's probability columns are ``p_<fragment>``."""
    return _distinct([_column(c) for c in class_names])


def _get(row: Any, key: str, default: Any = None) -> Any:
    if isinstance(row, Mapping):
        return row.get(key, default)
    return getattr(row, key, default)


def _num(value: Any, fmt: str) -> str:
    """Number as text; ``""`` for None, ``"nan"`` for NaN."""
    if value is None:
        return ""
    value = float(value)
    return "nan" if math.isnan(value) else format(value, fmt)


class SessionLog:
    """CSV log of a session, one line per predicted window, flushed as it goes.

    Columns: ``lsl_time`` (s), ``p_<class>`` (raw probabilities; one per class of the model,
    the name with non-alphanumerics as ``_``, made distinct), ``p_<class>_smooth``,
    ``predicted`` (class name), ``truth`` (class name or empty), ``latency_ms``,
    ``inference_ms``, ``<region>_<band>`` (log10 uV^2, regions x bands in order), ``faa``
    (ln alpha F4 - ln alpha F3), ``bad_channels`` (channels interpolated because they were bad,
    separated by spaces), ``segment_start`` (LSL time of the first sample of the filters'
    unbroken run, s: with ``lsl_time`` it places the window exactly in a recording, for
    ``sicleer-predict --align-to``), ``model`` (id of the model that predicted the row: the
    first 12 hex digits of its file's digest; it changes when calibration swaps the model).
    Numbers are plain decimals; ``nan`` for NaN, empty for None (a ``latency_ms`` that could
    not be measured).

    An existing file is never overwritten: ``session.csv`` becomes ``session-1.csv`` (see
    :attr:`path`). Rows are flushed to the OS when the last flush is ``flush_interval`` seconds
    old (default 0: every row, a few hundred bytes per hop), and on :meth:`close`.

    Args:
        path: requested file path; its folder must exist.
        class_names: class names in probability order.
        band_names: band columns per region.
        regions: region column prefixes; missing regions in a row are written as ``nan``.
        flush_interval: seconds between flushes (0 = flush every row).

    Raises:
        OutputError: the folder does not exist or the file cannot be created.
    """

    def __init__(
        self,
        path: str | Path,
        class_names: Sequence[str],
        band_names: Sequence[str] = BAND_NAMES,
        regions: Sequence[str] = REGIONS,
        flush_interval: float = 0.0,
    ) -> None:
        self.class_names = tuple(class_names)
        self.band_names = tuple(band_names)
        self.regions = tuple(regions)
        self.flush_interval = flush_interval
        classes = class_columns(self.class_names)
        self.columns: tuple[str, ...] = (
            "lsl_time",
            *(f"p_{c}" for c in classes),
            *(f"p_{c}_smooth" for c in classes),
            "predicted",
            "truth",
            "latency_ms",
            "inference_ms",
            *(f"{r}_{b}" for r in self.regions for b in self.band_names),
            "faa",
            "bad_channels",
            "segment_start",
            "model",
        )
        self._file, self._path = open_new(Path(path))
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._lock = threading.Lock()
        self._rows = 0
        self._last_flush = time.monotonic()
        self._writer.writerow(self.columns)
        self._file.flush()

    @property
    def path(self) -> Path:
        """The file actually written (may carry a ``-<n>`` suffix)."""
        return self._path

    @property
    def rows_written(self) -> int:
        return self._rows

    @property
    def closed(self) -> bool:
        return self._file.closed

    def _class_name(self, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        index = int(value)
        return self.class_names[index] if 0 <= index < len(self.class_names) else str(index)

    def _vector(self, value: Any, n: int, fmt: str) -> list[str]:
        if value is None:
            return ["nan"] * n
        values = np.asarray(value, dtype=np.float64).reshape(-1)
        if values.size != n:
            raise ValueError(
                f"session log {str(self._path)!r}: expected {n} values, got {values.size}"
            )
        return [_num(v, fmt) for v in values]

    def format_row(self, row: Any) -> list[str]:
        """The CSV cells for ``row`` (see :meth:`write`)."""
        k = len(self.class_names)
        bands = _get(row, "band_power") or {}
        cells = [_num(_get(row, "lsl_time"), ".6f")]
        cells += self._vector(_get(row, "probs"), k, ".6f")
        cells += self._vector(_get(row, "smoothed"), k, ".6f")
        cells += [
            self._class_name(_get(row, "predicted")),
            self._class_name(_get(row, "truth")),
            _num(_get(row, "latency_ms"), ".3f"),
            _num(_get(row, "inference_ms"), ".3f"),
        ]
        for region in self.regions:
            cells += self._vector(bands.get(region), len(self.band_names), ".5f")
        cells.append(_num(_get(row, "faa"), ".5f"))
        cells.append(" ".join(_get(row, "bad_channels", ()) or ()))
        cells.append(_num(_get(row, "segment_start"), ".6f"))
        cells.append(str(_get(row, "model", "") or ""))
        return cells

    def write(self, row: Any) -> None:
        """Append one window.

        Args:
            row: a ``WindowResult``-like object or a mapping with the same keys:
                ``lsl_time`` (s), ``probs`` (K,), ``smoothed`` (K,), ``predicted`` (class
                index or name), ``truth`` (index, name or None), ``latency_ms``,
                ``inference_ms``, ``band_power`` ({region: (n_bands,) log10 uV^2}), ``faa``,
                ``bad_channels`` (names; optional), ``segment_start`` (s; optional), ``model`` (id;
                optional).

        Raises:
            ValueError: a vector of the wrong length.
            OutputError: the log is closed or the disk write failed.
        """
        cells = self.format_row(row)
        with self._lock:
            if self._file.closed:
                raise OutputError(f"session log {str(self._path)!r} is closed")
            try:
                self._writer.writerow(cells)
                self._rows += 1
                now = time.monotonic()
                if now - self._last_flush >= self.flush_interval:
                    self._file.flush()
                    self._last_flush = now
            except OSError as err:
                raise OutputError(f"cannot write {str(self._path)!r}: {err}") from err

    def flush(self) -> None:
        """Push buffered rows to the OS now."""
        with self._lock:
            if not self._file.closed:
                self._file.flush()
                self._last_flush = time.monotonic()

    def close(self) -> None:
        """Flush and close. Idempotent."""
        with self._lock:
            if not self._file.closed:
                self._file.close()

    def __enter__(self) -> SessionLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
