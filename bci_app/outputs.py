"""What a live session leaves behind: the predictions LSL outlet, the CSV session log, the
summary statistics (and their JSON file), and the count of samples lost in gaps.

All times are on LSL's clock (``local_clock``, seconds); latencies and inference times are in
milliseconds; band powers are log10 of microvolts squared.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import threading
import time
from array import array
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from mne_lsl.lsl import StreamInfo, StreamOutlet

from offline_training.jsonable import jsonable

__all__ = [
    "BAND_NAMES",
    "OUTLET_TYPE",
    "REGIONS",
    "OutputError",
    "PredictionOutlet",
    "SessionLog",
    "StatsSnapshot",
    "SummaryStats",
    "count_gaps",
    "unique_path",
    "write_summary",
]

OUTLET_TYPE = "MentalState"
BAND_NAMES = ("delta", "theta", "alpha", "beta", "gamma")
REGIONS = ("frontal", "temporal")


class OutputError(OSError):
    """An output file cannot be created or written; the message names the path."""


# ----------------------------------------------------------------------------- LSL outlet
class PredictionOutlet:
    """LSL outlet of class probabilities, one sample per predicted window.

    Stream: type ``"MentalState"``, float32, one channel per class with
    ``desc/channels/channel`` label = class name, unit ``"probability"``, type
    ``"probability"``. The nominal rate is 0 (irregular): windows are skipped while the stream
    warms up, is lost or yields NaN, so a fixed hop rate would let recorders (LabRecorder, XDF
    loaders) invent timestamps for samples that never existed. Each sample carries the LSL time
    of the newest EEG sample of its window, so it lines up with the EEG in a recording.

    Args:
        name: stream name (``--outlet-name``, default ``"SI-CLEER"``).
        class_names: channel labels, in probability order.
        source_id: source id (e.g. ``f"SI-CLEER-{eeg source id}"``), lets recorders reconnect.

    Raises:
        ValueError: empty ``name`` or no class names.
    """

    def __init__(self, name: str, class_names: Sequence[str], source_id: str = "") -> None:
        if not name:
            raise ValueError("the predictions outlet needs a non-empty name")
        if len(class_names) == 0:
            raise ValueError(f"outlet {name!r}: no class names")
        self.name = name
        self.class_names = tuple(class_names)
        info = StreamInfo(
            name=name,
            stype=OUTLET_TYPE,
            n_channels=len(self.class_names),
            sfreq=0.0,
            dtype="float32",
            source_id=source_id,
        )
        info.set_channel_names(list(self.class_names))
        info.set_channel_units("probability")
        info.set_channel_types("probability")
        self._outlet: StreamOutlet | None = StreamOutlet(info, chunk_size=1)
        self._lock = threading.Lock()

    @property
    def closed(self) -> bool:
        return self._outlet is None

    @property
    def has_consumers(self) -> bool:
        """True while at least one inlet (e.g. LabRecorder) is connected."""
        outlet = self._outlet
        return outlet is not None and outlet.has_consumers

    def push(self, probs: Sequence[float] | np.ndarray, lsl_time: float) -> None:
        """Send one window's probabilities.

        Args:
            probs: (n_classes,) probabilities, in ``class_names`` order.
            lsl_time: LSL time of the window's newest EEG sample, seconds.

        Raises:
            ValueError: ``probs`` of the wrong shape.
            RuntimeError: the outlet is closed.
        """
        values = np.asarray(probs, dtype=np.float32).reshape(-1)
        if values.shape != (len(self.class_names),):
            raise ValueError(
                f"outlet {self.name!r}: expected {len(self.class_names)} probabilities "
                f"({', '.join(self.class_names)}), got shape {np.shape(probs)}"
            )
        with self._lock:
            if self._outlet is None:
                raise RuntimeError(f"outlet {self.name!r} is closed")
            self._outlet.push_sample(values, timestamp=float(lsl_time))

    def close(self) -> None:
        """Withdraw the stream from the network. Idempotent."""
        with self._lock:
            outlet, self._outlet = self._outlet, None
        if outlet is not None:
            outlet._del()  # destroy now rather than at garbage collection

    def __enter__(self) -> PredictionOutlet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ----------------------------------------------------------------------------- files
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


def _open_new(path: Path) -> tuple[TextIO, Path]:
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


def _column(name: str) -> str:
    """Safe CSV column fragment: non-alphanumerics become ``_``."""
    return re.sub(r"\W+", "_", name.strip()).strip("_") or "class"


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

    Columns: ``lsl_time`` (s), ``p_<class>`` (raw probabilities), ``p_<class>_smooth``,
    ``predicted`` (class name), ``truth`` (class name or empty), ``latency_ms``,
    ``inference_ms``, ``<region>_<band>`` (log10 uV^2, regions x bands in order), ``faa``
    (ln alpha F4 - ln alpha F3). Numbers are plain decimals; ``nan`` for NaN, empty for None.

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
        classes = [_column(c) for c in self.class_names]
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
        )
        self._file, self._path = _open_new(Path(path))
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
        return cells

    def write(self, row: Any) -> None:
        """Append one window.

        Args:
            row: a ``WindowResult``-like object or a mapping with the same keys:
                ``lsl_time`` (s), ``probs`` (K,), ``smoothed`` (K,), ``predicted`` (class
                index or name), ``truth`` (index, name or None), ``latency_ms``,
                ``inference_ms``, ``band_power`` ({region: (n_bands,) log10 uV^2}), ``faa``.

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


