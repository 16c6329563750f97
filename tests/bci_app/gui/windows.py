"""Windows the GUI tests build on the fake engine: shut down after each test (conftest.py)."""

from __future__ import annotations

import threading
import time

import pytest

from bci_app.gui.main_window import MainWindow

OPEN_WINDOWS: list[MainWindow] = []
"""Append every window a test builds; the folder's autouse fixture shuts them down."""


def shut_windows_and_check_threads() -> None:
    """Shut every window in :data:`OPEN_WINDOWS` down; then no fake engine thread may be left."""
    while OPEN_WINDOWS:
        window = OPEN_WINDOWS.pop()
        window.shutdown(3.0)
        window.close()
    deadline = time.monotonic() + 5.0
    alive: list[threading.Thread] = []
    while time.monotonic() < deadline:
        alive = [t for t in threading.enumerate() if t.name == "fake-engine" and t.is_alive()]
        if not alive:
            return
        time.sleep(0.05)
    pytest.fail(f"{len(alive)} fake engine thread(s) still running after the test")
