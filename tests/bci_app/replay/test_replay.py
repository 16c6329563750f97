"""Replay tool: SEED / EDF files streamed over LSL, checked with pylsl as an independent peer."""

from __future__ import annotations

import ast
import logging
import shutil
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mne
import numpy as np
import pylsl
import pytest

import bci_app.replay.player as player_module
from bci_app.replay.chunks import chunk_size_for
from bci_app.replay.cli import main
from bci_app.replay.player import Replay
from bci_app.replay.recording import Marker, ReplayError, build_raw
from models.exit_codes import ExitCode
from offline_training.seed import SEED_CHANNELS, read_trials
from offline_training.seed import parse_numbers as parse_trials
from tests.helpers import shared_data

RTOL, ATOL_UV = 1e-6, 1e-4  # float32-level agreement, in microvolts
TS_TOL = 1e-6  # seconds: markers carry the exact timestamp of their sample


# ----------------------------------------------------------------------------- helpers
@pytest.fixture
def short_seed_file(tmp_path: Path) -> Path:
    """Synthetic SEED session with 0.5-s trials (101 samples each)."""
    from offline_training.synth import generate_seed_folder

    paths = generate_seed_folder(tmp_path / "SEED", subjects=(1,), n_sessions=1, trial_seconds=0.5)
    return next(p for p in paths if p.name.startswith("1_"))


def _source_uv(path: Path, trials: list[int] | None = None) -> np.ndarray:
    """The file's trials concatenated: (62, n_samples) float64 microvolts."""
    return np.concatenate(read_trials(path, trials, dtype=np.float64), axis=1)


@contextmanager
def _inlets(replay: Replay, timeout: float = 10.0) -> Iterator[tuple[pylsl.StreamInlet, ...]]:
    """pylsl inlets on the replay's EEG and marker streams, closed before the replay stops."""
    inlets = []
    try:
        for name in (replay.name, replay.marker_name):
            infos = pylsl.resolve_byprop("name", name, minimum=1, timeout=timeout)
            assert infos, f"stream {name!r} not found"
            inlet = pylsl.StreamInlet(infos[0], max_buflen=30, recover=False)
            inlet.open_stream(timeout=timeout)
            inlets.append(inlet)
        yield tuple(inlets)
    finally:
        for inlet in inlets:
            inlet.close_stream()
        inlets.clear()


