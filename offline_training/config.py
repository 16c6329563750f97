"""Training configuration: one typed place for every knob of ``sicleer-train``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from models.device import DEVICES, PRECISIONS
from models.metadata import BOUNDS
from models.preprocessing import FilterSpec

__all__ = ["BALANCES", "BASELINES", "DEVICES", "LOSSES", "PROTOCOLS", "SMALL_DATA_WINDOWS",
           "TrainConfig"]

PROTOCOLS = ("subject-dependent", "loso", "cross-session")
LOSSES = ("joint", "ce", "contrastive")
BALANCES = ("gradnorm", "none")
BASELINES = ("csp-lda", "none")
_FILTERS = FilterSpec()  # the one set of live filter defaults (models.preprocessing)
_RATES = BOUNDS["sfreq"]  # the model rates a model file may hold (Hz)
SMALL_DATA_WINDOWS = 2000
"""Below this many training windows the encoder defaults to :data:`SMALL_ENCODER`."""
SMALL_ENCODER = (32, 64)
"""(hidden, output) widths for small data: measured better than the paper's on 60-230
training windows of real EEG, and 3x faster (docs/RESULTS.md, "Learning")."""
PAPER_ENCODER = (64, 320)
"""The paper's (hidden, output) widths, the default from :data:`SMALL_DATA_WINDOWS` on."""


