"""A small XDF writer for tests (pyxdf only reads XDF).

Follows the XDF 1.0 specification (https://github.com/sccn/xdf/wiki/Specifications): the magic
``b"XDF:"``, then chunks, each ``[NumLengthBytes][Length][Tag][Content]`` where ``Length`` is a
little-endian integer of ``NumLengthBytes`` (1, 4 or 8) bytes counting the 2-byte tag and the
content. Chunks written here:

- tag 1 FileHeader: ``<info><version>1.0</version></info>``;
- tag 2 StreamHeader: uint32 stream id + the stream's ``<info>`` XML (name, type,
  channel_count, nominal_srate, channel_format, source_id, desc/channels);
- tag 3 Samples: uint32 stream id + ``[NumSamples]`` (variable-length integer), then per sample
  ``[TimeStampBytes = 8][float64 time stamp]`` and the values: little-endian numbers, or for
  string streams each value as ``[variable-length length][UTF-8 bytes]``;
- tag 4 ClockOffset: uint32 stream id + float64 collection time + float64 offset (s);
- tag 6 StreamFooter: uint32 stream id + ``<info>`` with first/last time stamp and sample count.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

__all__ = ["XdfStream", "eeg_stream", "marker_stream", "write_xdf"]

_NUMERIC = {"float32": "<f4", "double64": "<f8", "int8": "<i1", "int16": "<i2", "int32": "<i4",
            "int64": "<i8"}


@dataclass
class XdfStream:
    """One stream to write."""

    name: str
    type: str
    time_stamps: np.ndarray
    """(n_samples,) seconds on the recording computer's LSL clock."""
    samples: np.ndarray | Sequence[Sequence[str]]
    """(n_samples, n_channels): numbers, or strings for ``channel_format="string"``."""
    channel_format: str = "float32"
    nominal_srate: float = 0.0
    """Hz; 0 for irregular streams (markers)."""
    channels: Sequence[dict[str, str]] | None = None
    """``desc/channels/channel`` entries, e.g. ``{"label": "Fz", "unit": "microvolts",
    "type": "EEG"}``; None writes an empty ``desc``."""
    source_id: str = ""
    extra_desc: str = ""
    """Raw XML put into ``desc`` after the channels (e.g. ``"<subject><id>P1</id></subject>"``)."""


def _varlen(n: int) -> bytes:
    """XDF variable-length integer: one byte giving the width (1, 4 or 8), then the value."""
    if n < 256:
        return b"\x01" + struct.pack("<B", n)
    if n < 2**32:
        return b"\x04" + struct.pack("<I", n)
    return b"\x08" + struct.pack("<Q", n)


def _chunk(tag: int, content: bytes) -> bytes:
    return _varlen(len(content) + 2) + struct.pack("<H", tag) + content


def _header_xml(stream: XdfStream, n_channels: int) -> bytes:
    channels = ""
    if stream.channels is not None:
        items = "".join("<channel>" + "".join(f"<{k}>{escape(str(v))}</{k}>"
                                              for k, v in entry.items()) + "</channel>"
                        for entry in stream.channels)
        channels = f"<channels>{items}</channels>"
    return (f'<?xml version="1.0"?><info><name>{escape(stream.name)}</name>'
            f"<type>{escape(stream.type)}</type><channel_count>{n_channels}</channel_count>"
            f"<nominal_srate>{stream.nominal_srate}</nominal_srate>"
            f"<channel_format>{stream.channel_format}</channel_format>"
            f"<source_id>{escape(stream.source_id)}</source_id><version>1.1</version>"
            f"<created_at>0</created_at><uid>{escape(stream.name)}-uid</uid>"
            f"<desc>{channels}{stream.extra_desc}</desc></info>").encode()


def _n_channels(stream: XdfStream) -> int:
    if stream.channel_format == "string":
        return len(stream.samples[0]) if len(stream.samples) else 1
    values = np.asarray(stream.samples)
    return 1 if values.ndim == 1 else values.shape[1]


