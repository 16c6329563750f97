"""Session outputs: the CSV log, the statistics and summary file, gap counting."""

from __future__ import annotations

import csv
import json
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from bci_app.lsl.streams import StreamDescription
from bci_app.session.files import OutputError
from bci_app.session.log import SessionLog
from bci_app.session.stats import SummaryStats
from bci_app.session.summary import write_summary

CLASSES = ("negative", "neutral", "positive")


def _result(t: float, truth: int | None = 1, **overrides: object) -> SimpleNamespace:
    fields = {
        "lsl_time": t,
        "probs": np.array([0.2, 0.5, 0.3]),
        "smoothed": np.array([0.25, 0.45, 0.3]),
        "predicted": 1,
        "truth": truth,
        "latency_ms": 12.5,
        "inference_ms": 3.25,
        "band_power": {"frontal": np.arange(5.0), "temporal": np.arange(5.0) + 10},
        "faa": -0.125,
    }
    fields.update(overrides)
    return SimpleNamespace(**fields)


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


# ----------------------------------------------------------------------------- outlet
def test_session_log_header_and_rows(tmp_path: Path) -> None:
    with SessionLog(tmp_path / "session.csv", CLASSES) as log:
        assert log.path == tmp_path / "session.csv"
        log.write(_result(100.0))
        log.write(vars(_result(100.25, truth=None, probs=[np.nan, 0.5, 0.5], faa=None)))
        assert log.rows_written == 2
    header = (tmp_path / "session.csv").read_text().splitlines()[0].split(",")
    assert header == [
        "lsl_time",
        "p_negative",
        "p_neutral",
        "p_positive",
        "p_negative_smooth",
        "p_neutral_smooth",
        "p_positive_smooth",
        "predicted",
        "truth",
        "latency_ms",
        "inference_ms",
        "frontal_delta",
        "frontal_theta",
        "frontal_alpha",
        "frontal_beta",
        "frontal_gamma",
        "temporal_delta",
        "temporal_theta",
        "temporal_alpha",
        "temporal_beta",
        "temporal_gamma",
        "faa",
        "bad_channels",
        "segment_start",
        "model",
    ]
    first, second = _read(tmp_path / "session.csv")
    assert float(first["lsl_time"]) == 100.0 and float(second["lsl_time"]) == 100.25
    assert float(first["p_neutral"]) == 0.5 and float(first["p_negative_smooth"]) == 0.25
    assert (first["predicted"], first["truth"], second["truth"]) == ("neutral", "neutral", "")
    assert float(first["latency_ms"]) == 12.5 and float(first["inference_ms"]) == 3.25
    assert float(first["frontal_gamma"]) == 4.0 and float(first["temporal_delta"]) == 10.0
    assert float(first["faa"]) == -0.125
    assert (second["p_negative"], second["faa"]) == ("nan", "")
    assert first["segment_start"] == ""  # a row without one (the engine's rows have it)
    assert first["model"] == ""


def test_session_log_is_flushed_while_open(tmp_path: Path) -> None:
    log = SessionLog(tmp_path / "live.csv", CLASSES)  # default: every row reaches the OS
    try:
        log.write(_result(1.0))
        assert len(_read(log.path)) == 1
        log.write(_result(2.0))
        assert len(_read(log.path)) == 2
    finally:
        log.close()
    batched = SessionLog(tmp_path / "batched.csv", CLASSES, flush_interval=0.3)
    try:
        batched.write(_result(1.0))  # the header was flushed just now: this row waits
        time.sleep(0.35)
        batched.write(_result(2.0))  # the last flush is 0.35 s old: both rows go out
        assert [float(r["lsl_time"]) for r in _read(batched.path)] == [1.0, 2.0]
    finally:
        batched.close()
    batched.close()  # idempotent
    with pytest.raises(OutputError, match="is closed"):
        batched.write(_result(3.0))


def test_session_log_never_overwrites(tmp_path: Path) -> None:
    existing = tmp_path / "session.csv"
    existing.write_text("precious\n")
    (tmp_path / "session-1.csv").write_text("also precious\n")
    with SessionLog(existing, CLASSES) as log:
        log.write(_result(1.0))
    assert log.path == tmp_path / "session-2.csv"
    assert existing.read_text() == "precious\n"
    assert len(_read(log.path)) == 1


