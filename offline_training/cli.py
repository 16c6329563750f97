"""``sicleer-train``: fit SI-CLEER on a SEED folder and evaluate it under a standard protocol."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import fields
from pathlib import Path

from models.device import DEVICES
from offline_training.config import BALANCES, BASELINES, LOSSES, PROTOCOLS, TrainConfig
from offline_training.seed import parse_numbers


def parse_int_list(text: str) -> list[int]:
    """argparse type for ``--subjects`` / ``--sessions``: ``"1-3,7"`` -> ``[1, 2, 3, 7]``."""
    try:
        return parse_numbers(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_DEFAULTS = {f.name: f.default for f in fields(TrainConfig)}  # the dataclass's own defaults


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface (defaults are :class:`TrainConfig`'s)."""
    d = _DEFAULTS
    p = argparse.ArgumentParser(
        prog="sicleer-train",
        description="Train SI-CLEER (hierarchical contrastive + cross-entropy loss) on a SEED "
                    "folder, evaluate it under a standard protocol, write report.json, "
                    "report.md and figures, and optionally export a model file for bci-app.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", type=Path, required=True,
                   help="SEED/, SEED_EEG/ or Preprocessed_EEG/ folder (or a sicleer-synth folder)")
    p.add_argument("--out", type=Path, required=True,
                   help="output folder; re-running into it skips finished folds")
    p.add_argument("--protocol", choices=PROTOCOLS, default=d["protocol"],
                   help="subject-dependent: trials 1-9 train, 10-15 test, per session; loso: "
                        "leave one subject out; cross-session: train on two sessions, test on "
                        "the third")
    p.add_argument("--subjects", type=parse_int_list, default=None,
                   help="subjects to use, e.g. '1-5,9' (default: all)")
    p.add_argument("--sessions", type=parse_int_list, default=None,
                   help="sessions (1-3, in date order) to use (default: all)")
    p.add_argument("--epochs", type=int, default=d["epochs"], help="training epochs per fold")
    p.add_argument("--min-steps", type=int, default=d["min_steps"],
                   help="at least this many optimizer steps per fold, however small the data")
    p.add_argument("--val-trials", type=int, default=d["val_trials"],
                   help="training trials per class held out to choose the step (early "
                        "stopping on validation accuracy); 0 trains for the whole budget")
    p.add_argument("--patience", type=int, default=d["patience"],
                   help="epochs without a better validation score before stopping early")
    p.add_argument("--head-epochs", type=int, default=d["head_epochs"],
                   help="classifier epochs on the frozen encoder (--loss contrastive only)")
    p.add_argument("--batch-size", type=int, default=d["batch_size"])
    p.add_argument("--lr", type=float, default=d["lr"], help="Adam learning rate")
    p.add_argument("--window-seconds", type=float, default=d["window_seconds"])
    p.add_argument("--stride-seconds", type=float, default=None,
                   help="hop between windows (default: the window length)")
    p.add_argument("--loss", choices=LOSSES, default=d["loss"],
                   help="joint: contrastive + lambda * CE; ce: classification only; "
                        "contrastive: encoder on the contrastive loss, then a classifier on "
                        "the frozen encoder")
    p.add_argument("--lambda", dest="lambda_ce", type=float, default=d["lambda_ce"],
                   help="weight of the cross-entropy term in the joint loss (on top of the "
                        "balance)")
    p.add_argument("--balance", choices=BALANCES, default=d["balance"],
                   help="joint loss: gradnorm weighs the contrastive term so that its encoder "
                        "gradient has the norm of the cross-entropy's; none is the paper's "
                        "plain sum (with --lambda 1: the paper's exact loss)")
    p.add_argument("--balance-every", type=int, default=d["balance_every"],
                   help="optimizer steps between two gradient probes (balance weight and the "
                        "gradient-share curves)")
    p.add_argument("--alpha", type=float, default=d["alpha"],
                   help="weight of the instance-wise term in the hierarchical loss")
    p.add_argument("--no-mask", dest="mask", action="store_false",
                   help="disable timestamp masking")
    p.add_argument("--weight-decay", type=float, default=d["weight_decay"],
                   help="AdamW decoupled weight decay")
    p.add_argument("--dropout", type=float, default=d["dropout"],
                   help="dropout on the encoder's representation during training")
    p.add_argument("--hidden-dims", type=int, default=d["hidden_dims"])
    p.add_argument("--output-dims", type=int, default=d["output_dims"])
    p.add_argument("--device", choices=DEVICES, default=d["device"],
                   help="auto takes CUDA when present (bf16 autocast there)")
    p.add_argument("--seed", type=int, default=d["seed"])
    p.add_argument("--occlusion-windows", type=int, default=d["occlusion_windows"],
                   help="test windows per fold for channel importance (0 skips it)")
    p.add_argument("--baseline", choices=BASELINES, default=d["baseline"],
                   help="classical classifier fitted on the same windows of every fold and "
                        "printed beside SI-CLEER (csp-lda: common spatial patterns, 8-30 Hz, "
                        "+ shrinkage LDA)")
    p.add_argument("--export", type=Path, default=None,
                   help="after evaluation, train on all selected data and write a model file")
    p.add_argument("--fresh", action="store_true", help="ignore finished folds in --out")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="only warnings and errors: no progress bars, no summary lines")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (the scheme of :mod:`models.exit_codes`)."""
    from models.exit_codes import ExitCode, Interrupted, on_stop_signals, raise_interrupted

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(message)s")
    quiet = vars(args).pop("quiet")
    if quiet:  # no progress bars either, in this process and in the fold processes it spawns
        os.environ["TQDM_DISABLE"] = "1"
    try:
        cfg = TrainConfig(**vars(args))
    except ValueError as exc:
        print(f"sicleer-train: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    from models.metadata import ModelFileError
    from offline_training.data import check_sessions
    from offline_training.run import run, select_sessions
    from offline_training.seed import SeedFormatError

    try:
        with on_stop_signals(raise_interrupted):  # SIGTERM and SIGHUP stop it like Ctrl-C
            check_sessions(select_sessions(cfg), cfg.window_seconds)  # before any training
            report = run(cfg)
    except KeyboardInterrupt as exc:
        print("sicleer-train: interrupted; finished folds are kept in "
              f"{cfg.out / 'folds'} and will be skipped next time", file=sys.stderr)
        return exc.exit_code if isinstance(exc, Interrupted) else ExitCode.INTERRUPTED
    except (SeedFormatError, FileNotFoundError) as exc:
        print(f"sicleer-train: error: {exc}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    except (ModelFileError, RuntimeError) as exc:  # a diverged export, a failed fold worker
        print(f"sicleer-train: error: {exc}", file=sys.stderr)
        return ExitCode.FAILURE
    except ValueError as exc:  # options that do not fit the data or an earlier run
        print(f"sicleer-train: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except OSError as exc:
        print(f"sicleer-train: error: cannot write the outputs: {exc}", file=sys.stderr)
        return ExitCode.OUTPUT
    s = report["summary"]
    if not quiet:
        print(f"\n{cfg.protocol}: accuracy {100 * s['accuracy_mean']:.2f} +/- "
              f"{100 * s['accuracy_std']:.2f} % over {s['n_folds']} fold(s)"
              + (" [SYNTHETIC DATA]" if report["data"]["synthetic"] else ""))
        if s.get("baseline"):
            b = s["baseline"]
            print(f"{cfg.protocol}: CSP + LDA on the same windows {100 * b['accuracy_mean']:.2f}"
                  f" +/- {100 * b['accuracy_std']:.2f} %")
        print(f"report: {cfg.out / 'report.md'}")
        if report["export"]:
            print(f"model file: {report['export']['path']}")
    return ExitCode.OK


if __name__ == "__main__":
    raise SystemExit(main())
