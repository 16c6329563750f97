"""Helpers shared by the tests (import them from here, never from ``conftest``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

if TYPE_CHECKING:
    from models.preprocessing import FilterSpec

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
LSL_API_CFG = TESTS_DIR / "lsl_api.cfg"
"""liblsl configuration of the tests: streams are resolved on this machine only."""
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
"""Read-only public data shared by the team (``../shared/data`` from the repo root)."""


def shared_data(*parts: str) -> Path:
    """Path under ``../shared/data``; skips the calling test when it does not exist."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


def make_model_file(path: Path, channels: list[str] | None = None, sfreq: float = 200.0,
                    window_samples: int = 200, seed: int = 0,
                    class_names: list[str] | None = None,
                    filters: FilterSpec | None = None) -> Path:
    """A small SI-CLEER model file with random weights (for live-path tests).

    ``channels`` and ``class_names`` default to SEED's; ``filters`` (a
    ``models.preprocessing.FilterSpec``) is the chain the file declares (None: none).
    """
    import torch

    from models import SICLEER, ModelConfig, ModelMetadata, save_model
    from models.eeg.seed_layout import SEED_CHANNELS, SEED_CLASS_NAMES
    from models.metadata import Preprocessing
    from models.preprocessing import Normalisation

    names = list(channels or SEED_CHANNELS)
    classes = list(class_names or SEED_CLASS_NAMES)
    torch.manual_seed(seed)
    cfg = ModelConfig(n_channels=len(names), hidden_dims=16, output_dims=32,
                      n_classes=len(classes))
    norm = Normalisation.from_lists([0.0] * len(names), [20.0] * len(names))
    meta = ModelMetadata(config=cfg, channel_names=names, sfreq=sfreq,
                         window_samples=window_samples,
                         preprocessing=Preprocessing(norm, filters),
                         class_names=classes, synthetic=True, protocol="test")
    return save_model(path, SICLEER(cfg), meta)


def wait_for(cond: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    """Poll ``cond`` until it holds or ``timeout`` s pass; returns whether it held."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


def pylsl_outlet(name: str, labels: list[str], sfreq: float, fmt: str = "float32",
                 unit: str = "microvolts", chunk_size: int = 25) -> Any:
    """A pylsl EEG outlet (source id = name) declaring ``labels`` in ``unit``.

    ``fmt``: ``"float32"``, ``"double64"`` or ``"string"``.
    """
    import pylsl

    formats = {"float32": pylsl.cf_float32, "double64": pylsl.cf_double64,
               "string": pylsl.cf_string}
    info = pylsl.StreamInfo(name, "EEG", len(labels), sfreq, formats[fmt], name)
    chans = info.desc().append_child("channels")
    for label in labels:
        ch = chans.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("unit", unit)
        ch.append_child_value("type", "EEG")
    return pylsl.StreamOutlet(info, chunk_size=chunk_size)


class Pusher:
    """Pushes ``signal(sample indices) -> (n, n_channels)`` into a pylsl outlet in real time,
    from a thread, each chunk stamped with the local clock at its last sample (what an
    amplifier script does), plus what the test asks for:

    - :meth:`pause` stops sending for a while; the sample counter keeps running, so the
      samples of the pause are missing from the stream (an open outlet that sends nothing);
    - ``offset`` (settable) is added to every timestamp from then on (a sender's clock jump);
    - ``jitter``: each chunk's stamp moves by up to ± this many seconds (seeded).

    Use as a context manager; the thread stops on exit.
    """

    def __init__(self, outlet: Any, sfreq: float, signal: Callable[[np.ndarray], np.ndarray],
                 chunk: int, jitter: float = 0.0, dtype: type = np.float32) -> None:
        self.outlet, self.sfreq, self.signal, self.chunk = outlet, sfreq, signal, chunk
        self.jitter, self.dtype = jitter, dtype
        self.offset = 0.0
        self._resume_at = 0.0
        self._rng = np.random.default_rng(0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="test-pusher")

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (the outlet stays open)."""
        import pylsl

        self._resume_at = pylsl.local_clock() + seconds

    def _run(self) -> None:
        import pylsl

        n = 0
        t0 = pylsl.local_clock()
        while not self._stop.is_set():
            due = t0 + (n + self.chunk) / self.sfreq
            delay = due - pylsl.local_clock()
            if delay > 0:
                time.sleep(delay)
            idx = np.arange(n, n + self.chunk)
            n += self.chunk
            if pylsl.local_clock() < self._resume_at:
                continue  # paused: these samples are never sent
            stamp = due + self.offset + self.jitter * self._rng.uniform(-1, 1)
            self.outlet.push_chunk(self.signal(idx).astype(self.dtype), stamp)

    def __enter__(self) -> Pusher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)


class OutletRecorder:
    """Records every sample of a prediction outlet (a pylsl inlet in a thread), as an
    independent LabRecorder would. Use as a context manager once the outlet exists.

    Attributes:
        samples: (probabilities, LSL time) pairs received so far.
    """

    def __init__(self, name: str, timeout: float = 10.0) -> None:
        import pylsl

        infos = pylsl.resolve_byprop("name", name, 1, timeout)
        if not infos:
            raise AssertionError(f"prediction outlet {name!r} not found")
        self._inlet = pylsl.StreamInlet(infos[0], processing_flags=pylsl.proc_clocksync)
        self._inlet.open_stream(timeout)
        self.samples: list[tuple[list[float], float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="test-recorder")

    def _run(self) -> None:
        while not self._stop.is_set():
            sample, stamp = self._inlet.pull_sample(timeout=0.1)
            if stamp is not None:
                self.samples.append((list(sample), stamp))

    def __enter__(self) -> OutletRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self._inlet.close_stream()
        del self._inlet


def outlet_listed(name: str, timeout: float = 1.0) -> bool:
    """Whether an LSL stream called ``name`` answers on this machine."""
    import pylsl

    return bool(pylsl.resolve_byprop("name", name, 1, timeout))


def read_log(path: Path) -> list[dict[str, str]]:
    """Rows of a session-log CSV."""
    import csv

    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))
