"""Training SI-CLEER on a pool of windows with the joint, CE-only or contrastive-only loss."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from models.config import ModelConfig
from models.crops import overlap_parts, plan_crops, take_crops
from models.losses import hierarchical_contrastive_loss
from models.network import SICLEER, network_input
from models.preprocessing import Normalisation
from offline_training.config import TrainConfig
from offline_training.windows import WindowPool


@dataclass
class History:
    """Per-epoch means of the loss parts and the training accuracy."""

    epoch: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    loss_contrastive: list[float] = field(default_factory=list)
    loss_ce: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)

    def add(self, epoch: int, total: float, hcl: float, ce: float, acc: float) -> None:
        """Append one epoch's means (NaN for a part that was not computed)."""
        self.epoch.append(epoch)
        self.loss.append(total)
        self.loss_contrastive.append(hcl)
        self.loss_ce.append(ce)
        self.train_accuracy.append(acc)

    def to_dict(self) -> dict[str, list[float]]:
        """JSON-friendly view (NaN becomes None)."""
        def clean(v: list[float]) -> list[float | None]:
            return [None if isinstance(x, float) and math.isnan(x) else x for x in v]
        return {"epoch": self.epoch, "loss": clean(self.loss),
                "loss_contrastive": clean(self.loss_contrastive),
                "loss_ce": clean(self.loss_ce), "train_accuracy": clean(self.train_accuracy)}


def _autocast(device: torch.device) -> contextlib.AbstractContextManager:
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def contrastive_step(net: SICLEER, x: torch.Tensor, cfg: TrainConfig,
                     rng: np.random.Generator) -> torch.Tensor:
    """Hierarchical contrastive loss of two random overlapping crops of each window.

    Args:
        x: (batch, T, C) normalised windows.
    """
    plan = plan_crops(x.shape[0], x.shape[1], rng)
    v1, v2 = take_crops(x, plan)
    z1 = net.encode(v1, mask=cfg.mask)
    z2 = net.encode(v2, mask=cfg.mask)
    o1, o2 = overlap_parts(z1, z2, plan)
    return hierarchical_contrastive_loss(o1.float(), o2.float(), alpha=cfg.alpha)


def _run_epochs(net: SICLEER, pool: WindowPool, norm: Normalisation, cfg: TrainConfig,
                device: torch.device, rng: np.random.Generator, epochs: int, mode: str,
                history: History, desc: str, epoch_offset: int = 0,
                on_epoch: Callable[[int], None] | None = None) -> int:
    """Train for ``epochs`` in ``mode`` (joint, ce, contrastive, head); returns windows seen."""
    params = net.head.parameters() if mode == "head" else net.parameters()
    opt = torch.optim.Adam(params, lr=cfg.lr)
    seen = 0
    bar = tqdm(range(epochs), desc=desc, leave=False, unit="epoch", dynamic_ncols=True)
    for epoch in bar:
        net.train()
        if mode == "head":
            net.encoder.eval()
        sums = np.zeros(3)  # total, hcl, ce (window-weighted)
        correct = n = 0
        for _, xb, yb in pool.batches(cfg.batch_size, rng):
            if len(yb) < 2 and mode in ("joint", "contrastive"):
                continue  # a contrastive batch needs a partner; the remainder is skipped
            x = network_input(xb, norm, device)
            y = torch.from_numpy(yb).to(device)
            with _autocast(device):
                hcl = contrastive_step(net, x, cfg, rng) if mode in ("joint", "contrastive") \
                    else None
                logits = None
                if mode in ("joint", "ce"):
                    logits = net(x)
                elif mode == "head":
                    with torch.no_grad():
                        z = net.encode(x)
                    logits = net.classify(z)
                ce = F.cross_entropy(logits.float(), y) if logits is not None else None
            loss = (hcl if hcl is not None else 0) + (
                (cfg.lambda_ce if mode == "joint" else 1.0) * ce if ce is not None else 0)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            b = len(yb)
            sums += b * np.array([loss.item(), hcl.item() if hcl is not None else np.nan,
                                  ce.item() if ce is not None else np.nan])
            if logits is not None:
                correct += int((logits.argmax(1) == y).sum())
            n += b
        seen += n
        means = sums / max(n, 1)
        acc = correct / n if (n and mode != "contrastive") else float("nan")
        history.add(epoch_offset + epoch + 1, float(means[0]), float(means[1]),
                    float(means[2]), acc)
        post = {"loss": f"{means[0]:.3f}"}
        if not math.isnan(means[1]):
            post["hcl"] = f"{means[1]:.3f}"
        if not math.isnan(means[2]):
            post["ce"] = f"{means[2]:.3f}"
        if not math.isnan(acc):
            post["acc"] = f"{acc:.2f}"
        bar.set_postfix(post)
        if on_epoch is not None:
            on_epoch(epoch_offset + epoch + 1)
    return seen


def fit(pool: WindowPool, norm: Normalisation, cfg: TrainConfig, device: torch.device,
        seed: int, desc: str = "train") -> tuple[SICLEER, History, int]:
    """Train a fresh network on ``pool``.

    Returns:
        (network in eval mode, per-epoch history, number of windows processed).
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    n_ch = pool.shape[0]
    net = SICLEER(ModelConfig(n_channels=n_ch, hidden_dims=cfg.hidden_dims,
                              output_dims=cfg.output_dims)).to(device)
    history = History()
    if cfg.loss == "contrastive":
        seen = _run_epochs(net, pool, norm, cfg, device, rng, cfg.epochs, "contrastive",
                           history, f"{desc} encoder")
        seen += _run_epochs(net, pool, norm, cfg, device, rng, cfg.head_epochs, "head",
                            history, f"{desc} head", epoch_offset=cfg.epochs)
    else:
        seen = _run_epochs(net, pool, norm, cfg, device, rng, cfg.epochs, cfg.loss, history,
                           desc)
    return net.eval(), history, seen


@torch.inference_mode()
def predict(net: SICLEER, pool: WindowPool, norm: Normalisation, device: torch.device,
            batch_size: int = 256, occlude: int | None = None) -> np.ndarray:
    """Class probabilities of every window of ``pool``: (n_windows, n_classes).

    ``occlude``: index of a channel replaced by its training mean (0 after normalisation).
    """
    net.eval()
    out = []
    for _, xb, _ in pool.batches(batch_size):
        x = network_input(xb, norm, device)
        if occlude is not None:
            x[:, :, occlude] = 0
        with _autocast(device):
            logits = net(x)
        out.append(torch.softmax(logits.float(), -1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, net.cfg.n_classes), np.float32)
