"""The app's own LSL streams: class probabilities of every predicted window, and events."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
from mne_lsl.lsl import StreamInfo, StreamOutlet

from bci_app.lsl.protocol import MARKER_TYPE, PREDICTION_TYPE, STRING_DTYPE

__all__ = ["EventOutlet", "PredictionOutlet"]


class PredictionOutlet:
    """LSL outlet of class probabilities, one sample per predicted window.

    Stream: type ``"MentalState"``, float32, one channel per class with
    ``desc/channels/channel`` label = class name, unit ``"probability"``, type
    ``"probability"``. The nominal rate is 0 (irregular): windows are skipped while the stream
    warms up, is lost or yields NaN, so a fixed hop rate would let recorders (LabRecorder, XDF
    loaders) invent timestamps for samples that never existed. Each sample carries the LSL time
    of the newest EEG sample of its window, so it lines up with the EEG in a recording.

    Args:
        name: stream name (``--outlet-name``, default ``"SI-CLEER"``).
        class_names: channel labels, in probability order.
        source_id: source id (e.g. ``f"SI-CLEER-{eeg source id}"``), lets recorders reconnect.

    Raises:
        ValueError: empty ``name`` or no class names.
    """

    def __init__(self, name: str, class_names: Sequence[str], source_id: str = "") -> None:
        if not name:
            raise ValueError("the predictions outlet needs a non-empty name")
        if len(class_names) == 0:
            raise ValueError(f"outlet {name!r}: no class names")
        self.name = name
        self.class_names = tuple(class_names)
        self.source_id = source_id
        info = StreamInfo(
            name=name,
            stype=PREDICTION_TYPE,
            n_channels=len(self.class_names),
            sfreq=0.0,
            dtype="float32",
            source_id=source_id,
        )
        info.set_channel_names(list(self.class_names))
        info.set_channel_units("probability")
        info.set_channel_types("probability")
        self._outlet: StreamOutlet | None = StreamOutlet(info, chunk_size=1)
        self._lock = threading.Lock()

    @property
    def closed(self) -> bool:
        return self._outlet is None

    @property
    def has_consumers(self) -> bool:
        """True while at least one inlet (e.g. LabRecorder) is connected."""
        outlet = self._outlet
        return outlet is not None and outlet.has_consumers

    def push(self, probs: Sequence[float] | np.ndarray, lsl_time: float) -> None:
        """Send one window's probabilities.

        Args:
            probs: (n_classes,) probabilities, in ``class_names`` order.
            lsl_time: LSL time of the window's newest EEG sample, seconds.

        Raises:
            ValueError: ``probs`` of the wrong shape.
            RuntimeError: the outlet is closed.
        """
        values = np.asarray(probs, dtype=np.float32).reshape(-1)
        if values.shape != (len(self.class_names),):
            raise ValueError(
                f"outlet {self.name!r}: expected {len(self.class_names)} probabilities "
                f"({', '.join(self.class_names)}), got shape {np.shape(probs)}"
            )
        with self._lock:
            if self._outlet is None:
                raise RuntimeError(f"outlet {self.name!r} is closed")
            self._outlet.push_sample(values, timestamp=float(lsl_time))

    def close(self) -> None:
        """Withdraw the stream from the network. Idempotent."""
        with self._lock:
            outlet, self._outlet = self._outlet, None
        # the last reference: mne-lsl's StreamOutlet.__del__ destroys the liblsl outlet now
        del outlet

    def __enter__(self) -> PredictionOutlet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventOutlet:
    """The app's own marker stream: what the session did, for the recording and the log.

    Stream: type ``"Markers"``, one string channel ``"event"``, irregular rate. Events are one
    line each, a keyword first: ``"model <id> <file name>"`` (this model predicts from this
    moment on; the first event of every session), ``"calibration trained <id> ..."``,
    ``"calibration failed ..."``.

    Args:
        name: stream name (``f"{outlet name}-events"``).
        source_id: source id.
    """

    def __init__(self, name: str, source_id: str = "") -> None:
        self.source_id = source_id
        if not name:
            raise ValueError("the events outlet needs a non-empty name")
        self.name = name
        info = StreamInfo(name=name, stype=MARKER_TYPE, n_channels=1, sfreq=0.0,
                          dtype=STRING_DTYPE, source_id=source_id)
        info.set_channel_names(["event"])
        self._outlet: StreamOutlet | None = StreamOutlet(info, chunk_size=1)
        self._lock = threading.Lock()

    def push(self, text: str, lsl_time: float | None = None) -> None:
        """Send one event (stamped ``lsl_time``, default now). A closed outlet drops it."""
        with self._lock:
            if self._outlet is not None:
                if lsl_time is None:
                    self._outlet.push_sample([text])
                else:
                    self._outlet.push_sample([text], timestamp=float(lsl_time))

    def close(self) -> None:
        """Withdraw the stream. Idempotent."""
        with self._lock:
            outlet, self._outlet = self._outlet, None
        del outlet
