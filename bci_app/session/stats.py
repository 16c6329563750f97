"""Counters and timing of a live session.

Latencies and inference times are in milliseconds. Samples lost and clock jumps are found by
:class:`bci_app.signal.clock.StreamClock`, bad channels by :mod:`bci_app.signal.quality`.
"""

from __future__ import annotations

import threading
from array import array
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any

import numpy as np

__all__ = ["StatsSnapshot", "SummaryStats"]


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
        windows_predicted, windows_skipped: window counts.
        nan_windows: windows not predicted because too many channels held invalid samples
            (NaN, Inf, beyond ±1 V).
        samples_lost: input samples missing in gaps; reconnects: stream reconnections (counted
            when data flows again).
        latency_p50, latency_p95: ms, over the recent timed windows (None before the first).
        inference_ms: median of the recent inference times, ms.
        online_accuracy: fraction of windows with ground truth predicted right (None: none).
        n_with_truth: windows with ground truth.
        bad_signal_windows: windows not predicted because too many channels had a level EEG
            cannot have (flat, too small, too large, saturated).
        untimed_windows: predicted windows whose timing cannot be trusted (a clock jump in the
            window, or a timestamp ahead of the local clock): left out of the latencies.
        clock_jumps: jumps of the stream's timestamps (re-anchored).
        stalls: times the stream stayed open but sent nothing.
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
    bad_signal_windows: int = 0
    untimed_windows: int = 0
    clock_jumps: int = 0
    stalls: int = 0


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
        self._bad_signal = 0
        self._untimed = 0
        self._jumps = 0
        self._stalls = 0
        self._bad_channels: Counter[str] = Counter()
        k = len(self.class_names) if self.class_names else 0
        self._confusion = np.zeros((k, k), dtype=np.int64)
        self._earlier: list[dict[str, Any]] = []  # confusions of earlier class sets

    def change_classes(self, class_names: Sequence[str]) -> None:
        """A model with another class set predicts from now on: the confusion matrix so far
        is kept for the summary (``earlier_confusions``) and a new one starts; the other
        counters (accuracy included: right or wrong needs no class set) go on."""
        with self._lock:
            if self.class_names is not None:
                self._earlier.append({"class_names": list(self.class_names),
                                      "confusion": self._confusion.tolist()})
            self.class_names = tuple(class_names)
            k = len(self.class_names)
            self._confusion = np.zeros((k, k), dtype=np.int64)

    def add_window(
        self, latency_ms: float | None, inference_ms: float, predicted: int, truth: int | None,
        bad_channels: Iterable[str] = (),
    ) -> None:
        """Count one predicted window: latency (None, or not finite: untimed, left out of the
        latencies) and inference time in ms, class indices, the channels interpolated because
        they were bad."""
        with self._lock:
            self._predicted += 1
            if latency_ms is not None and np.isfinite(latency_ms):
                self._latency.append(latency_ms)
                self._recent_latency.append(latency_ms)
            else:
                self._untimed += 1
            self._inference.append(inference_ms)
            self._recent_inference.append(inference_ms)
            self._bad_channels.update(bad_channels)
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
        """Count a window refused because too many channels held invalid samples."""
        with self._lock:
            self._nan += 1

    def add_bad_signal_window(self) -> None:
        """Count a window refused because too many channels had an implausible level."""
        with self._lock:
            self._bad_signal += 1

    def add_clock_jump(self) -> None:
        """Count one jump of the stream's timestamps."""
        with self._lock:
            self._jumps += 1

    def add_stall(self) -> None:
        """Count one stall (the stream open, nothing arriving)."""
        with self._lock:
            self._stalls += 1

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
            more = {"bad_signal_windows": self._bad_signal, "untimed_windows": self._untimed,
                    "clock_jumps": self._jumps, "stalls": self._stalls}
        p50 = p95 = inf = None
        if latency.size:
            p50, p95 = (float(v) for v in np.percentile(latency, [50, 95]))
        if inference.size:
            inf = float(np.median(inference))
        return StatsSnapshot(
            *counters,
            latency_p50=p50,
            latency_p95=p95,
            inference_ms=inf,
            online_accuracy=accuracy,
            n_with_truth=n_truth,
            **more,
        )

    def to_dict(self, device: str | None = None, stream: Any = None, **extra: Any) -> dict:
        """The session summary.

        Args:
            device: inference device, e.g. ``"cuda:0"`` or ``"cpu"``.
            stream: the EEG stream (a dataclass such as ``StreamDescription``, or a mapping).
            **extra: further JSON-ready entries (model path, duration_s...), added last.

        Returns:
            ``windows_predicted``, ``windows_skipped``, ``nan_windows``,
            ``bad_signal_windows``, ``untimed_windows``, ``samples_lost``, ``reconnects``,
            ``stalls``, ``clock_jumps``, ``bad_channels`` ({channel: windows it was
            interpolated in}), ``latency_ms`` ({p50, p95, p99, mean, max}, ms, over the timed
            windows) and ``inference_ms`` (the same over all windows), ``online_accuracy``
            (None without truth), ``n_with_truth``, ``class_names`` and ``confusion`` (rows
            truth, columns predicted; when class names are known; after a class change, the
            earlier ones in ``earlier_confusions``), ``device``, ``stream``, then ``extra``.
        """
        with self._lock:
            latency = np.frombuffer(self._latency, dtype=np.float32).astype(np.float64)
            inference = np.frombuffer(self._inference, dtype=np.float32).astype(np.float64)
            out: dict[str, Any] = {
                "windows_predicted": self._predicted,
                "windows_skipped": self._skipped,
                "nan_windows": self._nan,
                "bad_signal_windows": self._bad_signal,
                "untimed_windows": self._untimed,
                "samples_lost": self._lost,
                "reconnects": self._reconnects,
                "stalls": self._stalls,
                "clock_jumps": self._jumps,
                "bad_channels": dict(sorted(self._bad_channels.items())),
                "online_accuracy": self._accuracy(),
                "n_with_truth": self._with_truth,
            }
            confusion = self._confusion.tolist()
            class_names, earlier = self.class_names, [dict(e) for e in self._earlier]
        out["latency_ms"] = _percentiles(latency)
        out["inference_ms"] = _percentiles(inference)
        if class_names is not None:
            out["class_names"] = list(class_names)
            out["confusion"] = confusion
        if earlier:
            out["earlier_confusions"] = earlier
        out["device"] = device
        if is_dataclass(stream) and not isinstance(stream, type):
            stream = asdict(stream)
        out["stream"] = dict(stream) if stream is not None else None
        out.update(extra)
        return out

