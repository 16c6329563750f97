"""XDF recordings (LabRecorder's format) through ``pyxdf``.

- The EEG stream is the one stream of type ``"EEG"`` (any case); none or several is an error
  that lists the file's streams. It must be numeric and regularly sampled.
- Time stamps are cleaned with pyxdf's clock synchronisation and jitter removal
  (``dejitter_timestamps=True``); the effective rate pyxdf measures must be within
  :data:`RATE_TOLERANCE` of the nominal rate, which is the rate the data are given at.
- Channel names, types and units come from the stream's ``desc/channels/channel`` entries
  (``label``, ``type``, ``unit``). Channels whose type is given and is not EEG (EOG, trigger,
  AUX, ACC...) are dropped. Volts, millivolts and microvolts are converted to microvolts by the
  unit label; a missing or unknown unit is taken as microvolts, with a note.
- Markers come from a string stream (channel format ``string``, or type ``"Markers"``): the one
  named ``marker_stream``; else the only one; else the one that carries the project's own
  convention (named ``"<eeg name>-markers"``, or holding ``"trial N start ..."`` markers);
  otherwise an error lists them.
- A marker at LSL time ``t`` is placed at the fractional sample position that ``t`` has among
  the EEG samples' (dejittered) time stamps, and its onset is that position divided by the
  nominal rate: seconds from the EEG stream's first sample on the data's own time axis, which
  stays right when the amplifier's clock drifts against the computer's or samples were lost.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from models.eeg.markers import EEG_TYPE, MARKER_TYPE, STRING_DTYPE, TRIAL_MARKER, marker_name
from models.wording import count
from offline_training.recordings.base import Event, RecordingError, Signals

__all__ = ["RATE_TOLERANCE", "UNIT_SCALES", "read_xdf", "unit_scale"]

RATE_TOLERANCE = 0.01
"""Largest relative difference between the effective and the nominal EEG rate (1 %)."""

UNIT_SCALES: dict[str, float] = {
    "microvolts": 1.0, "microvolt": 1.0, "uv": 1.0, "µv": 1.0, "μv": 1.0,
    "millivolts": 1e3, "millivolt": 1e3, "mv": 1e3,
    "volts": 1e6, "volt": 1e6, "v": 1e6,
}  # fmt: skip
"""Factor from a channel's unit label (lower case) to microvolts."""


def unit_scale(unit: str | None) -> float | None:
    """Factor that turns values in ``unit`` into microvolts (None when the label is unknown).

    ``"mV"`` and ``"MV"`` are both millivolts (nobody records megavolts)."""
    if unit is None:
        return None
    return UNIT_SCALES.get(unit.strip().lower())


def _first(node: Any, key: str, default: Any = None) -> Any:
    """``node[key][0]`` of pyxdf's XML dictionaries, or ``default``."""
    if not isinstance(node, dict):
        return default
    value = node.get(key)
    if isinstance(value, list) and value:
        return value[0] if value[0] is not None else default
    return default


def _name(stream: dict) -> str:
    return str(_first(stream["info"], "name", ""))


def _type(stream: dict) -> str:
    return str(_first(stream["info"], "type", ""))


def _format(stream: dict) -> str:
    return str(_first(stream["info"], "channel_format", ""))


def _describe(stream: dict) -> str:
    info = stream["info"]
    return (f"{_name(stream)!r} (type {_type(stream)!r}, {_first(info, 'channel_count', '?')} "
            f"ch, {_format(stream)}, {float(_first(info, 'nominal_srate', 0) or 0):g} Hz, "
            f"{len(stream['time_stamps'])} samples)")


def _listing(streams: list[dict]) -> str:
    return "; ".join(_describe(s) for s in streams) or "none"


def _is_marker_stream(stream: dict) -> bool:
    return (_format(stream) == STRING_DTYPE
            or _type(stream).lower() == MARKER_TYPE.lower())