def _collect(
    eeg: pylsl.StreamInlet, markers: pylsl.StreamInlet, seconds: float
) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Pull both streams for ``seconds``: data (n, C), stamps (n,), marker texts, stamps (m,)."""
    data, stamps, texts, marker_stamps = [], [], [], []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        chunk, ts = eeg.pull_chunk(timeout=0.0, max_samples=4096)
        data += chunk
        stamps += ts
        strings, mts = markers.pull_chunk(timeout=0.0)
        texts += [sample[0] for sample in strings]
        marker_stamps += mts
        time.sleep(0.02)
    return np.asarray(data), np.asarray(stamps), texts, np.asarray(marker_stamps)


def _first_index(source: np.ndarray, first: np.ndarray) -> int:
    """Index of the source sample (column of (C, N) ``source``) equal to ``first`` (C,)."""
    errors = np.abs(source.T - first).max(axis=1)
    index = int(np.argmin(errors))
    assert errors[index] < ATOL_UV, "first received sample not found in the file"
    return index


def _check_block(source: np.ndarray, data: np.ndarray) -> int:
    """Assert the received block (n, C) equals consecutive source samples (wrapping at the end
    of the file); return the source index of the first received sample."""
    assert len(data) > 0, "no EEG received"
    first = _first_index(source, data[0])
    expected = np.take(source, first + np.arange(len(data)), axis=1, mode="wrap").T
    np.testing.assert_allclose(data, expected, rtol=RTOL, atol=ATOL_UV)
    return first


def _check_markers(
    replay: Replay, stamps: np.ndarray, first: int, texts: list[str], marker_stamps: np.ndarray
) -> list[str]:
    """Every marker received during the EEG block must carry the exact timestamp of the EEG
    sample it refers to; return the texts checked."""
    expected = {(m.sample, m.text) for m in replay.markers}
    checked = []
    for text, ts in zip(texts, marker_stamps, strict=True):
        if not stamps[0] <= ts <= stamps[-1]:
            continue  # its sample arrived before the EEG inlet connected
        k = int(np.argmin(np.abs(stamps - ts)))
        assert abs(stamps[k] - ts) < TS_TOL, f"{text!r} is {stamps[k] - ts:+.6f} s off its sample"
        assert ((first + k) % replay.n_samples, text) in expected, f"{text!r} on the wrong sample"
        checked.append(text)
    return checked


def _channel_field(info: pylsl.StreamInfo, field: str) -> list[str]:
    """desc/channels/channel/<field> of every channel."""
    values, channel = [], info.desc().child("channels").child("channel")
    while not channel.empty():
        values.append(channel.child_value(field))
        channel = channel.next_sibling()
    return values


# ----------------------------------------------------------------------------- no LSL
def test_chunk_size_is_at_most_25_ms() -> None:
    assert chunk_size_for(200.0) == 5
    assert chunk_size_for(160.0) == 4
    assert chunk_size_for(1000.0) == 25
    assert chunk_size_for(10.0) == 1
    assert chunk_size_for(200.0, chunk_ms=10) == 2
    for sfreq in (128.0, 200.0, 250.0, 256.0, 512.0, 1000.0):
        assert chunk_size_for(sfreq) / sfreq <= 0.025
    with pytest.raises(ValueError, match="30"):
        chunk_size_for(200.0, chunk_ms=30)


def test_parse_trials() -> None:
    assert parse_trials("10-15") == [10, 11, 12, 13, 14, 15]
    assert parse_trials("1,3,5") == [1, 3, 5]
    assert parse_trials("5,1-2,2") == [1, 2, 5]
    for bad in ("", "a", "3-1", "0", "1,,2"):
        with pytest.raises(ValueError):
            parse_trials(bad)


def test_build_raw_seed_volts_and_trial_markers(seed_session_file: Path) -> None:
    raw, markers = build_raw(seed_session_file, trials=[2, 3])
    source = _source_uv(seed_session_file, [2, 3])
    assert raw.ch_names == list(SEED_CHANNELS)
    assert raw.info["sfreq"] == 200.0
    assert set(raw.get_channel_types()) == {"eeg"}
    np.testing.assert_allclose(raw.get_data(), source * 1e-6, rtol=1e-12)
    n = source.shape[1] // 2  # 601 samples a trial
    assert markers == [
        Marker(0, "trial 2 start neutral"),
        Marker(n - 1, "trial 2 end neutral"),
        Marker(n, "trial 3 start negative"),
        Marker(2 * n - 1, "trial 3 end negative"),
    ]


def test_build_raw_without_label_file_warns(seed_session_file: Path, tmp_path: Path) -> None:
    lonely = tmp_path / "lonely" / "deeper"
    lonely.mkdir(parents=True)
    copy = Path(shutil.copy(seed_session_file, lonely))
    with pytest.warns(RuntimeWarning, match="label"):
        _, markers = build_raw(copy, trials=[3])
    assert [m.text for m in markers] == ["trial 3 start", "trial 3 end"]


def test_build_raw_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mat"
    bad.write_bytes(b"not a matlab file")
    for path in (tmp_path / "missing.edf", bad):
        with pytest.raises(ReplayError, match=path.name):
            build_raw(path)


@pytest.mark.parametrize("name", ["missing.mat", "corrupt.mat", "corrupt.edf", "notes.txt"])
def test_cli_bad_file_exit_3(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / name
    if not name.startswith("missing"):
        path.write_bytes(b"\x00garbage" * 50)
    assert main([str(path)]) == ExitCode.BAD_INPUT == 3
    err = capsys.readouterr().err
    assert name in err
    assert "Traceback" not in err


@pytest.mark.lsl
def test_truncated_edf_replays_with_a_warning(tmp_path: Path, unique_name: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    source = shared_data("eegmmidb_S001", "S001R03.edf")
    cut = tmp_path / "cut.edf"
    data = source.read_bytes()
    cut.write_bytes(data[: len(data) // 2])  # 125 s declared, about 62 s left
    with pytest.warns(RuntimeWarning, match="shorter than its header says") as caught:
        raw, _ = build_raw(cut)
    assert "125 data records (125 s) declared" in str(caught[0].message)
    assert raw.n_times < 160 * 63
    assert main([str(cut), "--name", unique_name, "--duration", "0.3"]) == 0
    err = capsys.readouterr().err
    assert "bci-replay: warning:" in err and "was it truncated" in err
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the complete file replays without a warning
        build_raw(source)


def test_cli_bad_arguments_exit_2(seed_session_file: Path) -> None:
    for argv in (["--trials", "x"], ["--chunk-ms", "40"], ["--duration", "0"]):
        with pytest.raises(SystemExit) as exc:
            main([str(seed_session_file), *argv])
        assert exc.value.code == 2


def _private_uses(source: str) -> list[str]:
    """Private names of other modules used by ``source``: imports of (or from) a module path
    with a ``_`` part, imported ``_`` names, ``x._attr`` on anything but ``self``, and
    ``getattr``/``setattr``/``hasattr`` with a ``"_..."`` string; dunders are allowed."""

    def private(name: str) -> bool:
        return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if any(map(private, a.name.split(".")))]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if any(map(private, module.split("."))):
                found.append(module)
            found += [f"{module}.{a.name}" for a in node.names if private(a.name)]
        elif isinstance(node, ast.Attribute) and private(node.attr):
            if not (isinstance(node.value, ast.Name) and node.value.id == "self"):
                found.append(f"{ast.unparse(node)} (line {node.lineno})")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and private(node.args[1].value)
        ):
            found.append(f"{ast.unparse(node)} (line {node.lineno})")
    return found


def test_private_use_detector() -> None:
    """The checker below really catches what it looks for."""
    bad = (
        "from mne._fiff.constants import FIFF\n"
        "import mne_lsl._lib\n"
        "from mne_lsl.player import _base\n"
        "self._outlet._del()\n"
        "x = raw._data\n"
        "getattr(player, '_sinfo')\n"
    )
    assert len(_private_uses(bad)) == 6
    assert _private_uses("self._x = obj.__class__.__name__\nfrom mne.io import constants") == []


def test_player_uses_public_api_only() -> None:
    """player.py imports nothing private of mne / mne-lsl, touches no other object's private
    attribute and does not use PlayerLSL (so an mne-lsl upgrade cannot change its timing)."""
    source = Path(player_module.__file__).read_text(encoding="utf-8")
    assert _private_uses(source) == []
    tree = ast.parse(source)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert "PlayerLSL" not in names
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m and m.startswith("mne_lsl.player") for m in modules)


# ----------------------------------------------------------------------------- LSL
@pytest.mark.lsl
def test_seed_replay_wire(seed_session_file: Path, unique_name: str) -> None:
    """62 SEED channels at 200 Hz, values in uV with unit metadata, labelled trial markers
    stamped exactly like their EEG samples."""
    source = _source_uv(seed_session_file)
    replay = Replay(seed_session_file, name=unique_name)
    assert replay.source_id == f"bci-replay-{seed_session_file.stem}"
    assert replay.chunk_size == 5 and replay.chunk_size / replay.sfreq <= 0.025
    assert replay.n_samples == source.shape[1]
    with replay, _inlets(replay) as (eeg, markers):
        info = eeg.info()
        assert (info.type(), info.nominal_srate(), info.channel_count()) == ("EEG", 200.0, 62)
        assert info.source_id() == replay.source_id
        assert _channel_field(info, "label") == list(SEED_CHANNELS)
        assert set(_channel_field(info, "unit")) == {"microvolts"}
        minfo = markers.info()
        assert (minfo.type(), minfo.nominal_srate(), minfo.channel_count()) == ("Markers", 0, 1)
        assert minfo.channel_format() == pylsl.cf_string
        assert minfo.source_id() == f"{replay.source_id}-markers"
        data, stamps, texts, marker_stamps = _collect(eeg, markers, 3.5)
    assert len(data) >= 3.0 * 200
    np.testing.assert_allclose(np.diff(stamps), 1 / 200, atol=1e-9)
    first = _check_block(source, data)
    checked = _check_markers(replay, stamps, first, texts, marker_stamps)
    starts = [t for t in checked if " start " in t]
    assert starts, f"no trial start received in 3.5 s (got {texts})"
    assert all(t.split()[-1] in ("negative", "neutral", "positive") for t in checked)


@pytest.mark.lsl
def test_trial_subset_loops_with_markers(short_seed_file: Path, unique_name: str) -> None:
    """--trials 2,3 with --loop: only those trials, repeated; markers repeat at the right times."""
    source = _source_uv(short_seed_file, [2, 3])
    replay = Replay(short_seed_file, name=unique_name, trials=[2, 3], loop=True)
    assert replay.n_samples == source.shape[1] == 202
    with replay, _inlets(replay) as (eeg, markers):
        data, stamps, texts, marker_stamps = _collect(eeg, markers, 2.5)
    first = _check_block(source, data)  # wraps at the end of each pass
    checked = _check_markers(replay, stamps, first, texts, marker_stamps)
    assert {t.split()[1] for t in checked} == {"2", "3"}
    repeats = marker_stamps[[t == "trial 2 start neutral" for t in texts]]
    assert len(repeats) >= 2
    np.testing.assert_allclose(np.diff(repeats), replay.n_samples / 200, atol=1e-6)


@pytest.mark.lsl
def test_edf_replay_annotations(unique_name: str) -> None:
    """EDF (64 ch, 160 Hz): wire in uV, annotations T0/T1/T2 as aligned string markers."""
    path = shared_data("eegmmidb_S001", "S001R03.edf")
    raw = mne.io.read_raw_edf(path, preload=True, verbose="error")
    source = raw.get_data() * 1e6
    replay = Replay(path, name=unique_name)
    assert (replay.sfreq, len(replay.ch_names), replay.chunk_size) == (160.0, 64, 4)
    assert {m.text for m in replay.markers} >= {"T0", "T1", "T2", "T1 end"}
    with replay, _inlets(replay) as (eeg, markers):
        info = eeg.info()
        assert _channel_field(info, "label") == raw.ch_names
        assert set(_channel_field(info, "unit")) == {"microvolts"}
        data, stamps, texts, marker_stamps = _collect(eeg, markers, 5.0)
    first = _check_block(source, data)
    checked = _check_markers(replay, stamps, first, texts, marker_stamps)
    assert checked, f"no annotation marker received in 5 s (got {texts})"
    assert {t.split()[0] for t in checked} <= {"T0", "T1", "T2"}


@pytest.mark.lsl
def test_stop_is_idempotent_and_joins_threads(short_seed_file: Path, unique_name: str) -> None:
    before = set(threading.enumerate())
    replay = Replay(short_seed_file, name=unique_name, trials=[1])
    replay.stop()  # before start: no-op
    replay.start()
    time.sleep(0.2)
    assert replay.running
    replay.stop()
    replay.stop()
    assert not replay.running
    assert set(threading.enumerate()) == before
    # a replay that reached the end of its file on its own
    replay.start()
    assert replay.wait(timeout=10.0)
    assert not replay.running
    replay.stop()
    assert set(threading.enumerate()) == before
    assert pylsl.resolve_byprop("name", unique_name, timeout=0.5) == []


@pytest.mark.lsl
def test_cli_streams_and_reports(
    seed_session_file: Path, unique_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(seed_session_file), "--name", unique_name, "--trials", "2", "--duration", "0.5"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    for text in (
        unique_name,
        f"bci-replay-{seed_session_file.stem}",
        "62",
        "200 Hz",
        "microvolts",
        "trial 2 start neutral",
        "finished",
    ):
        assert text in out


def _pull_timed(
    eeg: pylsl.StreamInlet, seconds: float, until_sample: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pull the EEG stream every ~1 ms for ``seconds`` (or until a sample stamped
    ``until_sample`` or later arrived): data (n, C), stamps (n,), and for each pull that
    returned samples its sample count and ``pylsl.local_clock()`` right after it."""
    data, stamps, counts, arrivals = [], [], [], []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        chunk, ts = eeg.pull_chunk(timeout=0.0, max_samples=4096)
        now = pylsl.local_clock()
        if ts:
            data += chunk
            stamps += ts
            counts.append(len(ts))
            arrivals.append(now)
            if until_sample is not None and ts[-1] >= until_sample - TS_TOL:
                break
        time.sleep(0.001)
    return np.asarray(data), np.asarray(stamps), np.asarray(counts), np.asarray(arrivals)