# ----------------------------------------------------------------------------- statistics
def _percentiles(values: np.ndarray) -> dict[str, float | None]:
    """p50/p95/p99/mean/max of ``values`` (ms); None each when empty."""
    if values.size == 0:
        return {"p50": None, "p95": None, "p99": None, "mean": None, "max": None}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
        "mean": float(values.mean()),
        "max": float(values.max()),
    }


@dataclass(frozen=True)
class StatsSnapshot:
    """Cheap view of :class:`SummaryStats` for a status line (latencies over the last N)."""

    windows_predicted: int
    windows_skipped: int
    nan_windows: int
    samples_lost: int
    reconnects: int
    latency_p50: float | None
    latency_p95: float | None
    inference_ms: float | None  # median of the recent inference times
    online_accuracy: float | None
    n_with_truth: int


class SummaryStats:
    """Counters and timing of a session; thread-safe (engine writes, GUI reads snapshots).

    Every latency and inference time is kept (float32, 4 bytes each: ~1.4 MB per day at
    4 windows/s) for exact final percentiles; :meth:`snapshot` uses only the last ``recent``.

    Args:
        class_names: if given, the summary includes a confusion matrix (rows = truth).
        recent: number of latest values that :meth:`snapshot` summarises.
    """

    def __init__(self, class_names: Sequence[str] | None = None, recent: int = 2000) -> None:
        self.class_names = tuple(class_names) if class_names is not None else None
        self._lock = threading.Lock()
        self._latency = array("f")
        self._inference = array("f")
        self._recent_latency: deque[float] = deque(maxlen=recent)
        self._recent_inference: deque[float] = deque(maxlen=recent)
        self._predicted = 0
        self._skipped = 0
        self._nan = 0
        self._lost = 0
        self._reconnects = 0
        self._with_truth = 0
        self._correct = 0
        k = len(self.class_names) if self.class_names else 0
        self._confusion = np.zeros((k, k), dtype=np.int64)

    def add_window(
        self, latency_ms: float, inference_ms: float, predicted: int, truth: int | None
    ) -> None:
        """Count one predicted window: latency and inference time in ms, class indices."""
        with self._lock:
            self._predicted += 1
            self._latency.append(latency_ms)
            self._inference.append(inference_ms)
            self._recent_latency.append(latency_ms)
            self._recent_inference.append(inference_ms)
            if truth is not None:
                self._with_truth += 1
                self._correct += int(predicted == truth)
                k = self._confusion.shape[0]
                if 0 <= truth < k and 0 <= predicted < k:
                    self._confusion[truth, predicted] += 1

    def add_result(self, result: Any) -> None:
        """:meth:`add_window` from a ``WindowResult``-like object (or mapping)."""
        self.add_window(
            float(_get(result, "latency_ms")),
            float(_get(result, "inference_ms")),
            int(_get(result, "predicted")),
            _get(result, "truth"),
        )

    def add_skipped(self, n: int = 1) -> None:
        """Count windows not predicted (warm-up excluded by the caller's choice)."""
        with self._lock:
            self._skipped += int(n)

    def add_nan_window(self) -> None:
        """Count a window refused because it held NaN or infinite values."""
        with self._lock:
            self._nan += 1

    def add_samples_lost(self, n: int) -> None:
        """Count samples missing from the stream (see :func:`count_gaps`)."""
        with self._lock:
            self._lost += int(n)

    add_lost = add_samples_lost

    def add_reconnect(self) -> None:
        """Count one reconnection to the EEG stream."""
        with self._lock:
            self._reconnects += 1

    def _accuracy(self) -> float | None:
        return self._correct / self._with_truth if self._with_truth else None

    def snapshot(self) -> StatsSnapshot:
        """Counters plus p50/p95 latency and median inference time over the recent windows."""
        with self._lock:
            latency = np.fromiter(self._recent_latency, dtype=np.float64)
            inference = np.fromiter(self._recent_inference, dtype=np.float64)
            counters = (self._predicted, self._skipped, self._nan, self._lost, self._reconnects)
            accuracy, n_truth = self._accuracy(), self._with_truth
        p50 = p95 = inf = None
        if latency.size:
            p50, p95 = (float(v) for v in np.percentile(latency, [50, 95]))
            inf = float(np.median(inference))
        return StatsSnapshot(
            *counters,
            latency_p50=p50,
            latency_p95=p95,
            inference_ms=inf,
            online_accuracy=accuracy,
            n_with_truth=n_truth,
        )

    def to_dict(self, device: str | None = None, stream: Any = None, **extra: Any) -> dict:
        """The session summary.

        Args:
            device: inference device, e.g. ``"cuda:0"`` or ``"cpu"``.
            stream: the EEG stream (a dataclass such as ``StreamDescription``, or a mapping).
            **extra: further JSON-ready entries (model path, duration_s...), added last.

        Returns:
            ``windows_predicted``, ``windows_skipped``, ``nan_windows``, ``samples_lost``,
            ``reconnects``, ``latency_ms`` and ``inference_ms`` ({p50, p95, p99, mean, max},
            ms, over all windows), ``online_accuracy`` (None without truth), ``n_with_truth``,
            ``class_names`` and ``confusion`` (rows truth, columns predicted; when class names
            are known), ``device``, ``stream``, then ``extra``.
        """
        with self._lock:
            latency = np.frombuffer(self._latency, dtype=np.float32).astype(np.float64)
            inference = np.frombuffer(self._inference, dtype=np.float32).astype(np.float64)
            out: dict[str, Any] = {
                "windows_predicted": self._predicted,
                "windows_skipped": self._skipped,
                "nan_windows": self._nan,
                "samples_lost": self._lost,
                "reconnects": self._reconnects,
                "online_accuracy": self._accuracy(),
                "n_with_truth": self._with_truth,
            }
            confusion = self._confusion.tolist()
        out["latency_ms"] = _percentiles(latency)
        out["inference_ms"] = _percentiles(inference)
        if self.class_names is not None:
            out["class_names"] = list(self.class_names)
            out["confusion"] = confusion
        out["device"] = device
        if is_dataclass(stream) and not isinstance(stream, type):
            stream = asdict(stream)
        out["stream"] = dict(stream) if stream is not None else None
        out.update(extra)
        return out


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
    file, target = _open_new(path)
    try:
        with file:
            file.write(text)
    except OSError as err:
        raise OutputError(f"cannot write {str(target)!r}: {err.strerror or err}") from err
    return target


