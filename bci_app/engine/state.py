"""What the engine tells its users: its state, a status snapshot, and one result per window.

Nothing here imports torch or LSL, so the GUI, the fake engine and tests use these types
without loading either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np

from bci_app.session.stats import StatsSnapshot

__all__ = ["EngineState", "EngineStatus", "StreamLink", "WindowResult", "done_line"]


class EngineState(StrEnum):
    """States of a live session (the values are what the status line shows).

    - ``stalled``: the stream is still on the network but sends nothing (the message says for
      how long); the inlet stays open and the session resumes when samples flow again.
    - ``lost``: the stream is gone from the network; the engine reconnects when the same
      source id is back (a reconnect is counted once samples flow again).
    - ``bad signal``: samples arrive but too many channels are unusable (invalid samples, or a
      level EEG cannot have; :mod:`bci_app.signal.quality`): no prediction until they are.
    """

    IDLE = "idle"
    CONNECTING = "connecting"
    WARMING_UP = "warming up"
    RUNNING = "running"
    BAD_SIGNAL = "bad signal"
    STALLED = "stalled"
    LOST = "lost"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"
    ERROR = "error"

    @property
    def is_active(self) -> bool:
        """Whether the engine is between start and stop (connecting to reconnecting)."""
        return self not in (EngineState.IDLE, EngineState.STOPPED, EngineState.ERROR)


@dataclass(frozen=True)
class StreamLink:
    """The EEG stream the engine reads and how its channels map onto the model's.

    Attributes:
        stream_name, host, source_id: as the stream declares them.
        sfreq: the stream's nominal rate, Hz.
        n_stream_channels: channels of the stream.
        n_matched: model channels found in the stream.
        interpolated: model channels estimated from the others (spherical splines).
    """

    stream_name: str = ""
    host: str = ""
    source_id: str = ""
    sfreq: float = 0.0
    n_stream_channels: int = 0
    n_matched: int = 0
    interpolated: tuple[str, ...] = ()

    @property
    def n_interpolated(self) -> int:
        """Number of interpolated model channels."""
        return len(self.interpolated)


@dataclass(frozen=True)
class EngineStatus:
    """A snapshot of the engine for display, built once per :meth:`Engine.status` call.

    Attributes:
        state: the session's state.
        message: one line saying why, for the states that need it (stalled, lost, bad
            signal, error...).
        device: inference device (``"cpu"`` or the GPU's name).
        markers: whether a marker stream gives ground truth.
        link: the stream and channel mapping (empty before the first connection).
        stats: counters and latencies so far.
        warning: the latest warning about the data while the session goes on (a clock jump,
            bad channels being interpolated); empty when none is current.
        bad_channels: (channel, problem) of the model channels now flagged bad.
        model: id of the model predicting now (the first 12 hex digits of its file's digest).
        recording: what the XDF recording is doing (``"recording s.xdf (1.2 MB, 00:42)"``),
            empty when the session is not recorded.
        session_s: seconds since the session's outputs opened (its clock; None before).
        trial: the trial running now on the marker stream, ``"trial 3: negative"`` (trials a
            label map started: ``"trial: negative"``), empty between trials or without one.
    """

    state: EngineState = EngineState.IDLE
    message: str = ""
    device: str = ""
    markers: bool = False
    link: StreamLink = field(default_factory=StreamLink)
    stats: StatsSnapshot = field(default_factory=StatsSnapshot)
    warning: str = ""
    bad_channels: tuple[tuple[str, str], ...] = ()
    model: str = ""
    recording: str = ""
    session_s: float | None = None
    trial: str = ""

    @property
    def clock(self) -> str:
        """The session clock, ``"12:04"`` (``"1:02:03"`` past an hour; ``""`` before)."""
        if self.session_s is None:
            return ""
        minutes, seconds = divmod(int(self.session_s), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


@dataclass
class WindowResult:
    """One prediction.

    Attributes:
        lsl_time: LSL time of the newest sample in the window (s).
        probs, smoothed: (n_classes,) raw and exponentially smoothed probabilities.
        predicted: class index of the highest raw probability.
        truth: class index from the marker stream, or None.
        latency_ms: from the newest sample's time to the moment the prediction existed; None
            when the window's timing cannot be trusted (see ``StatsSnapshot.untimed_windows``).
        inference_ms: time spent in the model.
        band_power: region -> (5,) mean log10 power (uV^2), bands delta..gamma.
        faa: frontal alpha asymmetry, ln alpha(F4) - ln alpha(F3).
        topo: (n_channels, 5) log10 band power of every model channel.
        skipped: windows skipped just before this one (engine behind).
        bad_channels: model channels interpolated in this window because they were bad.
        segment_start: LSL time of the first sample the filters have run on without a restart
            (:attr:`bci_app.signal.pipeline.LivePipeline.segment_start`), or None.
        model: id of the model that made this prediction (:attr:`EngineStatus.model`).
    """

    lsl_time: float
    probs: np.ndarray
    smoothed: np.ndarray
    predicted: int
    truth: int | None
    latency_ms: float | None
    inference_ms: float
    band_power: dict[str, np.ndarray]
    faa: float
    topo: np.ndarray
    skipped: int = 0
    bad_channels: tuple[str, ...] = ()
    segment_start: float | None = None
    model: str = ""


def done_line(status: EngineStatus, summary: Path | None = None,
              recording: Path | None = None) -> str:
    """The line that ends a session on the terminal, headless or from the window.

    Args:
        status: the engine's last status.
        summary: the summary file written, if any.
        recording: the XDF file recorded, if any.

    Returns:
        ``"done: 412 windows predicted, 0 skipped, ...; summary: s.json"``.
    """
    st = status.stats
    return (f"done: {st.windows_predicted} windows predicted, {st.windows_skipped} skipped, "
            f"{st.nan_windows} with NaN, {st.bad_signal_windows} with a bad signal, "
            f"{st.samples_lost} samples lost, {st.reconnects} reconnects, {st.stalls} stalls, "
            f"{st.clock_jumps} clock jumps" + (f"; summary: {summary}" if summary else "")
            + (f"; recording: {recording}" if recording else ""))