@pytest.mark.lsl
def test_pacing_never_early_and_at_nominal_rate(short_seed_file: Path, unique_name: str) -> None:
    """Over 3 s no sample arrives before its timestamp is due (1 ms tolerance) and the samples
    arrive at 200 Hz within 0.5 %, with no drift."""
    replay = Replay(short_seed_file, name=unique_name, loop=True)
    with replay, _inlets(replay) as (eeg, _):
        data, stamps, counts, arrivals = _pull_timed(eeg, 3.0)
    assert len(counts) > 50, "too few chunks received"
    newest = stamps[np.cumsum(counts) - 1]  # newest stamp of each pull
    early = newest - arrivals
    assert early.max() <= 1e-3, f"a chunk arrived {1e3 * early.max():.2f} ms before it was due"
    # samples received after the first pull, against the time elapsed since that pull
    received = np.cumsum(counts[1:])
    rate = np.polyfit(arrivals[1:] - arrivals[0], received, 1)[0]
    assert rate == pytest.approx(replay.sfreq, rel=5e-3)
    assert np.median(arrivals - newest) < 0.05, "chunks arrive late"
    np.testing.assert_allclose(np.diff(stamps), 1 / replay.sfreq, atol=1e-9)
    _check_block(_source_uv(short_seed_file), data)


