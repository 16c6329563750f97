"""``make demo`` as a user meets it: Ctrl-C in its terminal ends the window and the replay."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import LSL_API_CFG, REPO_ROOT, outlet_listed

pytestmark = [pytest.mark.lsl, pytest.mark.gui, pytest.mark.slow]


def test_ctrl_c_in_the_terminal_closes_the_demo_window_and_stops_the_replay(
        tmp_path: Path) -> None:
    """The terminal's SIGINT goes to its foreground process group: the demo and, before, its
    replay child too (which then vanished under a window left 'lost'). Now the window
    closes in order, the replay is stopped after it, and the demo exits 130. About 30 s (the
    demo recording is made first, in the test's folder)."""
    env = {**os.environ, "LSLAPICFG": str(LSL_API_CFG), "PYTHONPATH": str(REPO_ROOT),
           "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}  # or xcb
    demo = subprocess.Popen([sys.executable, "-m", "bci_app.demo", "--duration", "120"],
                            cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)  # its own "terminal"
    try:
        seen = []
        for line in demo.stderr:
            seen.append(line)
            if "state: running" in line:
                break
        else:
            pytest.fail("the demo never ran:\n" + "".join(seen))
        time.sleep(1.0)  # a few windows
        os.killpg(demo.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group
        out, err = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.communicate()
    err = "".join(seen) + err
    assert demo.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "SIGINT: closing the window" in err and "state: lost" not in err, err
    name = re.search(r"name '(sicleer-demo-\w+)'", out)
    assert name, out
    assert "finished (interrupted by SIGTERM)" in out + err  # stopped by the demo, after the app
    assert not outlet_listed(name[1])  # the replay's stream is gone
    assert "; recording: .demo/session.xdf" in out  # recorded (and calibrating) by default