@dataclass
class TrainConfig:
    """Options of one training run (defaults follow the paper where it gives them).

    Attributes:
        data: what to train on (one path or several; kept as a tuple): one SEED folder
            (``SEED/``, ``SEED_EEG/`` or ``Preprocessed_EEG/``), or recordings: files, folders
            of recordings, BIDS roots (see :mod:`offline_training.sources`).
        out: output folder (report, figures, per-fold results, cache).
        protocol: subject-dependent (trials 1-9 train, 10-15 test, per session), loso
            (leave one subject out) or cross-session (train on two sessions, test on the third).
        subjects, sessions: restrict to these subject / session numbers (None: all).
        epochs: training epochs per fold (for ``contrastive``: encoder pre-training epochs).
        head_epochs: epochs of classifier training on the frozen encoder (``contrastive`` only).
        batch_size: windows per step.
        lr: Adam learning rate.
        window_seconds, stride_seconds: window length and hop (s); stride None = window.
        loss: joint (contrastive + lambda * CE), ce (classification only) or contrastive
            (encoder on the contrastive loss alone, then a classifier on the frozen encoder).
        lambda_ce: weight of the cross-entropy term in the joint loss (on top of the balance).
        balance: how the joint loss weighs its contrastive term. ``gradnorm``: every
            ``balance_every`` steps the contrastive term's weight is set so that its gradient
            on the encoder has the norm of the cross-entropy's (see
            :mod:`offline_training.balance`); ``none``: the paper's plain sum.
        balance_every: optimizer steps between two gradient probes (balance and the
            gradient-share curves).
        alpha: weight of the instance-wise term in the hierarchical loss.
        mask: timestamp masking during training.
        min_steps: at least this many optimizer steps per fold, however small the data
            (200: measured better than the 50 that 50 epochs give on 60 windows).
        val_trials: training trials per class held out to choose the step (early stopping on
            validation accuracy); 0 trains on every training trial for the full budget.
        patience: validations without improvement before training stops early.
        weight_decay: AdamW's decoupled weight decay.
        dropout: dropout on the encoder's representation during training.
        hidden_dims, output_dims: encoder widths; None takes :meth:`encoder_dims`'s choice
            by the size of the training data (32/64 below :data:`SMALL_DATA_WINDOWS`
            windows, else the paper's 64/320).
        baseline: classical classifier fitted on the same windows of every fold, printed
            beside SI-CLEER (``csp-lda``: common spatial patterns + shrinkage LDA).
        device: auto (CUDA when present), cpu or cuda.
        precision: arithmetic of the network's layers while training: fp32, bf16 (bfloat16
            autocast; the contrastive loss and the optimizer stay float32) or auto (bf16 on
            CUDA and on CPUs with bfloat16 matrix units, see
            :func:`models.device.resolve_precision`). Evaluation always runs in float32,
            as the live app does.
        seed: random seed (runs on CPU are deterministic for a seed).
        parallel_folds: folds trained side by side in one process, as one stacked network
            (:mod:`offline_training.stacked`; each fold as it trains alone, to float
            tolerance); None: by device (:func:`offline_training.stacked.parallel_folds`:
            1 on the CPU, as many as fit in memory on a GPU).
        export: write a model trained on all selected data here after evaluation.
        occlusion_windows: test windows per fold used for channel importance (0: skip).
        fresh: ignore finished folds in ``out`` and start over.
        labels: recordings: the label map, ``"T1=fists,T2=feet"``
            (:func:`offline_training.recordings.parse_label_map`); None: the recordings'
            ``trial N start <label>`` markers give the trials and classes.
        marker_stream: recordings (XDF): the name of the marker stream to use.
        subject: recordings: the subject of every recording, overriding what the files say.
        sfreq: the model's rate (Hz); None: the first recording's (SEED: 200 Hz).
        train_fraction: recordings, subject-dependent: the first this fraction of each
            recording's trials (by time) train, the rest test.
        filter: apply the live causal filter chain (``l_freq``, ``h_freq``, ``notch``,
            ``filter_order``) to every training and test recording.
        l_freq, h_freq: band-pass edges (Hz), None leaves that side open.
        notch: mains notch (Hz) or None.
        filter_order: Butterworth order per band-pass edge.
        init: start every fold from this model file (:mod:`offline_training.pretrained`): its
            channels, rate, window and filter chain; its head when the classes are its own.
        freeze_encoder: with ``init``, train the classifier head only.
        scratch: with ``init``, also train each fold from scratch (the report's comparison).
    """

    data: Path | Sequence[Path]
    out: Path
    protocol: str = "subject-dependent"
    subjects: list[int] | None = None
    sessions: list[int] | None = None
    epochs: int = 50
    head_epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    window_seconds: float = 1.0
    stride_seconds: float | None = None
    loss: str = "joint"
    lambda_ce: float = 1.0
    balance: str = "gradnorm"
    balance_every: int = 10
    alpha: float = 0.5
    mask: bool = True
    min_steps: int = 200
    val_trials: int = 0
    patience: int = 10
    weight_decay: float = 0.0
    dropout: float = 0.1
    hidden_dims: int | None = None
    output_dims: int | None = None
    device: str = "auto"
    precision: str = "auto"
    seed: int = 0
    parallel_folds: int | None = None
    export: Path | None = None
    occlusion_windows: int = 256
    fresh: bool = False
    baseline: str = "csp-lda"
    labels: str | None = None
    marker_stream: str | None = None
    subject: str | None = None
    sfreq: float | None = None
    train_fraction: float = 0.6
    filter: bool = True
    l_freq: float | None = _FILTERS.l_freq
    h_freq: float | None = _FILTERS.h_freq
    notch: float | None = _FILTERS.notch
    filter_order: int = _FILTERS.order
    init: Path | None = None
    freeze_encoder: bool = False
    scratch: bool = True

    def __post_init__(self) -> None:
        paths = [self.data] if isinstance(self.data, str | os.PathLike) else list(self.data)
        self.data = tuple(Path(p) for p in paths)
        self.out = Path(self.out)
        self.export = Path(self.export) if self.export is not None else None
        self.init = Path(self.init) if self.init is not None else None
        if self.labels is not None:
            from offline_training.recordings.labels import parse_label_map

            parse_label_map(self.labels)  # a ValueError quoting the entry at fault
        edges = [v for v in (self.l_freq, self.h_freq, self.notch) if v is not None]
        checks = [
            (len(self.data) >= 1, "data: give at least one path"),
            (0 < self.train_fraction < 1, "train_fraction must be in (0, 1)"),
            (self.sfreq is None or _RATES[0] <= self.sfreq <= _RATES[1],
             f"sfreq must be within {_RATES[0]:g}-{_RATES[1]:g} Hz (what a model file can "
             f"hold), got {self.sfreq}"),
            (all(v > 0 for v in edges), "l_freq, h_freq and notch must be > 0 Hz (or off)"),
            (self.l_freq is None or self.h_freq is None or self.l_freq < self.h_freq,
             f"l_freq ({self.l_freq} Hz) must be below h_freq ({self.h_freq} Hz)"),
            (self.filter_order >= 1, "filter_order must be >= 1"),
            (self.protocol in PROTOCOLS, f"protocol must be one of {PROTOCOLS}"),
            (self.loss in LOSSES, f"loss must be one of {LOSSES}"),
            (self.balance in BALANCES, f"balance must be one of {BALANCES}"),
            (self.baseline in BASELINES, f"baseline must be one of {BASELINES}"),
            (self.balance_every >= 1, "balance_every must be >= 1"),
            (all(v is None or v >= 1 for v in (self.hidden_dims, self.output_dims)),
             "hidden_dims and output_dims must be >= 1 (or None: by data size)"),
            (self.min_steps >= 0, "min_steps must be >= 0"),
            (self.val_trials >= 0, "val_trials must be >= 0"),
            (self.patience >= 1, "patience must be >= 1"),
            (self.weight_decay >= 0, "weight_decay must be >= 0"),
            (0 <= self.dropout < 1, "dropout must be in [0, 1)"),
            (self.device in DEVICES, f"device must be one of {DEVICES}"),
            (self.precision in PRECISIONS, f"precision must be one of {PRECISIONS}"),
            (self.epochs >= 1, "epochs must be >= 1"),
            (self.parallel_folds is None or self.parallel_folds >= 1,
             "parallel_folds must be >= 1 (or None: by device)"),
            (self.head_epochs >= 1, "head_epochs must be >= 1"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (self.lr > 0, "lr must be > 0"),
            (self.window_seconds > 0, "window_seconds must be > 0"),
            (self.stride_seconds is None or self.stride_seconds > 0, "stride_seconds must be > 0"),
            (self.lambda_ce >= 0, "lambda must be >= 0"),
            (0 <= self.alpha <= 1, "alpha must be in [0, 1]"),
            (self.occlusion_windows >= 0, "occlusion_windows must be >= 0"),
            (self.init is not None or not self.freeze_encoder,
             "--freeze-encoder needs --init MODEL (the encoder to keep)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def paths(self) -> tuple[Path, ...]:
        """``data`` as the tuple of paths it is stored as."""
        return tuple(self.data)  # type: ignore[arg-type]

    @property
    def filters(self) -> FilterSpec | None:
        """The causal filter chain asked for (None with ``filter=False``)."""
        if not self.filter:
            return None
        return FilterSpec(self.l_freq, self.h_freq, self.notch, self.filter_order)

    def encoder_dims(self, n_windows: int) -> tuple[int, int]:
        """(hidden, output) encoder widths for a training pool of ``n_windows`` windows: the
        ones given, else :data:`SMALL_ENCODER` below :data:`SMALL_DATA_WINDOWS` windows and
        :data:`PAPER_ENCODER` from there on."""
        auto = SMALL_ENCODER if n_windows < SMALL_DATA_WINDOWS else PAPER_ENCODER
        return (self.hidden_dims if self.hidden_dims is not None else auto[0],
                self.output_dims if self.output_dims is not None else auto[1])

    @property
    def stride(self) -> float:
        """Hop between windows in seconds."""
        return self.stride_seconds if self.stride_seconds is not None else self.window_seconds

    def fingerprint(self) -> dict[str, Any]:
        """The options that change a fold's result (used to decide if a fold can be reused)."""
        keys = ("protocol", "epochs", "head_epochs", "batch_size", "lr", "window_seconds",
                "loss", "lambda_ce", "balance", "balance_every", "alpha", "mask", "min_steps",
                "val_trials", "patience", "weight_decay", "dropout", "hidden_dims",
                "output_dims", "precision", "seed", "occlusion_windows", "baseline", "labels",
                "marker_stream", "subject", "sfreq", "train_fraction", "freeze_encoder",
                "scratch")
        filters = self.filters.to_dict() if self.filters is not None else None
        return ({k: getattr(self, k) for k in keys}
                | {"stride_seconds": self.stride, "filters": filters,
                   "init": _init_digest(self.init)})

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable view (paths as strings)."""
        d = asdict(self)
        for k in ("out", "export", "init"):
            d[k] = str(d[k]) if d[k] is not None else None
        d["data"] = [str(p) for p in self.paths]
        d["stride_seconds"] = self.stride
        return d


def _init_digest(path: Path | None) -> str | None:
    """What identifies an ``--init`` model in a fold's fingerprint: its stored digest (another
    file at the same path is another model), else its path when the header is unreadable."""
    if path is None:
        return None
    from models.metadata import DIGEST_KEY, ModelFileError, read_header

    try:
        return str(read_header(path).get(DIGEST_KEY) or path)
    except (ModelFileError, OSError):
        return str(path)