def test_session_log_errors(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "session.csv"
    with pytest.raises(OutputError, match="no-such-folder' does not exist"):
        SessionLog(missing, CLASSES)
    with SessionLog(tmp_path / "s.csv", CLASSES) as log:
        with pytest.raises(ValueError, match="expected 3 values, got 2"):
            log.write(_result(1.0, probs=[0.5, 0.5]))
        log.write(_result(1.0, band_power={}))  # missing regions -> nan
    row = _read(log.path)[0]
    assert row["frontal_alpha"] == "nan" and row["temporal_gamma"] == "nan"


# ----------------------------------------------------------------------------- summary
def test_summary_percentiles_and_accuracy(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    latency = rng.gamma(2.0, 10.0, 3000)
    inference = rng.gamma(2.0, 2.0, 3000)
    stats = SummaryStats(CLASSES, recent=100)
    truths = [None] * 1000 + [int(v) for v in rng.integers(0, 3, 2000)]
    predicted = [int(v) for v in rng.integers(0, 3, 3000)]
    for lat, inf, pred, truth in zip(latency, inference, predicted, truths, strict=True):
        stats.add_window(lat, inf, pred, truth)
    stats.add_skipped(4)
    stats.add_skipped()
    stats.add_nan_window()
    stats.add_samples_lost(7)
    stats.add_samples_lost(3)
    stats.add_reconnect()
    eeg = StreamDescription("amp", "EEG", 62, 200.0, "pc", "amp-1", "float32")
    summary = stats.to_dict(device="cpu", stream=eeg, model="demo.safetensors")
    assert (
        summary["windows_predicted"],
        summary["windows_skipped"],
        summary["nan_windows"],
        summary["samples_lost"],
        summary["reconnects"],
    ) == (3000, 5, 1, 10, 1)
    for key, values in (("latency_ms", latency), ("inference_ms", inference)):
        stored = values.astype(np.float32).astype(np.float64)
        expected = np.percentile(stored, [50, 95, 99])
        got = [summary[key][p] for p in ("p50", "p95", "p99")]
        np.testing.assert_allclose(got, expected, rtol=1e-12)
        assert summary[key]["max"] == pytest.approx(stored.max())
        assert summary[key]["mean"] == pytest.approx(stored.mean())
    hits = [p == t for p, t in zip(predicted, truths, strict=True) if t is not None]
    assert summary["n_with_truth"] == 2000
    assert summary["online_accuracy"] == pytest.approx(np.mean(hits))
    assert np.trace(np.array(summary["confusion"])) == sum(hits)
    assert summary["device"] == "cpu" and summary["stream"]["name"] == "amp"
    assert summary["model"] == "demo.safetensors"

    snap = stats.snapshot()
    assert snap.windows_predicted == 3000 and snap.samples_lost == 10
    assert snap.latency_p50 == pytest.approx(np.percentile(latency[-100:], 50))
    assert snap.latency_p95 == pytest.approx(np.percentile(latency[-100:], 95))
    assert snap.inference_ms == pytest.approx(np.median(inference[-100:]))

    path = write_summary(tmp_path / "summary.json", summary | {"bad": float("nan")})
    loaded = json.loads(path.read_text())
    assert loaded["windows_predicted"] == 3000 and loaded["bad"] is None
    again = write_summary(tmp_path / "summary.json", {"x": 1})
    assert again == tmp_path / "summary-1.json"
    assert write_summary(path, {"x": 2}, overwrite=True) == path
    assert json.loads(path.read_text()) == {"x": 2}
    with pytest.raises(OutputError, match="does not exist"):
        write_summary(tmp_path / "missing" / "s.json", {})


def test_summary_without_windows_or_truth() -> None:
    stats = SummaryStats()
    empty = stats.to_dict()
    assert empty["latency_ms"]["p50"] is None and empty["online_accuracy"] is None
    assert "confusion" not in empty and empty["stream"] is None
    snap = stats.snapshot()
    assert snap.latency_p50 is None and snap.online_accuracy is None
    r = _result(1.0, truth=None)
    stats.add_window(r.latency_ms, r.inference_ms, r.predicted, r.truth)
    assert stats.to_dict()["online_accuracy"] is None
    assert stats.to_dict()["latency_ms"]["p50"] == 12.5


def test_summary_is_thread_safe() -> None:
    stats = SummaryStats(CLASSES)

    def work() -> None:
        for k in range(2000):
            stats.add_window(10.0, 2.0, 1, 1)
            if k % 200 == 0:
                stats.snapshot()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    summary = stats.to_dict()
    assert summary["windows_predicted"] == summary["n_with_truth"] == 6000
    assert summary["online_accuracy"] == 1.0


def test_log_and_summary_take_any_class_set(tmp_path: Path) -> None:
    """Two classes, then names that clean to the same column: every class keeps a column."""
    two = ("fists", "feet")
    with SessionLog(tmp_path / "two.csv", two) as log:
        log.write(_result(1.0, truth=0, probs=[0.7, 0.3], smoothed=[0.6, 0.4], predicted=0,
                          band_power={"temporal": np.arange(5.0)}, faa=float("nan")))
    row = _read(tmp_path / "two.csv")[0]
    assert [c for c in row if c.startswith("p_")] == ["p_fists", "p_feet", "p_fists_smooth",
                                                      "p_feet_smooth"]
    assert (row["predicted"], row["truth"], row["faa"]) == ("fists", "fists", "nan")
    assert row["frontal_alpha"] == "nan" and row["temporal_alpha"] == "2.00000"
    with SessionLog(tmp_path / "bad.csv", two) as bad, \
            pytest.raises(ValueError, match="expected 2 values"):
        bad.write(_result(2.0))  # three probabilities
    clash = SessionLog(tmp_path / "clash.csv", ("left hand", "left-hand", "rest"))
    clash.close()
    assert clash.columns[1:4] == ("p_left_hand", "p_left_hand_2", "p_rest")
    stats = SummaryStats(two)
    stats.add_window(5.0, 1.0, predicted=1, truth=0)
    summary = stats.to_dict()
    assert summary["class_names"] == list(two) and summary["confusion"] == [[0, 1], [0, 0]]
