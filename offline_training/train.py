"""Training SI-CLEER on a pool of windows with the joint, CE-only or contrastive-only loss.

Training runs for a budget of optimizer steps: ``epochs`` passes over the training windows,
but never fewer than ``min_steps`` steps (small data sets get enough updates). With
``val_trials``, whole trials of each class are held out of the training windows; the network
is scored on them at the end of every epoch (accuracy, ties broken by the lower
cross-entropy), training stops after ``patience`` scores without improvement, and the weights
of the best score are kept (the step is reported). In the joint
loss the contrastive term is weighed by :class:`offline_training.balance.GradientBalance`.

The control flow of a phase (shuffling, budget, history, validation, early stopping) lives
in :func:`phase_schedule`, a generator that asks for one optimizer step at a time: here one
fold's steps run on its own network (:func:`_train_phase`); :mod:`offline_training.stacked`
runs several folds' steps side by side.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable, Generator
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

__all__ = ["EpochCallback", "History", "Phase", "StepResult", "contrastive_step", "fit",
           "geometry_stream", "phase_schedule", "predict", "run_schedule", "step_budget"]

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
                     rng: np.random.Generator,
                     geometry: np.random.Generator | None = None) -> torch.Tensor:
    """Hierarchical contrastive loss of two random overlapping crops of each window.

    Args:
        x: (batch, T, C) normalised windows.
        rng: draws each window's crop offset (and the geometry when ``geometry`` is None).
        geometry: draws where the two views start and end (see :func:`plan_crops`).

    Returns:
        Scalar float32 loss (the encoder passes follow the autocast around the call).
    """
    plan = plan_crops(x.shape[0], x.shape[1], rng, geometry=geometry)
    v1, v2 = take_crops(x, plan)
    z1 = net.encode(v1, mask=cfg.mask)
    z2 = net.encode(v2, mask=cfg.mask)
    o1, o2 = overlap_parts(z1, z2, plan)
    return hierarchical_contrastive_loss(o1, o2, alpha=cfg.alpha)  # float32 inside


def geometry_stream(seed: int) -> np.random.Generator:
    """The crop-geometry stream of a run (:func:`models.crops.plan_crops`): one per fit,
    seeded by the run's seed, so every fold of a run draws the same geometry at step ``s``."""
    return np.random.default_rng([seed, 0x9E0])


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


@dataclass
class StepResult:
    """What one optimizer step of a fold reports back to the fold's schedule.

    ``loss``, ``hcl``, ``ce``: the step's total loss and its parts (NaN for a part that was
    not computed); ``correct``: training windows of the batch classified right (None without
    logits).
    """

    loss: float
    hcl: float
    ce: float
    correct: int | None


@dataclass
class Phase:
    """One training phase of one fold: what it trains and where its curves go.

    ``mode``: joint, ce, contrastive or head (the classifier on the frozen encoder);
    ``epochs``: passes over the training windows (at least ``cfg.min_steps`` steps);
    ``val``: held-out trials (early stopping; ignored by ``contrastive``); ``epoch_offset``
    and ``step_offset``: where the phase's epochs and steps start in the fold's history.
    """

    mode: str
    epochs: int
    desc: str
    val: WindowPool | None = None
    epoch_offset: int = 0
    step_offset: int = 0


StepRequest = tuple[np.ndarray, np.ndarray, int]
"""(windows (batch, C, T) microvolts, labels (batch,), step index within the phase)."""
Schedule = Generator[StepRequest, StepResult, int]


