"""A stand-in for :class:`bci_app.engine.Engine` that needs neither LSL nor a model.

It implements the engine contract of ``docs/CONTRACTS.md`` (``start``, ``stop``, ``status``,
``drain_results``, ``recent_samples``, ``channel_names``, ``class_names``, ``meta``) with
synthetic data, so the GUI tests, the GUI benchmark and the ``--demo-fake`` developer mode can
run anywhere. It has no Qt dependency.

Timeline after :meth:`FakeEngine.start`: ``connecting`` for ``start_delay`` s, ``warming up``
for ``warmup`` s, then ``running`` with one :class:`WindowResult` every ``config.hop`` s.
:meth:`FakeEngine.simulate_loss` freezes the samples for a while (``lost`` then
``reconnecting``) before it returns to ``running``; :meth:`FakeEngine.simulate_stall` does the
same as a stall (``stalled``, with the seconds since the last sample, and no reconnect);
:meth:`FakeEngine.set_bad_channels` reports channels as bad (interpolated).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import numpy as np

from bci_app.engine.config import EngineConfig
from bci_app.engine.state import EngineState, EngineStatus, StreamLink, WindowResult
from bci_app.session.stats import StatsSnapshot
from models.eeg.labels import normalize_label, rows_of
from models.eeg.regions import FAA_PAIR, region_rows
from models.eeg.seed_layout import SEED_CHANNELS, SEED_CLASS_NAMES

__all__ = ["FakeEngine", "default_config"]


def default_config(**overrides: Any) -> EngineConfig:
    """An :class:`EngineConfig` with ``overrides`` (the fake engine reads only a few fields)."""
    return EngineConfig(**overrides)


_TRIAL_S = 20.0  # synthetic trial length
_GAP_S = 4.0  # rest between trials (no true class)
_TRIAL_CLASSES = (2, 1, 0, 0, 1, 2)
_BASE_LOG_POWER = np.array([1.6, 1.1, 1.0, 0.6, 0.0])  # log10 uV^2, delta..gamma


def _truth_at(t: float, n_classes: int = 3) -> int | None:
    """True class of the synthetic schedule at ``t`` seconds after start (None between
    trials): SEED's order for three classes, every class in turn otherwise."""
    k, rest = divmod(t, _TRIAL_S + _GAP_S)
    if rest >= _TRIAL_S:
        return None
    if n_classes == 3:
        return _TRIAL_CLASSES[int(k) % len(_TRIAL_CLASSES)]
    return int(k) % n_classes


