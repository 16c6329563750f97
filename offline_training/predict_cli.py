"""``sicleer-predict``: per-window probabilities of a recording, as the live app computes them;
with ``--align-to``, exactly the windows of a past live session (to score it again with another
model, or to check that live equals offline)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from models.device import DEVICES
from offline_training.recordings.base import RECORDING_SUFFIXES

if TYPE_CHECKING:
    from offline_training.predict import Scores

_HOP = 0.25  # the live app's default (bci_app.engine.config.EngineConfig.hop)


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(
        prog="sicleer-predict",
        description="Score an EEG recording with a model file: the live app's causal filter "
                    "chain, channel mapping, quality checks and window timing, one row of "
                    "class probabilities per window, written as CSV.")
    p.add_argument("--model", type=Path, required=True, help="model file (.safetensors)")
    p.add_argument("--data", type=Path, required=True, metavar="RECORDING",
                   help="the recording: " + " ".join(RECORDING_SUFFIXES))
    p.add_argument("--out", type=Path, required=True, help="predictions CSV to write")
    p.add_argument("--hop", type=float, default=_HOP,
                   help=f"seconds between windows (default {_HOP}; ignored with --align-to)")
    p.add_argument("--labels", metavar="MAP",
                   help="label map for a truth column and an accuracy line, e.g. "
                        "'T1=fists,T2=feet' (default: annotations with a duration, and the "
                        "project's trial markers, when the file has them)")
    p.add_argument("--marker-stream", metavar="NAME",
                   help="XDF: the marker stream to use (default: the only one, or the "
                        "project's own)")
    al = p.add_argument_group("scoring a live session again")
    al.add_argument("--align-to", type=Path, metavar="SESSION_LOG",
                    help="a bci-app --log CSV of a session that replayed RECORDING: score "
                         "exactly its windows")
    al.add_argument("--summary", type=Path, metavar="JSON",
                    help="that session's bci-app --summary, which records the replay's clock "
                         "(default: SESSION_LOG with .json, when it exists)")
    al.add_argument("--stream-t0", type=float, metavar="SECONDS",
                    help="the replay's clock instead: sample i of RECORDING was stamped "
                         "t0 + (i + 1) / sfreq on LSL's clock")
    p.add_argument("--device", choices=DEVICES, default="auto",
                   help="where the model runs (default auto: CUDA when present)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    return p


def _t0(args: argparse.Namespace) -> tuple[float, str]:
    """The replay clock for ``--align-to``: ``--stream-t0``, else the session summary."""
    from offline_training.predict import AlignmentError, replay_t0

    if args.stream_t0 is not None:
        return args.stream_t0, ""
    summary = args.summary or args.align_to.with_suffix(".json")
    if args.summary is None and not summary.is_file():
        raise AlignmentError(f"{args.align_to}: no session summary {summary.name} beside it to "
                             "say where the recording's samples lie on LSL's clock; give "
                             "--summary (bci-app --summary of that session) or --stream-t0")
    return replay_t0(summary)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (the scheme of :mod:`models.exit_codes`)."""
    from models.exit_codes import ExitCode

    args = build_parser().parse_args(argv)
    from offline_training.progress import bar as progress_bar
    from offline_training.progress import set_quiet

    set_quiet(args.quiet)  # no bar and no INFO lines with -q
    if not args.hop > 0:
        print(f"sicleer-predict: error: --hop must be > 0 s, got {args.hop}", file=sys.stderr)
        return ExitCode.USAGE
    from bci_app.signal.channel_map import ChannelMappingError
    from models import load_model
    from models.device import resolve_device
    from models.metadata import ModelFileError
    from offline_training.predict import (
        AlignmentError,
        read_session_log,
        score_recording,
        score_session,
        write_scores,
    )
    from offline_training.recordings import RecordingError, parse_label_map, read_recording

    try:
        model = load_model(args.model, resolve_device(args.device))
    except (ModelFileError, FileNotFoundError, OSError) as exc:
        print(f"sicleer-predict: error: {exc}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    try:
        labels = parse_label_map(args.labels) if args.labels else None
        rec = read_recording(args.data, labels, marker_stream=args.marker_stream,
                             require_trials=False, check_finite=False)
        if args.align_to is not None:
            rows, _ = read_session_log(args.align_to, model.meta.class_names)
            t0, replayed = _t0(args)
            if replayed and replayed != rec.path.name:
                logging.warning("the session replayed %s, not %s", replayed, rec.path.name)
            total = len(rows)
        else:
            rows, t0, total = [], 0.0, None
        with progress_bar(total=total, unit=" windows", desc="scoring", leave=False) as bar:
            if args.align_to is not None:
                scores = score_session(rec, model, rows, t0, str(args.align_to), bar.update)
            else:
                scores = score_recording(rec, model, args.hop, bar.update)
    except (RecordingError, AlignmentError, ChannelMappingError) as exc:
        print(f"sicleer-predict: error: {exc}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    except ValueError as exc:
        print(f"sicleer-predict: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        write_scores(scores, args.out)
    except OSError as exc:
        print(f"sicleer-predict: error: cannot write {args.out}: {exc}", file=sys.stderr)
        return ExitCode.OUTPUT
    if not args.quiet:
        _summarise(scores, rec.path.name, args)
    return ExitCode.OK


def _summarise(scores: Scores, recording: str, args: argparse.Namespace) -> None:
    """Print what was scored, agreement with the live log, accuracy against the labels."""
    from models.wording import count

    n = len(scores)
    refused = sum(bool(x) for x in scores.notes)
    how = (f"the {count(n, 'window')} of {args.align_to.name}" if args.align_to is not None
           else f"{count(n, 'window')}, hop {args.hop:g} s")
    print(f"scored {how} of {recording}; {refused} not predicted (see the note column)")
    diff = scores.max_difference()
    if diff is not None:
        print(f"largest difference from the live probabilities: {diff:.2e}")
    acc = scores.accuracy()
    if acc is not None:
        k = len(scores.class_names)
        print(f"agreement with the recording's labels: {100 * acc[0]:.1f} % of "
              f"{count(acc[1], 'window')} inside labelled trials (chance 1/{k} = "
              f"{100 / k:.1f} %; windows overlap and come from one recording: a test "
              "accuracy only if the model never saw it)")
    print(f"predictions: {args.out}")


if __name__ == "__main__":
    raise SystemExit(main())
