"""One calibration training run: ``sicleer-train`` on the calibration FIF, in its own process.

Never in the app's process: the window keeps its frame rate and the engine its latency. The
child runs at a lower priority (``nice``) with a capped number of threads (the live app and the
amplifier's software need the other core of a 2-core machine), writes its output to
``training.log`` in its folder, and its report tells how the starting model did as it was and
how the fine-tuned one did, on the same held-out calibration trials.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CalibrationError", "TrainingJob", "TrainingResult"]

_BAR = re.compile(r"([A-Za-z][\w .-]*?):\s+(\d{1,3})%\|")


class CalibrationError(RuntimeError):
    """Calibration cannot start or its training failed; the message says why."""


@dataclass(frozen=True)
class TrainingResult:
    """What a finished calibration training produced.

    Attributes:
        model_path: the exported model file (trained on every calibration trial).
        report: the trainer's report.json.
        finetuned: held-out accuracy of the model trained on the calibration's first trials
            (fraction), or None.
        pretrained: the starting model as it was on the same trials (fraction), or None
            (from scratch, or another class set).
        baseline: CSP + LDA on the same windows (fraction), or None.
        seconds: wall time of the training process.
    """

    model_path: Path
    report: dict[str, Any]
    finetuned: float | None
    pretrained: float | None
    baseline: float | None
    seconds: float

    def describe(self) -> str:
        """One line: ``held-out trials: as it was 41 %, fine-tuned 78 %, CSP + LDA 70 %``."""
        def pct(x: float | None) -> str:
            return "-" if x is None else f"{100 * x:.0f} %"

        fold = (self.report.get("folds") or [{}])[0]
        count = (f" ({fold['test_trials']} trials, {fold.get('n_test', '?')} windows)"
                 if isinstance(fold.get("test_trials"), int) else "")
        parts = [f"fine-tuned {pct(self.finetuned)}"]
        if self.pretrained is not None:
            parts.insert(0, f"starting model as it was {pct(self.pretrained)}")
        if self.baseline is not None:
            parts.append(f"CSP + LDA {pct(self.baseline)}")
        return f"held-out calibration trials{count}: " + ", ".join(parts)


class TrainingJob:
    """``python -m offline_training`` on one calibration recording.

    Args:
        data: the calibration FIF (:func:`bci_app.calibration.buffer.write_calibration_fif`).
        out: folder for the trainer's outputs (``training/``, ``training.log``, the model).
        model_path: where the exported model goes.
        class_names: the classes, in the model's order (the label map keeps that order).
        init: the model to start from (None: from scratch).
        participant: recorded as the subject and in the model's provenance.
        train_args: further ``sicleer-train`` options (e.g. ``["--epochs", "20"]``).
        threads: torch threads of the child.
        niceness: added to the child's scheduling niceness (POSIX).
    """

    def __init__(self, data: Path, out: Path, model_path: Path, class_names: Sequence[str],
                 init: Path | None = None, participant: str | None = None,
                 train_args: Sequence[str] = (), threads: int = 1, niceness: int = 10) -> None:
        self.data, self.out, self.model_path = Path(data), Path(out), Path(model_path)
        self.class_names = list(class_names)
        self.init = Path(init) if init is not None else None
        self.participant = participant
        self.train_args = list(train_args)
        self.threads, self.niceness = int(threads), int(niceness)
        self.log_path = self.out / "training.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._started = 0.0
        self._ended: float | None = None

    def argv(self) -> list[str]:
        """The trainer's command line."""
        labels = ",".join(f"{c}={c}" for c in self.class_names)
        argv = [sys.executable, "-m", "offline_training", "--data", str(self.data),
                "--out", str(self.out / "training"), "--protocol", "subject-dependent",
                "--labels", labels, "--export", str(self.model_path),
                "--occlusion-windows", "0", "--fresh"]
        if self.init is not None:
            argv += ["--init", str(self.init), "--no-scratch"]
        if self.participant:
            argv += ["--subject", self.participant]
        return argv + self.train_args

    def start(self) -> None:
        """Start the trainer (returns at once)."""
        self.out.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[var] = str(self.threads)
        env["TQDM_MININTERVAL"] = "1"
        niceness = self.niceness

        def lower_priority() -> None:  # in the child, before exec
            with contextlib.suppress(OSError):
                os.nice(niceness)

        log = open(self.log_path, "wb")  # noqa: SIM115 - the child owns it from here
        try:
            self._process = subprocess.Popen(
                self.argv(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, start_new_session=True,
                preexec_fn=lower_priority if os.name == "posix" else None)
        finally:
            log.close()
        self._started = time.monotonic()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def elapsed(self) -> float:
        """Seconds since the start (until the end, once finished)."""
        if not self._started:
            return 0.0
        end = self._ended if self._ended is not None else time.monotonic()
        return end - self._started

    def poll(self) -> int | None:
        """The exit code once finished, else None."""
        if self._process is None:
            return None
        code = self._process.poll()
        if code is not None and self._ended is None:
            self._ended = time.monotonic()
        return code

    def progress(self) -> tuple[str, float | None]:
        """(phase, fraction of it done) from the trainer's progress bars, e.g.
        ``("fold S1_calibration", 0.4)``; ``("starting", None)`` before the first bar."""
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - 4096))
                tail = fh.read().decode("utf-8", "replace")
        except OSError:
            return "starting", None
        bars = _BAR.findall(tail.replace("\r", "\n"))
        if not bars:
            return "starting", None
        phase, pct = bars[-1]
        return phase.strip(), min(int(pct), 100) / 100

    def cancel(self) -> None:
        """Stop the trainer (idempotent)."""
        if self.running:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self.poll()

    def last_error(self) -> str:
        """The trainer's error line (``sicleer-train: error: ...``), or its last line."""
        try:
            lines = self.log_path.read_text("utf-8", "replace").replace("\r", "\n").splitlines()
        except OSError:
            return "no training log"
        errors = [line for line in lines if "error:" in line]
        meaningful = [line for line in lines if line.strip()]
        return (errors or meaningful or ["no output"])[-1].strip()

    def result(self) -> TrainingResult:
        """The outcome of a finished run.

        Raises:
            CalibrationError: still running, failed (with the trainer's error), or no model.
        """
        code = self.poll()
        if code is None:
            raise CalibrationError("the calibration training is still running")
        if code != 0:
            raise CalibrationError(f"training failed (exit code {code}): {self.last_error()}"
                                   f" (full log: {self.log_path})")
        try:
            report = json.loads((self.out / "training" / "report.json").read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise CalibrationError(f"training wrote no readable report: {exc}") from exc
        if not self.model_path.is_file():
            raise CalibrationError(f"training exported no model file at {self.model_path}")
        summary = report.get("summary", {})

        def mean(block: Any) -> float | None:
            return block.get("accuracy_mean") if isinstance(block, dict) else None

        return TrainingResult(self.model_path, report, summary.get("accuracy_mean"),
                              mean(summary.get("pretrained")), mean(summary.get("baseline")),
                              self.elapsed)
