"""The live engine: LSL in, causal DSP, sliding-window SI-CLEER inference, outputs.

Threads:
- the stream's reader thread (:class:`bci_app.lsl.reader.InletReader`, blocking LSL pulls)
  calls :meth:`Engine._on_chunk` with every chunk: the stream's clock
  (:class:`bci_app.signal.clock.StreamClock`: gaps, jitter, jumps), then the signal path
  (:class:`bci_app.signal.pipeline.LivePipeline`: units, invalid samples, channel map,
  resampling, filters), appended to a ring buffer; then it wakes the engine thread.
- the engine thread (:meth:`Engine.run`) is the state machine (:class:`EngineState`): it tells
  a stalled stream (still listed, silent) from a lost one (gone), reconnects, and cuts windows
  every hop; per window it checks each channel (:mod:`bci_app.signal.quality`), interpolates
  a few bad ones or pauses predictions when too many are bad, runs the model, smooths and
  computes band power (:mod:`bci_app.engine.features`) and writes the outputs. When it falls
  behind it jumps to the newest window and counts what it skipped, so lag never builds up.
The GUI (or the headless CLI) only reads snapshots: :meth:`status`, :meth:`drain_results`,
:meth:`recent_samples`. With ``config.record`` the session is recorded into one XDF file by
LabRecorder (:mod:`bci_app.session.recorder`): the EEG stream as it arrives, its marker stream,
the predictions and the app's events. :meth:`swap_model` replaces the model between two
windows (calibration, :mod:`bci_app.calibration`) without stopping acquisition or the recording.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from mne_lsl.lsl import local_clock

from bci_app.engine.config import EngineConfig
from bci_app.engine.contract import STOP_TIMEOUT_S
from bci_app.engine.features import ProbabilitySmoother, WindowFeatures
from bci_app.engine.state import EngineState, EngineStatus, StreamLink, WindowResult
from bci_app.engine.window_check import check_window
from bci_app.lsl.markers import SETTLE_S, MarkerListener, MarkerTracker, find_marker_stream
from bci_app.lsl.outlet import EventOutlet, PredictionOutlet
from bci_app.lsl.protocol import MARKER_TYPE
from bci_app.lsl.reader import InletReader
from bci_app.lsl.streams import (
    StreamDescription,
    StreamSelectionError,
    check_eeg_stream,
    find_stream,
    list_streams,
    select_stream,
)
from bci_app.session.log import SessionLog
from bci_app.session.recorder import SessionRecorder
from bci_app.session.stats import SummaryStats
from bci_app.session.summary import write_summary
from bci_app.signal.channel_map import ChannelRepair
from bci_app.signal.clock import ClockJump, StreamClock
from bci_app.signal.filters import make_live_filter
from bci_app.signal.pipeline import LivePipeline
from bci_app.signal.quality import QualityTracker
from bci_app.signal.ring import SampleRing
from models import LoadedModel, load_model
from models.device import device_name, resolve_device
from models.eeg.regions import FAA_PAIR

__all__ = ["Engine", "ModelSwapError", "RawSink", "model_id", "use_one_inference_thread"]

log = logging.getLogger("bci_app.engine")

RING_SECONDS = 30.0
WARNING_SECONDS = 10.0  # how long a clock-jump warning stays in the status
STALL_RECHECK_S = 2.0  # while stalled: how often to look whether the stream is still listed
MAX_JUMP_LOGS = 5  # clock jumps logged one by one; the rest are counted in the summary
MARKER_CONNECT_S = 5.0  # how long start-up waits for the marker inlet to subscribe
_S = EngineState
_RECEIVING = (_S.WARMING_UP, _S.RUNNING, _S.BAD_SIGNAL, _S.RECONNECTING)

RawSink = Callable[[np.ndarray, np.ndarray], None]
"""Called with every processed chunk before the filters: (m, n_model_channels) float64
microvolts at the model rate, channels mapped as for the model, and (m,) LSL times (s)."""


class ModelSwapError(ValueError):
    """A model cannot replace the running one (another montage, rate, window, class set or
    filter chain); the message names the difference."""


def model_id(model: LoadedModel) -> str:
    """Short id of a model file: the first 12 hex digits of its digest (``"-"`` without)."""
    return model.digest[:12] if model.digest else "-"


def use_one_inference_thread() -> None:
    """Give torch one intra-op thread for this process (the live app calls it at start).

    The engine runs one window at a time: a second thread only competes with the acquisition
    thread, the GUI and the amplifier's software for the other core, and one thread was the
    faster on 2 cores (benchmarks/live_latency.py; docs/RESULTS.md). A process-wide
    setting, so it is left to programs, never done on import or by the engine itself.
    """
    torch.set_num_threads(1)


@dataclass
class _ClassOutputs:
    """Outputs opened for a model with another class set, before the engine switches to it."""

    class_names: list[str]
    outlet: PredictionOutlet | None = None
    log: SessionLog | None = None
    recorder: SessionRecorder | None = None

    def close(self) -> None:
        """Close whatever was opened (a swap that failed or never happened)."""
        for close in (self.recorder.stop if self.recorder else None,
                      self.outlet.close if self.outlet else None,
                      self.log.close if self.log else None):
            if close is not None:
                try:
                    close()
                except Exception as exc:  # closing must not hide the reason it was needed
                    log.warning("closing an unused output: %s", exc)


class Engine:
    """Live SI-CLEER inference on an LSL EEG stream.

    Everything model-specific follows the model file: channels, rate, window, classes (the
    outlet's channels, the log's columns, the statistics) and the causal filter chain (the
    file's ``preprocessing.filters``, with the options the user gave replacing its settings;
    see :meth:`EngineConfig.resolve_filters`).

    Args:
        config: the session's options.
        model: an already loaded model (else ``config.model`` is loaded; a bad file raises
            :class:`models.ModelFileError` here, before anything starts).
        listing: a network listing already under way (``bci-app`` starts one while torch and
            the model load): the first look for the stream takes its result instead of
            listing again (~1 s of start-up saved).

    Raises:
        ValueError: the filter chain cannot be built at the model's rate (edges in the wrong
            order, beyond Nyquist...), before anything starts.

    Attributes:
        filter_choice: the chain this session runs and where it came from.
        filters: ``filter_choice.spec``.
        failure: the exception that ended the session in the ``error`` state (None otherwise),
            for the command line's exit code.
    """

    def __init__(self, config: EngineConfig, model: LoadedModel | None = None, *,
                 listing: Future[list[StreamDescription]] | None = None) -> None:
        self.config = config
        self._listing = listing
        self.device = model.device if model is not None else resolve_device(config.device)
        self.model = model if model is not None else load_model(config.model, self.device)
        self.meta = self.model.meta
        self.channel_names: list[str] = list(self.meta.channel_names)
        self.class_names: list[str] = list(self.meta.class_names)
        self.sfreq = float(self.meta.sfreq)
        self.window = int(self.meta.window_samples)
        self.hop = max(1, round(config.hop * self.sfreq))
        self.filter_choice = config.resolve_filters(self.meta.preprocessing.filters,
                                                    self.sfreq)
        self.filters = self.filter_choice.spec
        self._check_filters()
        self.stats = SummaryStats(self.class_names)
        self.model_id = model_id(self.model)
        self._models: list[dict[str, Any]] = []  # every model of the session, for the summary
        self._pending_model: tuple[LoadedModel, str, _ClassOutputs | None] | None = None
        self._logs: list[Path] = []  # every CSV log of the session (a class change adds one)
        self._companions: list[SessionRecorder] = []  # recordings of reopened outlets
        self._recordings: list[SessionRecorder] = []  # every main recording, in order
        self._pending_log: tuple[SessionLog | None] | None = None  # for the engine thread
        self._raw_sink: RawSink | None = None
        self._events: EventOutlet | None = None
        self._recorder: SessionRecorder | None = None
        self._marker_desc: StreamDescription | None = None
        self.failure: BaseException | None = None
        self.summary_path: Path | None = None  # the summary file written (after the session)
        self._session_t0: float | None = None  # local_clock() when the outputs opened
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._results: deque[WindowResult] = deque(maxlen=20_000)
        self._device_name = device_name(self.device)
        self._state = _S.IDLE
        self._message = ""
        self._link = StreamLink()
        self._has_markers = False
        ring_seconds = max(RING_SECONDS, 2 * self.window / self.sfreq)
        self._ring = SampleRing(int(ring_seconds * self.sfreq), len(self.channel_names))
        self._pipeline: LivePipeline | None = None
        self._clock: StreamClock | None = None
        self._quality: QualityTracker | None = None
        self._repair: ChannelRepair | None = None
        self._stream: InletReader | None = None
        self._desc: StreamDescription | None = None
        self._replay: dict[str, Any] | None = None  # the stream's desc/replay, when a replay
        self._streams_seen: list[StreamDescription] = []
        self._generation = 0  # bumped whenever the engine's inlet is replaced
        self._markers: MarkerListener | None = None
        self._markers_settled = False
        self._marker_labels: str | None = config.labels
        self._outlet: PredictionOutlet | None = None
        self._log: SessionLog | None = None
        self._last_arrival = 0.0  # local_clock() of the newest chunk
        self._lost_since_data = False  # lost since the last sample: next data is a reconnect
        self._next_listing = 0.0  # while stalled: local_clock() of the next listing
        self._epoch_start = 0  # ring sample number where the current warm-up began
        self._jump_span = (-1, -1)  # ring samples [start, end) of the newest clock jump
        self._jumps_logged = 0
        self._warning, self._warning_at = "", -math.inf
        self._chunk_error: BaseException | None = None
        self._smoother = ProbabilitySmoother(config.smoothing, self.hop / self.sfreq)
        self._features = WindowFeatures(self.channel_names, self.sfreq)
        missing = [r for r, rows in self._features.regions.items() if not rows]
        if missing:
            log.info("the model has no %s channels: no band power for that region",
                     " or ".join(missing))
        if self._features.faa_rows is None:
            log.info("the model has no %s/%s pair: no frontal alpha asymmetry", *FAA_PAIR)

    def _check_filters(self) -> None:
        """Build the chain once at the model's rate (a bad one fails here) and log it."""
        f, choice = self.filters, self.filter_choice
        try:
            make_live_filter(self.sfreq, f.l_freq, f.h_freq, f.notch, n_channels=1,
                             order=f.order, notch_q=f.notch_q)
        except ValueError as exc:
            raise ValueError(f"cannot filter at the model's {self.sfreq:g} Hz with "
                             f"{f.describe()}: {exc}") from exc
        (log.warning if choice.differs else log.info)("%s", choice.note)

    # ------------------------------------------------------------------ public API
    def start(self) -> None:
        """Run :meth:`run` in a background thread; returns at once."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="sicleer-engine", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop, flush outputs and join the engine thread (idempotent)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        """Whether the engine thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def status(self) -> EngineStatus:
        """The current status, with live statistics (a new immutable snapshot)."""
        stats = self.stats.snapshot()
        with self._cond:
            warnings = [self.filter_choice.warning] if self.filter_choice.differs else []
            if local_clock() - self._warning_at < WARNING_SECONDS:
                warnings.append(self._warning)
            quality = self._quality
            bad = quality.pairs() if quality is not None else ()
            if bad and self._state == _S.RUNNING:
                warnings.append(f"interpolating bad channels: {quality.describe()}")
            recorder = self._recorder
            recording = recorder.describe() if recorder is not None else ""
            now = local_clock()
            session_s = now - self._session_t0 if self._session_t0 is not None else None
            return EngineStatus(self._state, self._message, self._device_name,
                                self._has_markers, self._link, stats, "; ".join(warnings), bad,
                                self.model_id, recording, session_s, self._trial_text(now))

    def _trial_text(self, now: float) -> str:
        tracker = self.marker_tracker
        current = tracker.current(now) if tracker is not None else None
        if current is None:
            return ""
        number, label = current
        name = f"trial {number}" if number > 0 else "trial"
        return f"{name}: {label or 'no class'}"

    def drain_results(self) -> list[WindowResult]:
        """Results produced since the previous call (oldest first)."""
        with self._cond:
            out = list(self._results)
            self._results.clear()
        return out

    def recent_samples(self, seconds: float) -> tuple[np.ndarray, np.ndarray]:
        """Filtered samples of the last ``seconds``.

        Returns:
            data (n_model_channels, n) float32 microvolts at the model rate, times (n,) LSL s.
        """
        with self._cond:
            total = self._ring.total
            n = min(int(seconds * self.sfreq), total, self._ring.capacity)
            if n == 0:
                return np.zeros((len(self.channel_names), 0), np.float32), np.zeros(0)
            window = self._ring.window(total, n)
        return window.data, window.times

    @property
    def marker_tracker(self) -> MarkerTracker | None:
        """The trials seen on the marker stream (None: no marker stream followed)."""
        markers = self._markers
        return markers.tracker if markers is not None else None

    @property
    def recording_path(self) -> Path | None:
        """The XDF file this session records into (None: not recorded, or not yet)."""
        recorder = self._recorder
        return recorder.path if recorder is not None and recorder.started_at else None

    def set_raw_sink(self, sink: RawSink | None) -> None:
        """Receive every chunk before the filters (see :data:`RawSink`; None stops it).

        Called from the acquisition thread: ``sink`` must return quickly and never raise.
        """
        with self._cond:
            self._raw_sink = sink

    def push_event(self, text: str) -> None:
        """Send an event on the app's event stream (recorded) and log it."""
        log.info("event: %s", text)
        if self._events is not None:
            self._events.push(text)

    def check_swap(self, model: LoadedModel) -> None:
        """Raise :class:`ModelSwapError` unless ``model`` can replace the running one.

        It must take the same channels (names, order), rate and window, and declare the same
        filter chain: the engine keeps its signal path. Its classes may differ (a model
        calibrated for the lab's own classes): see :meth:`swap_model`.
        """
        new, old = model.meta, self.meta
        checks = [
            (list(new.channel_names) == self.channel_names, "channels",
             f"{len(new.channel_names)} ({', '.join(new.channel_names[:4])}...)",
             f"{len(self.channel_names)} ({', '.join(self.channel_names[:4])}...)"),
            (float(new.sfreq) == self.sfreq, "rate", f"{new.sfreq:g} Hz", f"{self.sfreq:g} Hz"),
            (int(new.window_samples) == self.window, "window", f"{new.window_samples} samples",
             f"{self.window} samples"),
        ]
        new_chain = new.preprocessing.live_filters.at_rate(self.sfreq)
        old_chain = old.preprocessing.live_filters.at_rate(self.sfreq)
        if new_chain != old_chain:
            checks.append((False, "filter chain", new_chain.describe(), old_chain.describe()))
        wrong = [f"{what} {a} (running: {b})" for ok, what, a, b in checks if not ok]
        if wrong:
            raise ModelSwapError("the new model cannot replace the running one without "
                                 "restarting the session: " + "; ".join(wrong))

    def swap_model(self, model: LoadedModel, source: str = "") -> None:
        """Predict with ``model`` from the next window on (acquisition, log and recording go
        on). Warms the new model up in the calling thread first; the switch is an event on
        the event stream and the log's ``model`` column changes.

        A model with other classes (names or order) also gets outputs of its own, opened
        here before the switch: a new prediction outlet (same name, source id
        ``<old>-<model id>``, its class names as channels; the old one closes at the switch,
        an ``outlet`` event says so), a new CSV log beside the first (``<log>-<model id>.csv``)
        and, when the session records, a companion XDF (``<recording>-<model id>.xdf``) with
        the new outlet (LabRecorder records the streams it found at its start). Truth and the
        confusion matrix follow the new classes.

        Args:
            model: the new model (see :meth:`check_swap`).
            source: where it came from, for the event and the log (e.g. its file name).

        Raises:
            ModelSwapError: it cannot replace the running model, or the outputs for its
                classes could not be opened.
        """
        self.check_swap(model)
        dummy = np.zeros((1, len(self.channel_names), self.window), np.float32)
        for _ in range(3):
            model.predict_proba(dummy)
        outputs = None
        if list(model.meta.class_names) != self.class_names:
            outputs = self._open_class_outputs(model)
        with self._cond:
            earlier, self._pending_model = self._pending_model, (model, source, outputs)
            self._cond.notify_all()
        if earlier is not None and earlier[2] is not None:  # replaced before it was used
            earlier[2].close()

    def _open_class_outputs(self, model: LoadedModel) -> _ClassOutputs:
        """The outlet, log and companion recording for ``model``'s classes (see swap_model)."""
        names, mid = list(model.meta.class_names), model_id(model)
        outputs = _ClassOutputs(names)
        try:
            if self._outlet is not None:
                outputs.outlet = PredictionOutlet(self._outlet.name, names,
                                                  f"{self._outlet.source_id}-{mid}")
            if self._log is not None:
                first = self._logs[0] if self._logs else self._log.path
                outputs.log = SessionLog(first.with_name(f"{first.stem}-{mid}{first.suffix}"),
                                         names)
            recorder = self._recorder
            if recorder is not None and recorder.started_at and outputs.outlet is not None:
                path = recorder.path.with_name(f"{recorder.path.stem}-{mid}.xdf")
                outputs.recorder = SessionRecorder(path, [{
                    "name": outputs.outlet.name, "source_id": outputs.outlet.source_id}])
                outputs.recorder.start(timeout=30.0)
        except Exception as exc:
            outputs.close()
            raise ModelSwapError(f"cannot open the outputs for the classes "
                                 f"{', '.join(names)}: {exc}") from exc
        return outputs

    def _take_pending_model(self) -> None:
        """In the engine thread, between windows: switch to a model given to swap_model."""
        with self._cond:
            pending, self._pending_model = self._pending_model, None
        if pending is None:
            return
        model, source, outputs = pending
        self.model, self.meta = model, model.meta
        self.model_id = model_id(model)
        self._smoother.reset()  # smoothing must not blend two models' outputs
        self._models.append({"id": self.model_id, "source": source, "from": local_clock(),
                             "classes": list(model.meta.class_names)})
        self.push_event(f"model {self.model_id} {source}".rstrip())
        if outputs is not None:
            self._change_classes(outputs)

    def _change_classes(self, outputs: _ClassOutputs) -> None:
        """Switch truth, statistics, outlet and log to a new class set (engine thread)."""
        names = outputs.class_names
        self.class_names = list(names)
        tracker = self.marker_tracker
        if tracker is not None:
            tracker.set_class_names(names)
        self.stats.change_classes(names)
        with self._cond:
            old_outlet, self._outlet = self._outlet, outputs.outlet
            old_log, self._log = self._log, outputs.log
            if outputs.recorder is not None:
                self._companions.append(outputs.recorder)
        if outputs.log is not None:
            self._logs.append(outputs.log.path)
        if outputs.outlet is not None:
            self.push_event(f"outlet {outputs.outlet.name} source {outputs.outlet.source_id} "
                            f"classes {','.join(names)}")
        if old_outlet is not None:
            old_outlet.close()
        if old_log is not None:
            old_log.close()
        log.info("classes now %s%s", ", ".join(names),
                 f"; log {outputs.log.path}" if outputs.log is not None else "")

    # ------------------------------------------------------------------ main loop
    def run(self) -> None:
        """Connect, then predict until stopped, the duration ends, or a fatal error."""
        try:
            self._open_prediction_outlet()  # first: a LabRecorder started beside finds it
            self._set_state(_S.CONNECTING, "looking for the EEG stream")
            desc = self._resolve()
            if desc is None:
                return
            self._connect(desc)
            self._open_outputs()
            self._warm_model()
            self._loop()
        except Exception as exc:  # any failure becomes a visible state
            log.error("%s", exc)
            self.failure = exc
            self._set_state(_S.ERROR, str(exc))
        finally:
            self._shutdown()

    def _resolve(self) -> StreamDescription | None:
        cfg = self.config
        deadline = time.monotonic() + cfg.resolve_timeout
        while not self._stop.is_set():
            # >= 1 s: on a loopback-only host, peers beyond the newest answer after ~0.5 s
            listing, self._listing = self._listing, None
            streams = listing.result() if listing is not None else list_streams(timeout=1.0)
            try:
                desc = select_stream(streams, cfg.stream, cfg.stream_type, cfg.source_id)
                check_eeg_stream(desc)
                self._streams_seen = streams
                return desc
            except StreamSelectionError:
                if time.monotonic() >= deadline:
                    raise
        return None

    def _open_stream(self, desc: StreamDescription) -> tuple[InletReader, LivePipeline]:
        """Open an inlet on ``desc`` and build its signal path (nothing else changes)."""
        reader = InletReader(desc, timeout=self.config.resolve_timeout)
        try:
            pipeline = LivePipeline(reader.channel_names(), reader.channel_units(), desc.sfreq,
                                    self.channel_names, self.sfreq, self.filters)
        except Exception:
            reader.close()
            raise
        return reader, pipeline

    def _attach(self, desc: StreamDescription, stream: InletReader,
                pipeline: LivePipeline) -> None:
        """Make ``stream`` the engine's source: status, warm-up, then start its reader.

        The stream's clock is kept across reconnections to the same source, so the samples
        missing while it was gone are counted from the timestamps.
        """
        cmap = pipeline.channel_map
        self._warm_samples = pipeline.warmup_samples + self.window
        repair = ChannelRepair(cmap)
        with self._cond:
            self._generation += 1
            generation = self._generation
            self._pipeline, self._stream, self._desc = pipeline, stream, desc
            self._replay = stream.replay_info()
            if self._clock is None or self._clock.sfreq != desc.sfreq:
                self._clock = StreamClock(desc.sfreq)
            self._repair = repair
            self._quality = QualityTracker(self.channel_names, repair.matched_rows)
            self._last_arrival = local_clock()
            self._ring.clear()
            self._epoch_start = self._ring.total
            self._link = StreamLink(desc.name, desc.host, desc.source_id, desc.sfreq,
                                    desc.n_channels, len(cmap.matched),
                                    tuple(cmap.interpolated))
        stream.start(lambda data, ts: self._on_chunk(data, ts, generation))

    def _connect(self, desc: StreamDescription) -> None:
        stream, pipeline = self._open_stream(desc)
        cmap = pipeline.channel_map
        log.info("stream '%s' on %s: %d channels at %g Hz; %s", desc.name, desc.host,
                 desc.n_channels, desc.sfreq, pipeline.unit_note)
        log.info("%s", cmap.summary())
        if cmap.interpolated:
            log.warning("interpolating missing model channels: %s", ", ".join(cmap.interpolated))
        self._attach(desc, stream, pipeline)
        self._set_state(_S.WARMING_UP, cmap.summary())

    def _on_silence(self, arrival: float) -> None:
        """No sample for ``lost_after`` s: stalled if the stream is still listed, else lost."""
        desc = self._desc
        present = find_stream(desc, timeout=1.0) is not None
        with self._cond:
            if self._last_arrival != arrival or self._state not in _RECEIVING:
                return  # samples came back meanwhile, or the state moved on
            quiet = local_clock() - arrival
            if present:
                state = _S.STALLED
                self._message = self._stall_message(quiet)
                self._next_listing = local_clock() + STALL_RECHECK_S
            else:
                state = _S.LOST
                self._lost_since_data = True
                self._message = (f"no samples from '{desc.name}' for {quiet:.1f} s; the stream "
                                 "is gone from the network, waiting for it to return")
            self._state = state
            message = self._message
        if state == _S.STALLED:
            self.stats.add_stall()
        log.warning("state: %s (%s)", state, message)

    def _stall_message(self, quiet: float) -> str:
        return (f"no samples from '{self._desc.name}' for {quiet:.1f} s; the stream is still "
                "on the network (the sender stopped sending?)")

    def _while_stalled(self, arrival: float, now: float) -> None:
        """Keep the seconds since the last sample current; lost once the stream is unlisted."""
        with self._cond:
            if self._state != _S.STALLED or self._last_arrival != arrival:
                return
            self._message = self._stall_message(now - arrival)
            due = now >= self._next_listing
            if due:
                self._next_listing = now + STALL_RECHECK_S
        if due and find_stream(self._desc, timeout=1.0) is None:
            with self._cond:
                if self._state != _S.STALLED or self._last_arrival != arrival:
                    return
                self._state, self._lost_since_data = _S.LOST, True
                self._message = (f"no samples from '{self._desc.name}' for "
                                 f"{local_clock() - arrival:.1f} s; the stream is gone from the "
                                 "network, waiting for it to return")
                message = self._message
            log.warning("state: %s (%s)", _S.LOST, message)

    def _try_reconnect(self) -> None:
        """While lost: if a stream with the same source id (and name) is back, open it.

        liblsl's inlets also recover by themselves; this covers the cases where they do not
        (a new outlet process, a slow recovery), and a chunk that arrives on the old inlet
        first simply ends the loss (see :meth:`_ingest`). The reconnect is counted when
        samples flow again, not here.
        """
        old = self._desc
        back = find_stream(old, timeout=1.0)
        if back is None or not (back.is_regular and back.is_numeric):
            return
        with self._cond:
            if self._state != _S.LOST:
                return  # the old inlet recovered meanwhile
            self._generation += 1  # chunks of the old inlet are ignored from now on
            self._state = _S.RECONNECTING
            self._message = f"'{old.name}' is on the network again; reconnecting"
        self._close_stream("the lost inlet")
        try:
            new_stream, pipeline = self._open_stream(back)
        except Exception as exc:
            log.warning("reconnecting to '%s' failed: %s", old.name, exc)
            self._set_state(_S.LOST, f"'{old.name}' is listed again but reconnecting failed: "
                                     f"{exc}")
            return
        self._attach(back, new_stream, pipeline)
        self._set_state(_S.RECONNECTING, f"reconnected to '{old.name}'; waiting for samples")

    def _open_prediction_outlet(self) -> None:
        """The prediction outlet and the event outlet beside it, before the EEG stream is
        looked for: source id ``sicleer-<the stream asked for>`` (its source id, else its
        name or type), the same for every session on that stream."""
        cfg = self.config
        if not cfg.outlet_name or self._outlet is not None:
            return
        sid = f"sicleer-{cfg.source_id or cfg.stream or cfg.stream_type or 'engine'}"
        self._outlet = PredictionOutlet(cfg.outlet_name, self.class_names, sid)
        if cfg.events:
            self._events = EventOutlet(f"{cfg.outlet_name}-events", f"{sid}-events")

    def _open_outputs(self) -> None:
        cfg = self.config
        with self._cond:
            self._session_t0 = local_clock()
        if cfg.markers and self._desc is not None:
            self._follow_markers(cfg)
        if cfg.log is not None:
            self._log = SessionLog(cfg.log, self.class_names)
            self._logs.append(self._log.path)
            log.info("session log: %s", self._log.path)
        self._models.append({"id": self.model_id, "source": cfg.model.name,
                             "from": local_clock(), "classes": list(self.class_names)})
        if cfg.record is not None:
            self._start_recording(cfg.record)
        self.push_event(f"model {self.model_id} {cfg.model.name}")  # recorded: after the start

    def _follow_markers(self, cfg: EngineConfig) -> None:
        """Open the marker inlet: ``cfg.marker_stream`` by name, else the EEG stream's own."""
        listener, mdesc = self._marker_listener(cfg.marker_stream, cfg.labels,
                                                self._streams_seen)
        if listener is None:
            return
        with self._cond:
            self._markers, self._has_markers, self._marker_desc = listener, True, mdesc

    def _marker_listener(self, name: str | None, labels: str | None,
                         streams: list[StreamDescription],
                         ) -> tuple[MarkerListener | None, StreamDescription | None]:
        """A started listener on marker stream ``name`` (None: the EEG stream's own) with the
        label map ``labels``, subscribed when the stream is on the network (``streams``: the
        listing to look in); (None, None) when the EEG stream has no marker stream."""
        label_map = None
        if labels is not None:
            from models.eeg.label_map import parse_label_map

            label_map = parse_label_map(labels)
            unknown = [c for c in label_map.classes if c not in self.class_names]
            if unknown:
                log.warning("label map classes %s are not the model's (%s): no truth for them",
                            ", ".join(unknown), ", ".join(self.class_names))
        tracker = MarkerTracker(self.class_names, label_map=label_map)
        listener: MarkerListener | None = None
        if name is not None:
            found = [s for s in streams if s.name == name
                     and s.stype.lower() == MARKER_TYPE.lower() and not s.is_numeric]
            mdesc = found[0] if found else None
            if mdesc is None:
                recording = self._recorder is not None or self.config.record is not None
                log.warning("marker stream '%s' is not on the network yet: following it when "
                            "it appears%s", name, " (it is not in the recording)"
                            if recording else "")
                listener = MarkerListener(tracker, name=name)
        else:
            mdesc = find_marker_stream(self._desc, timeout=1.0, streams=streams)
        if mdesc is not None:
            listener = MarkerListener.for_stream(mdesc, tracker)
        if listener is None:
            return None, None
        listener.start()
        # subscribed before the recorder starts: a sender re-announces its running trial to
        # the first consumer only (bci_app.replay.player), and the app needs it for the truth
        if mdesc is not None and not listener.wait_connected(MARKER_CONNECT_S):
            log.warning("marker stream '%s' did not accept a connection within %.0f s; truth "
                        "starts once it does", mdesc.name, MARKER_CONNECT_S)
        log.info("following marker stream '%s' for ground truth%s",
                 mdesc.name if mdesc else name, f" (labels {label_map})" if label_map else "")
        return listener, mdesc

    @property
    def marker_stream(self) -> str | None:
        """Name of the marker stream followed for the truth (None: none)."""
        markers = self._markers
        if markers is None:
            return None
        desc = self._marker_desc
        return desc.name if desc is not None else markers.name

    @property
    def marker_labels(self) -> str | None:
        """The label map text of the marker stream followed (None: the convention only)."""
        return self._marker_labels

    def follow_markers(self, name: str | None, labels: str | None = None) -> None:
        """Take the truth from marker stream ``name`` with label map ``labels`` from now on
        (the Calibrate panel's choice); the trials seen on the previous one are dropped.

        Runs in the calling thread (a listing of the network, ~1 s, and the subscription):
        call it from a worker thread. A stream the recording lacks gets a companion
        recording of its own (``<recording>-markers-<name>.xdf``). The change is an event.

        Args:
            name: the marker stream's name (None: the EEG stream's own ``<name>-markers``).
            labels: label map text (``"T1=fists,T2=feet"``; None: the project's convention).

        Raises:
            ValueError: a bad label map, or no such marker stream when ``name`` is None.
            RuntimeError: the session has not connected to its EEG stream yet.
        """
        if self._desc is None:
            raise RuntimeError("the session has not connected to its EEG stream yet")
        listener, mdesc = self._marker_listener(name, labels, list_streams(timeout=1.0))
        if listener is None:
            raise ValueError(f"'{self._desc.name}' has no marker stream "
                             f"('{self._desc.name}-markers'); name one")
        listener.wait_settled(SETTLE_S + 0.1)  # here, not in the engine thread
        companion = None
        recorder = self._recorder
        if recorder is not None and recorder.started_at and mdesc is not None:
            recorded = {(s.get("name"), s.get("source_id")) for s in recorder.streams}
            if (mdesc.name, mdesc.source_id or None) not in recorded:
                safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in mdesc.name)
                companion = SessionRecorder(
                    recorder.path.with_name(f"{recorder.path.stem}-markers-{safe}.xdf"),
                    [{k: v for k, v in {"name": mdesc.name,
                                        "source_id": mdesc.source_id}.items() if v}])
                try:
                    companion.start(timeout=30.0)
                except OSError as exc:
                    log.warning("marker stream '%s' is not recorded: %s", mdesc.name, exc)
                    companion = None
        with self._cond:
            old, self._markers = self._markers, listener
            self._marker_desc, self._has_markers = mdesc, True
            self._marker_labels = labels
            if companion is not None:
                self._companions.append(companion)
        if old is not None:
            old.stop()
        self.push_event(f"markers {mdesc.name if mdesc else name} labels {labels or '-'}")

    def _recorded_streams(self) -> list[dict[str, str]]:
        """The streams a recording holds: the EEG, its markers, the predictions, the events."""
        streams = [{"name": self._desc.name, "source_id": self._desc.source_id}]
        if self._marker_desc is not None:
            streams.append({"name": self._marker_desc.name,
                            "source_id": self._marker_desc.source_id})
        if self._outlet is not None:
            streams.append({"name": self._outlet.name, "source_id": self._outlet.source_id})
        if self._events is not None:
            streams.append({"name": self._events.name, "source_id": self._events.source_id})
        return [{k: v for k, v in s.items() if v} for s in streams]

    def _start_recording(self, path: Path) -> None:
        """Record the EEG, its markers, the predictions and the events with LabRecorder."""
        streams = self._recorded_streams()
        recorder = SessionRecorder(path, streams)
        with self._cond:
            self._recorder = recorder
        recorder.start(timeout=30.0)  # LabRecorder resolving 4 streams on a loaded machine
        self._recordings.append(recorder)
        log.info("recording the session to %s (%d streams: %s)", recorder.path, len(streams),
                 ", ".join(s["name"] for s in streams))

    def start_recording(self, log_path: Path | None, record: Path | None) -> None:
        """Start writing a CSV log and/or an XDF recording in the running session (the
        window's Record button), without restarting it. Blocks while LabRecorder finds the
        streams (seconds): call it from a worker thread. What already records goes on
        until :meth:`stop_recording`; a log or recording given here replaces it.

        Args:
            log_path: the CSV log to write from the next window on (None: keep as it is).
            record: the XDF file to record into (None: keep as it is).

        Raises:
            RuntimeError: the session has no EEG stream yet.
            OutputError: the log or the recording cannot be written (a clear message).
        """
        if self._desc is None:
            raise RuntimeError("the session has not connected to its EEG stream yet")
        new_log = SessionLog(log_path, self.class_names) if log_path is not None else None
        recorder = None
        if record is not None:
            recorder = SessionRecorder(record, self._recorded_streams())
            try:
                recorder.start(timeout=30.0)
            except Exception:
                if new_log is not None:
                    new_log.close()
                raise
        with self._cond:
            old_recorder = self._recorder if recorder is not None else None
            if recorder is not None:
                self._recorder = recorder
                self._recordings.append(recorder)
            if new_log is not None:
                self._pending_log = (new_log,)
        if new_log is not None:
            log.info("session log: %s", new_log.path)
            self.push_event(f"log {new_log.path.name}")
        if recorder is not None:
            log.info("recording the session to %s", recorder.path)
        if old_recorder is not None:
            old_recorder.stop()

    def stop_recording(self) -> None:
        """Stop the XDF recording and the CSV log of the running session (call from a worker
        thread: LabRecorder takes seconds to finish its file). Idempotent."""
        with self._cond:
            recorder, self._recorder = self._recorder, None
            self._pending_log = (None,)
        if recorder is not None:
            self.push_event("recording stops")
            recorder.stop()

    def _take_pending_log(self) -> None:
        """In the engine thread: switch to (or close) the log that start/stop_recording set."""
        with self._cond:
            pending, self._pending_log = self._pending_log, None
        if pending is None:
            return
        new = pending[0]
        if new is not None and list(new.class_names) != self.class_names:  # swapped meanwhile
            path = new.path
            new.close()
            new = SessionLog(path.with_name(f"{path.stem}-{self.model_id}{path.suffix}"),
                             self.class_names)
        old, self._log = self._log, new
        if self._log is not None:
            self._logs.append(self._log.path)
        if old is not None:
            old.close()

    def _warm_model(self) -> None:
        """One pass on zeros so the first real window does not pay for lazy initialisation."""
        dummy = np.zeros((1, len(self.channel_names), self.window), np.float32)
        for _ in range(3):
            self.model.predict_proba(dummy)

    def _loop(self) -> None:
        cfg = self.config
        t_run = local_clock()
        next_end = 0
        epoch, first = -1, True
        retry_at = 0.0
        while not self._stop.is_set():
            with self._cond:
                self._cond.wait(timeout=0.05)
                total, epoch_start = self._ring.total, self._epoch_start
                arrival, state, chunk_error = self._last_arrival, self._state, self._chunk_error
            if chunk_error is not None:
                raise chunk_error
            now = local_clock()
            if cfg.duration is not None and now - t_run >= cfg.duration:
                break
            if state in _RECEIVING and now - arrival > cfg.lost_after:
                self._on_silence(arrival)
                continue
            if state == _S.STALLED:
                self._while_stalled(arrival, now)
                continue
            if state == _S.LOST:
                if now >= retry_at:
                    retry_at = now + 1.0
                    self._try_reconnect()
                continue
            if state not in (_S.WARMING_UP, _S.RUNNING, _S.BAD_SIGNAL):
                continue
            if epoch != epoch_start:  # (re)start after connect or a gap
                epoch, first = epoch_start, True
                next_end = epoch_start + self._warm_samples
                self._smoother.reset()
            if total < next_end:
                continue
            # windows keep to the hop schedule, but each ends on the newest sample: ending on
            # the scheduled sample would add up to a chunk's worth of age to every window
            due = (total - next_end) // self.hop
            next_end += (due + 1) * self.hop
            if due and not first:  # behind: jump to the newest window, count the rest
                self.stats.add_skipped(due)
            first = False
            self._predict(total, due)

    def _predict(self, end: int, skipped: int) -> None:
        self._take_pending_model()
        self._take_pending_log()
        with self._cond:
            win = self._ring.window(end, self.window)
            jump_start, jump_end = self._jump_span
            quality, repair = self._quality, self._repair
            segment_start = self._pipeline.segment_start if self._pipeline else None
        newest = float(win.times[-1])
        checked = check_window(win, quality, repair)
        if checked.changed:
            self._log_bad_channels(quality)
        if checked.data is None:
            self._refuse(checked.refusal, invalid=checked.invalid)
            return
        bad, data = checked.bad, checked.data
        t0 = time.perf_counter()
        probs = self.model.predict_proba(data[None])[0]
        inference_ms = (time.perf_counter() - t0) * 1e3
        if not np.isfinite(probs).all():  # never let a NaN probability out
            self._refuse("the model gave non-finite probabilities", invalid=True)
            return
        latency_ms: float | None = (local_clock() - newest) * 1e3
        if latency_ms < 0 or (jump_start < end and jump_end > end - self.window):
            latency_ms = None  # a clock jump inside the window, or a time ahead of the clock
        self._set_state(_S.RUNNING, "", only_from=(_S.WARMING_UP, _S.BAD_SIGNAL))
        smoothed = self._smoother(probs)
        feats = self._features(data)
        truth = self._truth_at(newest)
        bad_names = tuple(self.channel_names[r] for r in bad)
        result = WindowResult(newest, probs, smoothed, int(probs.argmax()), truth,
                              latency_ms, inference_ms, feats.band_power, feats.faa, feats.topo,
                              skipped, bad_names, segment_start, self.model_id)
        self.stats.add_window(latency_ms, inference_ms, result.predicted, truth, bad_names)
        if self._outlet is not None:
            self._outlet.push(probs, result.lsl_time)
        if self._log is not None:
            self._log.write(result)
        with self._cond:
            self._results.append(result)

    def _truth_at(self, lsl_time: float) -> int | None:
        """The class shown at ``lsl_time`` (s), once the marker inlet has settled.

        The first lookup waits (once, at most :data:`~bci_app.lsl.markers.SETTLE_S` s) until
        the inlet has been subscribed long enough for a re-announced running trial to arrive;
        without that wait the first windows of a session could miss the trial under way.
        """
        markers = self._markers
        if markers is None:
            return None
        if not self._markers_settled:
            markers.wait_settled(timeout=SETTLE_S + 0.1)
            self._markers_settled = True
        return markers.tracker.truth_at(lsl_time)

    def _refuse(self, reason: str, invalid: bool) -> None:
        """Do not predict this window: count it (``invalid``: as a NaN window, else as a bad
        signal window) and say why (state ``bad signal``)."""
        if invalid:
            self.stats.add_nan_window()
        else:
            self.stats.add_bad_signal_window()
        self._set_state(_S.BAD_SIGNAL, f"{reason}; predictions paused until the signal is "
                                       "usable", only_from=(_S.WARMING_UP, _S.RUNNING,
                                                            _S.BAD_SIGNAL))

    def _log_bad_channels(self, quality: QualityTracker) -> None:
        if quality.current:
            log.warning("bad channels in '%s': %s", self._desc.name, quality.describe())
        else:
            log.info("no bad channels in '%s' any more", self._desc.name)

    # ------------------------------------------------------------------ acquisition thread
    def _on_chunk(self, data: np.ndarray, timestamps: np.ndarray, generation: int) -> None:
        """Reader callback: run the signal path on a chunk (must not raise)."""
        if generation != self._generation:
            return  # a late chunk of an inlet that was replaced
        try:
            self._ingest(data, timestamps)
        except Exception as exc:  # reported through the engine thread
            log.exception("processing a chunk failed")
            with self._cond:
                self._chunk_error = RuntimeError(
                    f"processing a chunk of '{self._desc.name}' failed: {exc}")
                self._cond.notify_all()

    def _ingest(self, data: np.ndarray, timestamps: np.ndarray) -> None:
        pipeline, clock = self._pipeline, self._clock
        if pipeline is None or timestamps.size == 0:
            return
        now = local_clock()
        clk = clock.update(timestamps, now)
        if clk.lost:
            self.stats.add_samples_lost(clk.lost)
        for jump in clk.jumps:
            self._report_jump(jump)
        restart = clk.gap > self.config.lost_after
        if restart:
            pipeline.reset()  # the signal restarts: old filter state would ring
        out = pipeline.process(data, clk.times)
        sink = self._raw_sink
        if sink is not None and len(out.times):
            sink(out.raw, out.times)
        name = self._desc.name
        with self._cond:
            was = self._state
            message = None
            if restart or was in (_S.LOST, _S.RECONNECTING, _S.STALLED):
                self._ring.clear()
                self._epoch_start = self._ring.total
                if self._lost_since_data:  # lost, and now samples flow: one reconnect
                    self._lost_since_data = False
                    self.stats.add_reconnect()
                    message = f"'{name}' is back; warming up"
                elif was == _S.STALLED:
                    message = f"'{name}' resumed after {now - self._last_arrival:.1f} s; " \
                              "warming up"
                else:
                    message = f"a gap of {clk.gap:.1f} s in '{name}'; warming up"
                self._state, self._message = _S.WARMING_UP, message
            if clk.jumps:
                self._jump_span = (self._ring.total, self._ring.total + len(out.times) + 1)
            self._ring.append(out.samples, out.times, out.flags, out.raw)
            self._last_arrival = now
            self._cond.notify_all()
        if message is not None:
            log.info("state: %s (%s)", _S.WARMING_UP, message)

    def _report_jump(self, jump: ClockJump) -> None:
        """Count a clock jump; warn in the status and, for the first few, in the log."""
        self.stats.add_clock_jump()
        text = jump.describe(self._desc.name)
        with self._cond:
            self._warning, self._warning_at = text, local_clock()
        if self._jumps_logged < MAX_JUMP_LOGS:
            self._jumps_logged += 1
            log.warning("%s", text)
            if self._jumps_logged == MAX_JUMP_LOGS:
                log.warning("further clock jumps of '%s' are counted in the summary only",
                            self._desc.name)

    # ------------------------------------------------------------------ helpers
    def _set_state(self, state: EngineState, message: str = "",
                   only_from: tuple[EngineState, ...] | None = None) -> None:
        """Change the state (with ``only_from``: only from one of those states)."""
        with self._cond:
            if only_from is not None and self._state not in only_from:
                return
            changed = self._state != state
            self._state, self._message = state, message
        if changed:
            log.info("state: %s%s", state, f" ({message})" if message else "")

    def _close_stream(self, what: str) -> None:
        """Close the current inlet (if any); a failure is logged, never raised."""
        with self._cond:
            stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close()
            except Exception as exc:
                log.warning("closing %s: %s", what, exc)

    def summary(self) -> dict[str, Any]:
        """The end-of-session summary (also written to ``config.summary``, else beside the
        first log)."""
        out = self.stats.to_dict(device=self._device_name)
        out["stream"] = self._desc.to_dict() if self._desc is not None else None
        if out["stream"] is not None:
            out["stream"]["replay"] = self._replay
        out["model"] = {"path": str(self.config.model), "synthetic": self.meta.synthetic,
                        "channels": len(self.channel_names), "sfreq": self.sfreq,
                        "window_samples": self.window, "classes": list(self.class_names)}
        choice = self.filter_choice
        out["filters"] = {"used": self.filters.to_dict(),
                          "model": (choice.declared.to_dict() if choice.declared is not None
                                    else None),
                          "overridden": list(choice.overridden), "warning": choice.warning}
        st = self.status()
        out["channels"] = {"matched": st.link.n_matched, "interpolated": list(st.link.interpolated),
                           "bad_now": [name for name, _ in st.bad_channels]}
        out["hop_s"] = self.hop / self.sfreq
        out["models"] = [dict(m) for m in self._models]
        def described(r: SessionRecorder) -> dict[str, Any]:
            return {"path": str(r.path), "bytes": r.size_bytes, "streams": r.streams}

        started = [r for r in self._recordings if r.started_at]
        out["recording"] = ({**described(started[0]),
                             "companions": [described(c) for c in self._companions]}
                            if started else None)
        out["recordings"] = [described(r) for r in started]
        out["logs"] = [str(p) for p in self._logs]
        out["markers"] = {"stream": self.marker_stream, "labels": self._marker_labels}
        out["final_state"] = st.state
        out["final_message"] = st.message
        return out

    def _shutdown(self) -> None:
        """Release everything; write the summary. Safe after partial starts."""
        with self._cond:
            pending, self._pending_model = self._pending_model, None
        if pending is not None and pending[2] is not None:  # prepared, never switched to
            pending[2].close()
        recorders = [r for r in (self._recorder, *self._companions) if r is not None]
        with self._cond:
            pending_log, self._pending_log = self._pending_log, None
        if pending_log is not None and pending_log[0] is not None:  # never switched to
            self._logs.append(pending_log[0].path)
            pending_log[0].close()
        if recorders:  # first: LabRecorder gets every stream's last samples
            log.info("finishing the recording (LabRecorder writes its footers; a few seconds)")
        for recorder in recorders:
            recorder.request_stop()  # side by side
        for recorder in recorders:
            try:
                recorder.stop()
            except OSError as exc:
                log.error("%s", exc)
        self._close_stream("the stream")
        if self._markers is not None:
            self._markers.stop()
        if self._outlet is not None:
            self._outlet.close()
            self._outlet = None
        if self._events is not None:
            self._events.close()
            self._events = None
        if self._log is not None:
            self._log.close()
        summary_target = self.config.summary or (
            self._logs[0].with_suffix(".json") if self._logs else None)
        if summary_target is not None:
            try:
                self.summary_path = write_summary(summary_target, self.summary())
                log.info("summary: %s", self.summary_path)
            except OSError as exc:
                log.error("%s", exc)
                self.failure = self.failure or exc
                self._set_state(_S.ERROR, str(exc))
        with self._cond:
            if self._state != _S.ERROR:
                self._state = _S.STOPPED
