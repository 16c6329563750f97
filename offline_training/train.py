"""Training SI-CLEER on a pool of windows with the joint, CE-only or contrastive-only loss.

Training runs for a budget of optimizer steps: ``epochs`` passes over the training windows,
but never fewer than ``min_steps`` steps (small data sets get enough updates). With
``val_trials``, whole trials of each class are held out of the training windows; the network
is scored on them at the end of every epoch (accuracy, ties broken by the lower
cross-entropy), training stops after ``patience`` scores without improvement, and the weights
of the best score are kept (the step is reported). In the joint
loss the contrastive term is weighed by :class:`offline_training.balance.GradientBalance`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from models.config import ModelConfig
from models.crops import overlap_parts, plan_crops, take_crops
from models.device import autocast, resolve_precision
from models.losses import hierarchical_contrastive_loss
from models.network import SICLEER, network_input
from models.preprocessing import Normalisation
from offline_training.balance import GradientBalance
from offline_training.config import TrainConfig
from offline_training.progress import bar as progress_bar
from offline_training.windows import WindowPool

__all__ = ["EpochCallback", "History", "contrastive_step", "fit", "predict", "step_budget"]

EpochCallback = Callable[[SICLEER, int], None]
"""Called after every training epoch with the network and the optimizer steps so far."""


@dataclass
class History:
    """What happened during training.

    Per epoch (lists of equal length): ``epoch``, ``step`` (optimizer steps done at its end),
    ``loss``, ``loss_contrastive``, ``loss_ce`` (window-weighted means, NaN for a part that was
    not computed), ``train_accuracy``, ``val_accuracy`` (NaN without validation).
    Per gradient probe: ``probe_step``, ``grad_share_contrastive`` (share of the contrastive
    term in the encoder's gradient norm, after weighting), ``contrastive_weight`` (the
    balance's weight of the contrastive term), ``grad_ratio`` (|g_HCL| / |g_CE| unweighted).
    ``best_step``: the step whose weights were kept (the last one without validation).
    """

    epoch: list[int] = field(default_factory=list)
    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    loss_contrastive: list[float] = field(default_factory=list)
    loss_ce: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    probe_step: list[int] = field(default_factory=list)
    grad_share_contrastive: list[float] = field(default_factory=list)
    contrastive_weight: list[float] = field(default_factory=list)
    grad_ratio: list[float] = field(default_factory=list)
    best_step: int = 0

    def add(self, epoch: int, step: int, total: float, hcl: float, ce: float, acc: float,
            val_acc: float = float("nan")) -> None:
        """Append one epoch's means (NaN for a part that was not computed)."""
        self.epoch.append(epoch)
        self.step.append(step)
        self.loss.append(total)
        self.loss_contrastive.append(hcl)
        self.loss_ce.append(ce)
        self.train_accuracy.append(acc)
        self.val_accuracy.append(val_acc)

    def add_probe(self, step: int, share: float, weight: float, ratio: float) -> None:
        """Append one gradient probe."""
        self.probe_step.append(step)
        self.grad_share_contrastive.append(share)
        self.contrastive_weight.append(weight)
        self.grad_ratio.append(ratio)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view (NaN becomes None)."""
        def clean(v: list[float]) -> list[float | None]:
            return [None if isinstance(x, float) and math.isnan(x) else x for x in v]
        out: dict[str, Any] = {"epoch": self.epoch, "step": self.step,
                               "probe_step": self.probe_step, "best_step": self.best_step}
        for key in ("loss", "loss_contrastive", "loss_ce", "train_accuracy", "val_accuracy",
                    "grad_share_contrastive", "contrastive_weight", "grad_ratio"):
            out[key] = clean(getattr(self, key))
        return out


def contrastive_step(net: SICLEER, x: torch.Tensor, cfg: TrainConfig,
                     rng: np.random.Generator) -> torch.Tensor:
    """Hierarchical contrastive loss of two random overlapping crops of each window.

    Args:
        x: (batch, T, C) normalised windows.

    Returns:
        Scalar float32 loss (the encoder passes follow the autocast around the call).
    """
    plan = plan_crops(x.shape[0], x.shape[1], rng)
    v1, v2 = take_crops(x, plan)
    z1 = net.encode(v1, mask=cfg.mask)
    z2 = net.encode(v2, mask=cfg.mask)
    o1, o2 = overlap_parts(z1, z2, plan)
    return hierarchical_contrastive_loss(o1, o2, alpha=cfg.alpha)  # float32 inside


def _steps_per_epoch(n_windows: int, batch_size: int, mode: str) -> int:
    """Optimizer steps in one pass (a lone last window is skipped by contrastive modes)."""
    full, rest = divmod(n_windows, batch_size)
    return full + (1 if rest >= (2 if mode in ("joint", "contrastive") else 1) else 0)


def step_budget(n_windows: int, cfg: TrainConfig, mode: str, epochs: int) -> int:
    """Optimizer steps of one training phase: ``epochs`` passes, at least ``min_steps``."""
    per_epoch = max(_steps_per_epoch(n_windows, cfg.batch_size, mode), 1)
    return max(epochs * per_epoch, cfg.min_steps)


@torch.inference_mode()
def _validate(net: SICLEER, pool: WindowPool, norm: Normalisation,
              device: torch.device) -> tuple[float, float]:
    """(accuracy, mean cross-entropy in nats) on held-out windows."""
    probs = predict(net, pool, norm, device)
    p_true = probs[np.arange(len(pool)), pool.y]
    return float((probs.argmax(1) == pool.y).mean()), float(-np.log(p_true + 1e-12).mean())


def _train_phase(net: SICLEER, pool: WindowPool, norm: Normalisation, cfg: TrainConfig,
                 device: torch.device, rng: np.random.Generator, epochs: int, mode: str,
                 history: History, desc: str, val: WindowPool | None = None,
                 epoch_offset: int = 0, step_offset: int = 0,
                 on_epoch: EpochCallback | None = None) -> int:
    """Train in ``mode`` (joint, ce, contrastive, head) for the phase's step budget.

    Returns:
        The number of windows processed.
    """
    params = list(net.head.parameters()) if mode == "head" else list(net.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    balance = GradientBalance(net.encoder.parameters(), cfg.balance, cfg.balance_every,
                              cfg.lambda_ce)
    budget = step_budget(len(pool), cfg, mode, epochs)
    use_val = val is not None and len(val) > 0 and mode != "contrastive"
    best: tuple[tuple[float, float], dict | None, int] = ((-1.0, 0.0), None, step_offset)
    stale = 0
    seen = step = epoch = 0
    precision = resolve_precision(cfg.precision, device)
    bar = progress_bar(total=budget, desc=desc, leave=False, unit="step", dynamic_ncols=True)
    while step < budget:
        net.train()
        if mode == "head":
            net.encoder.eval()
        sums = np.zeros(3)  # total, hcl, ce (window-weighted)
        correct = n = 0
        for _, xb, yb in pool.batches(cfg.batch_size, rng):
            if step >= budget:
                break
            if len(yb) < 2 and mode in ("joint", "contrastive"):
                continue  # a contrastive batch needs a partner; the remainder is skipped
            x = network_input(xb, norm, device)
            y = torch.from_numpy(yb).to(device)
            with autocast(device, precision):
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
            opt.zero_grad(set_to_none=True)
            if mode == "joint" and balance.due(step):
                balance.probe_step(hcl, ce, params)  # sets the gradients of the weighted sum
                history.add_probe(step_offset + step, balance.last_share, balance.weight,
                                  balance.last_ratio)
                loss = (balance.weight * hcl + cfg.lambda_ce * ce).detach()
            else:
                loss = balance.weight * hcl + cfg.lambda_ce * ce if mode == "joint" \
                    else (hcl if hcl is not None else ce)
                loss.backward()
            opt.step()
            step += 1
            b = len(yb)
            sums += b * np.array([loss.item(), hcl.item() if hcl is not None else np.nan,
                                  ce.item() if ce is not None else np.nan])
            if logits is not None:
                correct += int((logits.argmax(1) == y).sum())
            n += b
            bar.update(1)
        if n == 0:
            break  # nothing trainable (e.g. a single window in a contrastive phase)
        seen += n
        epoch += 1
        means = sums / n
        acc = correct / n if mode != "contrastive" else float("nan")
        val_acc, val_loss = _validate(net, val, norm, device) if use_val else (np.nan, np.nan)
        history.add(epoch_offset + epoch, step_offset + step, float(means[0]),
                    float(means[1]), float(means[2]), acc, float(val_acc))
        if on_epoch is not None:
            on_epoch(net, step_offset + step)
        post = {"loss": f"{means[0]:.3f}"}
        if not math.isnan(acc):
            post["acc"] = f"{acc:.2f}"
        if use_val:
            post["val"] = f"{val_acc:.2f}"
            score = (val_acc, -val_loss)  # accuracy first; the lower loss breaks ties
            if score > best[0]:
                best, stale = (score, copy.deepcopy(net.state_dict()), step_offset + step), 0
            else:
                stale += 1
                if stale >= cfg.patience:
                    break
        bar.set_postfix(post)
    bar.close()
    if use_val and best[1] is not None:
        net.load_state_dict(best[1])
        history.best_step = best[2]
    else:
        history.best_step = step_offset + step
    return seen


def fit(pool: WindowPool, norm: Normalisation, cfg: TrainConfig, device: torch.device,
        seed: int, desc: str = "train", n_classes: int = 3,
        on_epoch: EpochCallback | None = None,
        init: SICLEER | None = None) -> tuple[SICLEER, History, int]:
    """Train a fresh network on ``pool``, or go on training ``init`` (a pretrained network
    for ``n_classes`` classes, on ``device``; ``cfg.freeze_encoder``: its head only).

    With ``cfg.val_trials``, the last ``val_trials`` training trials of each class are held
    out (:meth:`WindowPool.split_trials`) to choose the step; the test trials are never seen.
    ``on_epoch(net, step)`` is called after every epoch (benchmarks measure curves with it).

    Returns:
        (network in eval mode, history, number of windows processed).
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    n_ch = pool.shape[0]
    if init is not None:
        net = init.to(device)
    else:
        hidden, output = cfg.encoder_dims(len(pool))
        net = SICLEER(ModelConfig(n_channels=n_ch, hidden_dims=hidden,
                                  output_dims=output, repr_dropout=cfg.dropout,
                                  n_classes=n_classes)).to(device)
    val = None
    if cfg.val_trials:
        pool, val = pool.split_trials(cfg.val_trials)
    history = History()
    if init is not None and cfg.freeze_encoder:
        seen = _train_phase(net, pool, norm, cfg, device, rng, cfg.epochs, "head", history,
                            f"{desc} head", val=val, on_epoch=on_epoch)
    elif cfg.loss == "contrastive":
        seen = _train_phase(net, pool, norm, cfg, device, rng, cfg.epochs, "contrastive",
                            history, f"{desc} encoder")
        steps = history.step[-1] if history.step else 0
        seen += _train_phase(net, pool, norm, cfg, device, rng, cfg.head_epochs, "head",
                             history, f"{desc} head", val=val,
                             epoch_offset=len(history.epoch), step_offset=steps,
                             on_epoch=on_epoch)
    else:
        seen = _train_phase(net, pool, norm, cfg, device, rng, cfg.epochs, cfg.loss, history,
                            desc, val=val, on_epoch=on_epoch)
    return net.eval(), history, seen


@torch.inference_mode()
def predict(net: SICLEER, pool: WindowPool, norm: Normalisation, device: torch.device,
            batch_size: int = 256, occlude: int | None = None) -> np.ndarray:
    """Class probabilities of every window of ``pool``: (n_windows, n_classes).

    ``occlude``: index of a channel replaced by its training mean (0 after normalisation).
    """
    was_training = net.training
    net.eval()
    out = []
    for _, xb, _ in pool.batches(batch_size):
        x = network_input(xb, norm, device)
        if occlude is not None:
            x[:, :, occlude] = 0
        logits = net(x)  # float32, as in the live app
        out.append(torch.softmax(logits.float(), -1).cpu().numpy())
    net.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, net.cfg.n_classes), np.float32)
