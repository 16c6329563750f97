"""Find, describe and choose Lab Streaming Layer (LSL) streams.

:func:`list_streams` resolves what is on the network (``mne_lsl.lsl.resolve_streams``) into
plain, hashable :class:`StreamDescription` records; :func:`format_streams` prints them as the
table of ``--list-streams`` and of error messages; :func:`select_stream` applies the rules of
``--stream`` / ``--stream-type`` / ``--source-id``; :func:`check_eeg_stream` refuses streams that
cannot carry EEG (irregular rate, strings).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from mne_lsl.lsl import StreamInlet, resolve_streams

from bci_app.lsl.protocol import EEG_TYPE, STRING_DTYPE

__all__ = [
    "StreamDescription",
    "StreamSelectionError",
    "check_eeg_stream",
    "find_stream",
    "format_streams",
    "list_streams",
    "resolve_info",
    "select_stream",
]



class StreamSelectionError(RuntimeError):
    """No usable stream, or an ambiguous choice; the message lists what is on the network."""


@dataclass(frozen=True)
class StreamDescription:
    """What an LSL stream declares about itself.

    Attributes:
        name: stream name (``--stream``).
        stype: content type, e.g. ``"EEG"`` or ``"Markers"`` (``--stream-type``).
        n_channels: number of channels (>= 1).
        sfreq: nominal sampling rate in Hz; 0.0 for an irregular stream.
        host: hostname of the machine that provides the stream.
        source_id: source identifier (``--source-id``); may be empty.
        dtype: channel format: ``"float32"``, ``"float64"``, ``"int8"`` .. ``"int64"`` or
            ``"string"``.
        ch_names: channel labels from the stream's description (``desc/channels/channel/label``),
            in channel order; empty when not fetched or not declared. A channel without a label
            gets ``""``.
        sinfo: the ``mne_lsl.lsl`` stream info it was built from (None when built by hand):
            an inlet opens on it without resolving the stream again (~0.5 s saved). Not part
            of equality, hashing or :meth:`to_dict`.
    """

    name: str
    stype: str
    n_channels: int
    sfreq: float
    host: str
    source_id: str
    dtype: str
    ch_names: tuple[str, ...] = ()
    sinfo: Any = field(default=None, compare=False, hash=False, repr=False)

    @property
    def is_regular(self) -> bool:
        """True when the stream declares a nominal rate (``sfreq > 0``)."""
        return self.sfreq > 0

    @property
    def is_numeric(self) -> bool:
        """True unless the channel format is ``"string"``."""
        return self.dtype != STRING_DTYPE

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of all fields (``ch_names`` as a list)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "sinfo"}
        out["ch_names"] = list(self.ch_names)
        return out

    @classmethod
    def from_sinfo(cls, sinfo: Any, ch_names: Sequence[str] = ()) -> StreamDescription:
        """Build from a ``mne_lsl.lsl`` stream info (resolved, or from an inlet)."""
        return cls(
            name=sinfo.name,
            stype=sinfo.stype,
            n_channels=int(sinfo.n_channels),
            sfreq=float(sinfo.sfreq),
            host=sinfo.hostname,
            source_id=sinfo.source_id,
            dtype=_dtype_name(sinfo.dtype),
            ch_names=tuple(ch_names),
            sinfo=sinfo,
        )


def _dtype_name(dtype: Any) -> str:
    """``"string"`` or the numpy name of an LSL channel format (``"float32"``...)."""
    if isinstance(dtype, str) and dtype == STRING_DTYPE:
        return STRING_DTYPE
    return np.dtype(dtype).name


def _fetch_channel_names(sinfo: Any, timeout: float) -> tuple[str, ...]:
    """Channel labels from the full stream info, fetched through a short-lived inlet.

    Resolved infos carry no ``desc``; the full one needs a connection to the outlet. The inlet
    is subscribed implicitly by a non-blocking pull (``open_stream`` would sleep 0.5 s) and
    closed at once. Any failure gives an empty tuple: names are informative only.
    """
    inlet = None
    try:
        inlet = StreamInlet(sinfo, max_buffered=1, recover=False)
        inlet.pull_sample(timeout=0.0)  # subscribes without the 0.5-s open_stream sleep
        names = inlet.get_sinfo(timeout=timeout).get_channel_names()
    except Exception:  # a stream that vanished, or timed out: names are optional
        return ()
    finally:
        if inlet is not None:
            inlet.close_stream()
            del inlet
    return tuple(name or "" for name in names) if names else ()


def list_streams(timeout: float = 1.0, with_channels: bool = False) -> list[StreamDescription]:
    """Streams currently visible on the network (machine-only under the tests' config).

    Args:
        timeout: resolve time in seconds (> 0). Shorter than ~0.5 s may miss streams.
        with_channels: also fetch each stream's channel labels; this opens a brief inlet per
            stream (in parallel, each bounded by ``timeout``), so leave it off unless needed.

    Returns:
        Descriptions sorted by (type, name, source id, host), duplicates removed.
    """
    infos = resolve_streams(timeout=timeout)
    if with_channels and infos:
        with ThreadPoolExecutor(max_workers=min(8, len(infos))) as pool:
            names = list(pool.map(lambda s: _fetch_channel_names(s, timeout), infos))
    else:
        names = [()] * len(infos)
    found = {StreamDescription.from_sinfo(s, n) for s, n in zip(infos, names, strict=True)}
    return sorted(found, key=lambda d: (d.stype.lower(), d.name, d.source_id, d.host))


def resolve_info(desc: StreamDescription, timeout: float = 1.0) -> Any | None:
    """The ``mne_lsl.lsl`` stream info of ``desc`` when it is on the network, else None.

    Looks by source id (by name when it has none) and matches name, type and source id; returns
    as soon as the stream answers, after ``timeout`` seconds when it does not.
    """
    kwargs = {"source_id": desc.source_id} if desc.source_id else {"name": desc.name}
    for info in resolve_streams(timeout=timeout, **kwargs):
        if info.name == desc.name and info.stype == desc.stype \
                and (not desc.source_id or info.source_id == desc.source_id):
            return info
    return None


def find_stream(desc: StreamDescription, timeout: float = 1.0) -> StreamDescription | None:
    """``desc`` as the network describes it now (its rate or host may have changed), or None
    when it is not there (see :func:`resolve_info`)."""
    info = resolve_info(desc, timeout)
    return StreamDescription.from_sinfo(info) if info is not None else None


def _rate_text(sfreq: float) -> str:
    return "irregular" if sfreq <= 0 else f"{sfreq:g} Hz"


def format_streams(streams: Sequence[StreamDescription]) -> str:
    """Aligned table, one stream a line: name, type, channels, rate, format, host, source id.

    Returns:
        The table without a trailing newline; ``"(no LSL streams found)"`` for an empty list.
    """
    if not streams:
        return "(no LSL streams found)"
    header = ("NAME", "TYPE", "CHANNELS", "RATE", "FORMAT", "HOST", "SOURCE ID")
    rows = [
        (
            s.name,
            s.stype,
            str(s.n_channels),
            _rate_text(s.sfreq),
            s.dtype,
            s.host,
            s.source_id or "-",
        )
        for s in streams
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]
    return "\n".join(lines)


def _criteria_text(name: str | None, stype: str | None, source_id: str | None) -> str:
    parts = [
        f"{key}={value!r}"
        for key, value in (("name", name), ("type", stype), ("source id", source_id))
        if value is not None
    ]
    return ", ".join(parts)


def _present(streams: Sequence[StreamDescription]) -> str:
    return "Streams present:\n" + format_streams(streams)


def select_stream(
    streams: Sequence[StreamDescription],
    name: str | None = None,
    stype: str | None = None,
    source_id: str | None = None,
) -> StreamDescription:
    """Choose the input stream.

    With criteria (name and source id compared exactly, type case-insensitively), the one
    stream matching all of them; it is *not* checked for EEG suitability here (call
    :func:`check_eeg_stream`). Without criteria, the only stream of type ``"EEG"`` that is
    numeric and has a nominal rate.

    Args:
        streams: what :func:`list_streams` found.
        name, stype, source_id: ``--stream``, ``--stream-type``, ``--source-id``; None = any.

    Returns:
        The chosen stream.

    Raises:
        StreamSelectionError: no match or several; the message shows the streams present and
            how to choose.
    """
    if name is not None or stype is not None or source_id is not None:
        matches = [
            s
            for s in streams
            if (name is None or s.name == name)
            and (stype is None or s.stype.lower() == stype.lower())
            and (source_id is None or s.source_id == source_id)
        ]
        criteria = _criteria_text(name, stype, source_id)
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise StreamSelectionError(f"no LSL stream matches {criteria}.\n{_present(streams)}")
        raise StreamSelectionError(
            f"{len(matches)} LSL streams match {criteria}; add --source-id (or --stream-type) "
            f"to choose one.\n{format_streams(matches)}"
        )
    eeg = [s for s in streams if s.stype.lower() == EEG_TYPE.lower()]
    usable = [s for s in eeg if s.is_numeric and s.is_regular]
    if len(usable) == 1:
        return usable[0]
    if len(usable) > 1:
        raise StreamSelectionError(
            f"{len(usable)} EEG streams are present; choose one with --stream NAME "
            f"(or --source-id ID).\n{format_streams(usable)}"
        )
    if eeg:  # only unusable EEG-typed streams
        reasons = "; ".join(_refusal(s) for s in eeg)
        raise StreamSelectionError(
            f"no usable EEG stream: {reasons}.\n{_present(streams)}\n"
            "Choose another stream with --stream NAME."
        )
    raise StreamSelectionError(
        f"no stream of type {EEG_TYPE!r} found.\n{_present(streams)}\n"
        "Choose a stream with --stream NAME (or --stream-type TYPE)."
    )


def _refusal(desc: StreamDescription) -> str:
    """Why ``desc`` cannot carry EEG, or ``""`` when it can."""
    if not desc.is_numeric:
        return (
            f"stream {desc.name!r} carries strings (channel format 'string'); "
            "an EEG stream needs numeric samples"
        )
    if not desc.is_regular:
        return (
            f"stream {desc.name!r} has an irregular sampling rate; "
            "an EEG stream needs a nominal rate"
        )
    return ""


def check_eeg_stream(desc: StreamDescription) -> None:
    """Refuse a stream that cannot be processed as EEG.

    Raises:
        StreamSelectionError: string channel format, or irregular rate (``sfreq <= 0``), e.g.
            ``"stream 'X' has an irregular sampling rate; an EEG stream needs a nominal rate"``.
    """
    reason = _refusal(desc)
    if reason:
        raise StreamSelectionError(reason)
