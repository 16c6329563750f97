"""Qt desktop window of the live app (the only package that imports Qt).

Use :func:`bci_app.gui.app.run_gui`; :class:`bci_app.gui.main_window.MainWindow` takes an engine
factory so tests and benchmarks can inject :class:`bci_app.gui.fake_engine.FakeEngine`.
"""

from __future__ import annotations

__all__ = ["MainWindow", "run_gui"]


def __getattr__(name: str) -> object:
    """Import Qt lazily: ``import bci_app.gui`` alone does not load PySide6."""
    if name == "MainWindow":
        from .main_window import MainWindow

        return MainWindow
    if name == "run_gui":
        from .app import run_gui

        return run_gui
    raise AttributeError(name)