# ----------------------------------------------------------------------------- gaps
def count_gaps(
    timestamps: Sequence[float] | np.ndarray, sfreq: float, previous_last: float | None = None
) -> int:
    """Samples missing between consecutive timestamps.

    A step longer than 1.5 sample periods counts ``round(step * sfreq) - 1`` lost samples.
    Steps that go backwards (clock reset, reordering) count nothing.

    Args:
        timestamps: (n,) LSL times of one chunk, seconds, ascending.
        sfreq: nominal rate in Hz (> 0).
        previous_last: timestamp of the last sample of the previous chunk, to count a gap
            across the chunk boundary; None for the first chunk.

    Returns:
        Number of samples lost (>= 0).

    Raises:
        ValueError: ``sfreq`` not positive.
    """
    if not sfreq > 0:
        raise ValueError(f"count_gaps needs a positive sampling rate, got {sfreq}")
    stamps = np.asarray(timestamps, dtype=np.float64).reshape(-1)
    if previous_last is not None:
        stamps = np.concatenate(([float(previous_last)], stamps))
    if stamps.size < 2:
        return 0
    steps = np.diff(stamps)
    gaps = steps[steps > 1.5 / sfreq]
    if gaps.size == 0:
        return 0
    return int(np.sum(np.rint(gaps * sfreq).astype(np.int64) - 1))
