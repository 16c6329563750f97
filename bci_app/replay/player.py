"""Replay a recorded EEG file as a live Lab Streaming Layer (LSL) stream.

Two outlets are opened:

- EEG: type ``"EEG"``, the file's channels and nominal rate, float64 values in **microvolts**
  (channel metadata ``desc/channels/channel/unit = "microvolts"``), pushed in chunks of at most
  ``chunk_ms`` (default 25 ms) by a pacing thread of this module, on mne-lsl's public
  :class:`~mne_lsl.lsl.StreamOutlet`.
- Markers: type ``"Markers"``, irregular rate, one string channel. For a SEED session file the
  trial boundaries (``"trial 3 start negative"`` ... ``"trial 3 end negative"``); for other files
  the annotations (``"T1"``, and ``"T1 end"`` when the annotation has a duration).

Timing: a chunk of ``n`` samples is pushed with the LSL time ``t_last`` of its last sample and
liblsl gives sample ``k`` of the chunk ``t_last - (n - 1 - k) / sfreq``; sample ``i`` of the
first pass is stamped ``t_start + (i + 1) / sfreq``, ``t_start`` being
:func:`~mne_lsl.lsl.local_clock` when streaming starts (the EEG stream's ``desc/replay/t0``
says it, see :mod:`bci_app.lsl.protocol`). Each chunk is pushed once ``t_last`` is
due (paced against these absolute times, so no drift accumulates; a late thread pushes at once),
so timestamps never lie in the future of the receiver's clock. The last, shorter chunk of the
file is stamped contiguously. A marker refers to one sample of the recording and is pushed, in
the same streaming step as the chunk holding that sample, with exactly that sample's timestamp,
so a receiver can align markers to EEG samples on LSL's clock. Looping repeats the recording
seamlessly (a chunk may straddle the end of the file, timestamps keep growing by ``1 / sfreq``)
and the markers with the times of the repeated samples.

Late receivers: LSL delivers only what is pushed after an inlet connected, so a receiver that
joins mid-trial would miss that trial's start marker and have no ground truth until the next
trial. Whenever the marker outlet goes from no consumers to at least one (its
``has_consumers`` is polled by the streaming thread before each marker is pushed and at most
every :data:`CONSUMER_POLL_S` seconds of stream time otherwise), the start marker of the trial
running at that moment (``"trial N start ..."`` pushed, its ``"trial N end ..."`` not yet) is
pushed again: the same text with the original timestamp of the trial's first sample (in a
loop, of the current pass), so the receiver places the trial where it began. Nothing is sent
between trials, and ``on_marker`` is not called for the repeat. A receiver that connected just
before the original push may get the start twice with the same timestamp; receivers treat that
as one trial (:class:`bci_app.lsl.markers.MarkerTracker`, the trainer's XDF pairing).
``has_consumers`` only says whether any inlet is connected, so an inlet that joins while
another one is already connected (a recorder started before the app) gets no repeat.

Only public mne / mne-lsl API is used, so an upgrade of either cannot silently change the timing.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import mne
import numpy as np
from mne.io.constants import FIFF
from mne_lsl.lsl import StreamInfo, StreamOutlet, local_clock

from bci_app.lsl.protocol import (
    EEG_TYPE,
    MARKER_TYPE,
    REPLAY_DESC,
    TRIAL_MARKER,
    WIRE_UNIT,
    marker_name,
    marker_source_id,
)
from bci_app.replay.chunks import DEFAULT_NAME, MAX_CHUNK_MS, chunk_size_for, default_source_id
from bci_app.replay.recording import Marker, MarkerCallback, build_raw

__all__ = [
    "CONSUMER_POLL_S",
    "DEFAULT_NAME",
    "MAX_CHUNK_MS",
    "Replay",
    "chunk_size_for",
    "default_source_id",
]

log = logging.getLogger(__name__)

END_LINGER_S = 0.5
"""Seconds the outlets stay open after the last sample so receivers can pull it."""
CONSUMER_POLL_S = 0.1
"""Longest gap, in seconds of stream time, between two polls of the marker outlet's
``has_consumers`` (it is also polled right before each marker push)."""

_V_TO_UV = 1e6
_RUNNING: weakref.WeakSet[Replay] = weakref.WeakSet()  # stopped at interpreter exit


@atexit.register
def _stop_running() -> None:
    """Stop the replays still streaming when the interpreter exits (their daemon threads would
    otherwise die in the middle of a push)."""
    for replay in list(_RUNNING):
        replay.stop()


# ----------------------------------------------------------------------------- stream infos
def _is_volt(ch: dict[str, Any]) -> bool:
    """Whether a channel of ``info["chs"]`` is measured in volts (EEG, EOG, ECG, EMG, ...)."""
    return int(ch["unit"]) == FIFF.FIFF_UNIT_V


def _eeg_stream_info(info: mne.Info, name: str, source_id: str) -> StreamInfo:
    """LSL description of the EEG outlet: type "EEG", float64, MNE's channel labels and types,
    unit "microvolts" on volt channels (other channels keep MNE's unit multiplier code, as a
    string). :func:`_set_replay_clock` adds ``desc/replay`` at each start."""
    sinfo = StreamInfo(
        name=name,
        stype=EEG_TYPE,
        n_channels=info["nchan"],
        sfreq=info["sfreq"],
        dtype=np.float64,
        source_id=source_id,
    )
    sinfo.set_channel_info(info)
    units = [WIRE_UNIT if _is_volt(ch) else str(int(ch["unit_mul"])) for ch in info["chs"]]
    sinfo.set_channel_units(units)
    return sinfo


def _set_replay_clock(sinfo: StreamInfo, file: str, t0: float) -> None:
    """(Re)write ``desc/replay`` of ``sinfo``: the file's name and ``t0``, the LSL time the
    timestamps count from (:mod:`bci_app.lsl.protocol`). Fast, so it is done at each start."""
    old = sinfo.desc.child(REPLAY_DESC)
    if not old.empty():
        sinfo.desc.remove_child(old)
    replay = sinfo.desc.append_child(REPLAY_DESC)
    replay.append_child_value("file", file)
    replay.append_child_value("t0", repr(float(t0)))


def _marker_stream_info(name: str, source_id: str) -> StreamInfo:
    """LSL description of the marker outlet: type "Markers", irregular rate, one string."""
    sinfo = StreamInfo(
        name=name,
        stype=MARKER_TYPE,
        n_channels=1,
        sfreq=0.0,
        dtype="string",
        source_id=source_id,
    )
    sinfo.set_channel_names(["marker"])
    return sinfo


def _trial_kind(text: str) -> tuple[str, int] | None:
    """``("start" | "end", trial number)`` of a trial marker (``"trial 3 start negative"``),
    None for any other marker text."""
    match = TRIAL_MARKER.fullmatch(text)
    if match is None:
        return None
    return match.group(2).lower(), int(match.group(1))


def _wire_data(raw: mne.io.BaseRaw) -> np.ndarray:
    """The recording as sent: (n_samples, n_channels) float64, C-contiguous, volt channels in
    microvolts (MNE's volts x 1e6), other channels as MNE stores them."""
    data = raw.get_data()  # (n_channels, n_samples), a copy in MNE's SI units
    volts = np.array([_is_volt(ch) for ch in raw.info["chs"]], dtype=bool)
    data[volts] *= _V_TO_UV
    return np.ascontiguousarray(data.T, dtype=np.float64)


# ----------------------------------------------------------------------------- replay
class Replay:
    """Stream a recording over LSL in real time: EEG in microvolts plus a string marker stream.

    Example::

        with Replay("1_20131027.mat", trials=[10, 11]) as replay:
            replay.wait()

    Args:
        path: SEED session ``.mat`` file or any file MNE reads.
        name: LSL name of the EEG stream; the marker stream is ``f"{name}-markers"``.
        source_id: LSL source id; default ``"bci-replay-<file stem>"``; markers append
            ``"-markers"``.
        trials: SEED only: 1-based trial numbers to stream, in that order; None = all.
        loop: start again from the beginning at the end of the file, forever.
        chunk_ms: longest chunk in milliseconds, 0 < chunk_ms <= 25.
        on_marker: called from the streaming thread right after each marker is pushed, with
            the marker and its LSL timestamp in seconds; must return quickly.

    Raises:
        ReplayError: the file cannot be read (message names it).
        ValueError: invalid ``chunk_ms``.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        name: str = DEFAULT_NAME,
        source_id: str | None = None,
        trials: Sequence[int] | None = None,
        loop: bool = False,
        chunk_ms: float = MAX_CHUNK_MS,
        on_marker: MarkerCallback | None = None,
    ) -> None:
        self._path = Path(path)
        raw, markers = build_raw(self._path, trials)
        self._sfreq = float(raw.info["sfreq"])
        self._chunk_size = chunk_size_for(self._sfreq, chunk_ms)
        self._ch_names = list(raw.ch_names)
        self._name = name
        self._source_id = source_id or default_source_id(self._path)
        self._markers = tuple(markers)
        self._loop = loop
        self._on_marker = on_marker
        self._sinfo = _eeg_stream_info(raw.info, self._name, self._source_id)
        self._marker_sinfo = _marker_stream_info(self.marker_name, self.marker_source_id)
        self._data = _wire_data(raw)  # (n_samples, n_channels) as sent
        del raw
        # markers in stream order (stable: same-sample markers keep the recording's order)
        n_samples = self._data.shape[0]
        ordered = sorted(
            (m for m in self._markers if 0 <= m.sample < n_samples), key=lambda m: m.sample
        )
        self._marker_list = ordered
        self._marker_samples = np.array([m.sample for m in ordered], dtype=np.int64)
        self._trial_kinds = [_trial_kind(m.text) for m in ordered]  # parallel to _marker_list
        # streaming state
        self._lock = threading.Lock()  # serialises start() / stop()
        self._thread: threading.Thread | None = None
        self._outlet: StreamOutlet | None = None
        self._marker_outlet: StreamOutlet | None = None
        self._stopping = threading.Event()
        self._ended = threading.Event()
        self._ended.set()
        # streaming-thread state for late receivers (reset at each start)
        self._running_trial: tuple[int, str, float] | None = None  # number, start text, LSL s
        self._had_consumers = False

    # ------------------------------------------------------------------------- control
    def start(self) -> Replay:
        """Open the outlets and start streaming from the first sample (no-op if running)."""
        with self._lock:
            if self.running:
                return self
            self._join_thread()  # a previous pass that ended on its own
            self._stopping.clear()
            self._ended.clear()
            try:
                t_start = local_clock()
                _set_replay_clock(self._sinfo, self._path.name, t_start)
                self._outlet = StreamOutlet(self._sinfo, self._chunk_size)
                self._marker_outlet = StreamOutlet(self._marker_sinfo)
                self._thread = threading.Thread(
                    target=self._run, args=(t_start,), name=f"replay-{self._name}", daemon=True
                )
                self._thread.start()
                _RUNNING.add(self)
            except BaseException:
                self._thread = None
                self._close_outlets()
                self._ended.set()
                raise
        return self

    def stop(self) -> None:
        """Stop streaming, join the streaming thread and close both outlets. Idempotent."""
        if threading.current_thread() is self._thread:  # from on_marker: the thread closes
            self._stopping.set()
            return
        with self._lock:
            self._stopping.set()
            self._join_thread()
            self._close_outlets()
            self._ended.set()
            _RUNNING.discard(self)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the whole recording was streamed (never, with ``loop``).

        Returns:
            True when streaming has ended (or was never started), False on timeout.
        """
        return self._ended.wait(timeout)

    def __enter__(self) -> Replay:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Replay {self._name!r} | {self._path.name} | {state}>"

    # ------------------------------------------------------------------------- properties
    @property
    def path(self) -> Path:
        """The replayed file."""
        return self._path

    @property
    def name(self) -> str:
        """LSL name of the EEG stream."""
        return self._name

    @property
    def source_id(self) -> str:
        """LSL source id of the EEG stream."""
        return self._source_id

    @property
    def marker_name(self) -> str:
        """LSL name of the marker stream."""
        return marker_name(self._name)

    @property
    def marker_source_id(self) -> str:
        """LSL source id of the marker stream."""
        return marker_source_id(self._source_id)

    @property
    def sfreq(self) -> float:
        """Nominal sampling rate in Hz."""
        return self._sfreq

    @property
    def ch_names(self) -> list[str]:
        """Channel labels in stream order."""
        return list(self._ch_names)

    @property
    def n_samples(self) -> int:
        """Samples in one pass over the recording."""
        return int(self._data.shape[0])

    @property
    def duration(self) -> float:
        """Duration of one pass, in seconds."""
        return self.n_samples / self.sfreq

    @property
    def chunk_size(self) -> int:
        """Samples per pushed chunk (chunk duration = chunk_size / sfreq <= 25 ms)."""
        return self._chunk_size

    @property
    def loop(self) -> bool:
        """Whether the recording restarts at its end."""
        return self._loop

    @property
    def markers(self) -> tuple[Marker, ...]:
        """Markers of one pass, sorted by sample index."""
        return self._markers

    @property
    def running(self) -> bool:
        """True while the streaming thread pushes data."""
        return not self._ended.is_set()

    # ------------------------------------------------------------------------- streaming
    def _join_thread(self) -> None:
        """Join the streaming thread, if any (not from inside it: that would deadlock)."""
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _close_outlets(self) -> None:
        """Drop the outlets: the last reference goes, so ``StreamOutlet.__del__`` destroys them
        and receivers see the streams disappear."""
        self._outlet = None
        self._marker_outlet = None

    def _run(self, t_start: float) -> None:
        """Body of the streaming thread: stream, linger at the end of the file, close."""
        try:
            if self._stream(t_start) and not self._stopping.is_set():
                self._stopping.wait(END_LINGER_S)  # receivers drain the tail
        except Exception as exc:
            log.error("%s: streaming stopped: %s", self._name, exc)
        finally:
            self._close_outlets()
            self._ended.set()

    def _stream(self, t_start: float) -> bool:
        """Push chunks on schedule until the end of the file or :meth:`stop`.

        Args:
            t_start: LSL time in seconds of the start; absolute sample ``j`` (counted across
                passes) is stamped ``t_start + (j + 1) / sfreq``.

        Returns:
            True at the end of the file, False when stopped.
        """
        n_samples, chunk, sfreq = self.n_samples, self._chunk_size, self._sfreq
        self._running_trial, self._had_consumers = None, False
        position = 0  # absolute index of the next sample to push, across passes
        next_poll = t_start  # stream time (LSL s) of the next has_consumers poll
        while True:
            n = chunk if self._loop else min(chunk, n_samples - position)
            if n <= 0:
                return True
            t_last = t_start + (position + n) / sfreq  # LSL time of the chunk's last sample
            if not self._sleep_until(t_last):
                return False
            if t_last >= next_poll:
                self._check_consumers()
                next_poll = t_last + CONSUMER_POLL_S
            self._push(position, n, t_last)
            position += n

    def _sleep_until(self, due: float) -> bool:
        """Sleep until :func:`local_clock` reaches ``due`` (returns at once when late).

        Returns:
            False when :meth:`stop` interrupted the wait.
        """
        while True:
            remaining = due - local_clock()
            if remaining <= 0:
                return not self._stopping.is_set()
            if self._stopping.wait(remaining):
                return False

    def _segments(self, position: int, n: int) -> Iterator[tuple[int, int, int]]:
        """Split the absolute samples [position, position + n) at the ends of the file.

        Yields:
            ``(offset, first, count)``: ``count`` samples starting at file index ``first``
            occupy chunk rows ``offset ... offset + count - 1``.
        """
        n_samples = self.n_samples
        offset = 0
        while offset < n:
            first = (position + offset) % n_samples
            count = min(n - offset, n_samples - first)
            yield offset, first, count
            offset += count

    def _push(self, position: int, n: int, t_last: float) -> None:
        """Push the chunk of absolute samples [position, position + n), stamped ``t_last``, then
        the markers of its samples, in sample order, each with its sample's timestamp."""
        outlet, marker_outlet = self._outlet, self._marker_outlet
        if outlet is None or marker_outlet is None:
            raise RuntimeError("the outlets are closed")
        segments = list(self._segments(position, n))
        if len(segments) == 1:
            _, first, _ = segments[0]
            data = self._data[first : first + n]  # contiguous view (n, n_channels)
        else:  # straddles the end of the file
            data = np.concatenate([self._data[f : f + c] for _, f, c in segments])
        if n == 1:  # push_chunk warns about a single sample
            outlet.push_sample(data[0], timestamp=t_last)
        else:
            outlet.push_chunk(data, timestamp=t_last)
        if self._marker_samples.size == 0:
            return
        for offset, first, count in segments:
            lo, hi = np.searchsorted(self._marker_samples, [first, first + count])
            for idx in range(int(lo), int(hi)):
                marker = self._marker_list[idx]
                row = offset + marker.sample - first
                timestamp = float(t_last - (n - 1 - row) / self._sfreq)
                self._check_consumers()  # a consumer that is there now gets this marker
                marker_outlet.push_sample([marker.text], timestamp=timestamp)
                self._track_trial(idx, timestamp)
                self._notify(marker, timestamp)

    def _check_consumers(self) -> None:
        """Poll the marker outlet's ``has_consumers``; on a change from none to some, push the
        running trial's start marker again with its original timestamp (module docstring)."""
        outlet = self._marker_outlet
        if outlet is None:
            return
        consumers = outlet.has_consumers
        if consumers and not self._had_consumers and self._running_trial is not None:
            number, text, timestamp = self._running_trial
            outlet.push_sample([text], timestamp=timestamp)
            log.debug(
                "%s: marker consumer connected during trial %d; re-sent %r stamped %.6f s",
                self._name,
                number,
                text,
                timestamp,
            )
        self._had_consumers = consumers

    def _track_trial(self, idx: int, timestamp: float) -> None:
        """Follow the running trial after marker ``idx`` of the stream order was pushed with
        ``timestamp`` (LSL s): a start opens its trial (replacing an open one), the end of the
        open trial closes it."""
        kind = self._trial_kinds[idx]
        if kind is None:
            return
        what, number = kind
        if what == "start":
            self._running_trial = (number, self._marker_list[idx].text, timestamp)
        elif self._running_trial is not None and self._running_trial[0] == number:
            self._running_trial = None

    def _notify(self, marker: Marker, timestamp: float) -> None:
        """Call ``on_marker``; its errors are logged, never allowed to stop the stream."""
        if self._on_marker is None:
            return
        try:
            self._on_marker(marker, timestamp)
        except Exception:
            log.exception("on_marker callback failed for %r", marker.text)
