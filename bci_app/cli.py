"""``bci-app``: the live SI-CLEER session, as a desktop window or headless.

Every way of stopping a session (Ctrl-C, SIGTERM from ``kill``/``timeout``/systemd/``docker
stop``, SIGHUP from a closed terminal, the window closed, ``--duration``) runs the same orderly
shutdown: the engine stops, the log is closed, the summary written and the prediction outlet
withdrawn. Exit codes follow :mod:`models.exit_codes`. liblsl's own log goes through the
``liblsl`` logger (:mod:`bci_app.lsl.liblsl_log`): its warnings and errors, not its chatter, and
no error for the connections an orderly stop closes.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bci_app.engine.config import EngineConfig
from bci_app.engine.state import EngineState, done_line
from bci_app.lsl.liblsl_log import mark_stopping, route_liblsl_log
from models.cli_help import DefaultsFormatter
from models.device import DEVICES
from models.exit_codes import (
    ExitCode,
    Interrupted,
    interrupted_code,
    on_stop_signals,
    raise_interrupted,
    say,
    signal_name,
)
from models.preprocessing import FilterSpec

if TYPE_CHECKING:
    from concurrent.futures import Future

    from bci_app.engine.engine import Engine
    from bci_app.engine.state import WindowResult

_DEFAULTS = EngineConfig()  # every default below is the dataclass's own


def _notch(text: str) -> float | None:
    if text.lower() in ("off", "none", "0"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--notch takes 50, 60 or off, not {text!r}") from None
    return value


def _edge(text: str) -> float | None:
    return None if text.lower() in ("off", "none") else float(text)


def _hz(value: float | None) -> str:
    """A FilterSpec default for the help text."""
    return "off" if value is None else f"{value:g} Hz"


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface (building it loads neither torch nor LSL)."""
    d = _DEFAULTS
    p = argparse.ArgumentParser(
        prog="bci-app",
        description="Live EEG emotion recognition with SI-CLEER: reads EEG from Lab Streaming "
                    "Layer, filters it causally with the model file's filter chain, predicts "
                    "the model's classes (SEED: negative/neutral/positive) every hop, and "
                    "shows (or, with --headless, prints) the trajectory and frontal/temporal "
                    "band power. Predictions also go out as an LSL stream, one channel per "
                    "class.",
        formatter_class=DefaultsFormatter)
    src = p.add_argument_group("input stream")
    src.add_argument("--stream", help="name of the LSL EEG stream (default: the only one)")
    src.add_argument("--stream-type", help="type of the stream, e.g. EEG")
    src.add_argument("--source-id", help="source id of the stream")
    src.add_argument("--marker-stream", metavar="NAME",
                     help="marker stream to follow for ground truth and calibration, e.g. "
                          "your stimulus program's (default: the EEG stream's own "
                          "'<name>-markers', as bci-replay sends)")
    src.add_argument("--labels", metavar="MAP",
                     help="which marker texts are trials of which class, e.g. "
                          "'stim_neg=negative,/^pos/=positive' (the trainer's rules: a matched "
                          "marker starts a trial that lasts until the next marker; default: "
                          "only 'trial N start <label>' markers)")
    src.add_argument("--list-streams", action="store_true",
                     help="print the LSL streams on this network and exit")
    src.add_argument("--resolve-timeout", type=float, default=d.resolve_timeout,
                     help="seconds to wait for the stream to appear")
    mdl = p.add_argument_group("model and processing")
    mdl.add_argument("--model", type=Path, default=d.model,
                     help="model file from sicleer-train --export")
    mdl.add_argument("--hop", type=float, default=d.hop, help="seconds between predictions")
    mdl.add_argument("--smoothing", type=float, default=d.smoothing,
                     help="time constant (s) of the probability smoothing; 0 disables it")
    live = FilterSpec()  # the chain of a model file that declares none
    given = ("; given, it overrides the model file's setting, with a warning (default: "
             "%(default)s; ")
    mdl.add_argument("--notch", type=_notch, default=d.notch,
                     help=f"mains notch: 50, 60 or off{given}{_hz(live.notch)} for a model "
                          "without a chain)")
    mdl.add_argument("--l-freq", type=_edge, default=d.l_freq,
                     help=f"band-pass low edge, Hz or off{given}{_hz(live.l_freq)} for a model "
                          "without a chain)")
    mdl.add_argument("--h-freq", type=_edge, default=d.h_freq,
                     help=f"band-pass high edge, Hz or off{given}{_hz(live.h_freq)} for a model "
                          "without a chain)")
    mdl.add_argument("--filter-order", type=int, default=d.filter_order,
                     help=f"Butterworth order per band-pass edge{given}{live.order} for a "
                          "model without a chain)")
    mdl.add_argument("--device", choices=DEVICES, default=d.device,
                     help="inference device (auto takes CUDA when present)")
    out = p.add_argument_group("outputs")
    out.add_argument("--log", type=Path, help="session log CSV, written as it goes (default: "
                     "beside --record, s.xdf: s.csv; none without it)")
    out.add_argument("--summary", type=Path,
                     help="summary JSON written on exit (default: beside the log, "
                          "s.csv: s.json; none without a log)")
    out.add_argument("--outlet-name", default=d.outlet_name,
                     help="name of the predictions LSL stream ('off' for none)")
    out.add_argument("--no-markers", action="store_true",
                     help="ignore the replay's marker stream (no ground truth)")
    out.add_argument("--record", type=Path, metavar="PATH.xdf",
                     help="record the session into one XDF file with LabRecorder: the EEG as "
                          "it arrives (raw, before any filter), its marker stream, the "
                          "predictions and the app's events (never overwrites: s.xdf becomes "
                          "s-1.xdf)")
    cal = p.add_argument_group(
        "calibration", "train a model for the participant during the session, from the "
        "marker stream's 'trial N start <label>' trials (the model's class names), in a "
        "separate process, while acquisition and recording go on (in the window, the "
        "Calibrate panel starts with these settings)")
    cal.add_argument("--calibrate-trials", type=int, metavar="N",
                     help="train once N labelled trials have finished (default: no "
                          "calibration)")
    cal.add_argument("--then-run", action="store_true",
                     help="predict with the calibrated model as soon as it is trained "
                          "(without it, headless: the session ends after training; in the "
                          "window: press Use this model)")
    cal.add_argument("--calibrate-from", metavar="MODEL|scratch",
                     help="model file to fine-tune, or 'scratch' (default: the --model)")
    cal.add_argument("--participant", metavar="ID",
                     help="participant id, written into the calibrated model's provenance")
    cal.add_argument("--calibrate-dir", type=Path, metavar="DIR",
                     help="folder for the calibration data, the trainer's report and log "
                          "(default: <recording>-calibration beside --record, else "
                          "calibration-<date-time>)")
    cal.add_argument("--calibrate-args", default="", metavar="'OPTIONS'",
                     help="further sicleer-train options, e.g. '--epochs 20 --freeze-encoder'")
    run = p.add_argument_group("running")
    run.add_argument("--headless", action="store_true",
                     help="no window: print one status line per second")
    run.add_argument("--duration", type=float, help="stop after this many seconds")
    run.add_argument("--screenshot", type=Path,
                     help="(window) save a PNG of the window after --duration and exit")
    run.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def config_from_args(args: argparse.Namespace) -> EngineConfig:
    """EngineConfig from parsed arguments (raises ValueError on a bad combination)."""
    return EngineConfig(
        model=args.model, stream=args.stream, stream_type=args.stream_type,
        source_id=args.source_id, hop=args.hop, smoothing=args.smoothing, notch=args.notch,
        l_freq=args.l_freq, h_freq=args.h_freq, filter_order=args.filter_order,
        device=args.device, log=args.log,
        summary=args.summary,
        outlet_name=None if args.outlet_name.lower() == "off" else args.outlet_name,
        duration=args.duration, resolve_timeout=args.resolve_timeout,
        markers=not args.no_markers, marker_stream=args.marker_stream, labels=args.labels,
        record=args.record)