def _synthetic_eeg(n_channels: int, n_samples: int, sfreq: float, rng: np.random.Generator,
                   names: tuple[str, ...]) -> np.ndarray:
    """Loopable EEG-like signal (n_channels, n_samples) in uV: 1/f noise, alpha, blinks."""
    white = rng.standard_normal((n_channels, n_samples))
    spec = np.fft.rfft(white, axis=1)
    freqs = np.fft.rfftfreq(n_samples, 1.0 / sfreq)
    shape = 1.0 / np.sqrt(np.maximum(freqs, 1.0))
    shape[(freqs < 0.5) | (freqs > 45.0)] = 0.0
    eeg = np.fft.irfft(spec * shape, n=n_samples, axis=1)
    eeg *= 12.0 / eeg.std(axis=1, keepdims=True)
    t = np.arange(n_samples) / sfreq
    occipital = np.array([n.startswith(("O", "PO", "P", "CB")) for n in names])
    eeg[occipital] += 10.0 * np.sin(2 * np.pi * 10.0 * t + rng.uniform(0, 6.28))
    frontal = np.array([n.startswith(("FP", "AF")) for n in names])
    for start in rng.integers(0, n_samples - int(0.4 * sfreq), size=max(1, n_samples // 800)):
        blink = np.hanning(int(0.4 * sfreq)) * 80.0
        eeg[frontal, start:start + blink.size] += blink
    return eeg.astype(np.float32)


class FakeEngine:
    """Synthetic engine with the public API of ``bci_app.engine.Engine``.

    Args:
        config: an ``EngineConfig``; uses ``hop``, ``smoothing``,
            ``stream``, ``device`` and ``duration``.
        n_channels: model channels (the first ``n_channels`` SEED channels), when
            ``channel_names`` is not given.
        sfreq: model rate, Hz.
        class_names: the model's classes (default SEED's three).
        channel_names: the model's channels (default: the first ``n_channels`` of SEED's).
        start_delay: seconds spent "connecting".
        warmup: seconds spent "warming up".
        stop_delay: seconds ``stop`` blocks (thread join of a real engine).
        fail: if set, the engine goes to state "error" with this message after ``start_delay``.
        n_interpolated: how many model channels claim to be interpolated.
        seed: random seed of the synthetic data.
    """

    def __init__(self, config: Any, *, n_channels: int = 62, sfreq: float = 200.0,
                 start_delay: float = 0.2, warmup: float = 0.5, stop_delay: float = 0.0,
                 fail: str | None = None, n_interpolated: int = 0, seed: int = 0,
                 class_names: Sequence[str] = SEED_CLASS_NAMES,
                 channel_names: Sequence[str] | None = None) -> None:
        self.config = config
        self.channel_names: list[str] = list(channel_names if channel_names is not None
                                             else SEED_CHANNELS[:n_channels])
        n_channels = len(self.channel_names)
        self.class_names: list[str] = list(class_names)
        self.meta = SimpleNamespace(channel_names=self.channel_names, sfreq=sfreq,
                                    window_samples=int(sfreq), synthetic=True,
                                    class_names=self.class_names)
        self._sfreq = sfreq
        self._start_delay, self._warmup, self._stop_delay = start_delay, warmup, stop_delay
        self._fail = fail
        self._rng = np.random.default_rng(seed)
        self._eeg = _synthetic_eeg(n_channels, int(30 * sfreq), sfreq, self._rng,
                                   tuple(normalize_label(n) for n in self.channel_names))
        self._lock = threading.Lock()
        self._results: deque[WindowResult] = deque(maxlen=10_000)
        self._state, self._message = EngineState.IDLE, ""
        self._link = StreamLink(
            stream_name=config.stream or "fake-eeg", host="localhost", sfreq=sfreq,
            n_stream_channels=n_channels, n_matched=n_channels - n_interpolated,
            interpolated=tuple(self.channel_names[-n_interpolated:]) if n_interpolated else ())
        self._stats = StatsSnapshot()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0  # clock time when samples start to flow
        self._frozen_at: float | None = None  # clock time the stream froze (lost)
        self._frozen_total = 0.0
        self._loss_until = 0.0
        self._stall = False  # the current loss is a stall (stream still listed)
        self._bad: tuple[tuple[str, str], ...] = ()
        self._regions = region_rows(self.channel_names)
        self._has_faa = len(rows_of(self.channel_names, FAA_PAIR)) == 2
        self._latencies: deque[float] = deque(maxlen=400)
        self._hits = 0
        self._scored = 0

    # -- public API -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the background thread (returns at once)."""
        if self._thread is not None:
            return
        self._set(EngineState.CONNECTING, "resolving stream")
        self._thread = threading.Thread(target=self._run, name="fake-engine", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop and join (idempotent); blocks ``stop_delay`` s to mimic a real engine."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        time.sleep(self._stop_delay)
        with self._lock:
            if self._state != EngineState.ERROR:
                self._state, self._message = EngineState.STOPPED, ""

    def status(self) -> EngineStatus:
        """A snapshot of the engine status."""
        with self._lock:
            bad = self._bad
            warning = ("interpolating bad channels: "
                       + ", ".join(f"{n} ({why})" for n, why in bad)) if bad else ""
            return EngineStatus(self._state, self._message, "CPU (fake)", False, self._link,
                                self._stats, warning, bad)

    def drain_results(self) -> list[WindowResult]:
        """Results produced since the last call (thread-safe)."""
        with self._lock:
            out = list(self._results)
            self._results.clear()
        return out

    def recent_samples(self, seconds: float) -> tuple[np.ndarray, np.ndarray]:
        """The last ``seconds`` of filtered EEG: (n_channels, n) uV and LSL times (n,)."""
        with self._lock:
            newest = self._stream_time()
        if newest <= 0:
            return np.zeros((len(self.channel_names), 0), np.float32), np.zeros(0)
        n_new = int(newest * self._sfreq)
        n = min(int(seconds * self._sfreq), n_new)
        idx = np.arange(n_new - n, n_new) % self._eeg.shape[1]
        times = self._t0 + self._frozen_total + np.arange(n_new - n, n_new) / self._sfreq
        return self._eeg[:, idx], times

    def simulate_loss(self, seconds: float) -> None:
        """Make the stream go silent for ``seconds`` (state lost, then reconnecting)."""
        with self._lock:
            self._loss_until = time.perf_counter() + seconds
            self._stall = False

    def simulate_stall(self, seconds: float) -> None:
        """Make the stream stall for ``seconds``: still listed, nothing sent (``stalled``)."""
        with self._lock:
            self._loss_until = time.perf_counter() + seconds
            self._stall = True

    def set_bad_channels(self, bad: dict[str, str]) -> None:
        """Report these channels (name -> problem, e.g. ``{"T7": "flat"}``) as bad."""
        with self._lock:
            self._bad = tuple(bad.items())

    # -- internals --------------------------------------------------------------------------
    def _set(self, state: EngineState, message: str = "") -> None:
        with self._lock:
            self._state, self._message = state, message

    def _stream_time(self) -> float:
        """Seconds of samples delivered so far (call with the lock held)."""
        if self._t0 == 0.0:
            return 0.0
        now = self._frozen_at if self._frozen_at is not None else time.perf_counter()
        return now - self._t0 - self._frozen_total

    def _run(self) -> None:
        if self._stop.wait(self._start_delay):
            return
        if self._fail:
            self._set(EngineState.ERROR, self._fail)
            return
        with self._lock:
            self._t0 = time.perf_counter()
            self._state, self._message = EngineState.WARMING_UP, "filling the first window"
        if self._stop.wait(self._warmup):
            return
        self._set(EngineState.RUNNING)
        hop = float(self.config.hop)
        k = len(self.class_names)
        smoothed = np.full(k, 1 / k)
        next_t = time.perf_counter()
        duration = getattr(self.config, "duration", None)
        while not self._stop.is_set():
            next_t += hop
            self._stop.wait(max(0.0, next_t - time.perf_counter()))
            if self._stop.is_set():
                break
            if self._handle_loss():
                next_t = time.perf_counter()
                continue
            with self._lock:
                stream_t = self._stream_time()
            alpha = 1.0 - np.exp(-hop / max(float(self.config.smoothing), 1e-3))
            result = self._make_result(stream_t, smoothed, alpha)
            smoothed = result.smoothed
            self._publish(result)
            if duration and stream_t >= duration:
                break
        self._set(EngineState.STOPPED)

    def _handle_loss(self) -> bool:
        """Update lost/reconnecting state; True while no samples flow."""
        now = time.perf_counter()
        with self._lock:
            loss_until = self._loss_until
            if now < loss_until:
                if self._frozen_at is None:
                    self._frozen_at = now
                lost_for = now - self._frozen_at
                lost_after = float(getattr(self.config, "lost_after", 1.0))
                if lost_for >= lost_after and self._stall:
                    self._state = EngineState.STALLED
                    self._message = (f"no samples for {lost_for:.1f} s; the stream is still on "
                                     "the network")
                elif lost_for >= lost_after:
                    self._state = (EngineState.LOST if lost_for < 2 * lost_after
                                   else EngineState.RECONNECTING)
                    self._message = f"no samples for {lost_for:.1f} s"
                return True
            if self._frozen_at is not None:
                gap = now - self._frozen_at
                self._frozen_total += gap
                self._frozen_at = None
                st = self._stats
                self._stats = replace(st, samples_lost=st.samples_lost + int(gap * self._sfreq),
                                      reconnects=st.reconnects + (not self._stall),
                                      stalls=st.stalls + self._stall)
                self._state, self._message = EngineState.RUNNING, ""
        return False

    def _make_result(self, t: float, smoothed: np.ndarray, alpha: float) -> WindowResult:
        rng = self._rng
        k = len(self.class_names)  # may change: a swap to a model with other classes
        if smoothed.shape != (k,):
            smoothed = np.full(k, 1 / k)
        truth = _truth_at(t, k)
        drift = np.sin(t / (7.0 + 2.0 * np.arange(k)) + np.arange(k))
        logits = 0.8 * drift + rng.normal(0, 0.9, k)
        if truth is not None:
            logits[truth] += 1.6
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        smoothed = (1 - alpha) * smoothed + alpha * probs
        c = truth if truth is not None else 1 % k
        mod = np.zeros(5)
        mod[(0, 3, 4, 1, 2)[c % 5]] = 0.35  # SEED: negative delta, neutral beta, positive gamma
        topo = (_BASE_LOG_POWER[None, :] + rng.normal(0, 0.08, (len(self.channel_names), 5))
                + 0.25 * np.sin(np.arange(len(self.channel_names)) / 6.0 + t / 9.0)[:, None])
        band_power = {  # a region without channels is absent, as NaN is in the engine
            region: topo[idx].mean(axis=0) + mod * (1.0 if region == "temporal" else 0.6)
            for region, idx in self._regions.items() if idx
        }
        faa = (float(0.3 * np.sin(t / 13.0) + rng.normal(0, 0.05)) if self._has_faa
               else float("nan"))
        latency = 25.0 + rng.gamma(2.0, 4.0)
        with self._lock:
            newest = self._t0 + self._frozen_total + t
        return WindowResult(
            lsl_time=newest, probs=probs, smoothed=smoothed, predicted=int(np.argmax(smoothed)),
            truth=truth, latency_ms=latency, inference_ms=3.0 + rng.gamma(2.0, 0.5),
            band_power=band_power, faa=faa, topo=topo)

    def _publish(self, r: WindowResult) -> None:
        self._latencies.append(r.latency_ms)
        lat = np.asarray(self._latencies)
        if r.truth is not None:
            self._scored += 1
            self._hits += int(r.predicted == r.truth)
        with self._lock:
            self._results.append(r)
            self._stats = replace(
                self._stats, latency_p50=float(np.percentile(lat, 50)),
                latency_p95=float(np.percentile(lat, 95)), inference_ms=r.inference_ms,
                windows_predicted=self._stats.windows_predicted + 1,
                online_accuracy=self._hits / self._scored if self._scored else None,
                n_with_truth=self._scored)
