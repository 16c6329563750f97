"""Training configuration: one typed place for every knob of ``sicleer-train``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from models.device import DEVICES

__all__ = ["BALANCES", "BASELINES", "DEVICES", "LOSSES", "PROTOCOLS", "TrainConfig"]

PROTOCOLS = ("subject-dependent", "loso", "cross-session")
LOSSES = ("joint", "ce", "contrastive")
BALANCES = ("gradnorm", "none")
BASELINES = ("csp-lda", "none")


@dataclass
class TrainConfig:
    """Options of one training run (defaults follow the paper where it gives them).

    Attributes:
        data: SEED folder (``SEED/``, ``SEED_EEG/`` or ``Preprocessed_EEG/``).
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
        min_steps: at least this many optimizer steps per fold, however small the data.
        val_trials: training trials per class held out to choose the step (early stopping on
            validation accuracy); 0 trains on every training trial for the full budget.
        patience: validations without improvement before training stops early.
        weight_decay: AdamW's decoupled weight decay.
        dropout: dropout on the encoder's representation during training.
        hidden_dims, output_dims: encoder widths.
        baseline: classical classifier fitted on the same windows of every fold, printed
            beside SI-CLEER (``csp-lda``: common spatial patterns + shrinkage LDA).
        device: auto (CUDA when present), cpu or cuda.
        seed: random seed (runs on CPU are deterministic for a seed).
        export: write a model trained on all selected data here after evaluation.
        occlusion_windows: test windows per fold used for channel importance (0: skip).
        fresh: ignore finished folds in ``out`` and start over.
    """

    data: Path
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
    balance: str = "none"  # gradnorm becomes the default once measured better (issue 9)
    balance_every: int = 10
    alpha: float = 0.5
    mask: bool = True
    min_steps: int = 0
    val_trials: int = 0
    patience: int = 10
    weight_decay: float = 0.0
    dropout: float = 0.1
    hidden_dims: int = 64
    output_dims: int = 320
    device: str = "auto"
    seed: int = 0
    export: Path | None = None
    occlusion_windows: int = 256
    fresh: bool = False
    baseline: str = "csp-lda"

    def __post_init__(self) -> None:
        self.data, self.out = Path(self.data), Path(self.out)
        self.export = Path(self.export) if self.export is not None else None
        checks = [
            (self.protocol in PROTOCOLS, f"protocol must be one of {PROTOCOLS}"),
            (self.loss in LOSSES, f"loss must be one of {LOSSES}"),
            (self.balance in BALANCES, f"balance must be one of {BALANCES}"),
            (self.baseline in BASELINES, f"baseline must be one of {BASELINES}"),
            (self.balance_every >= 1, "balance_every must be >= 1"),
            (self.min_steps >= 0, "min_steps must be >= 0"),
            (self.val_trials >= 0, "val_trials must be >= 0"),
            (self.patience >= 1, "patience must be >= 1"),
            (self.weight_decay >= 0, "weight_decay must be >= 0"),
            (0 <= self.dropout < 1, "dropout must be in [0, 1)"),
            (self.device in DEVICES, f"device must be one of {DEVICES}"),
            (self.epochs >= 1, "epochs must be >= 1"),
            (self.head_epochs >= 1, "head_epochs must be >= 1"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (self.lr > 0, "lr must be > 0"),
            (self.window_seconds > 0, "window_seconds must be > 0"),
            (self.stride_seconds is None or self.stride_seconds > 0, "stride_seconds must be > 0"),
            (self.lambda_ce >= 0, "lambda must be >= 0"),
            (0 <= self.alpha <= 1, "alpha must be in [0, 1]"),
            (self.occlusion_windows >= 0, "occlusion_windows must be >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def stride(self) -> float:
        """Hop between windows in seconds."""
        return self.stride_seconds if self.stride_seconds is not None else self.window_seconds

    def fingerprint(self) -> dict[str, Any]:
        """The options that change a fold's result (used to decide if a fold can be reused)."""
        keys = ("protocol", "epochs", "head_epochs", "batch_size", "lr", "window_seconds",
                "loss", "lambda_ce", "balance", "balance_every", "alpha", "mask", "min_steps",
                "val_trials", "patience", "weight_decay", "dropout", "hidden_dims",
                "output_dims", "seed", "occlusion_windows", "baseline")
        return {k: getattr(self, k) for k in keys} | {"stride_seconds": self.stride}

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable view (paths as strings)."""
        d = asdict(self)
        for k in ("data", "out", "export"):
            d[k] = str(d[k]) if d[k] is not None else None
        d["stride_seconds"] = self.stride
        return d