def _status_line(engine: Engine, last: WindowResult | None) -> str:
    status = engine.status()
    st = status.stats
    parts = [f"[{status.state:>11}]"]
    if st.latency_p50 is not None:
        parts.append(f"latency p50 {st.latency_p50:5.1f} ms p95 {st.latency_p95:5.1f} ms")
    if last is not None:
        names = engine.class_names
        short = short_names(names)
        probs = " ".join(f"{n} {p:.2f}" for n, p in zip(short, last.smoothed, strict=True))
        truth = names[last.truth] if last.truth is not None else "-"
        parts.append(f"{probs} -> {names[int(last.smoothed.argmax())]:<8} truth {truth}")
    if st.online_accuracy is not None:
        parts.append(f"acc {100 * st.online_accuracy:.0f}%")
    if st.samples_lost or st.windows_skipped or st.nan_windows or st.bad_signal_windows:
        parts.append(f"lost {st.samples_lost} skipped {st.windows_skipped} nan {st.nan_windows}"
                     f" bad {st.bad_signal_windows}")
    if status.bad_channels:
        parts.append(f"bad channels {len(status.bad_channels)}")
    if status.clock:
        parts.append(f"session {status.clock}" + (f" {status.trial}" if status.trial else ""))
    if status.recording:
        parts.append(status.recording)
    if status.state in _EXPLAINED and status.message:
        parts.append(status.message)
    return "  ".join(parts)


