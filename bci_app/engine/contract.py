"""The part of :class:`bci_app.engine.engine.Engine` that the window uses, as a typed protocol.

:class:`bci_app.gui.fake_engine.FakeEngine` implements it too, so GUI tests and benchmarks run
without LSL or a model. Importing this module loads neither torch nor LSL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import numpy as np

from bci_app.engine.state import EngineStatus, WindowResult

if TYPE_CHECKING:
    from bci_app.engine.config import EngineConfig
    from bci_app.lsl.streams import StreamDescription

__all__ = ["STOP_TIMEOUT_S", "EngineFactory", "EngineLike", "StreamLister"]

STOP_TIMEOUT_S = 60.0
"""How long a stopping engine is waited for, in s: LabRecorder writes its footers (a few s,
more under load), then the log is closed and the summary written. A process must not exit
before: a daemon engine thread cut short loses the summary."""


class EngineLike(Protocol):
    """What a live window needs from an engine.

    Attributes:
        channel_names: the model's channels, in the order of :meth:`recent_samples` rows.
        class_names: the model's classes, in probability order.
    """

    channel_names: list[str]
    class_names: list[str]

    def start(self) -> None:
        """Start in the background; return at once."""

    def stop(self, timeout: float = ...) -> None:
        """Stop and release everything (may block up to ``timeout`` s)."""

    def status(self) -> EngineStatus:
        """A snapshot of the state and statistics."""

    def drain_results(self) -> list[WindowResult]:
        """Results produced since the previous call, oldest first."""

    def recent_samples(self, seconds: float) -> tuple[np.ndarray, np.ndarray]:
        """The last ``seconds`` of filtered EEG: (n_channels, n) uV and LSL times (n,)."""


EngineFactory = Callable[["EngineConfig"], EngineLike]
"""Builds an engine for a configuration (called in a worker thread)."""

StreamLister = Callable[[], "list[StreamDescription]"]
"""Returns the LSL streams on the network (called in a worker thread)."""
