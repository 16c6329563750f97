"""Live engine configuration: one typed place for every knob of ``bci-app``.

The causal filter chain comes from the model file (``preprocessing.filters``, the chain its
training data went through). Each filter option (``l_freq``, ``h_freq``, ``notch``,
``filter_order``) is :data:`FROM_MODEL` unless the user gave it; a given option overrides that
one setting of the model's chain (:meth:`EngineConfig.resolve_filters`), and the session then
warns that the model was trained with another chain. A model that declares no chain (trained
without filters, or a format-1 file) runs with the live defaults,
:class:`models.preprocessing.FilterSpec`.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from pathlib import Path

from models.device import DEVICES
from models.metadata import DEMO_MODEL_PATH
from models.preprocessing import FilterSpec

__all__ = ["FROM_MODEL", "EngineConfig", "FilterChoice", "FromModel"]


class FromModel(enum.Enum):
    """Value of a filter option the user did not give: the model file decides."""

    MODEL = "model"

    def __str__(self) -> str:  # what ``bci-app --help`` prints as the default
        return "the model file's"

    def __repr__(self) -> str:
        return "FROM_MODEL"


FROM_MODEL = FromModel.MODEL
"""The default of every filter option of :class:`EngineConfig` (and of its command line)."""

FILTER_OPTIONS: dict[str, str] = {"l_freq": "--l-freq", "h_freq": "--h-freq",
                                  "notch": "--notch", "filter_order": "--filter-order"}
"""EngineConfig filter field -> its command-line option."""
_SPEC_FIELD = {"l_freq": "l_freq", "h_freq": "h_freq", "notch": "notch",
               "filter_order": "order"}


@dataclass(frozen=True)
class FilterChoice:
    """The causal chain a session runs, and where it came from.

    Attributes:
        spec: the chain the engine builds.
        declared: the chain the model file declares (None: it declares none).
        Both as built at the model's rate when it was given to
        :meth:`EngineConfig.resolve_filters`.
        overridden: the command-line options that were given (``"--l-freq"``...).
    """

    spec: FilterSpec
    declared: FilterSpec | None
    overridden: tuple[str, ...] = ()

    @property
    def differs(self) -> bool:
        """Whether the session filters otherwise than the model's training data was."""
        return self.declared is not None and self.spec != self.declared

    @property
    def warning(self) -> str:
        """The status-line warning when the chain differs from the model's ("" otherwise)."""
        if not self.differs:
            return ""
        return (f"filters differ from the model's: trained with {self.declared.describe()}"
                f", running with {self.spec.describe()} "
                f"(set by {', '.join(self.overridden)})")

    @property
    def note(self) -> str:
        """One line for the session log: the chain and its source."""
        if self.differs:
            return self.warning
        if self.declared is None:
            given = f", with {', '.join(self.overridden)}" if self.overridden else ""
            return ("the model file declares no filter chain (trained without one, or a "
                    f"format-1 file): using the live default chain{given}: "
                    f"{self.spec.describe()}")
        return f"filters from the model file: {self.spec.describe()}"