def phase_schedule(net: SICLEER, pool: WindowPool, norm: Normalisation, cfg: TrainConfig,
                   device: torch.device, rng: np.random.Generator, phase: Phase,
                   history: History, bar: Any, on_epoch: EpochCallback | None = None,
                   label: str = "") -> Schedule:
    """The control flow of one phase of one fold, as a generator; the one home of it.

    It shuffles the windows (``rng``), skips what cannot train, counts the step budget,
    records the history, validates, stops early and keeps the best weights. It yields a
    :data:`StepRequest` for every optimizer step and must be sent the step's
    :class:`StepResult` once the step (forward, backward, update of ``net``) is done: alone
    by :func:`_train_phase`, side by side with other folds by
    :mod:`offline_training.stacked`. ``bar``: a progress bar updated once per step
    (``label`` prefixes its epoch figures).

    Returns (as the generator's value): the number of windows processed.
    """
    mode, val = phase.mode, phase.val
    budget = step_budget(len(pool), cfg, mode, phase.epochs)
    use_val = val is not None and len(val) > 0 and mode != "contrastive"
    best: tuple[tuple[float, float], dict | None, int] = ((-1.0, 0.0), None, phase.step_offset)
    stale = 0
    seen = step = epoch = 0
    while step < budget:
        sums = np.zeros(3)  # total, hcl, ce (window-weighted)
        correct = n = 0
        for _, xb, yb in pool.batches(cfg.batch_size, rng):
            if step >= budget:
                break
            if len(yb) < 2 and mode in ("joint", "contrastive"):
                continue  # a contrastive batch needs a partner; the remainder is skipped
            result = yield xb, yb, step
            step += 1
            b = len(yb)
            sums += b * np.array([result.loss, result.hcl, result.ce])
            if result.correct is not None:
                correct += result.correct
            n += b
            bar.update(1)
        if n == 0:
            break  # nothing trainable (e.g. a single window in a contrastive phase)
        seen += n
        epoch += 1
        means = sums / n
        acc = correct / n if mode != "contrastive" else float("nan")
        val_acc, val_loss = _validate(net, val, norm, device) if use_val else (np.nan, np.nan)
        history.add(phase.epoch_offset + epoch, phase.step_offset + step, float(means[0]),
                    float(means[1]), float(means[2]), acc, float(val_acc))
        if on_epoch is not None:
            on_epoch(net, phase.step_offset + step)
        post = {f"{label}loss": f"{means[0]:.3f}"}
        if not math.isnan(acc):
            post[f"{label}acc"] = f"{acc:.2f}"
        if use_val:
            post[f"{label}val"] = f"{val_acc:.2f}"
            score = (val_acc, -val_loss)  # accuracy first; the lower loss breaks ties
            if score > best[0]:
                best, stale = (score, copy.deepcopy(net.state_dict()),
                               phase.step_offset + step), 0
            else:
                stale += 1
                if stale >= cfg.patience:
                    break
        bar.set_postfix(post)
    if use_val and best[1] is not None:
        net.load_state_dict(best[1])
        history.best_step = best[2]
    else:
        history.best_step = phase.step_offset + step
    return seen


def run_schedule(schedule: Schedule, step: Callable[[np.ndarray, np.ndarray, int], StepResult],
                 ) -> int:
    """Drive one fold's :func:`phase_schedule` with ``step``; returns its windows seen."""
    try:
        request = next(schedule)
        while True:
            request = schedule.send(step(*request))
    except StopIteration as done:
        return int(done.value)


def phase_parameters(net: SICLEER, mode: str) -> list[torch.nn.Parameter]:
    """The parameters a phase trains: the head's in ``head`` mode, else all."""
    return list(net.head.parameters()) if mode == "head" else list(net.parameters())


def make_optimizer(params: list[torch.nn.Parameter], cfg: TrainConfig) -> torch.optim.AdamW:
    """The optimizer of one fold's phase."""
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def make_balance(net: SICLEER, cfg: TrainConfig) -> GradientBalance:
    """The joint loss's balance of one fold's phase."""
    return GradientBalance(net.encoder.parameters(), cfg.balance, cfg.balance_every,
                           cfg.lambda_ce)


