"""Ground truth from the replay's marker stream.

The replay tool (:mod:`bci_app.replay`) sends, on a string stream of type ``"Markers"`` named
``f"{eeg_name}-markers"`` with source id ``f"{eeg_source_id}-markers"``, one marker at the first
and one at the last sample of each SEED trial: ``"trial 3 start negative"`` ..
``"trial 3 end negative"`` (no class word when the labels are unknown), stamped with exactly
that sample's LSL time. Other recordings send annotation descriptions (``"T1"``,
``"T1 end"``), which carry no class.

:class:`MarkerTracker` turns markers into trial intervals and answers "which class was shown
at LSL time t"; :class:`MarkerListener` feeds a tracker from the stream in a background thread.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mne_lsl.lsl import StreamInlet, local_clock, resolve_streams

from bci_app.lsl.protocol import (
    MARKER_TYPE,
    STRING_DTYPE,
    TRIAL_MARKER,
    marker_name,
    marker_source_id,
)
from bci_app.lsl.streams import StreamDescription, list_streams
from models.eeg.label_map import LabelMap
from models.eeg.seed_layout import SEED_CLASS_NAMES

__all__ = [
    "SETTLE_S",
    "MarkerListener",
    "MarkerTracker",
    "find_marker_stream",
    "parse_marker",
]

log = logging.getLogger(__name__)

DUPLICATE_START_S = 1e-3
"""A start marker of the same trial number within this many seconds of a known trial's start
is that start repeated (a sender re-announces the running trial when a receiver connects, with
the original timestamp; liblsl's clock-offset correction may move the copy by microseconds).
It is ignored."""
SETTLE_S = 1.0
"""Seconds after the marker inlet subscribed within which a sender's re-announcement of the
running trial arrives (the replay polls for consumers every 0.1 s; the margin is for a loaded
machine). Truth looked up before then may miss a trial that began before the app joined;
:meth:`MarkerListener.wait_settled` ends early at the first marker."""


@dataclass(frozen=True)
class _TrialMarker:
    kind: str  # "start" | "end"
    trial: int
    label: str | None  # the class name as sent (or as the label map gives it), None: none


def _find(label: str | None, class_names: Sequence[str]) -> int | None:
    """Index of ``label`` among ``class_names`` (case-insensitive), else None."""
    if not label:
        return None
    lowered = label.lower()
    for i, name in enumerate(class_names):
        if name.lower() == lowered:
            return i
    return None


def _parse(text: str) -> _TrialMarker | None:
    match = TRIAL_MARKER.fullmatch(text)
    if match is None:
        return None
    return _TrialMarker(match.group(2).lower(), int(match.group(1)), match.group(3) or None)


def parse_marker(
    text: str, class_names: Sequence[str] = SEED_CLASS_NAMES
) -> tuple[str, int | None] | None:
    """Parse one marker string.

    Args:
        text: e.g. ``"trial 3 start negative"`` or ``"trial 3 end negative"``.
        class_names: class names in index order (compared case-insensitively); default
            ``("negative", "neutral", "positive")``.

    Returns:
        ``("start" | "end", class index)`` for a trial marker; the index is None when the
        marker has no class word or an unknown one. None for anything else (``"T1"``...).
    """
    parsed = _parse(text)
    return None if parsed is None else (parsed.kind, _find(parsed.label, class_names))


@dataclass
class _Interval:
    start: float
    end: float  # +inf while the trial's end marker has not arrived
    trial: int
    label: str | None  # class name (case as sent), None: a trial without a class


class MarkerTracker:
    """Trial intervals built from markers; thread-safe.

    A trial covers ``start <= t < end`` on LSL's clock (``end`` is the timestamp of the trial's
    last sample, so that sample itself counts as outside: a window ending exactly there is
    rare and ambiguous). A trial whose end marker has not arrived yet is open-ended, so a
    window predicted just after a trial ends may get that trial's label until the end marker
    is pulled (markers arrive within tens of ms of their EEG). A start while another trial is
    open closes the open one there; an end without a start (the stream joined mid-trial) is
    ignored, so that trial's windows have no truth. A start repeated with (nearly) the same
    time (:data:`DUPLICATE_START_S`) is ignored: the trial stays one interval.

    With a ``label_map`` (:mod:`models.eeg.label_map`, the trainer's rules for a lab's own
    marker texts): a marker the map matches starts a trial of its class (closing an open one),
    which lasts until the next marker of any kind; a ``trial N start <label>`` marker's label
    word (then its text) goes through the map too. Classes the model does not have give no
    truth, but their trials are kept with their label (:meth:`finished_trials`): calibration
    may train a model for another class set, and :meth:`set_class_names` then makes them
    truth.

    Args:
        class_names: class names in index order for :func:`parse_marker`.
        max_trials: the oldest intervals beyond this count are forgotten.
        label_map: marker text -> class name (None: the project's convention only).
    """

    def __init__(self, class_names: Sequence[str] = SEED_CLASS_NAMES, max_trials: int = 10_000,
                 label_map: LabelMap | None = None):
        self._class_names = tuple(class_names)
        self._label_map = label_map
        self._event_trials = 0  # trials started by label-map markers (numbered -1, -2...)
        self._max_trials = max_trials
        self._lock = threading.Lock()
        self._intervals: list[_Interval] = []  # sorted by start
        self._starts: list[float] = []
        self._n_markers = 0
        self._last: tuple[str, float] | None = None

    @property
    def class_names(self) -> tuple[str, ...]:
        """The classes that :meth:`truth_at` indexes (the running model's)."""
        return self._class_names

    @property
    def label_map(self) -> LabelMap | None:
        """The lab's marker texts -> class names, or None (the project's convention)."""
        return self._label_map

    def set_class_names(self, class_names: Sequence[str]) -> None:
        """Index truth by these classes from now on (a model with another class set); the
        trials known so far keep their labels."""
        with self._lock:
            self._class_names = tuple(class_names)

    @property
    def n_markers(self) -> int:
        """Markers received so far (any text)."""
        with self._lock:
            return self._n_markers

    @property
    def last_marker(self) -> tuple[str, float] | None:
        """(text, LSL time) of the most recent marker, or None."""
        with self._lock:
            return self._last

    @property
    def has_labels(self) -> bool:
        """True once a trial with a known class has started."""
        with self._lock:
            return any(_find(iv.label, self._class_names) is not None for iv in self._intervals)

    def add(self, text: str, lsl_time: float) -> tuple[str, int | None] | None:
        """Record one marker.

        Args:
            text: marker string.
            lsl_time: its LSL timestamp in seconds (on the same clock as the EEG).

        Returns:
            What :func:`parse_marker` made of it.
        """
        parsed = _parse(text)
        label_map = self._label_map
        with self._lock:
            self._n_markers += 1
            self._last = (text, float(lsl_time))
            if label_map is not None:
                parsed = self._mapped(text, parsed, float(lsl_time))
            if parsed is not None:
                if parsed.kind == "start":
                    self._start(parsed, float(lsl_time))
                else:
                    self._end(parsed, float(lsl_time))
            names = self._class_names
        return None if parsed is None else (parsed.kind, _find(parsed.label, names))

    def _mapped(self, text: str, parsed: _TrialMarker | None, t: float) -> _TrialMarker | None:
        """The trial marker ``text`` is under the label map (call with the lock held)."""
        label_map = self._label_map
        if parsed is not None:  # the convention, its class word through the map
            if parsed.kind == "start":
                match = TRIAL_MARKER.fullmatch(text)
                word = match.group(3) if match else None
                name = (label_map.match(word) if word else None) or label_map.match(text)
                if name is not None:
                    parsed = _TrialMarker("start", parsed.trial, name)
            return parsed
        name = label_map.match(text)
        if name is None:  # any other marker ends a trial the map started
            if self._intervals and self._intervals[-1].end > t:
                self._intervals[-1].end = t
            return None
        self._event_trials += 1
        return _TrialMarker("start", -self._event_trials, name)

    def _start(self, marker: _TrialMarker, t: float) -> None:
        idx = bisect.bisect_right(self._starts, t)
        for near in self._intervals[max(idx - 1, 0) : idx + 1]:
            if near.trial == marker.trial and abs(near.start - t) <= DUPLICATE_START_S:
                return  # the same start again (a sender re-announcing it to a late receiver)
        if idx > 0 and self._intervals[idx - 1].end > t:  # close an open or overlapping trial
            self._intervals[idx - 1].end = t
        end = self._starts[idx] if idx < len(self._starts) else float("inf")
        self._intervals.insert(idx, _Interval(t, end, marker.trial, marker.label))
        self._starts.insert(idx, t)
        if len(self._intervals) > self._max_trials:
            del self._intervals[0], self._starts[0]

    def _end(self, marker: _TrialMarker, t: float) -> None:
        idx = bisect.bisect_right(self._starts, t) - 1  # latest trial started at or before t
        if idx < 0:
            return
        interval = self._intervals[idx]
        if interval.trial == marker.trial and interval.end > t:
            interval.end = t

    def finished_trials(self, since: float = -float("inf"),
                        classes: Sequence[str] | None = None,
                        ) -> list[tuple[int, str, float, float]]:
        """Trials with a label whose end has arrived, oldest first.

        Args:
            since: only trials that end after this LSL time (s).
            classes: only trials of these classes (case-insensitive; the names are returned
                as given here); default: the tracker's :attr:`class_names`.

        Returns:
            (trial number, class name, start, end) per trial; start and end are the LSL
            times of its first and last sample (s). Trials a label-map marker started are
            numbered -1, -2... in order.
        """
        with self._lock:
            names = tuple(classes) if classes is not None else self._class_names
            out = []
            for iv in self._intervals:
                idx = _find(iv.label, names)
                if idx is not None and iv.end != float("inf") and iv.end > since:
                    out.append((iv.trial, names[idx], iv.start, iv.end))
            return out

    def spans(self, since: float = -float("inf")) -> list[tuple[int, str | None, float, float]]:
        """Every trial that ends after ``since`` (LSL s), oldest first, finished or not, with
        or without a label: (trial number, label as in :meth:`current`, start, end); ``end``
        is ``inf`` while the trial runs. For display (the trajectory's trial ticks)."""
        with self._lock:
            names = self._class_names
            out = []
            for iv in self._intervals:
                if iv.end > since:
                    cls = _find(iv.label, names)
                    out.append((iv.trial, names[cls] if cls is not None else iv.label,
                                iv.start, iv.end))
            return out

    def current(self, lsl_time: float) -> tuple[int, str | None] | None:
        """(trial number, label) of the trial running at ``lsl_time`` (s), None between
        trials or before any. The label is the model's class name when it is one of
        :attr:`class_names`, else the label as sent (None: a trial without one)."""
        with self._lock:
            idx = bisect.bisect_right(self._starts, lsl_time) - 1
            if idx < 0 or lsl_time >= self._intervals[idx].end:
                return None
            iv = self._intervals[idx]
            cls = _find(iv.label, self._class_names)
            return iv.trial, (self._class_names[cls] if cls is not None else iv.label)

    def truth_at(self, lsl_time: float) -> int | None:
        """Class index of the trial running at ``lsl_time`` (s, LSL clock), else None.

        None before any marker, between trials, inside a trial without a class, or after
        the forgotten horizon.
        """
        with self._lock:
            idx = bisect.bisect_right(self._starts, lsl_time) - 1
            if idx < 0:
                return None
            interval = self._intervals[idx]
            if lsl_time >= interval.end:
                return None
            return _find(interval.label, self._class_names)


class MarkerListener:
    """Pull a string marker stream in a daemon thread and feed a :class:`MarkerTracker`.

    The thread resolves the stream (by source id and/or name, type ``"Markers"``), retrying
    every ``resolve_timeout`` seconds until found, then pulls samples with short timeouts.
    It never raises: failures are logged and retried. The inlet recovers from a restarted
    outlet with the same source id (liblsl's ``recover``).

    Args:
        tracker: receives ``add(text, lsl_time)`` for the first channel of every sample.
        name: marker stream name, e.g. ``"bci-replay-markers"``.
        source_id: marker stream source id; at least one of name / source_id is required.
        clocksync: add liblsl's clock offset so times are on this machine's clock; use the
            same setting as the EEG inlet.
        resolve_timeout: seconds per resolve attempt (also bounds :meth:`stop` while the
            stream is not found yet).
        poll_timeout: seconds one pull waits for a sample (bounds stop() latency).
    """

    def __init__(
        self,
        tracker: MarkerTracker,
        name: str | None = None,
        source_id: str | None = None,
        *,
        clocksync: bool = True,
        resolve_timeout: float = 1.0,
        poll_timeout: float = 0.05,
    ) -> None:
        if not name and not source_id:
            raise ValueError("MarkerListener needs the marker stream's name or source id")
        self.tracker = tracker
        self.name = name or None
        self.source_id = source_id or None
        self._flags = ("clocksync",) if clocksync else None
        self._resolve_timeout = resolve_timeout
        self._poll_timeout = poll_timeout
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._connected_at: float | None = None  # local_clock() of the subscription
        self._got_marker = threading.Event()  # a marker arrived since the subscription
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_stream(
        cls, stream: StreamDescription, tracker: MarkerTracker, *, clocksync: bool = True
    ) -> MarkerListener:
        """Listener on a stream found by :func:`find_marker_stream`."""
        return cls(tracker, stream.name, stream.source_id or None, clocksync=clocksync)

    @property
    def connected(self) -> bool:
        """True while an inlet is open on the marker stream."""
        return self._connected.is_set()

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self) -> MarkerListener:
        """Start the background thread (returns at once; no-op when running)."""
        with self._lock:
            if self.running:
                return self
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name=f"markers-{self.name or self.source_id}", daemon=True
            )
            self._thread.start()
        return self

    def wait_connected(self, timeout: float | None = None) -> bool:
        """Block until the inlet has subscribed to the stream; False on timeout."""
        return self._connected.wait(timeout)

    def wait_settled(self, timeout: float) -> bool:
        """Block until a re-announced running trial would be in the tracker: the first marker
        since the subscription has arrived, or the inlet has been subscribed for
        :data:`SETTLE_S` seconds (a sender that does not re-announce).

        Args:
            timeout: longest wait in seconds.

        Returns:
            True when settled, False when not connected or not settled within ``timeout``.
        """
        end = local_clock() + timeout
        if not self._connected.wait(timeout):
            return False
        since = self._connected_at
        if since is None:
            return False
        remaining = min(since + SETTLE_S, end) - local_clock()
        if remaining > 0 and self._got_marker.wait(remaining):
            return True
        return self._got_marker.is_set() or local_clock() >= since + SETTLE_S

    def stop(self, timeout: float = 2.0) -> None:
        """Stop and join the thread, which closes its inlet. Idempotent."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("marker listener %r did not stop within %.1f s", thread.name, timeout)

    def __enter__(self) -> MarkerListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --------------------------------------------------------------------------- thread
    def _resolve(self) -> Any:
        # One property per resolve: mne-lsl splits the timeout between properties, and
        # loopback discovery of a stream that is not the newest can take ~1 s.
        if self.source_id is not None:
            infos = resolve_streams(timeout=self._resolve_timeout, source_id=self.source_id)
        else:
            infos = resolve_streams(timeout=self._resolve_timeout, name=self.name)
        infos = [
            i
            for i in infos
            if i.dtype == STRING_DTYPE
            and i.stype.lower() == MARKER_TYPE.lower()
            and (self.name is None or i.name == self.name)
        ]
        return infos[0] if infos else None

    def _run(self) -> None:
        inlet: StreamInlet | None = None
        try:
            while not self._stop.is_set():
                try:
                    if inlet is None:
                        sinfo = self._resolve()
                        if sinfo is None:
                            continue
                        inlet = StreamInlet(sinfo, recover=True, processing_flags=self._flags)
                        # subscribe now (not at the first pull), so that "connected" means
                        # the sender sees a consumer and may re-announce its running trial
                        inlet.open_stream(timeout=max(self._resolve_timeout, 2.0))
                        self._got_marker.clear()
                        self._connected_at = local_clock()
                        self._connected.set()
                        log.info("marker stream %r connected", sinfo.name)
                    self._pull(inlet)
                except Exception:
                    log.exception("marker stream %r: error; retrying", self.name or self.source_id)
                    self._connected.clear()
                    self._connected_at = None
                    inlet = _close(inlet)
                    self._stop.wait(self._resolve_timeout)
        finally:
            self._connected.clear()
            self._connected_at = None
            _close(inlet)

    def _pull(self, inlet: StreamInlet) -> None:
        sample, stamp = inlet.pull_sample(timeout=self._poll_timeout)
        if stamp is None:
            return
        self.tracker.add(str(sample[0]), stamp)
        samples, stamps = inlet.pull_chunk(timeout=0.0)  # drain what else is queued
        for values, t in zip(samples, stamps, strict=True):
            self.tracker.add(str(values[0]), float(t))
        self._got_marker.set()


def _close(inlet: StreamInlet | None) -> None:
    """Close an inlet (drop the subscription; liblsl destroys it with the last reference)."""
    if inlet is not None:
        try:
            inlet.close_stream()
        except Exception:
            log.exception("closing the marker inlet failed")
    return None


def find_marker_stream(
    eeg: StreamDescription,
    timeout: float = 1.0,
    streams: Sequence[StreamDescription] | None = None,
) -> StreamDescription | None:
    """The replay's marker stream that goes with ``eeg``, or None.

    A stream of type ``"Markers"`` (case-insensitive, string format) whose name is
    ``f"{eeg.name}-markers"`` or whose source id is ``f"{eeg.source_id}-markers"``. Among
    several, one matching both wins, then one on the EEG's host.

    Args:
        eeg: the selected EEG stream.
        timeout: resolve time in seconds when ``streams`` is not given.
        streams: an existing :func:`list_streams` result, to avoid resolving again.
    """
    if streams is None:
        streams = list_streams(timeout)
    name = marker_name(eeg.name)
    source_id = marker_source_id(eeg.source_id) if eeg.source_id else None
    candidates = [
        s
        for s in streams
        if s.stype.lower() == MARKER_TYPE.lower()
        and not s.is_numeric
        and (s.name == name or (source_id is not None and s.source_id == source_id))
    ]
    if not candidates:
        return None
    candidates.sort(key=lambda s: (s.name != name or s.source_id != source_id, s.host != eeg.host))
    return candidates[0]
