"""Calibration in the running session: collect labelled trials, train, swap the model.

A :class:`Calibrator` sits beside a running :class:`bci_app.engine.engine.Engine`. It keeps
its own copy of the raw data (:class:`bci_app.calibration.buffer.CalibrationBuffer`, fed by the
engine before its filters) and reads the finished trials from the engine's marker stream
(the project's ``trial N start <label>`` convention, or the session's label map; the classes
are the map's, else the running model's). When
enough labelled trials are in (``trials_needed``) or :meth:`Calibrator.train_now` is called, it
checks them (every class present on both sides of the subject-dependent split, the same rule
as ``sicleer-train``), writes them as a FIF file and runs ``sicleer-train`` on them in a
separate process (:class:`bci_app.calibration.job.TrainingJob`), starting from the running
model by default. The trainer reports the held-out accuracy of the starting model as it was
and of the fine-tuned one on the calibration's last trials, and exports a model trained on all
of them; with ``then_run`` (or :meth:`Calibrator.use_model`) the engine predicts with it from
the next window on, without stopping acquisition or the recording.

Everything runs in the calibrator's own thread; :meth:`Calibrator.status` is a snapshot for
the window and the headless status lines.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bci_app.calibration.buffer import CalibrationBuffer, LabelledTrial, write_calibration_fif
from bci_app.calibration.job import CalibrationError, TrainingJob, TrainingResult
from models.splits import DEFAULT_TRAIN_FRACTION, time_split

if TYPE_CHECKING:
    from bci_app.engine.engine import Engine

__all__ = ["SCRATCH", "CalibrationPhase", "CalibrationStatus", "Calibrator"]

log = logging.getLogger(__name__)

SCRATCH = "scratch"
"""``start_from`` value: train a new model instead of fine-tuning the running one."""


class CalibrationPhase(StrEnum):
    """Where calibration stands."""

    COLLECTING = "collecting"
    TRAINING = "training"
    TRAINED = "trained"
    SWAPPED = "in use"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True)
class CalibrationStatus:
    """A snapshot for display.

    Attributes:
        phase: see :class:`CalibrationPhase`.
        message: one line saying what happens (or what went wrong).
        trials: labelled trials finished since calibration started.
        per_class: trials per class name.
        needed: trials that start training by themselves (None: only :meth:`train_now`).
        progress: fraction of the current training phase done (None: unknown).
        result: the finished training (None before).
        model_path: the calibrated model file (None before).
    """

    phase: CalibrationPhase
    message: str
    trials: int = 0
    per_class: tuple[tuple[str, int], ...] = ()
    needed: int | None = None
    progress: float | None = None
    result: TrainingResult | None = None
    model_path: Path | None = None


def _default_classes(engine: Engine) -> list[str]:
    """The label map's classes when the session has one, else the running model's."""
    labels = getattr(engine, "marker_labels", None) or getattr(engine.config, "labels", None)
    if labels:
        from models.eeg.label_map import parse_label_map

        return list(parse_label_map(labels).classes)
    return list(engine.class_names)


class Calibrator:
    """Calibration beside a running engine (see the module docstring).

    Args:
        engine: the running session (its model's classes, channels and rate are used).
        folder: where the calibration data, the trainer's outputs and its log go.
        model_path: the calibrated model file (default: ``folder / "calibrated.safetensors"``).
        trials_needed: train by itself once this many labelled trials have finished (None:
            only when :meth:`train_now` is called).
        then_run: swap the new model in as soon as it is trained.
        start_from: the model file to fine-tune (default: the running one), or
            :data:`SCRATCH`.
        participant: who is calibrated (the model's provenance).
        session: the session's name in the model's provenance (default: the recording's
            file name without ``.xdf``, else ``"calibration"``).
        train_args: further ``sicleer-train`` options.
        threads: torch threads of the training process.
        class_names: the classes to calibrate, in order (default: the classes of the
            session's label map, ``--labels``, when it has one, else the running model's).
            Other classes than the running model's give a model with outputs of its own
            (:meth:`bci_app.engine.engine.Engine.swap_model`).
    """

    def __init__(self, engine: Engine, folder: Path, *, model_path: Path | None = None,
                 trials_needed: int | None = None, then_run: bool = False,
                 start_from: Path | str | None = None, participant: str | None = None,
                 session: str | None = None, train_args: Sequence[str] = (),
                 threads: int = 1, class_names: Sequence[str] | None = None) -> None:
        if trials_needed is not None and trials_needed < 2:
            raise ValueError(f"calibration needs at least 2 trials, not {trials_needed}")
        self.engine = engine
        self.folder = Path(folder)
        self.model_path = Path(model_path) if model_path else self.folder / "calibrated.safetensors"
        self.trials_needed = trials_needed
        self.then_run = then_run
        self.start_from = start_from
        self.participant = participant
        record = engine.config.record
        self.session = session or (record.stem if record is not None else "calibration")
        self.train_args = list(train_args)
        self.threads = threads
        self.class_names = list(class_names) if class_names else _default_classes(engine)
        self.buffer = CalibrationBuffer(len(engine.channel_names), engine.sfreq)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._train = threading.Event()
        self._use = threading.Event()
        self._thread: threading.Thread | None = None
        self._job: TrainingJob | None = None
        self._status = CalibrationStatus(CalibrationPhase.COLLECTING,
                                         "calibration: waiting for labelled trials",
                                         needed=trials_needed)
        self._since = float("inf")  # LSL time of the first sample kept
        self._retry = True  # after a failure: train again when more trials come
        self._seen = -1  # finished trials at the last look

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        """Start keeping the raw data and watching the trials (returns at once)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.engine.set_raw_sink(self._keep)
        self._thread = threading.Thread(target=self._run, name="sicleer-calibration",
                                        daemon=True)
        self._thread.start()

    def train_now(self) -> None:
        """Train on the trials so far (the checks may refuse, with a message)."""
        self._train.set()

    def use_model(self) -> None:
        """Swap the trained model into the engine (after training)."""
        self._use.set()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop watching; a running training is cancelled. Idempotent."""
        self._stop.set()
        self.engine.set_raw_sink(None)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        job = self._job
        if job is not None:
            job.cancel()

    def status(self) -> CalibrationStatus:
        """The current snapshot."""
        with self._lock:
            status = self._status
        job = self._job
        if status.phase == CalibrationPhase.TRAINING and job is not None:
            phase, fraction = job.progress()
            status = CalibrationStatus(status.phase, f"calibration: training ({phase}, "
                                       f"{job.elapsed:.0f} s)", status.trials, status.per_class,
                                       status.needed, fraction)
        return status

    # ------------------------------------------------------------------ thread
    def _keep(self, raw: np.ndarray, times: np.ndarray) -> None:
        if self._since == float("inf") and len(times):
            self._since = float(times[0])
        self.buffer.append(raw, times)

    def _trials(self) -> list[LabelledTrial]:
        tracker = self.engine.marker_tracker
        if tracker is None:
            return []
        # a trial under way when the app connected counts with the part it has, if that
        # holds at least one window
        least = self.engine.window / self.engine.sfreq
        return [LabelledTrial(n, c, s, e)
                for n, c, s, e in tracker.finished_trials(self._since, self.class_names)
                if e - max(s, self._since) >= least]

    def _set(self, phase: CalibrationPhase, message: str, **fields: object) -> None:
        with self._lock:
            old = self._status
            values = {"trials": old.trials, "per_class": old.per_class, "needed": old.needed,
                      "result": old.result, "model_path": old.model_path, **fields}
            self._status = CalibrationStatus(phase, message, **values)
        if (phase, message) != (old.phase, old.message):
            log.info("%s", message)

    def _run(self) -> None:
        try:
            while not self._stop.wait(0.25):
                phase = self._status.phase
                if phase in (CalibrationPhase.COLLECTING, CalibrationPhase.FAILED):
                    self._collect()
                elif phase == CalibrationPhase.TRAINED and (self.then_run or self._use.is_set()):
                    self._swap()
                if phase != CalibrationPhase.TRAINED:
                    self._use.clear()  # "use" means nothing before a model is trained
        except Exception as exc:  # a bug must not take the session down
            log.exception("calibration stopped")
            self._set(CalibrationPhase.FAILED, f"calibration stopped: {exc}")

    def _collect(self) -> None:
        """Count the finished trials; train when enough are in or training was asked for.

        Acts only when the count changed or on a request: a refusal (a class missing on one
        side of the split) stays in the message until the next trial, then training is tried
        again; so is a failed training. A model that cannot replace the running one is not
        retried by itself (only :meth:`train_now`).
        """
        requested = self._train.is_set()
        trials = self._trials()
        if not requested and (len(trials) == self._seen or not self._retry):
            return
        self._seen = len(trials)
        counts = Counter(t.label for t in trials)
        per_class = tuple((c, counts[c]) for c in self.class_names)
        needed = self.trials_needed
        if requested or (needed is not None and len(trials) >= needed):
            self._train.clear()
            self._retry = True
            self._train_on(trials, per_class)
            return
        target = f"/{needed}" if needed else ""
        self._set(CalibrationPhase.COLLECTING,
                  f"calibration: {len(trials)}{target} labelled trials ("
                  + ", ".join(f"{c} {n}" for c, n in per_class) + ")",
                  trials=len(trials), per_class=per_class)

    def _refusal(self, trials: list[LabelledTrial]) -> str | None:
        """Why these trials cannot train a model (None: they can)."""
        if self.engine.marker_tracker is None:
            return ("calibration needs labelled trials from a marker stream; the session "
                    "follows none (the EEG stream has no '<name>-markers' stream: give "
                    "--marker-stream NAME, and --labels MAP for your own marker texts)")
        counts = Counter(t.label for t in trials)
        missing = [c for c in self.class_names if not counts[c]]
        if missing:
            return (f"calibration: {len(trials)} labelled trials, none of class "
                    f"{', '.join(missing)} (the calibration's classes: "
                    f"{', '.join(self.class_names)}); wait for more trials")
        try:
            time_split([t.label for t in trials], DEFAULT_TRAIN_FRACTION, "calibration")
        except ValueError as exc:
            return f"{exc}".replace("; change --train-fraction or use --protocol "
                                    "cross-session", "; wait for more trials")
        return None

    def _train_on(self, trials: list[LabelledTrial], per_class: tuple) -> None:
        refusal = self._refusal(trials)
        if refusal:  # not a failure: more trials may mend it
            self._set(CalibrationPhase.COLLECTING, refusal, trials=len(trials),
                      per_class=per_class)
            return
        self._set(CalibrationPhase.TRAINING, f"calibration: training on {len(trials)} trials",
                  trials=len(trials), per_class=per_class)
        self.engine.push_event(f"calibration training {len(trials)} trials")
        try:
            result = self._fit(trials)
        except (CalibrationError, OSError, ValueError) as exc:
            if self._stop.is_set():
                self._set(CalibrationPhase.STOPPED, "calibration cancelled: the session ended")
                return
            self._set(CalibrationPhase.FAILED, f"calibration failed: {exc}")
            self.engine.push_event(f"calibration failed {exc}")
            return
        self._set(CalibrationPhase.TRAINED,
                  f"calibration: trained in {result.seconds:.0f} s; {result.describe()}; "
                  f"model {result.model_path}", result=result, model_path=result.model_path)
        self.engine.push_event(f"calibration trained {result.model_path.name}")

    def _fit(self, trials: list[LabelledTrial]) -> TrainingResult:
        data, times = self.buffer.snapshot()
        fif = write_calibration_fif(self.folder / f"{self.session}_raw.fif", data, times,
                                    self.engine.channel_names, self.engine.sfreq, trials,
                                    self.participant)
        init: Path | None
        extra = list(self.train_args)
        if self.start_from == SCRATCH:
            init = None
            extra = self._scratch_args() + extra
        else:
            init = Path(self.start_from) if self.start_from else self.engine.config.model
        job = TrainingJob(fif, self.folder, self.model_path, self.class_names, init=init,
                          participant=self.participant, train_args=extra,
                          threads=self.threads)
        self._job = job
        log.info("calibration: %s", " ".join(job.argv()))
        job.start()
        while job.poll() is None:
            if self._stop.wait(0.25):
                job.cancel()
                raise CalibrationError("cancelled")
        return job.result()

    def _scratch_args(self) -> list[str]:
        """Options that give a model from scratch the running model's rate, window and chain
        (so that it can replace it in the engine)."""
        e = self.engine
        f = e.meta.preprocessing.filters
        args = ["--sfreq", f"{e.sfreq:g}", "--window-seconds", f"{e.window / e.sfreq:g}"]
        if f is None:
            return [*args, "--no-filter"]

        def hz(v: float | None) -> str:
            return "off" if v is None else f"{v:g}"

        return [*args, "--l-freq", hz(f.l_freq), "--h-freq", hz(f.h_freq), "--notch",
                hz(f.notch), "--filter-order", str(f.order)]

    def _swap(self) -> None:
        from models import load_model

        status = self._status
        path = status.model_path
        try:
            model = load_model(path, self.engine.device)
            self.engine.swap_model(model, source=path.name)
        except (OSError, ValueError) as exc:  # a damaged file, another montage or class set
            self._retry = False  # more trials would not change that
            self._set(CalibrationPhase.FAILED, f"calibration: cannot use {path}: {exc}")
            return
        self._set(CalibrationPhase.SWAPPED, f"calibration: predicting with {path.name} "
                  f"from now on ({status.result.describe() if status.result else ''})")
        self._use.clear()
