"""GUI tests: every window shut down after its test, no fake engine thread left behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.bci_app.gui.windows import shut_windows_and_check_threads


@pytest.fixture(autouse=True)
def no_engine_thread_left_behind() -> Iterator[None]:
    """Shut the test's windows down; then no fake engine thread may be left."""
    yield
    shut_windows_and_check_threads()
