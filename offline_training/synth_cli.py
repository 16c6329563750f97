"""``sicleer-synth OUTDIR``: write a synthetic SEED-format folder (not SEED data)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from models.exit_codes import ExitCode, Interrupted, on_stop_signals, raise_interrupted
from models.wording import count
from offline_training.progress import bar as progress_bar
from offline_training.seed import TRIAL_SECONDS, parse_numbers
from offline_training.synth import generate_seed_folder

_EPILOG = """\
examples:
  sicleer-synth runs/synth                          all 15 subjects x 3 sessions (~15 GB)
  sicleer-synth runs/tiny --subjects 1-2 --sessions 1 --trial-seconds 30
  sicleer-synth runs/synth --subjects 1,4,7 --seed 3 --force

The output folder plays the part of SEED/: files go to OUTDIR/Preprocessed_EEG/ as
<subject>_<YYYYMMDD>.mat (keys <prefix>_eeg1..15, 62 x (200*s+1) float64 microvolts),
label.mat and readme.txt. Every file is marked SYNTHETIC in its header.
"""


def parse_subjects(text: str) -> list[int]:
    """argparse type: ``"1-3"``, ``"1,4,7"`` or ``"1-3,7"`` -> sorted distinct numbers >= 1."""
    try:
        return parse_numbers(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"invalid subjects: {exc}") from None


def parse_trial_seconds(text: str) -> float | list[float]:
    """Parse one length for all 15 trials ("30") or 15 comma-separated lengths, in seconds."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid trial seconds {text!r}") from None
    if len(values) not in (1, len(TRIAL_SECONDS)) or min(values) <= 0:
        raise argparse.ArgumentTypeError(
            f"invalid trial seconds {text!r}: give one positive number or {len(TRIAL_SECONDS)}"
        )
    return values[0] if len(values) == 1 else values


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser of ``sicleer-synth``."""
    parser = argparse.ArgumentParser(
        prog="sicleer-synth",
        description="Write a SYNTHETIC SEED-format EEG folder (for tests and demos; not SEED).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("outdir", type=Path, help="output folder (acts as SEED/)")
    parser.add_argument(
        "--subjects",
        type=parse_subjects,
        default=list(range(1, 16)),
        help="subjects to write, e.g. '1-3' or '1,4,7' (default: 1-15)",
    )
    parser.add_argument(
        "--sessions", type=int, choices=(1, 2, 3), default=3, help="sessions a subject (default 3)"
    )
    parser.add_argument(
        "--trial-seconds",
        type=parse_trial_seconds,
        default=list(TRIAL_SECONDS),
        help="seconds per trial: one number for all 15 trials or 15 comma-separated numbers "
        "(default: SEED's clip lengths, 185-265 s, 3394 s a session)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace synthetic files already in OUTDIR (files not made by sicleer-synth are "
        "never touched)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``sicleer-synth``; returns the process exit code (:mod:`models.exit_codes`: 0 ok,
    2 usage, 5 the folder cannot be written or holds files it may not replace, 128+N stopped
    by signal N)."""
    args = build_parser().parse_args(argv)
    if args.seed < 0:
        print("sicleer-synth: error: --seed must be >= 0", file=sys.stderr)
        return ExitCode.USAGE
    n_files = len(args.subjects) * args.sessions + 2
    start = time.perf_counter()
    with progress_bar(total=n_files, unit="file", desc="sicleer-synth") as bar:

        def advance(path: Path) -> None:
            bar.set_postfix_str(path.name)
            bar.update()

        try:
            with on_stop_signals(raise_interrupted):
                written = generate_seed_folder(
                    args.outdir,
                    subjects=args.subjects,
                    n_sessions=args.sessions,
                    trial_seconds=args.trial_seconds,
                    seed=args.seed,
                    overwrite=args.force,
                    on_file=advance,
                )
        except Interrupted as exc:
            bar.close()
            print(f"sicleer-synth: interrupted ({exc}); the last file may be incomplete: run "
                  "again with --force", file=sys.stderr)
            return exc.exit_code
        except ValueError as err:
            bar.close()
            print(f"sicleer-synth: error: {err}", file=sys.stderr)
            return ExitCode.USAGE
        except OSError as err:  # FileExistsError included: files it may not replace
            bar.close()
            print(f"sicleer-synth: error: {err}", file=sys.stderr)
            return ExitCode.OUTPUT
    folder = written[0].parent
    size = sum(p.stat().st_size for p in written) / 1e6
    n_sessions = len(written) - 2
    print(
        f"wrote {count(n_sessions, 'synthetic session file')}, label.mat and readme.txt to "
        f"{folder} "
        f"({size:.1f} MB, {time.perf_counter() - start:.1f} s, seed {args.seed})"
    )
    print(f"use it as a SEED folder: {args.outdir}")
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
