"""GUI tests (pytest-qt, offscreen) with the synthetic FakeEngine standing in for the engine."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtGui, QtWidgets

from bci_app.engine.state import EngineState, EngineStatus
from bci_app.gui.fake_engine import FakeEngine, default_config
from bci_app.gui.main_window import MainWindow
from bci_app.gui.plots import RingBuffer, peak_decimate
from bci_app.gui.widgets import STATE_COLORS
from tests.bci_app.gui.windows import OPEN_WINDOWS
from tests.bci_app.model_files import (
    CAP32_CHANNELS,
    EMOTION4_CLASSES,
    MOTOR_CHANNELS,
    MOTOR_CLASSES,
)

pytestmark = pytest.mark.gui


STREAMS = [
    SimpleNamespace(name="amp-1", stype="EEG", n_channels=64, sfreq=500.0, host="lab-pc",
                    source_id="amp-1-sn"),
    SimpleNamespace(name="bci-replay", stype="EEG", n_channels=62, sfreq=200.0,
                    host="localhost", source_id="replay"),
]


class Factory:
    """Engine factory that remembers what it built (options go to every FakeEngine)."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.engines: list[FakeEngine] = []

    def __call__(self, config: Any) -> FakeEngine:
        engine = FakeEngine(config, **self.options)
        self.engines.append(engine)
        return engine


def make_window(qtbot: Any, factory: Any, autostart: bool = True, **config: Any) -> MainWindow:
    """A shown MainWindow on the fake engine; stopped and joined at teardown."""
    window = MainWindow(factory, default_config(**config), stream_lister=lambda: STREAMS,
                        autostart=autostart)
    qtbot.addWidget(window)
    OPEN_WINDOWS.append(window)  # a strong reference: qtbot keeps only a weak one
    window.resize(1400, 900)
    window.show()
    return window


def wait_state(qtbot: Any, window: MainWindow, state: str, timeout: int = 4000) -> None:
    qtbot.waitUntil(lambda: window.state == state, timeout=timeout)


def test_window_builds(qtbot: Any) -> None:
    window = make_window(qtbot, Factory(), autostart=False)
    assert window.windowTitle().startswith("SI-CLEER")
    assert window.state == "idle"
    assert window.top_bar.start_button.isEnabled()
    assert window.timer.isActive()
    qtbot.waitUntil(lambda: window.top_bar.stream_box.count() == 1 + len(STREAMS), timeout=3000)
    assert "amp-1" in window.top_bar.stream_box.itemText(1)
    assert "500 Hz" in window.top_bar.stream_box.itemText(1)
    assert "lab-pc" in window.top_bar.stream_box.itemText(1)


def test_plots_receive_data(qtbot: Any) -> None:
    window = make_window(qtbot, Factory())
    def drawn(curve: Any) -> int:
        x, _ = curve.getData()
        return 0 if x is None else x.size

    # panels are redrawn one per tick, so wait for the curves, not just for the results
    qtbot.waitUntil(lambda: window.trace_updates >= 3
                    and drawn(window.trajectory.curves[0]) >= 3
                    and drawn(window.bands.curves["frontal"][2]) >= 3
                    and drawn(window.bands.faa_curve) >= 3
                    and window.head_map.image.image is not None, timeout=4000)
    x, y = window.trajectory.curves[0].getData()
    assert x is not None and x.size >= 3 and np.all((y >= 0) & (y <= 1))
    bx, by = window.bands.curves["frontal"][2].getData()
    assert bx.size >= 3 and np.isfinite(by).all()
    assert window.bands.faa_curve.getData()[0].size >= 3
    assert window.head_map.image.image is not None
    assert np.isfinite(window.head_map.image.image).any()
    tx, _ = window.traces.curves["frontal"].getData()
    assert tx is not None and tx.size > 100
    ribbon = window.trajectory._ribbon_curves[0]
    assert sum(c.getData()[0].size for c in ribbon) > 0  # predicted-class ribbon drawn


