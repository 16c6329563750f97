"""``sicleer-train``: fit SI-CLEER on a SEED folder or on a lab's labelled recordings and evaluate
it under a standard protocol."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from models.cli_help import DefaultsFormatter
from models.device import DEVICES, PRECISIONS
from offline_training.config import BALANCES, BASELINES, LOSSES, PROTOCOLS, TrainConfig
from offline_training.recordings.base import RECORDING_SUFFIXES
from offline_training.seed import parse_numbers


def parse_int_list(text: str) -> list[int]:
    """argparse type for ``--subjects`` / ``--sessions``: ``"1-3,7"`` -> ``[1, 2, 3, 7]``."""
    try:
        return parse_numbers(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _hz_or_off(text: str) -> float | None:
    """argparse type for the filter frequencies: a number of Hz, or ``off``."""
    if text.strip().lower() in ("off", "none"):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a frequency in Hz or 'off', not {text!r}"
                                         ) from None


_DEFAULTS = {f.name: f.default for f in fields(TrainConfig)}  # the dataclass's own defaults


def _folds_or_auto(text: str) -> int | None:
    """``--parallel-folds``: a count >= 1, or ``auto`` (None)."""
    if text.strip().lower() == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of folds or 'auto', got {text!r}"
                                         ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1 (or 'auto'), got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface (defaults are :class:`TrainConfig`'s)."""
    d = _DEFAULTS
    p = argparse.ArgumentParser(
        prog="sicleer-train",
        description="Train SI-CLEER (hierarchical contrastive + cross-entropy loss) on a SEED "
                    "folder or on labelled EEG recordings, evaluate it under a standard "
                    "protocol, write report.json, report.md and figures, and optionally export "
                    "a model file for bci-app.",
        formatter_class=DefaultsFormatter)
    p.add_argument("--data", type=Path, nargs="+", required=True, metavar="PATH",
                   help="one SEED/, SEED_EEG/ or Preprocessed_EEG/ folder (or a sicleer-synth "
                        "folder); or recordings: files (" + " ".join(RECORDING_SUFFIXES)
                        + "), folders of them, BIDS dataset roots")
    p.add_argument("--out", type=Path, required=True,
                   help="output folder; re-running into it skips finished folds")
    p.add_argument("--protocol", choices=PROTOCOLS, default=d["protocol"],
                   help="subject-dependent: per session (SEED: trials 1-9 train, 10-15 test; "
                        "a recording: its first --train-fraction of trials by time train); "
                        "loso: leave one subject out; cross-session: per subject, leave one "
                        "session (recording) out")
    p.add_argument("--subjects", type=parse_int_list, default=None,
                   help="SEED: subjects to use, e.g. '1-5,9' (default: all)")
    p.add_argument("--sessions", type=parse_int_list, default=None,
                   help="SEED: sessions (1-3, in date order) to use (default: all)")
    rec = p.add_argument_group("recordings")
    rec.add_argument("--labels", default=d["labels"], metavar="MAP",
                     help="which annotations or markers are trials of which class, e.g. "
                          "'T1=fists,T2=feet' or '/^stim_neg/=negative,/^stim_pos/=positive' "
                          "(classes in this order); needed unless the recordings carry the "
                          "project's 'trial N start <label>' markers")
    rec.add_argument("--marker-stream", default=d["marker_stream"], metavar="NAME",
                     help="XDF: the marker stream to read trials from (default: the only one, "
                          "or the project's own)")
    rec.add_argument("--subject", default=d["subject"], metavar="ID",
                     help="the subject of every recording (default: BIDS sub-, the file's "
                          "metadata, else the name of the folder holding it)")
    rec.add_argument("--train-fraction", type=float, default=d["train_fraction"],
                     help="subject-dependent: the first this fraction of each recording's "
                          "trials (by time) train, the rest test")
    sig = p.add_argument_group("signal chain (the live app's, applied to every recording and "
                               "SEED trial)")
    sig.add_argument("--sfreq", type=float, default=d["sfreq"],
                     help="the model's rate in Hz; everything is resampled to it (default: the "
                          "first recording's; SEED: 200)")
    sig.add_argument("--no-filter", dest="filter", action="store_false",
                     help="train on the resampled signal without the causal filters")
    sig.add_argument("--l-freq", type=_hz_or_off, default=d["l_freq"],
                     help="band-pass low edge, Hz or off")
    sig.add_argument("--h-freq", type=_hz_or_off, default=d["h_freq"],
                     help="band-pass high edge, Hz or off; at or above 0.9 x Nyquist of the "
                          "model's rate it is lowered to that")
    sig.add_argument("--notch", type=_hz_or_off, default=d["notch"],
                     help="mains notch, Hz (50, 60) or off")
    sig.add_argument("--filter-order", type=int, default=d["filter_order"],
                     help="Butterworth order per band-pass edge")
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
    p.add_argument("--batch-size", type=int, default=d["batch_size"],
                   help="windows per optimizer step")
    p.add_argument("--lr", type=float, default=d["lr"], help="Adam learning rate")
    p.add_argument("--window-seconds", type=float, default=d["window_seconds"],
                   help="window length in seconds (the live app predicts on the same)")
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
    p.add_argument("--hidden-dims", type=int, default=d["hidden_dims"],
                   help="encoder width (default: 32 below 2000 training windows, else the "
                        "paper's 64)")
    p.add_argument("--output-dims", type=int, default=d["output_dims"],
                   help="representation width (default: 64 below 2000 training windows, "
                        "else the paper's 320)")
    p.add_argument("--device", choices=DEVICES, default=d["device"],
                   help="auto takes CUDA when present")
    p.add_argument("--precision", choices=PRECISIONS, default=d["precision"],
                   help="arithmetic of the network while training: fp32, bf16 (bfloat16 "
                        "autocast; the contrastive loss stays float32) or auto (bf16 on CUDA "
                        "and on CPUs with bfloat16 matrix units, Intel AMX; else fp32); "
                        "evaluation is always float32")
    p.add_argument("--seed", type=int, default=d["seed"],
                   help="random seed of weights, crops, masks and batches (runs repeat)")
    p.add_argument("--parallel-folds", type=_folds_or_auto, default=d["parallel_folds"],
                   metavar="K",
                   help="train up to K folds side by side in one process, as one stacked "
                        "network (each fold gets what it gets alone, to float tolerance); "
                        "auto: 1 on the CPU (measured slower there), as many as fit in "
                        "memory on a GPU (default: auto)")
    p.add_argument("--occlusion-windows", type=int, default=d["occlusion_windows"],
                   help="test windows per fold for channel importance (0 skips it)")
    p.add_argument("--baseline", choices=BASELINES, default=d["baseline"],
                   help="classical classifier fitted on the same windows of every fold and "
                        "printed beside SI-CLEER (csp-lda: common spatial patterns, 8-30 Hz, "
                        "+ shrinkage LDA)")
    p.add_argument("--export", type=Path, default=None,
                   help="after evaluation, train on all selected data and write a model file")
    pre = p.add_argument_group("starting from a pretrained model")
    pre.add_argument("--init", type=Path, metavar="MODEL",
                     help="start every fold from this model file: its channels (the data's "
                          "are mapped onto them as the live app maps a stream), rate, window "
                          "and filter chain; its head when the classes are its own, else a new "
                          "one. The report compares it as it is, fine-tuned and from scratch")
    pre.add_argument("--freeze-encoder", action="store_true",
                     help="with --init: train the classifier head only")
    pre.add_argument("--no-scratch", dest="scratch", action="store_false",
                     help="with --init: skip the from-scratch comparison (half the time; by "
                          "default it runs: %(default)s)")
    p.add_argument("--fresh", action="store_true", help="ignore finished folds in --out")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="only warnings and errors: no progress bars, no summary lines")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (the scheme of :mod:`models.exit_codes`)."""
    from models.exit_codes import ExitCode, Interrupted, on_stop_signals, raise_interrupted

    args = build_parser().parse_args(argv)
    from offline_training.progress import set_quiet

    quiet = vars(args).pop("quiet")
    from offline_training.distributed import World

    try:  # under torchrun, say which rank an error comes from
        world = World.from_env()
        prog = f"sicleer-train [{world.label}]" if world.distributed else "sicleer-train"
    except RuntimeError:
        prog = "sicleer-train"
    set_quiet(quiet)  # no phase lines and no bars, here and in the fold processes, with -q
    try:
        cfg = TrainConfig(**vars(args))
    except ValueError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    from models.metadata import ModelFileError
    from offline_training.dataset import check_data
    from offline_training.distributed import joined
    from offline_training.recordings import RecordingError
    from offline_training.run import run
    from offline_training.seed import SeedFormatError

    if cfg.init is not None:
        from offline_training.pretrained import Pretrained

        try:
            Pretrained.read(cfg.init)
        except ModelFileError as exc:
            print(f"{prog}: error: --init: {exc}", file=sys.stderr)
            return ExitCode.BAD_INPUT
    try:
        # SIGTERM and SIGHUP stop it like Ctrl-C; under torchrun, ranks join (see
        # offline_training.distributed) and rank 0 checks (and caches) the data first
        with on_stop_signals(raise_interrupted), joined(cfg.device, cfg.out) as ranks:
            ranks.rank0_first(lambda: check_data(cfg), "the data check")
            report = run(cfg, ranks)
    except KeyboardInterrupt as exc:
        print(f"{prog}: interrupted; finished folds are kept in "
              f"{cfg.out / 'folds'} and will be skipped next time", file=sys.stderr)
        return exc.exit_code if isinstance(exc, Interrupted) else ExitCode.INTERRUPTED
    except (SeedFormatError, RecordingError, FileNotFoundError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    except (ModelFileError, RuntimeError) as exc:  # a diverged export, a failed fold worker
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return ExitCode.FAILURE
    except ValueError as exc:  # options that do not fit the data or an earlier run
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except OSError as exc:
        print(f"{prog}: error: cannot write the outputs: {exc}", file=sys.stderr)
        return ExitCode.OUTPUT
    if report is None:  # under torchrun, a rank other than 0: rank 0 writes the report
        return ExitCode.OK
    s = report["summary"]
    if not quiet:
        from models.wording import count

        names = report["class_names"]
        print(f"\n{cfg.protocol}: classes {', '.join(names)}; chance (1/{len(names)}) "
              f"{100 / len(names):.2f} %")
        print(f"{cfg.protocol}: accuracy {100 * s['accuracy_mean']:.2f} +/- "
              f"{100 * s['accuracy_std']:.2f} % over {count(s['n_folds'], 'fold')}"
              + (" [SYNTHETIC DATA]" if report["data"]["synthetic"] else ""))
        for key, what in (("pretrained", f"--init {cfg.init.name if cfg.init else ''} as it is"),
                          ("scratch", "trained from scratch")):
            block = s.get(key)
            if block and "accuracy_mean" in block:
                print(f"{cfg.protocol}: {what} {100 * block['accuracy_mean']:.2f} +/- "
                      f"{100 * block['accuracy_std']:.2f} %")
            elif block:
                print(f"{cfg.protocol}: {what}: not applicable, {block['skipped']}")
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
