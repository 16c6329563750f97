"""Counters and timing of a live session, and the count of samples lost in gaps.

Latencies and inference times are in milliseconds.
"""

from __future__ import annotations

import threading
from array import array
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any

import numpy as np

__all__ = ["StatsSnapshot", "SummaryStats", "count_gaps"]


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
    """Cheap view of :class:`SummaryStats` for a status line (latencies over the last N).

    Attributes:
        windows_predicted, windows_skipped, nan_windows: window counts.
        samples_lost: input samples missing in gaps; reconnects: stream reconnections.
        latency_p50, latency_p95: ms, over the recent windows (None before the first).
        inference_ms: median of the recent inference times, ms.
        online_accuracy: fraction of windows with ground truth predicted right (None: none).
        n_with_truth: windows with ground truth.
    """

    windows_predicted: int = 0
    windows_skipped: int = 0
    nan_windows: int = 0
    samples_lost: int = 0
    reconnects: int = 0
    latency_p50: float | None = None
    latency_p95: float | None = None
    inference_ms: float | None = None
    online_accuracy: float | None = None
    n_with_truth: int = 0


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
