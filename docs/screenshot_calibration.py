"""Make docs/screenshot_calibration.png: the window after a calibration in the Calibrate panel.

Replays synthetic subject 1 (6-s trials) into the window on the demo model, records the
session, calibrates on 9 trials (``--epochs 10 --min-steps 60``), presses "Use this model",
lets a few seconds pass and saves the window (about 2-3 minutes on 2 cores):

    QT_QPA_PLATFORM=offscreen LSLAPICFG=tests/lsl_api.cfg \
        .venv/bin/python docs/screenshot_calibration.py
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6 import QtWidgets

from bci_app.calibration.controller import CalibrationPhase, Calibrator
from bci_app.engine.config import EngineConfig
from bci_app.engine.engine import Engine, use_one_inference_thread
from bci_app.gui.app import WINDOW_SIZE, apply_theme
from bci_app.gui.main_window import MainWindow
from bci_app.lsl.streams import list_streams
from bci_app.replay.player import Replay
from models import DEMO_MODEL_PATH
from offline_training.synth import generate_seed_folder

OUT = Path(__file__).resolve().parent / "screenshot_calibration.png"


def spin(seconds: float) -> None:
    """Run the event loop for ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QtWidgets.QApplication.processEvents()
        time.sleep(0.01)


def main() -> int:
    """Make the screenshot; 0 when saved."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    apply_theme(app)
    use_one_inference_thread()
    with tempfile.TemporaryDirectory() as tmp:
        files = generate_seed_folder(Path(tmp) / "SEED", subjects=(1,), n_sessions=1,
                                     trial_seconds=6.0, seed=0)
        name = f"shot-{uuid.uuid4().hex[:6]}"
        made: list[Calibrator] = []

        def factory(engine: Engine, options: dict[str, Any]) -> Calibrator:
            made.append(Calibrator(engine, Path(tmp) / "p07-calibration",
                                   model_path=Path(tmp) / "p07-calibrated.safetensors",
                                   train_args=["--epochs", "10", "--min-steps", "60"],
                                   **options))
            return made[-1]

        with Replay(files[0], name=name, source_id=name, loop=True):
            config = EngineConfig(model=DEMO_MODEL_PATH, stream=name, device="cpu",
                                  log=Path(tmp) / "p07.csv", record=Path(tmp) / "p07.xdf")
            window = MainWindow(Engine, config, stream_lister=lambda: list_streams(timeout=1.0),
                                autostart=True,
                                calibrator_factory=factory)
            window.resize(*WINDOW_SIZE)
            window.show()
            panel = window.calibration
            try:
                spin(8.0)
                panel.participant_edit.setText("P07")
                panel.start_button.click()
                end = time.monotonic() + 300
                while time.monotonic() < end and not (
                        made and made[0].status().phase == CalibrationPhase.TRAINED):
                    spin(0.5)
                if not made or made[0].status().phase != CalibrationPhase.TRAINED:
                    print("calibration did not finish:",
                          made[0].status().message if made else "no calibrator")
                    return 1
                spin(1.0)
                panel.use_button.click()
                spin(15.0)
                window.grab().save(str(OUT))
                print(f"saved {OUT}: {made[0].status().message}")
            finally:
                window.close()
                window.shutdown(15.0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