def short_names(names: list[str], min_length: int = 3) -> list[str]:
    """The shortest distinct prefixes (at least ``min_length`` characters) of class names,
    for the one-line status (``left hand``/``left foot`` -> ``left h``/``left f``)."""
    for n in range(min_length, max((len(x) for x in names), default=0) + 1):
        short = [x[:n] for x in names]
        if len(set(short)) == len(short):
            return short
    return list(names)


_EXPLAINED = (EngineState.CONNECTING, EngineState.BAD_SIGNAL, EngineState.STALLED,
              EngineState.LOST, EngineState.RECONNECTING, EngineState.ERROR)
"""States whose status line carries the engine's message."""


def failure_code(exc: BaseException | None) -> int:
    """Exit code for the exception that ended a session (:mod:`models.exit_codes`)."""
    from bci_app.lsl.reader import StreamNotFoundError
    from bci_app.lsl.streams import StreamSelectionError
    from bci_app.session.files import OutputError
    from bci_app.signal.channel_map import ChannelMappingError
    from models.metadata import ModelFileError

    if isinstance(exc, StreamSelectionError | StreamNotFoundError | ChannelMappingError):
        return ExitCode.STREAM
    if isinstance(exc, OutputError):
        return ExitCode.OUTPUT
    if isinstance(exc, ModelFileError):
        return ExitCode.BAD_INPUT
    return ExitCode.FAILURE


def calibration_plan(args: argparse.Namespace, config: EngineConfig) -> dict | None:
    """Where calibration writes, from the command line (None: no calibration).

    Returns:
        ``{"folder", "model_path", "trials", "then_run", "start_from", "participant",
        "train_args"}`` for :class:`bci_app.calibration.controller.Calibrator`.

    Raises:
        ValueError: a calibration option without --calibrate-trials, or fewer than 2 trials.
    """
    import shlex

    given = [o for o, v in (("--then-run", args.then_run), ("--calibrate-from",
             args.calibrate_from), ("--calibrate-dir", args.calibrate_dir),
             ("--calibrate-args", args.calibrate_args)) if v]
    if args.calibrate_trials is None:
        if given:
            raise ValueError(f"{', '.join(given)} needs --calibrate-trials N")
        return None
    if args.calibrate_trials < 2:
        raise ValueError(f"--calibrate-trials must be at least 2, not {args.calibrate_trials}")
    from bci_app.calibration.paths import calibration_paths

    folder, model_path = calibration_paths(config.record, folder=args.calibrate_dir)
    start_from = args.calibrate_from
    if start_from and start_from != "scratch":
        start_from = Path(start_from)
    return {"folder": folder, "model_path": model_path, "trials_needed": args.calibrate_trials,
            "then_run": args.then_run, "start_from": start_from,
            "participant": args.participant, "train_args": shlex.split(args.calibrate_args)}


def run_headless(engine: Engine, calibration: dict | None = None) -> int:
    """Run ``engine`` without a window, printing a line per second, until it ends, its
    ``--duration`` passes or a stop signal arrives; then stop it in order.

    With ``calibration`` (:func:`calibration_plan`), a
    :class:`bci_app.calibration.controller.Calibrator` trains a model for the participant
    beside the session; without ``then_run`` the session ends once it is trained.

    Returns:
        The exit code: 0; 128+N after signal N; for a session that ended in the error state,
        the code of its failure; 4 when the signal was never usable (no window predicted).
    """
    from bci_app.heap import freeze_heap

    stop_signal: list[int] = []  # the handler only records: all the work is done here
    calibrator = None

    with on_stop_signals(stop_signal.append):
        engine.start()
        if calibration is not None:
            from bci_app.calibration.controller import CalibrationPhase, Calibrator

            calibrator = Calibrator(engine, **calibration)
            calibrator.start()
        freeze_heap()  # no 100-ms garbage-collector pauses in the engine's threads
        last, warned = None, ""
        next_print = time.monotonic() + 1.0
        while engine.running and not stop_signal:
            if (calibrator is not None and not calibration["then_run"]
                    and calibrator.status().phase == CalibrationPhase.TRAINED):
                say(f"bci-app: calibration done: {calibrator.model_path}; run the app with "
                    f"--model {calibrator.model_path} to use it")
                break
            time.sleep(0.05)
            results = engine.drain_results()
            if results:
                last = results[-1]
            if time.monotonic() >= next_print:
                status = engine.status()
                if status.warning and status.warning != warned:  # each warning once
                    say(f"bci-app: warning: {status.warning}", err=True)
                warned = status.warning
                say(_status_line(engine, last))
                next_print += 1.0
        mark_stopping()  # liblsl: a peer going away from now on is this stop's doing
        if stop_signal:
            say(f"bci-app: {signal_name(stop_signal[0])}: stopping...", err=True)
        if calibrator is not None:
            calibrator.stop()
        engine.stop()  # a second signal is only recorded: the shutdown is not cut short
    status = engine.status()
    st = status.stats
    say(done_line(status, engine.summary_path, engine.recording_path))
    if stop_signal:
        return interrupted_code(stop_signal[0])
    if status.state == EngineState.ERROR:
        say(f"bci-app: error: {status.message}", err=True)
        return failure_code(engine.failure)
    if st.windows_predicted == 0 and (st.nan_windows or st.bad_signal_windows):
        say(f"bci-app: error: no window was predicted: {status.message}", err=True)
        return ExitCode.STREAM
    return ExitCode.OK


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (:mod:`models.exit_codes`)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"bci-app: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        with on_stop_signals(raise_interrupted):  # start-up: Ctrl-C ends it with one line
            route_liblsl_log(verbose=args.verbose)  # before anything uses LSL
            if args.list_streams:
                from bci_app.lsl.streams import format_streams, list_streams

                streams = list_streams(timeout=min(args.resolve_timeout, 2.0))
                print(format_streams(streams) if streams else "no LSL stream found")
                return ExitCode.OK
            return _start(args, config)
    except Interrupted as exc:
        say(f"bci-app: interrupted by {exc} during start-up; nothing was recorded", err=True)
        return exc.exit_code


