"""Stream discovery and selection: rules on plain descriptions, discovery over real LSL with
pylsl outlets as the independent peer."""

from __future__ import annotations

import socket
import time
from dataclasses import replace

import pylsl
import pytest

from bci_app.lsl.streams import (
    StreamDescription,
    StreamSelectionError,
    check_eeg_stream,
    format_streams,
    list_streams,
    select_stream,
)


def _desc(
    name: str,
    stype: str = "EEG",
    sfreq: float = 200.0,
    dtype: str = "float32",
    source_id: str = "",
    n: int = 8,
) -> StreamDescription:
    return StreamDescription(name, stype, n, sfreq, "lab-pc", source_id, dtype)


AMP = _desc("amp", source_id="amp-1")
AMP_TWIN = _desc("amp", source_id="amp-2")
MARKERS = _desc("amp-markers", "Markers", 0.0, "string", "amp-1-markers", n=1)
GAZE = _desc("eyes", "Gaze", 60.0)


# ----------------------------------------------------------------------------- rules
def test_select_by_criteria() -> None:
    streams = [AMP, AMP_TWIN, MARKERS, GAZE]
    assert select_stream(streams, name="eyes") is GAZE
    assert select_stream(streams, name="amp", source_id="amp-2") is AMP_TWIN
    assert select_stream(streams, source_id="amp-1") is AMP
    assert select_stream(streams, stype="markers") is MARKERS  # type: case-insensitive


def test_select_no_match_lists_streams() -> None:
    with pytest.raises(StreamSelectionError, match="no LSL stream matches name='nope'") as exc:
        select_stream([AMP, GAZE], name="nope")
    assert "eyes" in str(exc.value) and "SOURCE ID" in str(exc.value)
    with pytest.raises(StreamSelectionError, match="no LSL streams found"):
        select_stream([], name="nope")


def test_select_several_matches() -> None:
    with pytest.raises(StreamSelectionError, match="2 LSL streams match name='amp'") as exc:
        select_stream([AMP, AMP_TWIN, GAZE], name="amp")
    assert "--source-id" in str(exc.value)
    assert "amp-1" in str(exc.value) and "amp-2" in str(exc.value)


def test_default_is_the_only_usable_eeg_stream() -> None:
    irregular = _desc("irr", sfreq=0.0)
    strings = _desc("txt", dtype="string")
    lower = _desc("lower-case-type", stype="eeg")
    assert select_stream([AMP, MARKERS, GAZE, irregular, strings]) is AMP
    assert select_stream([lower, GAZE]) is lower


def test_default_errors() -> None:
    with pytest.raises(StreamSelectionError, match="2 EEG streams") as exc:
        select_stream([AMP, AMP_TWIN, MARKERS])
    assert "--stream NAME" in str(exc.value)
    with pytest.raises(StreamSelectionError, match="no stream of type 'EEG'") as exc:
        select_stream([MARKERS, GAZE])
    assert "eyes" in str(exc.value) and "--stream NAME" in str(exc.value)
    with pytest.raises(StreamSelectionError, match="irregular sampling rate"):
        select_stream([_desc("irr", sfreq=0.0), GAZE])


def test_check_eeg_stream_refuses_irregular_and_strings() -> None:
    check_eeg_stream(AMP)
    message = "stream 'irr' has an irregular sampling rate; an EEG stream needs a nominal rate"
    with pytest.raises(StreamSelectionError) as exc:
        check_eeg_stream(_desc("irr", sfreq=0.0))
    assert str(exc.value) == message
    with pytest.raises(StreamSelectionError, match="stream 'txt' carries strings"):
        check_eeg_stream(_desc("txt", dtype="string"))
    with pytest.raises(StreamSelectionError, match="carries strings"):
        check_eeg_stream(MARKERS)


def test_format_streams_table() -> None:
    table = format_streams([AMP, MARKERS])
    lines = table.splitlines()
    assert len(lines) == 3
    assert lines[0].split() == [
        "NAME",
        "TYPE",
        "CHANNELS",
        "RATE",
        "FORMAT",
        "HOST",
        "SOURCE",
        "ID",
    ]
    column = lines[0].index("TYPE")
    assert lines[1][column:].startswith("EEG") and lines[2][column:].startswith("Markers")
    assert "200 Hz" in lines[1] and "irregular" in lines[2] and "string" in lines[2]
    assert format_streams([]) == "(no LSL streams found)"
    assert AMP.to_dict()["ch_names"] == [] and AMP.is_regular and AMP.is_numeric


# ----------------------------------------------------------------------------- LSL
def _listed(name: str, with_channels: bool = False, timeout: float = 6.0) -> StreamDescription:
    """The description of stream ``name`` from :func:`list_streams`, retried up to ``timeout``
    s (resolution over loopback can miss a stream for a while when others come and go)."""
    deadline = time.monotonic() + timeout
    while True:
        found = {s.name: s for s in list_streams(timeout=1.0, with_channels=with_channels)}
        if name in found:
            return found[name]
        assert time.monotonic() < deadline, (
            f"{name!r} not listed:\n{format_streams(found.values())}"
        )


@pytest.mark.lsl
def test_list_streams_sees_a_pylsl_eeg_outlet(unique_name: str) -> None:
    labels = ["Fp1", "Fp2", "F3", "F4"]
    info = pylsl.StreamInfo(unique_name, "EEG", 4, 250.0, pylsl.cf_float32, f"{unique_name}-sid")
    channels = info.desc().append_child("channels")
    for label in labels:
        channels.append_child("channel").append_child_value("label", label)
    outlet = pylsl.StreamOutlet(info)
    try:
        eeg = _listed(unique_name, with_channels=True)
        plain = _listed(unique_name)
    finally:
        del outlet
    assert (eeg.stype, eeg.n_channels, eeg.sfreq, eeg.dtype) == ("EEG", 4, 250.0, "float32")
    assert eeg.source_id == f"{unique_name}-sid"
    assert eeg.host == socket.gethostname()
    assert eeg.ch_names == tuple(labels)
    assert plain.ch_names == () and plain == replace(eeg, ch_names=())  # no inlet, no names
    assert select_stream([plain, MARKERS], name=unique_name) == plain
    check_eeg_stream(eeg)
    assert unique_name in format_streams([eeg])


@pytest.mark.lsl
def test_list_streams_sees_a_string_outlet(unique_name: str) -> None:
    info = pylsl.StreamInfo(unique_name, "EEG", 1, pylsl.IRREGULAR_RATE, pylsl.cf_string, "")
    outlet = pylsl.StreamOutlet(info)
    try:
        desc = _listed(unique_name)
    finally:
        del outlet
    assert (desc.sfreq, desc.dtype, desc.source_id, desc.n_channels) == (0.0, "string", "", 1)
    with pytest.raises(StreamSelectionError, match=f"stream '{unique_name}' carries strings"):
        check_eeg_stream(desc)