FilterValue = float | None | FromModel
"""A band edge or notch in Hz, None (off), or FROM_MODEL."""


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
        notch: mains frequency to remove (50 or 60 Hz), None (off), or FROM_MODEL.
        l_freq, h_freq: causal band-pass edges (Hz) applied at the model's rate; None
            leaves that side open; FROM_MODEL takes the model file's.
        filter_order: Butterworth order per edge, or FROM_MODEL. Every filter option left at
            FROM_MODEL takes the model file's value, or :class:`models.preprocessing.FilterSpec`'s
            when the file declares no chain (see :meth:`resolve_filters`).
        device: auto (CUDA when present), cpu or cuda.
        log: session log CSV path (None: no log).
        summary: summary JSON path written on exit (None: beside the session's first log,
            ``s.csv`` -> ``s.json``, where sicleer-predict looks; none without a log).
        outlet_name: name of the predictions LSL outlet (None: no outlet).
        duration: stop after this many seconds of running (None: until stopped).
        lost_after: seconds without samples before the stream counts as lost.
        resolve_timeout: seconds to wait for the stream when connecting.
        markers: follow the replay's marker stream for ground truth when present.
        marker_stream: name of the marker stream to follow for ground truth and calibration
            (None: the EEG stream's own, ``<eeg name>-markers``, as the replay sends).
        labels: label map for a lab's own marker texts, ``"stim_neg=negative,..."``
            (:mod:`models.eeg.label_map`; None: the ``trial N start <label>`` convention).
        record: XDF file to record the session into with LabRecorder (None: no recording).
        events: send the app's events (the model in use, calibration) on an LSL marker
            stream ``f"{outlet_name}-events"``; None: only when the session is recorded.
    """

    model: Path = field(default_factory=lambda: DEMO_MODEL_PATH)
    stream: str | None = None
    stream_type: str | None = None
    source_id: str | None = None
    hop: float = 0.25
    smoothing: float = 2.0
    notch: FilterValue = FROM_MODEL
    l_freq: FilterValue = FROM_MODEL
    h_freq: FilterValue = FROM_MODEL
    filter_order: int | FromModel = FROM_MODEL
    device: str = "auto"
    log: Path | None = None
    summary: Path | None = None
    outlet_name: str | None = "SI-CLEER"
    duration: float | None = None
    lost_after: float = 1.0
    resolve_timeout: float = 5.0
    markers: bool = True
    marker_stream: str | None = None
    labels: str | None = None
    record: Path | None = None
    events: bool | None = None

    def filter_overrides(self) -> dict[str, float | int | None]:
        """The filter options the user gave: EngineConfig field -> value."""
        return {name: getattr(self, name) for name in FILTER_OPTIONS
                if getattr(self, name) is not FROM_MODEL}

    def resolve_filters(self, declared: FilterSpec | None,
                        sfreq: float | None = None) -> FilterChoice:
        """The chain to run for a model that declares ``declared`` (None: no chain).

        The model's chain (or, without one, the live defaults of
        :class:`models.preprocessing.FilterSpec`) with every given option replacing its
        setting; with ``sfreq`` (the model's rate), both chains as the live filter really
        builds them at that rate (:meth:`FilterSpec.at_rate`), so that an option the rate
        makes moot (``--h-freq 75`` at 128 Hz) is no difference.

        Raises:
            ValueError: the resulting band-pass edges are in the wrong order (e.g.
                ``--h-freq 5`` on a model trained with an 8 Hz high-pass).
        """
        given = self.filter_overrides()
        base = declared if declared is not None else FilterSpec()
        spec = dataclasses.replace(base, **{_SPEC_FIELD[k]: v for k, v in given.items()})
        if spec.l_freq is not None and spec.h_freq is not None and spec.l_freq >= spec.h_freq:
            source = "the model file's" if declared is not None else "the default"
            raise ValueError(f"band-pass low edge {spec.l_freq:g} Hz must be below the high "
                             f"edge {spec.h_freq:g} Hz (options given: "
                             f"{', '.join(FILTER_OPTIONS[k] for k in given) or 'none'}; "
                             f"the rest is {source} chain: {base.describe()})")
        if sfreq is not None:
            spec = spec.at_rate(sfreq)
            declared = declared.at_rate(sfreq) if declared is not None else None
        return FilterChoice(spec, declared, tuple(FILTER_OPTIONS[k] for k in given))

    def __post_init__(self) -> None:
        self.model = Path(self.model)
        self.log = Path(self.log) if self.log is not None else None
        self.summary = Path(self.summary) if self.summary is not None else None
        self.record = Path(self.record) if self.record is not None else None
        if self.events is None:
            self.events = self.record is not None
        edges = {name: getattr(self, name) for name in ("notch", "l_freq", "h_freq")}
        numbers = {k: v for k, v in edges.items() if isinstance(v, int | float)}
        lo, hi = numbers.get("l_freq"), numbers.get("h_freq")
        order = self.filter_order
        checks = [
            (self.hop > 0, f"hop must be > 0 s, got {self.hop}"),
            (self.smoothing >= 0, f"smoothing must be >= 0 s, got {self.smoothing}"),
            (all(v is None or v is FROM_MODEL or k in numbers for k, v in edges.items()),
             f"notch, l_freq and h_freq must be numbers, None or FROM_MODEL, got {edges}"),
            (all(v > 0 for v in numbers.values()),
             f"filter frequencies must be > 0 Hz, got {numbers}"),
            (order is FROM_MODEL or (isinstance(order, int) and not isinstance(order, bool)
                                     and 1 <= order <= 10),
             f"filter_order must be a whole number from 1 to 10, got {order!r}"),
            (self.device in DEVICES, f"device must be one of {DEVICES}, got {self.device!r}"),
            (self.duration is None or self.duration > 0, "duration must be > 0 s"),
            (self.lost_after > 0, "lost_after must be > 0 s"),
            (lo is None or hi is None or lo < hi,
             f"band-pass low edge {lo} Hz must be below high edge {hi} Hz"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        if self.labels is not None:
            from models.eeg.label_map import parse_label_map

            parse_label_map(self.labels)  # a ValueError quoting the entry at fault