def read_xdf(path: Path, *, marker_stream: str | None = None) -> Signals:
    """Read the EEG stream and the marker stream of an XDF file.

    Args:
        path: the ``.xdf`` file.
        marker_stream: name of the marker stream to use (needed when several could be meant).

    Returns:
        :class:`~offline_training.recordings.base.Signals`: EEG (n_eeg, n_samples) float32 in
        microvolts at the nominal rate, markers as zero-duration events (onsets in seconds from
        the EEG stream's first sample).

    Raises:
        RecordingError: naming the file: unreadable file; no or several EEG streams, no or
            ambiguous marker stream (listing the streams); an irregular, non-numeric or empty
            EEG stream; an effective rate off the nominal one.
    """
    import pyxdf

    try:
        streams, _ = pyxdf.load_xdf(str(path), dejitter_timestamps=True)
    except Exception as exc:
        raise RecordingError(f"{path}: pyxdf cannot read it ({type(exc).__name__}: {exc})"
                             ) from exc
    eeg_streams = [s for s in streams if _type(s).lower() == EEG_TYPE.lower()]
    if len(eeg_streams) != 1:
        how = "no EEG stream" if not eeg_streams else f"{len(eeg_streams)} EEG streams"
        raise RecordingError(f"{path}: {how} (type 'EEG'), expected one; its streams are: "
                             f"{_listing(streams)}")
    eeg = eeg_streams[0]
    notes: list[str] = []
    data, sfreq, ch_names, dropped = _eeg_data(eeg, path, notes)
    markers = _choose_markers(streams, eeg, marker_stream, path)
    events = _marker_events(markers, eeg["time_stamps"], sfreq, notes)
    return Signals(data=data, sfreq=sfreq, ch_names=ch_names, dropped=dropped, events=events,
                   subject=_subject(eeg), notes=notes)


def _eeg_data(eeg: dict, path: Path,
              notes: list[str]) -> tuple[np.ndarray, float, list[str], list[str]]:
    info = eeg["info"]
    what = f"{path}: EEG stream {_name(eeg)!r}"
    if _format(eeg) == STRING_DTYPE:
        raise RecordingError(f"{what} carries strings, not samples")
    sfreq = float(_first(info, "nominal_srate", 0) or 0)
    if sfreq <= 0:
        raise RecordingError(f"{what} has no nominal sampling rate (irregular stream); EEG "
                             "must be regularly sampled")
    series = np.asarray(eeg["time_series"])
    if series.ndim != 2 or series.shape[0] < 2:
        raise RecordingError(f"{what} holds {series.shape[0] if series.ndim else 0} samples; "
                             "at least 2 are needed")
    effective = float(info.get("effective_srate") or 0.0)
    if effective > 0 and abs(effective - sfreq) / sfreq > RATE_TOLERANCE:
        raise RecordingError(
            f"{what}: effective rate {effective:.3f} Hz differs from the nominal "
            f"{sfreq:g} Hz by {abs(effective - sfreq) / sfreq:.1%} (more than "
            f"{RATE_TOLERANCE:.0%}): samples were lost or the nominal rate is wrong")
    segments = info.get("segments") or []
    if len(segments) > 1:
        notes.append(f"EEG stream {_name(eeg)!r} has {count(len(segments) - 1, 'break')} in its "
                     "time stamps; markers are placed by the samples' own time stamps")
    names, types, units = _channels(eeg, series.shape[1], notes)
    keep = [i for i, kind in enumerate(types) if kind in ("", EEG_TYPE.lower())]
    if not keep:
        found = ", ".join(f"{n} ({t})" for n, t in zip(names, types, strict=True))
        raise RecordingError(f"{what} has no EEG channel; its channels are: {found}")
    scales = np.ones(len(keep))
    unknown = []
    for row, index in enumerate(keep):
        scale = unit_scale(units[index])
        if scale is None:
            unknown.append(f"{names[index]} ({units[index] or 'no unit'})")
        else:
            scales[row] = scale
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5
                                          else "")
        notes.append(f"unit not known for {shown}: taken as microvolts")
    data = (series[:, keep].T.astype(np.float64) * scales[:, None]).astype(np.float32)
    kept = set(keep)
    dropped = [names[i] for i in range(len(names)) if i not in kept]
    return data, sfreq, [names[i] for i in keep], dropped