def _samples(stream: XdfStream, start: int, stop: int) -> bytes:
    """Content of a Samples chunk (after the stream id) for samples ``start:stop``."""
    stamps = np.asarray(stream.time_stamps[start:stop], dtype=np.float64)
    out = bytearray(_varlen(len(stamps)))
    if stream.channel_format == "string":
        for stamp, row in zip(stamps, stream.samples[start:stop], strict=True):
            out += b"\x08" + struct.pack("<d", stamp)
            for value in row:
                encoded = str(value).encode()
                out += _varlen(len(encoded)) + encoded
        return bytes(out)
    values = np.asarray(stream.samples[start:stop]).astype(_NUMERIC[stream.channel_format])
    for stamp, row in zip(stamps, values.reshape(len(stamps), -1), strict=True):
        out += b"\x08" + struct.pack("<d", stamp) + row.tobytes()
    return bytes(out)


def write_xdf(path: Path, streams: Sequence[XdfStream], *, chunk_samples: int = 1000,
              clock_offset_s: float = 0.0) -> Path:
    """Write ``streams`` to the XDF file ``path``: samples in chunks of ``chunk_samples``, then
    ClockOffset chunks about every 5 s of each stream's span, all giving ``clock_offset_s``
    (as LabRecorder does; pyxdf adds the offset to the stream's time stamps)."""
    out = bytearray(b"XDF:")
    out += _chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>')
    for stream_id, stream in enumerate(streams, start=1):
        sid = struct.pack("<I", stream_id)
        n = len(stream.time_stamps)
        out += _chunk(2, sid + _header_xml(stream, _n_channels(stream)))
        for start in range(0, n, chunk_samples):
            out += _chunk(3, sid + _samples(stream, start, start + chunk_samples))
        first = float(stream.time_stamps[0]) if n else 0.0
        last = float(stream.time_stamps[-1]) if n else 0.0
        for when in np.linspace(first, last, max(2, int((last - first) // 5) + 2)):
            out += _chunk(4, sid + struct.pack("<dd", when, clock_offset_s))
        footer = (f'<?xml version="1.0"?><info><first_timestamp>{first}</first_timestamp>'
                  f"<last_timestamp>{last}</last_timestamp><sample_count>{n}</sample_count>"
                  "<clock_offsets></clock_offsets></info>")
        out += _chunk(6, sid + footer.encode())
    path.write_bytes(bytes(out))
    return path


def eeg_stream(data_uv: np.ndarray, sfreq: float, t0: float = 1000.0, *,
               names: Sequence[str] | None = None, unit: str = "microvolts",
               types: Sequence[str] | None = None, name: str = "TestAmp", type: str = "EEG",
               jitter_s: float = 0.0, seed: int = 0) -> XdfStream:
    """An EEG stream of ``data_uv`` (n_channels, n_samples), given in microvolts and written in
    ``unit`` (values scaled accordingly), first sample at LSL time ``t0`` (s), time stamps
    ``t0 + i / sfreq`` plus Gaussian jitter of ``jitter_s`` seconds (std)."""
    n_channels, n_samples = data_uv.shape
    scale = {"microvolts": 1.0, "millivolts": 1e-3, "volts": 1e-6, "V": 1e-6, "mV": 1e-3,
             "uV": 1.0}.get(unit, 1.0)
    stamps = t0 + np.arange(n_samples) / sfreq
    if jitter_s:
        stamps = stamps + np.random.default_rng(seed).normal(0, jitter_s, n_samples)
    names = list(names or [f"E{i + 1}" for i in range(n_channels)])
    types = list(types or ["EEG"] * n_channels)
    channels = [{"label": n, "unit": unit, "type": t} for n, t in zip(names, types, strict=True)]
    return XdfStream(name=name, type=type, time_stamps=stamps,
                     samples=(data_uv * scale).T.astype(np.float64), channel_format="double64",
                     nominal_srate=sfreq, channels=channels, source_id=f"{name}-sid")


def marker_stream(times: Sequence[float], texts: Sequence[str], *, name: str = "TestAmp-markers",
                  type: str = "Markers") -> XdfStream:
    """A one-channel string marker stream: ``texts[i]`` at LSL time ``times[i]`` (s)."""
    return XdfStream(name=name, type=type, time_stamps=np.asarray(times, dtype=np.float64),
                     samples=[[t] for t in texts], channel_format="string", nominal_srate=0.0,
                     source_id=f"{name}-sid")
