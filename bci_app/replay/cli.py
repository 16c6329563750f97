"""``bci-replay PATH``: stream a recorded EEG file over LSL in real time.

Examples::

    bci-replay SEED/Preprocessed_EEG/1_20131027.mat --trials 10-15
    bci-replay S001R03.edf --name amp --loop
    bci-replay 1_20131027.mat --duration 60

Exit codes (:mod:`models.exit_codes`): 0 finished (end of file or ``--duration`` reached), 2
bad arguments, 3 a file that cannot be replayed (the message names it), 128+N stopped by signal
N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP), after the streams were closed. liblsl's own log goes
through Python logging (:mod:`bci_app.lsl.liblsl_log`): its warnings and errors only.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bci_app.lsl.liblsl_log import mark_stopping, route_liblsl_log
from bci_app.lsl.protocol import WIRE_UNIT
from bci_app.replay.chunks import DEFAULT_NAME, MAX_CHUNK_MS
from models.exit_codes import ExitCode, Interrupted, on_stop_signals, raise_interrupted
from offline_training.seed import parse_numbers

if TYPE_CHECKING:  # MNE and LSL load only when a file is replayed, not for --help
    from bci_app.replay.player import Replay
    from bci_app.replay.recording import Marker

PROG = "bci-replay"
_POLL_S = 0.2  # how often the main thread wakes up to check for the end (and Ctrl-C)


def _positive_float(text: str) -> float:
    """argparse type: a number > 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _chunk_ms(text: str) -> float:
    """argparse type: chunk duration in ms, 0 < value <= 25."""
    value = float(text)
    if not 0 < value <= MAX_CHUNK_MS:
        raise argparse.ArgumentTypeError(f"must be in (0, {MAX_CHUNK_MS:g}] ms, got {text}")
    return value


def _trials(text: str) -> list[int]:
    """argparse type: ``10-15`` or ``1,3,5``."""
    try:
        return parse_numbers(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def build_parser() -> argparse.ArgumentParser:
    """The ``bci-replay`` argument parser."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Stream a SEED .mat session or any EEG file MNE reads (.edf, .bdf, .fif, "
        ".set, .cnt, .vhdr) over Lab Streaming Layer in real time, in microvolts, with a "
        "string marker stream for trials or annotations.",
    )
    parser.add_argument("path", type=Path, help="recording to replay")
    parser.add_argument(
        "--name", default=DEFAULT_NAME, help=f"LSL stream name (default {DEFAULT_NAME!r})"
    )
    parser.add_argument("--source-id", help="LSL source id (default 'bci-replay-<file stem>')")
    parser.add_argument(
        "--trials", type=_trials, help="SEED trials to stream, e.g. '10-15' or '1,3,5'"
    )
    parser.add_argument("--loop", action="store_true", help="restart at the end, forever")
    parser.add_argument(
        "--chunk-ms",
        type=_chunk_ms,
        default=MAX_CHUNK_MS,
        help=f"longest chunk pushed, in ms (default and maximum {MAX_CHUNK_MS:g})",
    )
    parser.add_argument("--duration", type=_positive_float, help="stop after this many seconds")
    return parser


def _open(args: argparse.Namespace) -> Replay:
    """Build the Replay, printing the reader's warnings (e.g. no label.mat) on stderr."""
    from bci_app.replay.player import Replay

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        replay = Replay(
            args.path,
            name=args.name,
            source_id=args.source_id,
            trials=args.trials,
            loop=args.loop,
            chunk_ms=args.chunk_ms,
            on_marker=_print_marker,
        )
    for warning in caught:
        if issubclass(warning.category, RuntimeWarning | UserWarning):
            print(f"{PROG}: warning: {warning.message}", file=sys.stderr)
    return replay


def _print_marker(marker: Marker, timestamp: float) -> None:
    """Live line for each marker pushed (called from the streaming thread)."""
    print(
        f"  marker {marker.text!r} (sample {marker.sample}, LSL time {timestamp:.3f})", flush=True
    )


def _shorten(items: Sequence[str], n: int = 3) -> str:
    """``a, b, c, ..., y, z`` for long lists."""
    if len(items) <= 2 * n:
        return ", ".join(items)
    return ", ".join([*items[:n], "...", *items[-2:]])


def _describe(replay: Replay, trials: Sequence[int] | None) -> str:
    """Multi-line summary of what is about to be streamed."""
    ms = 1000.0 * replay.chunk_size / replay.sfreq
    selection = f", trials {_shorten([str(t) for t in trials])}" if trials else ""
    texts = [marker.text for marker in replay.markers]
    return "\n".join(
        [
            f"{PROG}: streaming {replay.path}",
            f"  EEG      name {replay.name!r}, type EEG, source id {replay.source_id!r}",
            f"  channels {len(replay.ch_names)} ({_shorten(replay.ch_names)}), {WIRE_UNIT}",
            f"  rate     {replay.sfreq:g} Hz, chunks of {replay.chunk_size} samples ({ms:g} ms)",
            f"  length   {replay.duration:.1f} s ({replay.n_samples} samples){selection}, "
            f"loop {'on' if replay.loop else 'off'}",
            f"  markers  name {replay.marker_name!r}, source id {replay.marker_source_id!r}, "
            f"{len(texts)} per pass" + (f": {_shorten(texts, 2)}" if texts else ""),
        ]
    )


def _stream(replay: Replay, duration: float | None) -> tuple[str, int]:
    """Stream until the end of the file, ``duration`` seconds or a stop signal (Ctrl-C,
    SIGTERM, SIGHUP); returns why it ended and the exit code."""
    from mne_lsl.lsl import local_clock

    start = local_clock()
    try:
        with on_stop_signals(raise_interrupted):
            replay.start()
            while True:
                elapsed = local_clock() - start
                if duration is not None and elapsed >= duration:
                    return f"duration of {duration:g} s reached", ExitCode.OK
                step = _POLL_S if duration is None else min(_POLL_S, duration - elapsed)
                if replay.wait(timeout=max(step, 0.0)):
                    return "end of file", ExitCode.OK
    except Interrupted as exc:
        return f"interrupted by {exc}", exc.exit_code
    except KeyboardInterrupt:  # a Ctrl-C outside the main thread's handler
        return "interrupted", ExitCode.INTERRUPTED
    finally:
        mark_stopping()  # liblsl: connections closed from now on are this stop's doing
        with on_stop_signals(lambda _signum: None):  # a second signal must not abort it
            replay.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``bci-replay``; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from bci_app.replay.recording import ReplayError

    try:
        with on_stop_signals(raise_interrupted):
            route_liblsl_log()  # liblsl's log through Python logging, before LSL is used
            replay = _open(args)
    except Interrupted as exc:
        print(f"{PROG}: interrupted by {exc} while loading {args.path}", file=sys.stderr)
        return exc.exit_code
    except ReplayError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    except ValueError as err:  # mne-lsl refusing the recording's channel description
        print(f"{PROG}: error: {args.path}: cannot stream ({err})", file=sys.stderr)
        return ExitCode.BAD_INPUT
    print(_describe(replay, args.trials), flush=True)
    started = time.monotonic()
    reason, code = _stream(replay, args.duration)
    print(f"{PROG}: finished ({reason}) after {time.monotonic() - started:.1f} s", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