def _channels(eeg: dict, n_channels: int,
              notes: list[str]) -> tuple[list[str], list[str], list[str | None]]:
    """Names, lower-case types ("" when not given) and unit labels of the EEG channels."""
    desc = _first(eeg["info"], "desc")
    channels = _first(desc, "channels")
    entries = channels.get("channel", []) if isinstance(channels, dict) else []
    if len(entries) != n_channels:
        if entries:
            notes.append(f"EEG stream describes {len(entries)} channels but has {n_channels}; "
                         "channels named Ch1..ChN, units taken as microvolts")
        else:
            notes.append("EEG stream has no channel descriptions; channels named Ch1..ChN, "
                         "units taken as microvolts")
        return ([f"Ch{i + 1}" for i in range(n_channels)], [""] * n_channels,
                ["microvolts"] * n_channels)
    names = [str(_first(e, "label", f"Ch{i + 1}")) for i, e in enumerate(entries)]
    types = [str(_first(e, "type", "")).strip().lower() for e in entries]
    units = [_first(e, "unit") for e in entries]
    return names, types, units


def _subject(eeg: dict) -> str | None:
    subject = _first(_first(eeg["info"], "desc"), "subject")
    if isinstance(subject, dict):
        subject = _first(subject, "id")
    return str(subject).strip() if isinstance(subject, str) and subject.strip() else None


def _choose_markers(streams: list[dict], eeg: dict, wanted: str | None, path: Path) -> dict:
    candidates = [s for s in streams if s is not eeg and _is_marker_stream(s)]
    if wanted is not None:
        chosen = [s for s in candidates if _name(s) == wanted]
        if len(chosen) == 1:
            return chosen[0]
        how = "no marker stream" if not chosen else f"{len(chosen)} marker streams"
        raise RecordingError(f"{path}: {how} named {wanted!r}; its marker streams are: "
                             f"{_listing(candidates)} (all streams: {_listing(streams)})")
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise RecordingError(f"{path}: no marker stream (a string stream or type 'Markers'), "
                             f"so no trials can be labelled; its streams are: "
                             f"{_listing(streams)}")
    own = [s for s in candidates if _name(s) == marker_name(_name(eeg))]
    if len(own) != 1:
        own = [s for s in candidates
               if any(TRIAL_MARKER.fullmatch(str(v[0])) for v in s["time_series"] if len(v))]
    if len(own) == 1:
        return own[0]
    raise RecordingError(f"{path}: {len(candidates)} marker streams and none is the project's "
                         f"own; choose one by name (marker_stream / --marker-stream): "
                         f"{_listing(candidates)}")


def _marker_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:g}"


def _marker_events(markers: dict, eeg_stamps: np.ndarray, sfreq: float,
                   notes: list[str]) -> list[Event]:
    stamps = np.asarray(markers["time_stamps"], dtype=np.float64)
    values = markers["time_series"]
    if len(stamps) == 0:
        return []
    if any(len(v) > 1 for v in values):
        notes.append(f"marker stream {_name(markers)!r} has several channels; the first is "
                     "used")
    eeg_stamps = np.asarray(eeg_stamps, dtype=np.float64)
    if np.all(np.diff(eeg_stamps) > 0):
        position = np.interp(stamps, eeg_stamps, np.arange(len(eeg_stamps), dtype=np.float64))
        before, after = stamps < eeg_stamps[0], stamps > eeg_stamps[-1]
        position[before] = (stamps[before] - eeg_stamps[0]) * sfreq
        position[after] = len(eeg_stamps) - 1 + (stamps[after] - eeg_stamps[-1]) * sfreq
    else:
        notes.append("EEG time stamps do not increase steadily; markers are placed by the "
                     "time since the first EEG sample")
        position = (stamps - eeg_stamps[0]) * sfreq
    return [Event(float(p) / sfreq, 0.0, _marker_text(v[0]) if len(v) else "")
            for p, v in zip(position, values, strict=True)]