def test_status_bar_shows_latency_and_state(qtbot: Any) -> None:
    window = make_window(qtbot, Factory(n_interpolated=2))
    wait_state(qtbot, window, "running")
    qtbot.waitUntil(lambda: "ms" in window.status_panel.latency.text(), timeout=3000)
    panel = window.status_panel
    assert "p50" in panel.latency.text() and "p95" in panel.latency.text()
    assert "ms" in panel.inference.text()
    assert "fake-eeg" in panel.stream.text() and "200 Hz" in panel.stream.text()
    assert "60 matched" in panel.channels.text() and "2 interpolated" in panel.channels.text()
    assert "CPU" in panel.device.text()
    losses = panel.losses.text()
    assert losses == "nothing lost" or "skipped" in losses or "lost" in losses


def test_the_status_bar_names_only_the_losses_there_are(qtbot: Any) -> None:
    from bci_app.gui.widgets import StatusPanel
    from bci_app.session.stats import StatsSnapshot

    panel = StatusPanel()
    qtbot.addWidget(panel)
    panel.update_status(EngineStatus(EngineState.RUNNING, stats=StatsSnapshot()))
    assert panel.losses.text() == "nothing lost"
    panel.update_status(EngineStatus(EngineState.RUNNING, stats=dataclasses.replace(
        StatsSnapshot(), windows_skipped=3, reconnects=1)))
    assert panel.losses.text() == "skipped 3 windows · 1 reconnects"


def test_stop_and_start(qtbot: Any) -> None:
    factory = Factory(stop_delay=0.3)
    window = make_window(qtbot, factory)
    wait_state(qtbot, window, "running")
    qtbot.mouseClick(window.top_bar.stop_button, QtCore.Qt.LeftButton)
    assert window.state == "stopping"  # returned at once, the join runs in a worker
    wait_state(qtbot, window, "stopped")
    assert window.engine is None and window.top_bar.start_button.isEnabled()
    qtbot.mouseClick(window.top_bar.start_button, QtCore.Qt.LeftButton)
    wait_state(qtbot, window, "running")
    assert len(factory.engines) == 2
    assert window.engine is factory.engines[1]


def test_lost_stream_then_recovery(qtbot: Any) -> None:
    factory = Factory()
    window = make_window(qtbot, factory, lost_after=0.3)
    wait_state(qtbot, window, "running")
    factory.engines[0].simulate_loss(1.0)
    wait_state(qtbot, window, "lost", timeout=3000)
    assert "lost" in window.status_panel.state.text()
    assert "no samples" in window.status_panel.message.text()
    wait_state(qtbot, window, "running", timeout=4000)
    assert "1 reconnects" in window.status_panel.losses.text()
    assert "lost 0 samples" not in window.status_panel.losses.text()


def test_plots_go_on_scrolling_while_the_stream_is_lost(qtbot: Any) -> None:
    """While lost, time runs on: the newest window moves left of "now" on the trajectory,
    the band power and the traces, instead of the plots freezing."""
    factory = Factory()
    window = make_window(qtbot, factory, lost_after=0.3)
    wait_state(qtbot, window, "running")
    qtbot.waitUntil(lambda: window.results_received > 4, timeout=4000)

    def newest_x(curve: Any) -> float:
        x, _ = curve.getData()
        return float(np.nanmax(x)) if x is not None and len(x) else float("nan")

    factory.engines[0].simulate_loss(4.0)
    wait_state(qtbot, window, "lost", timeout=3000)
    qtbot.wait(1500)
    assert newest_x(window.trajectory.curves[0]) < -1.0
    assert newest_x(window.bands.curves["frontal"][0]) < -1.0
    assert newest_x(window.traces.curves["frontal"]) < -1.0
    wait_state(qtbot, window, "running", timeout=6000)
    qtbot.waitUntil(lambda: newest_x(window.trajectory.curves[0]) > -0.5, timeout=3000)


def test_stalled_stream_and_bad_channels_are_shown(qtbot: Any) -> None:
    assert set(EngineState) <= set(STATE_COLORS)  # every state has its badge colour
    factory = Factory()
    window = make_window(qtbot, factory, lost_after=0.3)
    wait_state(qtbot, window, "running")
    panel = window.status_panel
    factory.engines[0].set_bad_channels({"T7": "flat", "O1": "too large: 2.4e+03 µV rms"})
    qtbot.waitUntil(lambda: "2 bad" in panel.channels.text(), timeout=3000)
    assert "T7 (flat)" in panel.channels.toolTip() and "O1 (too large" in panel.channels.toolTip()
    assert "interpolating bad channels" in panel.message.text()
    factory.engines[0].simulate_stall(1.2)
    wait_state(qtbot, window, "stalled", timeout=3000)
    assert STATE_COLORS[EngineState.STALLED] in panel.state.styleSheet()
    assert "still on the network" in panel.message.text()
    wait_state(qtbot, window, "running", timeout=4000)
    assert "reconnects" not in panel.losses.text()  # a stall is not a reconnection