def _start(args: argparse.Namespace, config: EngineConfig) -> int:
    """Load what the session needs (interruptible), then run it (stop signals handled)."""
    headless = args.headless
    if not headless and not _display_available():
        print("bci-app: no display available; running headless (use --headless to silence "
              "this)", file=sys.stderr)
        headless = True
    if not headless:
        from bci_app.gui.platform_check import missing_platform_libraries, platform_advice

        missing = missing_platform_libraries()  # Qt would abort on them (exit 134)
        if missing:
            print(f"bci-app: {platform_advice(missing)}; running headless meanwhile",
                  file=sys.stderr)
            headless = True
    logging.getLogger("bci_app").info("starting: model %s", config.model)
    listing = _list_streams_meanwhile() if headless else None
    from bci_app.engine.engine import Engine, use_one_inference_thread
    from models.metadata import ModelFileError

    use_one_inference_thread()
    if config.record is not None:  # a bad path or a full disk: said before anything starts
        from bci_app.session.recorder import RecordingError, check_record_path

        try:
            config.record = check_record_path(config.record)  # s.xdf taken: s-1.xdf
            if config.log is None:  # the CSV log beside the recording: s.csv (and s.json)
                config.log = config.record.with_suffix(".csv")
        except RecordingError as exc:
            print(f"bci-app: error: {exc}", file=sys.stderr)
            return ExitCode.OUTPUT
    try:
        calibration = calibration_plan(args, config)
    except ValueError as exc:
        print(f"bci-app: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    if headless:
        try:
            engine = Engine(config, listing=listing)  # loads the model: a bad file is refused
        except ModelFileError as exc:
            print(f"bci-app: error: {exc}", file=sys.stderr)
            return ExitCode.BAD_INPUT
        except (RuntimeError, ValueError) as exc:  # --device cuda without a GPU, or a
            print(f"bci-app: error: {exc}", file=sys.stderr)  # filter option the model's
            return ExitCode.USAGE  # rate or chain cannot take (--h-freq below its high-pass)
        if engine.meta.synthetic:
            say(f"bci-app: note: {config.model.name} was trained on SYNTHETIC data; on real "
                "EEG its predictions mean nothing (train one with sicleer-train)", err=True)
        return run_headless(engine, calibration)
    from bci_app.gui.app import run_gui
    from models.io import warm_up_tracing

    warm_up_tracing()  # before the window exists: TorchScript's set-up would freeze it
    return run_gui(config, screenshot=args.screenshot, duration=args.duration,
                   calibration=calibration)


def _list_streams_meanwhile() -> Future:
    """Start listing the LSL streams in a thread (1 s, in liblsl, without the GIL) while
    torch and the model load; the engine's first look for its stream takes the result."""
    from concurrent.futures import ThreadPoolExecutor

    from bci_app.lsl.streams import list_streams

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lsl-listing")
    future = pool.submit(list_streams, 1.0)
    pool.shutdown(wait=False)
    return future


def _display_available() -> bool:
    """Whether Qt can open a window here (a display, Wayland, or an offscreen platform)."""
    if os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal", "vnc")):
        return True
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


if __name__ == "__main__":
    raise SystemExit(main())
