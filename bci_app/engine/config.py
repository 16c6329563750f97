"""Live engine configuration: one typed place for every knob of ``bci-app``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from models.device import DEVICES
from models.metadata import DEMO_MODEL_PATH
from models.preprocessing import FilterSpec

__all__ = ["EngineConfig"]

_FILTERS = FilterSpec()  # the one set of live filter defaults


@dataclass
class EngineConfig:
    """Options of one live session.

    Attributes:
        model: model file written by ``sicleer-train --export`` (default: the demo model).
        stream, stream_type, source_id: which LSL stream to read; all None: the only EEG
            stream present.
        hop: seconds between two predictions.
        smoothing: time constant (s) of the exponential smoothing of probabilities
            (0 disables it).
        notch: mains frequency to remove (50 or 60 Hz), or None.
        l_freq, h_freq: causal band-pass edges (Hz) applied at the model's rate; None
            leaves that side open (defaults: :class:`models.preprocessing.FilterSpec`).
        device: auto (CUDA when present), cpu or cuda.
        log: session log CSV path (None: no log).
        summary: summary JSON path written on exit (None: none).
        outlet_name: name of the predictions LSL outlet (None: no outlet).
        duration: stop after this many seconds of running (None: until stopped).
        lost_after: seconds without samples before the stream counts as lost.
        resolve_timeout: seconds to wait for the stream when connecting.
        markers: follow the replay's marker stream for ground truth when present.
    """

    model: Path = field(default_factory=lambda: DEMO_MODEL_PATH)
    stream: str | None = None
    stream_type: str | None = None
    source_id: str | None = None
    hop: float = 0.25
    smoothing: float = 2.0
    notch: float | None = _FILTERS.notch
    l_freq: float | None = _FILTERS.l_freq
    h_freq: float | None = _FILTERS.h_freq
    device: str = "auto"
    log: Path | None = None
    summary: Path | None = None
    outlet_name: str | None = "SI-CLEER"
    duration: float | None = None
    lost_after: float = 1.0
    resolve_timeout: float = 5.0
    markers: bool = True

    @property
    def filters(self) -> FilterSpec:
        """The causal filters of this session."""
        return FilterSpec(self.l_freq, self.h_freq, self.notch)

    def __post_init__(self) -> None:
        self.model = Path(self.model)
        self.log = Path(self.log) if self.log is not None else None
        self.summary = Path(self.summary) if self.summary is not None else None
        checks = [
            (self.hop > 0, f"hop must be > 0 s, got {self.hop}"),
            (self.smoothing >= 0, f"smoothing must be >= 0 s, got {self.smoothing}"),
            (self.notch is None or self.notch > 0, f"notch must be > 0 Hz, got {self.notch}"),
            (self.device in DEVICES, f"device must be one of {DEVICES}, got {self.device!r}"),
            (self.duration is None or self.duration > 0, "duration must be > 0 s"),
            (self.lost_after > 0, "lost_after must be > 0 s"),
            (self.l_freq is None or self.h_freq is None or self.l_freq < self.h_freq,
             f"band-pass low edge {self.l_freq} Hz must be below high edge {self.h_freq} Hz"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