def test_bad_model_is_reported_not_raised(qtbot: Any) -> None:
    def broken(config: Any) -> FakeEngine:
        raise ValueError(f"model file not found: {config.model}")

    window = make_window(qtbot, broken, model=Path("/nonexistent/model.safetensors"))
    wait_state(qtbot, window, "error")
    assert "model file not found" in window.status_panel.message.text()
    assert window.top_bar.start_button.isEnabled()
    qtbot.waitUntil(lambda: window.top_bar.model_badge.text() == "unreadable", timeout=3000)


def test_engine_error_state_is_shown(qtbot: Any) -> None:
    window = make_window(qtbot, Factory(fail="stream 'amp-1' not found; streams: bci-replay"))
    wait_state(qtbot, window, "error")
    assert "amp-1" in window.status_panel.message.text()


def test_gui_thread_keeps_ticking(qtbot: Any) -> None:
    factory = Factory(start_delay=0.4, stop_delay=0.4)
    window = make_window(qtbot, factory)
    wait_state(qtbot, window, "running")
    since = time.perf_counter()
    qtbot.wait(800)
    window.stop_engine()  # a slow stop must not block the GUI thread
    wait_state(qtbot, window, "stopped")
    window.start_engine()  # nor a slow start
    wait_state(qtbot, window, "running")
    qtbot.wait(600)
    gap = window.max_tick_interval(since)
    assert gap < 0.2, f"GUI thread stalled for {gap * 1000:.0f} ms"


def test_settings_and_pickers_reconfigure(qtbot: Any) -> None:
    factory = Factory()
    window = make_window(qtbot, factory)
    wait_state(qtbot, window, "running")
    window._show_settings()
    dialog = window._settings
    assert dialog is not None and not dialog.isModal()
    dialog.hop.setValue(0.5)
    dialog.notch_on.setChecked(False)
    dialog._apply()
    assert window.config.hop == 0.5 and window.config.notch is None
    wait_state(qtbot, window, "running")
    qtbot.waitUntil(lambda: len(factory.engines) == 2, timeout=3000)
    assert factory.engines[1].config.hop == 0.5
    qtbot.waitUntil(lambda: window.top_bar.stream_box.count() == 3, timeout=3000)
    window.top_bar._on_stream(2)
    assert window.config.stream == "bci-replay" and window.config.source_id == "replay"
    window.top_bar.record_button.setChecked(True)
    assert window.config.log is not None and window.config.log.suffix == ".csv"
    assert window.config.record == window.config.log.with_suffix(".xdf")  # LabRecorder's file
    window.top_bar.record_button.setChecked(False)
    assert window.config.log is None and window.config.record is None


def test_all_channels_toggle(qtbot: Any) -> None:
    window = make_window(qtbot, Factory())
    qtbot.waitUntil(lambda: window.trace_updates >= 1, timeout=4000)
    assert len(window.traces.rows) == 20  # 14 frontal + 6 temporal
    window.traces.all_box.setChecked(True)
    assert len(window.traces.rows) == 62
    n = window.trace_updates
    qtbot.waitUntil(lambda: window.trace_updates > n + 1, timeout=2000)
    x, _ = window.traces.curves["other"].getData()
    assert x is not None and x.size > 0