def _train_phase(net: SICLEER, pool: WindowPool, norm: Normalisation, cfg: TrainConfig,
                 device: torch.device, rng: np.random.Generator, phase: Phase,
                 history: History, geometry: np.random.Generator,
                 on_epoch: EpochCallback | None = None) -> int:
    """Train one fold alone in ``phase.mode`` for the phase's step budget.

    Returns:
        The number of windows processed.
    """
    mode = phase.mode
    params = phase_parameters(net, mode)
    opt = make_optimizer(params, cfg)
    balance = make_balance(net, cfg)
    precision = resolve_precision(cfg.precision, device)

    def step(xb: np.ndarray, yb: np.ndarray, index: int) -> StepResult:
        net.train()
        if mode == "head":
            net.encoder.eval()
        x = network_input(xb, norm, device)
        y = torch.from_numpy(yb).to(device)
        with autocast(device, precision):
            hcl = contrastive_step(net, x, cfg, rng, geometry) \
                if mode in ("joint", "contrastive") else None
            logits = None
            if mode in ("joint", "ce"):
                logits = net(x)
            elif mode == "head":
                with torch.no_grad():
                    z = net.encode(x)
                logits = net.classify(z)
            ce = F.cross_entropy(logits.float(), y) if logits is not None else None
        opt.zero_grad(set_to_none=True)
        if mode == "joint" and balance.due(index):
            balance.probe_step(hcl, ce, params)  # sets the gradients of the weighted sum
            history.add_probe(phase.step_offset + index, balance.last_share, balance.weight,
                              balance.last_ratio)
            loss = (balance.weight * hcl + cfg.lambda_ce * ce).detach()
        else:
            loss = balance.weight * hcl + cfg.lambda_ce * ce if mode == "joint" \
                else (hcl if hcl is not None else ce)
            loss.backward()
        opt.step()
        return StepResult(loss.item(), hcl.item() if hcl is not None else np.nan,
                          ce.item() if ce is not None else np.nan,
                          int((logits.argmax(1) == y).sum()) if logits is not None else None)

    budget = step_budget(len(pool), cfg, mode, phase.epochs)
    bar = progress_bar(total=budget, desc=phase.desc, leave=False, unit="step",
                       dynamic_ncols=True)
    try:
        return run_schedule(phase_schedule(net, pool, norm, cfg, device, rng, phase, history,
                                           bar, on_epoch), step)
    finally:
        bar.close()


def phases(cfg: TrainConfig, desc: str, val: WindowPool | None,
           pretrained: bool) -> list[Phase]:
    """The training phases of a fold, in order (the step offsets of later phases are set
    when they start, from the history so far)."""
    if pretrained and cfg.freeze_encoder:
        return [Phase("head", cfg.epochs, f"{desc} head", val=val)]
    if cfg.loss == "contrastive":
        return [Phase("contrastive", cfg.epochs, f"{desc} encoder"),
                Phase("head", cfg.head_epochs, f"{desc} head", val=val)]
    return [Phase(cfg.loss, cfg.epochs, desc, val=val)]


def continue_phase(phase: Phase, history: History) -> Phase:
    """``phase`` starting where ``history`` ends (epochs and steps of earlier phases)."""
    if not history.epoch:
        return phase
    return dataclasses.replace(phase, epoch_offset=len(history.epoch),
                               step_offset=history.step[-1])


def new_network(pool: WindowPool, cfg: TrainConfig, n_classes: int,
                device: torch.device) -> SICLEER:
    """A freshly initialised network for ``pool`` (widths by :meth:`TrainConfig.encoder_dims`;
    draws from the global generator)."""
    hidden, output = cfg.encoder_dims(len(pool))
    return SICLEER(ModelConfig(n_channels=pool.shape[0], hidden_dims=hidden,
                               output_dims=output, repr_dropout=cfg.dropout,
                               n_classes=n_classes)).to(device)


def fit(pool: WindowPool, norm: Normalisation, cfg: TrainConfig, device: torch.device,
        seed: int, desc: str = "train", n_classes: int = 3,
        on_epoch: EpochCallback | None = None,
        init: SICLEER | None = None,
        geometry_seed: int | None = None) -> tuple[SICLEER, History, int]:
    """Train a fresh network on ``pool``, or go on training ``init`` (a pretrained network
    for ``n_classes`` classes, on ``device``; ``cfg.freeze_encoder``: its head only).

    With ``cfg.val_trials``, the last ``val_trials`` training trials of each class are held
    out (:meth:`WindowPool.split_trials`) to choose the step; the test trials are never seen.
    ``on_epoch(net, step)`` is called after every epoch (benchmarks measure curves with it).
    ``geometry_seed`` (default ``seed``) seeds the crop geometry (:func:`geometry_stream`):
    the folds of a run pass the run's seed.

    Returns:
        (network in eval mode, history, number of windows processed).
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    geometry = geometry_stream(seed if geometry_seed is None else geometry_seed)
    net = init.to(device) if init is not None else new_network(pool, cfg, n_classes, device)
    val = None
    if cfg.val_trials:
        pool, val = pool.split_trials(cfg.val_trials)
    history = History()
    seen = 0
    for phase in phases(cfg, desc, val, init is not None):
        phase = continue_phase(phase, history)
        seen += _train_phase(net, pool, norm, cfg, device, rng, phase, history, geometry,
                             on_epoch=on_epoch if phase.mode != "contrastive" else None)
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