@pytest.mark.lsl
@pytest.mark.parametrize("chunk_ms", [5.0, 10.0, 25.0])  # chunks of 1, 2 (divides 202), 5
def test_loop_wraps_seamlessly(short_seed_file: Path, unique_name: str, chunk_ms: float) -> None:
    """Across the end of the file the stream goes on: the next sample is the file's first one,
    stamped 1 / sfreq later, whether or not a chunk straddles the wrap."""
    source = _source_uv(short_seed_file, [2, 3])
    replay = Replay(short_seed_file, name=unique_name, trials=[2, 3], loop=True, chunk_ms=chunk_ms)
    assert replay.chunk_size == {5.0: 1, 10.0: 2, 25.0: 5}[chunk_ms]
    with replay, _inlets(replay) as (eeg, markers):
        data, stamps, texts, marker_stamps = _collect(eeg, markers, 1.6)
    assert len(data) > replay.n_samples // 2
    np.testing.assert_allclose(np.diff(stamps), 1 / replay.sfreq, atol=1e-9)
    first = _check_block(source, data)
    assert first + len(data) > replay.n_samples, "no wrap received"
    checked = _check_markers(replay, stamps, first, texts, marker_stamps)
    assert "trial 2 start neutral" in checked  # the marker of the first sample after the wrap


