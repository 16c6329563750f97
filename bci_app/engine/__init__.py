"""The live engine: one thread that windows the filtered signal and predicts every hop.

- :mod:`~bci_app.engine.config`: :class:`EngineConfig`, every knob of a session.
- :mod:`~bci_app.engine.state`: :class:`EngineState`, :class:`EngineStatus` and
  :class:`WindowResult`, what the engine tells its users (no torch, no LSL).
- :mod:`~bci_app.engine.contract`: :class:`EngineLike`, the part of the engine that the GUI
  uses (typed, torch-free).
- :mod:`~bci_app.engine.features`: per-window smoothing, band power, frontal asymmetry.
- :mod:`~bci_app.engine.engine`: :class:`Engine` itself (loads torch and mne-lsl).

Names are imported on first use, so ``import bci_app.engine.state`` does not load torch.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Engine", "EngineConfig", "EngineState", "EngineStatus", "WindowResult"]

_HOMES = {"Engine": "engine", "EngineConfig": "config", "EngineState": "state",
          "EngineStatus": "state", "WindowResult": "state"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
