"""Replay a recorded EEG file as a live Lab Streaming Layer (LSL) stream.

Two outlets are opened:

- EEG: type ``"EEG"``, the file's channels and nominal rate, float64 values in **microvolts**
  (channel metadata ``desc/channels/channel/unit = "microvolts"``), pushed in chunks of at most
  ``chunk_ms`` (default 25 ms) by mne-lsl's :class:`~mne_lsl.player.PlayerLSL`.
- Markers: type ``"Markers"``, irregular rate, one string channel. For a SEED session file the
  trial boundaries (``"trial 3 start negative"`` ... ``"trial 3 end negative"``); for other files
  the annotations (``"T1"``, and ``"T1 end"`` when the annotation has a duration).

Timing: PlayerLSL stamps a chunk of ``n`` samples with the LSL time ``t_last`` of its last sample
and liblsl gives sample ``k`` of the chunk ``t_last - (n - 1 - k) / sfreq``; sample ``i`` of the
first pass is stamped ``t_start + (i + 1) / sfreq``. Each chunk is pushed once ``t_last`` is due,
so timestamps never lie in the future of the receiver's clock. A marker refers to one
sample of the recording and is pushed, in the same streaming step as the chunk holding that
sample, with exactly that sample's timestamp, so a receiver can align markers to EEG samples on
LSL's clock. Looping repeats the markers with the times of the repeated samples.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mne
import numpy as np
from mne._fiff.constants import FIFF
from mne_lsl.lsl import StreamInfo, StreamOutlet, local_clock
from mne_lsl.player import PlayerLSL

from offline_training.seed import (
    CLASS_NAMES,
    SEED_CHANNELS,
    SEED_SFREQ,
    SeedFormatError,
    find_label_file,
    read_labels,
    read_trials,
    trial_keys,
)

__all__ = [
    "DEFAULT_CHUNK_MS",
    "DEFAULT_NAME",
    "MAX_CHUNK_MS",
    "WIRE_UNIT",
    "Marker",
    "MarkerCallback",
    "Replay",
    "ReplayError",
    "build_raw",
    "chunk_size_for",
    "default_source_id",
    "parse_trials",
]

log = logging.getLogger(__name__)

DEFAULT_NAME = "bci-replay"
"""Default LSL name of the EEG stream."""
DEFAULT_CHUNK_MS = 25.0
"""Default (and maximum) duration of one pushed chunk, in milliseconds."""
MAX_CHUNK_MS = 25.0
WIRE_UNIT = "microvolts"
"""Unit written in the stream description of every voltage channel."""
EEG_STREAM_TYPE = "EEG"
MARKER_STREAM_TYPE = "Markers"
END_LINGER_S = 0.5
"""Seconds the outlets stay open after the last sample so receivers can pull it."""
_MICRO = -6  # FIFF unit multiplier exponent of microvolts (1e-6)
_UV_TO_V = 1e-6


class ReplayError(ValueError):
    """A file cannot be replayed; the message names the file and the reason."""


@dataclass(frozen=True)
class Marker:
    """One event of the recording.

    Attributes:
        sample: index of the sample the event refers to, 0-based in the replayed Raw.
        text: the string pushed on the marker stream, e.g. ``"trial 3 start negative"``.
    """

    sample: int
    text: str


MarkerCallback = Callable[[Marker, float], None]
"""Signature of ``on_marker``: (marker, LSL timestamp in seconds) -> None."""


# ----------------------------------------------------------------------------- file reading
def chunk_size_for(sfreq: float, chunk_ms: float = DEFAULT_CHUNK_MS) -> int:
    """Samples per pushed chunk: ``floor(chunk_ms / 1000 * sfreq)``, at least 1.

    Args:
        sfreq: sampling rate in Hz.
        chunk_ms: longest chunk duration in milliseconds (0 < chunk_ms <= 25).

    Raises:
        ValueError: ``chunk_ms`` outside (0, 25] or ``sfreq`` not positive.
    """
    if not 0 < chunk_ms <= MAX_CHUNK_MS:
        raise ValueError(f"chunk duration {chunk_ms} ms is outside (0, {MAX_CHUNK_MS}] ms")
    if not sfreq > 0:
        raise ValueError(f"sampling rate {sfreq} Hz is not positive")
    return max(1, math.floor(chunk_ms * sfreq / 1000.0 + 1e-9))


def parse_trials(spec: str) -> list[int]:
    """Parse a trial selection such as ``"10-15"``, ``"1,3,5"`` or ``"1-3,7"``.

    Returns:
        Sorted, de-duplicated 1-based trial numbers.

    Raises:
        ValueError: malformed text, a number below 1 or a decreasing range.
    """
    numbers: set[int] = set()
    for part in spec.replace(" ", "").split(","):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if match is None:
            raise ValueError(f"invalid trial selection {spec!r}: expected e.g. '10-15' or '1,3,5'")
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if first < 1 or last < first:
            raise ValueError(f"invalid trial range {part!r} in {spec!r}")
        numbers.update(range(first, last + 1))
    return sorted(numbers)


def default_source_id(path: str | Path) -> str:
    """Stable LSL source id derived from the file name: ``"bci-replay-<stem>"``."""
    return f"{DEFAULT_NAME}-{Path(path).stem}"


def build_raw(
    path: str | Path, trials: Sequence[int] | None = None
) -> tuple[mne.io.BaseRaw, list[Marker]]:
    """Load a recording as an MNE Raw (data in volts) plus its markers.

    Args:
        path: a SEED session ``.mat`` file or any file :func:`mne.io.read_raw` reads
            (.edf, .bdf, .fif, .set, .cnt, .vhdr, ...).
        trials: SEED only: 1-based trial numbers to concatenate (in that order); None = all.

    Returns:
        ``(raw, markers)``: raw with preloaded data of shape (n_channels, n_samples) in volts
        (MNE's convention); markers sorted by sample index.

    Raises:
        ReplayError: missing, unreadable or unsupported file, or ``trials`` given for a
            non-SEED file. The message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ReplayError(f"{path}: file not found")
    if path.suffix.lower() == ".mat":
        return _build_seed_raw(path, trials)
    if trials is not None:
        raise ReplayError(f"{path}: a trial selection only applies to SEED .mat files")
    return _build_mne_raw(path)


def _build_seed_raw(
    path: Path, trials: Sequence[int] | None
) -> tuple[mne.io.BaseRaw, list[Marker]]:
    """SEED session: trials concatenated in order (uV -> V); markers at each trial's edges."""
    try:
        numbers = list(trials) if trials is not None else _trial_numbers(path)
        arrays = read_trials(path, numbers, dtype=np.float64)
    except SeedFormatError as err:
        raise ReplayError(str(err)) from err
    lengths = [array.shape[1] for array in arrays]
    data = np.concatenate(arrays, axis=1)  # (62, sum(lengths)) uV
    del arrays
    data *= _UV_TO_V
    info = mne.create_info(list(SEED_CHANNELS), SEED_SFREQ, "eeg")
    raw = mne.io.RawArray(data, info, verbose="error")
    return raw, _trial_markers(numbers, lengths, _seed_labels(path))


def _trial_numbers(path: Path) -> list[int]:
    """1-based trial numbers of a session file, from its ``<prefix>_eeg<N>`` keys."""
    return [int(key.rsplit("_eeg", 1)[1]) for key in trial_keys(path)]


def _seed_labels(path: Path) -> np.ndarray | None:
    """Classes (15,) from the label.mat next to ``path`` or in its parent; None (warns) if none."""
    for folder in (path.parent, path.parent.parent):
        try:
            label_file = find_label_file(folder)
        except SeedFormatError:
            continue
        try:
            return read_labels(label_file)
        except SeedFormatError as err:
            warnings.warn(f"{err}; trial markers carry no label", RuntimeWarning, stacklevel=3)
            return None
    warnings.warn(
        f"no label.mat next to {path} or in its parent folder; trial markers carry no label",
        RuntimeWarning,
        stacklevel=3,
    )
    return None


def _trial_markers(
    numbers: Sequence[int], lengths: Sequence[int], labels: np.ndarray | None
) -> list[Marker]:
    """Markers ``trial N start [label]`` / ``trial N end [label]`` at each trial's first / last
    sample; ``lengths`` are the trials' sample counts in stream order."""
    markers: list[Marker] = []
    first = 0
    for number, length in zip(numbers, lengths, strict=True):
        suffix = ""
        if labels is not None and 1 <= number <= len(labels):
            suffix = f" {CLASS_NAMES[int(labels[number - 1])]}"
        markers.append(Marker(first, f"trial {number} start{suffix}"))
        markers.append(Marker(first + length - 1, f"trial {number} end{suffix}"))
        first += length
    return markers


def _build_mne_raw(path: Path) -> tuple[mne.io.BaseRaw, list[Marker]]:
    """Any file MNE reads; markers from its annotations."""
    try:
        raw = mne.io.read_raw(path, preload=True, verbose="error")
    except Exception as err:  # readers raise many types for unsupported or corrupt files
        raise ReplayError(f"{path}: cannot read ({type(err).__name__}: {err})") from err
    if raw.n_times == 0:
        raise ReplayError(f"{path}: the recording has no samples")
    return raw, _annotation_markers(raw)


def _annotation_markers(raw: mne.io.BaseRaw) -> list[Marker]:
    """One marker per annotation onset (its description) and, with a duration, ``"<desc> end"``
    at the last sample it covers. Annotations outside the data are dropped."""
    sfreq = raw.info["sfreq"]
    last = raw.n_times - 1
    markers: list[Marker] = []
    for annot in raw.annotations:
        onset = round((annot["onset"] - raw.first_time) * sfreq)  # annotation onsets count
        if not 0 <= onset <= last:  # from sample 0, not from raw.first_samp
            continue
        markers.append(Marker(onset, str(annot["description"])))
        n_covered = round(annot["duration"] * sfreq)
        if n_covered > 0:
            end = min(onset + n_covered - 1, last)
            markers.append(Marker(end, f"{annot['description']} end"))
    return sorted(markers, key=lambda marker: marker.sample)  # stable: keeps file order


# ----------------------------------------------------------------------------- streaming
def _volt_channels(info: mne.Info) -> list[str]:
    """Names of the channels measured in volts (EEG, EOG, ECG, EMG, misc...)."""
    return [ch["ch_name"] for ch in info["chs"] if ch["unit"] == FIFF.FIFF_UNIT_V]


def _eeg_stream_info(info: mne.Info, name: str, source_id: str) -> StreamInfo:
    """LSL description of the EEG outlet: type "EEG", float64, unit "microvolts" on volt
    channels (other channels keep mne-lsl's unit multiplier code)."""
    sinfo = StreamInfo(
        name=name,
        stype=EEG_STREAM_TYPE,
        n_channels=info["nchan"],
        sfreq=info["sfreq"],
        dtype=np.float64,
        source_id=source_id,
    )
    sinfo.set_channel_info(info)
    units = [
        WIRE_UNIT if ch["unit"] == FIFF.FIFF_UNIT_V else str(int(ch["unit_mul"]))
        for ch in info["chs"]
    ]
    sinfo.set_channel_units(units)
    return sinfo


def _marker_stream_info(name: str, source_id: str) -> StreamInfo:
    """LSL description of the marker outlet: type "Markers", irregular rate, one string."""
    sinfo = StreamInfo(
        name=name,
        stype=MARKER_STREAM_TYPE,
        n_channels=1,
        sfreq=0.0,
        dtype="string",
        source_id=source_id,
    )
    sinfo.set_channel_names(["marker"])
    return sinfo


class _ReplayPlayer(PlayerLSL):
    """PlayerLSL that streams microvolts with stream type "EEG" and, in lock-step with the
    data, a string marker outlet stamped with the LSL time of the sample each marker refers to.

    Relies on PlayerLSL internals of mne-lsl 1.14 (``_sinfo``, ``_stream``,
    ``_stream_annotations``, ``_target_timestamp``, ``_del_outlets``, ``_reset_variables``).
    """

    def __init__(
        self,
        raw: mne.io.BaseRaw,
        markers: Sequence[Marker],
        *,
        chunk_size: int,
        loop: bool,
        name: str,
        source_id: str,
        marker_name: str,
        marker_source_id: str,
        on_marker: MarkerCallback | None = None,
    ) -> None:
        super().__init__(
            raw,
            chunk_size=chunk_size,
            n_repeat=np.inf if loop else 1,
            name=name,
            source_id=source_id,
            annotations=False,
        )
        volts = _volt_channels(self.info)
        if volts:  # rescales the Raw data in place: V -> uV, unit_mul -6
            self.set_channel_units(dict.fromkeys(volts, WIRE_UNIT))
        self._sinfo = _eeg_stream_info(self.info, name, source_id)
        self._marker_sinfo = _marker_stream_info(marker_name, marker_source_id)
        self._marker_samples = np.array([m.sample for m in markers], dtype=np.int64)
        self._marker_texts = [m.text for m in markers]
        self._marker_outlet: StreamOutlet | None = None
        self._on_marker = on_marker
        self._worker: ThreadPoolExecutor | None = None
        self._ended = threading.Event()
        self._ended.set()
        self._stopping = threading.Event()

    def start(self) -> _ReplayPlayer:
        """Open both outlets and start the streaming thread (no-op when already running)."""
        if self.running:
            return self
        self._ended.clear()
        self._stopping.clear()
        self._marker_outlet = StreamOutlet(self._marker_sinfo)
        super().start()
        self._worker = self._executor  # kept to join its thread even after the file ended
        return self

    def stop(self) -> _ReplayPlayer:
        """Join the streaming thread, close both outlets. Safe to call at any time, repeatedly."""
        self._stopping.set()
        worker, self._worker = self._worker, None
        if worker is not None:  # pending submissions fail and are ignored by PlayerLSL
            worker.shutdown(wait=True, cancel_futures=True)
        self._del_outlets()
        self._reset_variables()
        return self

    def wait_ended(self, timeout: float | None) -> bool:
        """Block until the file has been streamed completely; False on timeout."""
        return self._ended.wait(timeout)

    def _stream(self) -> None:
        """Push the next chunk once its newest sample is due, as an amplifier would.

        PlayerLSL pushes a chunk at the time of its first sample (its timestamps then lie up to
        one chunk in the future) and stamps a shorter last chunk as if it were full; here the
        chunk waits until ``timestamp of its last sample`` and the last chunk is stamped
        contiguously. The end of the file is pushed by :meth:`_push_tail`.
        """
        remaining = self._raw.n_times - self._start_idx
        last = self._n_repeated >= self._n_repeat and remaining < self._chunk_size
        if last:
            self._streaming_delay = remaining / self.info["sfreq"]
        due = self._target_timestamp + self._streaming_delay
        time.sleep(max(0.0, due - local_clock()))
        if last:
            self._push_tail(remaining)
        else:
            super()._stream()

    def _push_tail(self, remaining: int) -> None:
        """End of file: push the last ``remaining`` (< chunk_size) samples and their markers,
        keep the outlets open ``END_LINGER_S`` so receivers can drain them, then close."""
        try:
            if remaining > 0:
                start = self._start_idx
                self._target_timestamp += self._streaming_delay
                data = np.ascontiguousarray(self._raw[:, start : start + remaining][0].T)
                if remaining == 1:  # push_chunk would warn about a single sample
                    self._outlet.push_sample(data[0], timestamp=self._target_timestamp)
                else:
                    self._outlet.push_chunk(data, timestamp=self._target_timestamp)
                self._stream_annotations(start, start + remaining, self._target_timestamp)
            self._stopping.wait(END_LINGER_S)
        except Exception as exc:  # same policy as PlayerLSL._stream
            log.error("%s: stopping at the end of the file: %s", self._name, exc)
        finally:
            self._del_outlets()
            self._reset_variables()

    def _stream_annotations(self, start: int, stop: int, start_timestamp: float) -> None:
        """Push the markers whose sample lies in the chunk just pushed, [start, stop) modulo
        the file length, each with the LSL timestamp liblsl gave to that sample."""
        outlet = self._marker_outlet
        if outlet is None or self._marker_samples.size == 0:
            return
        n_times = self._raw.n_times
        n_chunk = stop - start if stop > start else stop - start + n_times
        positions = (self._marker_samples - start) % n_times  # sample offsets in the chunk
        sfreq = self.info["sfreq"]
        in_chunk = np.flatnonzero(positions < n_chunk)
        for idx in in_chunk[np.argsort(positions[in_chunk], kind="stable")]:
            timestamp = self._target_timestamp - (n_chunk - 1 - positions[idx]) / sfreq
            text = self._marker_texts[idx]
            outlet.push_sample([text], timestamp=float(timestamp))
            self._notify(Marker(int(self._marker_samples[idx]), text), float(timestamp))

    def _notify(self, marker: Marker, timestamp: float) -> None:
        """Call ``on_marker``; its errors are logged, never allowed to stop the stream."""
        if self._on_marker is None:
            return
        try:
            self._on_marker(marker, timestamp)
        except Exception:
            log.exception("on_marker callback failed for %r", marker.text)

    def _del_outlets(self) -> None:
        super()._del_outlets()
        outlet, self._marker_outlet = getattr(self, "_marker_outlet", None), None
        if outlet is not None:
            outlet._del()

    def _reset_variables(self) -> None:
        super()._reset_variables()
        ended = getattr(self, "_ended", None)  # absent while PlayerLSL.__init__ runs
        if ended is not None:
            ended.set()


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
        chunk_ms: float = DEFAULT_CHUNK_MS,
        on_marker: MarkerCallback | None = None,
    ) -> None:
        self._path = Path(path)
        raw, markers = build_raw(self._path, trials)
        self._chunk_size = chunk_size_for(raw.info["sfreq"], chunk_ms)
        self._name = name
        self._source_id = source_id or default_source_id(self._path)
        self._markers = tuple(markers)
        self._loop = loop
        self._player = _ReplayPlayer(
            raw,
            markers,
            chunk_size=self._chunk_size,
            loop=loop,
            name=self._name,
            source_id=self._source_id,
            marker_name=self.marker_name,
            marker_source_id=self.marker_source_id,
            on_marker=on_marker,
        )

    # ------------------------------------------------------------------------- control
    def start(self) -> Replay:
        """Open the outlets and start streaming from the first sample (no-op if running)."""
        self._player.start()
        return self

    def stop(self) -> None:
        """Stop streaming, join the streaming thread and close both outlets. Idempotent."""
        self._player.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the whole recording was streamed (never, with ``loop``).

        Returns:
            True when streaming has ended (or was never started), False on timeout.
        """
        return self._player.wait_ended(timeout)

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
        return f"{self._name}-markers"

    @property
    def marker_source_id(self) -> str:
        """LSL source id of the marker stream."""
        return f"{self._source_id}-markers"

    @property
    def sfreq(self) -> float:
        """Nominal sampling rate in Hz."""
        return float(self._player.info["sfreq"])

    @property
    def ch_names(self) -> list[str]:
        """Channel labels in stream order."""
        return list(self._player.ch_names)

    @property
    def n_samples(self) -> int:
        """Samples in one pass over the recording."""
        return int(self._player._raw.n_times)

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
        return self._player.running