@pytest.mark.lsl
@pytest.mark.parametrize(
    ("n_trials", "chunk_ms", "tail"),
    [(4, 25.0, 4), (4, 20.0, 0), (5, 10.0, 1)],  # 404 / 505 samples in chunks of 5, 4, 2
)
def test_end_of_file_tail(
    short_seed_file: Path, unique_name: str, n_trials: int, chunk_ms: float, tail: int
) -> None:
    """The end of a file (shorter last chunk, none, or a single sample): sample i is stamped
    t_start + (i + 1) / sfreq up to the very last one, which receivers get before the outlets
    close; then wait() is True and both streams are gone."""
    trials = list(range(1, n_trials + 1))
    source = _source_uv(short_seed_file, trials)
    replay = Replay(short_seed_file, name=unique_name, trials=trials, chunk_ms=chunk_ms)
    n, sfreq, last_marker = replay.n_samples, replay.sfreq, replay.markers[-1].text
    assert n == 101 * n_trials and n % replay.chunk_size == tail
    before = pylsl.local_clock()
    replay.start()
    after = pylsl.local_clock()
    try:
        with _inlets(replay) as (eeg, markers):
            last_due = before + n / sfreq  # the last sample is stamped at least that
            data, stamps, _, arrivals = _pull_timed(eeg, n / sfreq + 0.4, last_due)
            texts, marker_stamps = [], []
            deadline = time.monotonic() + 0.3
            while last_marker not in texts and time.monotonic() < deadline:
                strings, mts = markers.pull_chunk(timeout=0.05)
                texts += [sample[0] for sample in strings]
                marker_stamps += mts
        assert replay.wait(timeout=2.0)
        assert not replay.running
    finally:
        replay.stop()
    first = _check_block(source, data)
    assert first + len(data) == n, "the end of the file was not received"
    np.testing.assert_allclose(np.diff(stamps), 1 / sfreq, atol=1e-9)
    t_start = stamps - (first + np.arange(len(stamps)) + 1) / sfreq
    assert before - TS_TOL <= t_start.min() and t_start.max() <= after + TS_TOL
    assert arrivals[-1] >= stamps[-1] - 1e-3  # the tail was not pushed early either
    assert texts[-1] == last_marker
    assert marker_stamps[-1] == pytest.approx(stamps[-1], abs=TS_TOL)
    assert pylsl.resolve_byprop("name", unique_name, timeout=0.3) == []
    assert pylsl.resolve_byprop("name", replay.marker_name, timeout=0.3) == []


@pytest.mark.lsl
def test_on_marker_order_times_and_errors(
    short_seed_file: Path, unique_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """on_marker gets every marker in sample order, with its sample's timestamp, never before
    that time; an exception in the callback is logged and streaming goes on."""
    calls: list[tuple[Marker, float, float]] = []

    def on_marker(marker: Marker, timestamp: float) -> None:
        calls.append((marker, timestamp, pylsl.local_clock()))
        if len(calls) == 1:
            raise RuntimeError("callback bug")

    replay = Replay(short_seed_file, name=unique_name, trials=[2, 3], on_marker=on_marker)
    with caplog.at_level(logging.ERROR, logger="bci_app.replay.player"):
        before = pylsl.local_clock()
        replay.start()
        after = pylsl.local_clock()
        try:
            assert replay.wait(timeout=5.0)
        finally:
            replay.stop()
    assert [c[0] for c in calls] == list(replay.markers)
    for marker, timestamp, called_at in calls:
        t_start = timestamp - (marker.sample + 1) / replay.sfreq
        assert before - TS_TOL <= t_start <= after + TS_TOL
        assert called_at >= timestamp - 1e-3
    assert "callback bug" in caplog.text and "on_marker" in caplog.text