def test_screenshot_is_saved_and_not_blank(qtbot: Any, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from bci_app.gui.app import run_gui

    out = tmp_path / "shot" / "window.png"
    rc = run_gui(default_config(), screenshot=out, duration=2.0, engine_factory=Factory(),
                 stream_lister=lambda: STREAMS)
    assert rc == 0 and out.is_file()
    assert f"screenshot saved to {out}" in capsys.readouterr().out
    image = QtGui.QImage(str(out))
    assert not image.isNull() and image.width() >= 1000 and image.height() >= 600
    step = 7
    colours = {image.pixel(x, y) for x in range(0, image.width(), step)
               for y in range(0, image.height(), step)}
    assert len(colours) > 50, f"only {len(colours)} distinct colours: blank screenshot?"


def test_ring_buffer_and_decimation() -> None:
    buf = RingBuffer(4, 2)
    for i in range(11):
        buf.append([i, -i])
    assert len(buf) == 4
    assert buf.view()[:, 0].tolist() == [7, 8, 9, 10]
    data = np.random.default_rng(0).standard_normal((3, 2000))
    data[1, 1234] = 50.0
    dec, f = peak_decimate(data, 500)
    assert f == 8 and dec.shape == (3, 500)
    assert dec[1].max() == 50.0  # peaks survive decimation
    blocks = data[:, 2000 - 250 * 8:].reshape(3, 250, 8)  # reference: min, max per block
    assert np.array_equal(dec[:, 0::2], blocks.min(axis=2))
    assert np.array_equal(dec[:, 1::2], blocks.max(axis=2))
    same, f1 = peak_decimate(data, 5000)
    assert f1 == 1 and same is data


@pytest.mark.parametrize("synthetic", [True, False])
def test_model_info_reads_only_the_header(tmp_path: Path, synthetic: bool) -> None:
    import os
    import subprocess
    import sys

    from bci_app.gui.main_window import read_model_info
    from tests.helpers import make_model_file

    path = make_model_file(tmp_path / "m.safetensors", ["FP1", "FP2", "T7", "T8"])
    if not synthetic:
        from models.io import load_model, save_model

        loaded = load_model(path)
        loaded.meta.synthetic, loaded.meta.protocol = False, "subject-dependent"
        save_model(path, loaded.net, loaded.meta)
    info = read_model_info(path)
    assert info.error == "" and info.synthetic is synthetic
    assert "4 ch" in info.summary and "1 s windows" in info.summary
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    assert read_model_info(bad).error and read_model_info(bad).synthetic is None
    # the picker's reader needs neither torch nor the weights
    code = ("import sys; from bci_app.gui.main_window import read_model_info; "
            f"info = read_model_info({str(path)!r}); assert info.error == '', info.error; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60,
                   env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


def test_sticky_range_moves_only_when_the_data_leave_or_shrink() -> None:
    from bci_app.gui.plots import StickyRange

    r = StickyRange(margin=0.1, shrink=0.4)
    assert r.update(np.array([np.nan])) is None and r.range is None  # nothing to fit yet
    first = r.update(np.array([1.0, 2.0, np.nan]))
    assert first == pytest.approx((0.9, 2.1))
    assert r.update(np.array([1.2, 1.9])) is None  # inside and not much smaller: unchanged
    assert r.update(np.array([1.0, 2.5])) == pytest.approx((0.85, 2.65))  # left it
    assert r.update(np.array([1.5, 1.6])) == pytest.approx((1.49, 1.61))  # shrank a lot
    sym = StickyRange(symmetric=True, min_extent=0.2)
    assert sym.update(np.array([-0.01, 0.5])) == pytest.approx((-0.65, 0.65))  # 0.15 x 1.0
    assert sym.update(np.zeros(3)) == pytest.approx((-0.1, 0.1))  # never thinner than 0.2


def test_long_messages_never_resize_the_window(qtbot: Any) -> None:
    window = make_window(qtbot, Factory(), autostart=False)
    qtbot.waitExposed(window)
    size = window.size()
    bar_height = window.status_panel.height()
    text = "no stream of type 'EEG' found.\nStreams present:\n" + "x" * 3000
    window.status_panel.show_error(text)
    qtbot.wait(100)
    assert window.size() == size and window.status_panel.height() == bar_height
    shown = window.status_panel.message.text()
    assert "\n" not in shown and shown.startswith("⚠ no stream of type 'EEG' found. · ")
    assert window.status_panel.message.toolTip() == text  # the whole text stays readable
    drawn = window.status_panel.message.shown_text()
    assert drawn.endswith("…") and len(drawn) < len(shown)  # says it goes on, not cut


def test_window_details_scale_bar_clipping_labels_and_record_button(qtbot: Any) -> None:
    """Issue 14 point 8: the traces' time axis, a round amplitude scale bar, traces that
    never overlap, head-map outlines inside the head, a Record button that says it records,
    the accuracy with its count."""
    from bci_app.gui.plots import TRACE_CLIP, nice_below

    assert [nice_below(v) for v in (77.0, 20.0, 19.9, 0.34, 5.0)] == [50.0, 20.0, 10.0, 0.2,
                                                                      5.0]
    window = make_window(qtbot, Factory(), autostart=False)
    traces = window.traces
    assert traces.plot.getAxis("bottom").labelText == "time before now (s)"
    n = len(traces.names)
    rng = np.random.default_rng(0)
    data = rng.normal(0, 10, (n, 2000))
    data[0, 900:1000] += 400.0  # a blink on FP1
    traces.update_data(data, np.arange(2000) / 200.0, target_points=400)
    spacing = 1.2 * traces._scale
    assert traces.scale_uv == nice_below(spacing) and 0 < traces.scale_uv <= spacing
    assert traces.scale_text.toPlainText() == f"{traces.scale_uv:g} µV"
    for curve in traces.curves.values():
        _, y = curve.getData()
        if y is None or not len(y):
            continue
        y = y[np.isfinite(y)]
        rows = np.round(-y)  # each point's channel line
        assert np.all(np.abs(y + rows) <= TRACE_CLIP + 1e-9)  # never beyond half the spacing
    outlines = [item.getData() for item in window.head_map._channel_items
                if hasattr(item, "getData") and not hasattr(item, "points")]
    assert len(outlines) == 3  # frontal, left and right temporal
    assert all(np.all(np.hypot(x, y) <= 0.99) for x, y in outlines)  # inside the head
    bar = window.top_bar
    assert bar.record_button.text() == "● Record"
    bar.record_button.setChecked(True)
    assert bar.record_button.text() == "● Recording" and "press to stop" in \
        bar.record_button.toolTip()
    traj = window.trajectory
    traj.set_accuracy(0.871, 412)
    assert "online accuracy 87 % (412 windows with truth)" in traj.title.text
    traj.set_accuracy(None, 0)
    assert "no window with truth yet" in traj.title.text


def test_band_power_display_smoothing(qtbot: Any) -> None:
    """An exponential average with the chosen time constant (default 2 s), restarted after a
    gap and around NaN rows; "raw" draws the values as they are."""
    from bci_app.gui.plots import smooth_exponential

    t = np.arange(0, 20, 0.25)
    step = np.where(t >= 5, 1.0, 0.0)
    y = smooth_exponential(t, step, 2.0)
    k = int(np.searchsorted(t, 7.0))  # one time constant after the step
    # 9 rows of the new value (the step's own row counts one hop) by then
    assert y[k] == pytest.approx(1 - np.exp(-(2.0 + 0.25) / 2.0)) and y[-1] > 0.99 and y[0] == 0
    gap = np.concatenate([t[:40], t[40:] + 30.0])  # a 30-s gap (the stream was lost)
    assert smooth_exponential(gap, step, 2.0)[40] == step[40]  # starts afresh
    v = np.column_stack([step, step])
    v[10] = np.nan
    out = smooth_exponential(t, v, 2.0)
    assert np.isnan(out[10]).all() and np.isfinite(out[11]).all()
    window = make_window(qtbot, Factory(), autostart=False)
    bands = window.bands
    assert bands.smoothing_s == 2.0
    power = {r: np.column_stack([step] * 5) for r in bands.REGIONS}
    bands.update_data(t, power, step)
    _, drawn = bands.curves["frontal"][0].getData()
    assert drawn[k] == pytest.approx(y[k])
    bands.smooth_box.setCurrentIndex(0)  # raw: redrawn at once
    _, drawn = bands.curves["frontal"][0].getData()
    assert drawn[k] == 1.0


def test_unchanged_channels_do_not_rebuild_the_head_map(qtbot: Any) -> None:
    window = make_window(qtbot, Factory(), autostart=False)
    head = window.head_map
    weights = head._weights
    head.set_channels([n.lower() for n in head.names])  # same channels: nothing redone
    assert head._weights is weights
    head.set_channels(head.names[:-1])
    assert head._weights is not weights and head._weights.shape[1] == len(head.names)


def test_freeze_heap_exempts_live_objects_from_collection() -> None:
    import gc

    from bci_app.heap import freeze_heap

    before = gc.get_freeze_count()
    keep = [[i] for i in range(1000)]  # container objects the collector tracks
    try:
        freeze_heap()
        assert gc.get_freeze_count() >= before + len(keep)
    finally:
        gc.unfreeze()


def test_panels_redraw_only_the_rows_in_view(qtbot: Any) -> None:
    """A long session (here 2000 results over 500 s) must not make every redraw slower."""
    from bci_app.engine.engine import WindowResult

    window = make_window(qtbot, Factory(), autostart=False)
    rng = np.random.default_rng(0)
    results = [WindowResult(lsl_time=1000.0 + 0.25 * i, probs=np.full(3, 1 / 3),
                            smoothed=np.full(3, 1 / 3), predicted=i % 3, truth=(i // 40) % 3,
                            latency_ms=5.0, inference_ms=3.0,
                            band_power={"frontal": rng.normal(size=5),
                                        "temporal": rng.normal(size=5)},
                            faa=0.1, topo=rng.normal(size=(62, 5)))
               for i in range(2000)]
    window._drain(SimpleNamespace(drain_results=lambda: results))
    for panel in ("trajectory", "bands"):
        window._redraw_panel(panel, None)
    span = 180.0
    for curve in (window.trajectory.curves[0], window.bands.curves["frontal"][0]):
        x = curve.xData
        assert x[-1] == 0.0 and x[0] >= -span - 1.25  # seconds before now, the span only
        assert x.size <= (span + 1.0) / 0.25 + 2 < len(results)


def test_class_runs_merge_consecutive_windows_and_respect_gaps() -> None:
    from bci_app.gui.plots import class_runs, gap_connect

    t = np.array([0.0, 0.25, 0.5, 0.75, 3.0, 3.25])  # a lost stream between 0.75 and 3.0
    t_end = np.array([0.25, 0.5, 0.75, 1.25, 3.25, 3.5])
    joined = np.append(t_end[:-1] == t[1:], False)
    cls = np.array([1, 1, 0, 1, 1, 1])
    assert class_runs(t, t_end, joined, cls == 1).tolist() == [0.0, 0.5, 0.75, 1.25, 3.0, 3.5]
    assert class_runs(t, t_end, joined, cls == 0).tolist() == [0.5, 0.75]
    assert class_runs(t, t_end, joined, cls == 2).size == 0
    assert gap_connect(np.arange(10) * 0.25) == "all"
    assert gap_connect(t).tolist() == [True, True, True, False, True, False]


MODELS = {  # class names, channel names
    "motor": (MOTOR_CLASSES, MOTOR_CHANNELS),
    "emotion4": (EMOTION4_CLASSES, CAP32_CHANNELS),
}


@pytest.mark.parametrize("kind", list(MODELS))
def test_window_follows_the_models_classes_and_channels(qtbot: Any, kind: str) -> None:
    """Two classes on 16 channels without F3/F4, or four on 32: legend, colours, chance line,
    ribbons, region and asymmetry rows all follow the model, and nothing fails to draw."""
    classes, channels = MODELS[kind]
    k = len(classes)
    window = make_window(qtbot, Factory(class_names=classes, channel_names=channels))

    def drawn(curve: Any) -> int:
        x, _ = curve.getData()
        return 0 if x is None else x.size

    traj = window.trajectory
    qtbot.waitUntil(lambda: window.state == "running" and len(traj.curves) == k
                    and all(drawn(c) >= 3 for c in traj.curves)
                    and drawn(window.bands.curves["temporal"][2]) >= 3
                    and window.head_map.image.image is not None, timeout=5000)
    assert [name for name, _ in traj.legend] == classes
    assert all(name in traj.title.text for name in classes)  # the key in the title
    colors = [color for _, color in traj.legend]
    assert len(set(colors)) == k
    assert [c.opts["pen"].color().name() for c in traj.curves] == colors
    assert traj.chance_line.value() == pytest.approx(1 / k)
    assert traj.chance_line.label.format == f"chance 1/{k}"  # the line says what it is
    assert all(len(row) == k for row in traj._ribbon_curves)
    for c in traj.curves:
        y = c.getData()[1]
        assert np.all((y >= 0) & (y <= 1))
    notes = window.bands.notes
    assert notes["temporal"] == ""  # T7/T8 in both
    if kind == "motor":
        assert notes["faa"] == "F3/F4 not in this model's channels"
        assert notes["frontal"] == "no frontal channels in this model"
        assert window.bands._note_items["faa"].isVisible()
        assert len(window.traces.rows) == len(channels)  # no frontal region: every channel
    else:
        assert notes == {"frontal": "", "temporal": "", "faa": ""}
        assert drawn(window.bands.faa_curve) >= 3
        assert not window.bands._note_items["faa"].isVisible()
    assert len(window.head_map.names) == len(channels)
    assert np.isfinite(window.head_map.image.image).any()
    assert "display update failed" not in window.status_panel.message.text()


def test_idle_window_shows_the_model_files_classes(qtbot: Any, motor_model_file: Path,
                                                   emotion4_model_file: Path) -> None:
    """Before any engine runs, the panels follow the chosen model file's header."""
    window = make_window(qtbot, Factory(), autostart=False, model=emotion4_model_file)
    qtbot.waitUntil(lambda: window.trajectory.class_names == EMOTION4_CLASSES, timeout=3000)
    assert window.trajectory.chance_line.value() == pytest.approx(0.25)
    assert "4 classes" in window.top_bar.model_badge.toolTip()
    window._on_model_chosen(motor_model_file)
    qtbot.waitUntil(lambda: window.trajectory.class_names == MOTOR_CLASSES, timeout=3000)
    assert window.bands.notes["faa"] == "F3/F4 not in this model's channels"
    assert window.head_map.names == [n.upper() for n in MOTOR_CHANNELS]


def test_settings_show_the_models_chain_and_send_only_changes(qtbot: Any,
                                                              motor_model_file: Path) -> None:
    from bci_app.engine.config import FROM_MODEL

    window = make_window(qtbot, Factory(), autostart=False, model=motor_model_file)
    qtbot.waitUntil(lambda: window._model_info is not None, timeout=3000)
    window._show_settings()
    dialog = window._settings
    assert (dialog.l_freq.value(), dialog.h_freq.value()) == (8.0, 30.0)  # the model's
    assert not dialog.notch_on.isChecked() and dialog.order.value() == 4
    assert "from the model file" in dialog.chain.text()
    dialog.hop.setValue(0.5)
    dialog._apply()  # no filter setting changed: they keep following the model file
    assert window.config.hop == 0.5 and window.config.l_freq is FROM_MODEL
    dialog.l_freq.setValue(4.0)
    dialog._apply()
    assert window.config.l_freq == 4.0 and window.config.h_freq is FROM_MODEL
    assert "trained with 8-30 Hz" in dialog.chain.text()  # the warning, both chains
    assert dialog.l_freq.value() == 4.0
    dialog.model_filters.click()
    assert window.config.l_freq is FROM_MODEL and window.config.filter_order is FROM_MODEL
    assert dialog.l_freq.value() == 8.0


def test_class_colours_keep_seeds_and_stay_distinct_for_any_count() -> None:
    from bci_app.gui.plots import NAMED_CLASS_COLORS, class_colors

    seed = ["negative", "neutral", "positive"]
    assert class_colors(seed) == [NAMED_CLASS_COLORS[n] for n in seed]
    assert class_colors(["Neutral", "sad"])[0] == NAMED_CLASS_COLORS["neutral"]
    many = class_colors([f"class {i}" for i in range(40)])
    assert len(set(many)) == 40 and not set(many) & set(NAMED_CLASS_COLORS.values())


def test_the_window_runs_on_the_platform_asked_for(qtbot: Any) -> None:
    """``QT_QPA_PLATFORM`` is honoured: offscreen in ``make test``, xcb on a (virtual) X
    display in ``make test-xcb``, so the X11 path that a lab's desktop takes is exercised."""
    window = QtWidgets.QWidget()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert QtGui.QGuiApplication.platformName() == os.environ["QT_QPA_PLATFORM"]
