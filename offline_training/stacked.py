"""Several folds trained side by side as one stacked network (``--parallel-folds``).

The folds of a protocol are independent networks of one shape. Here K of them train at
once. At every step each fold takes its own batch, crop offsets, timestamp masks and
dropout noise, drawn from its own generators in the order that training alone draws them
(:func:`models.encoder.draw_noise`); the folds' weights are stacked along a new first
dimension and one vectorised pass (``torch.func.vmap`` over ``functional_call``; the
convolutions run as grouped convolutions) computes every fold's loss. The backward pass
gives each fold the gradients of its own loss, and each fold's AdamW and loss balance then
step exactly as they do alone. The control flow (epochs, step budget, history, validation,
early stopping, best weights) is the one of training alone,
:func:`offline_training.train.phase_schedule`, one per fold; a fold that has used its budget
or stopped early drops out of the stack, with its best weights, while the others go on.
Folds of different sizes have their smaller last batch at different steps: at such a step
the folds are stacked by batch size, one pass per size.

What the folds share is the crop geometry of each step (where the two views start and
end), drawn from the run's seed (:func:`offline_training.train.geometry_stream`), as every
fold trained alone draws it too. With the same seeds, each fold ends with the weights it
gets alone, to float tolerance on the CPU (grouped and single convolutions add in another
order; ``tests/offline_training/test_stacked.py``). On a GPU the folds draw their masks and
dropout from their own CUDA generators, not the global one: the same distribution, other
values than training alone.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call, vmap
from torch.utils._pytree import tree_map

from models.crops import CropPlan, crop_views, overlap_parts, plan_crops, take_crops
from models.device import autocast, resolve_precision
from models.encoder import EncoderNoise, draw_noise
from models.losses import hierarchical_contrastive_loss
from models.network import SICLEER, network_input
from models.preprocessing import Normalisation
from offline_training.balance import GradientBalance
from offline_training.config import SMALL_DATA_WINDOWS, TrainConfig
from offline_training.progress import bar as progress_bar
from offline_training.train import (
    History,
    Phase,
    Schedule,
    StepRequest,
    StepResult,
    continue_phase,
    geometry_stream,
    make_balance,
    make_optimizer,
    new_network,
    phase_parameters,
    phase_schedule,
    phases,
    step_budget,
)
from offline_training.windows import SessionWindows, WindowPool

__all__ = ["fit_stacked", "fold_step_bytes", "folds_that_fit", "parallel_folds"]

_CROP_MODES = ("joint", "contrastive")


@dataclass
class _Fold:
    """One fold's network, data, generators and the state of its current phase."""

    net: SICLEER
    pool: WindowPool
    norm: Normalisation
    rng: np.random.Generator
    gen: torch.Generator
    val: WindowPool | None
    phases: list[Phase]
    history: History = field(default_factory=History)
    seen: int = 0
    schedule: Schedule | None = None
    request: StepRequest | None = None
    params: list[torch.nn.Parameter] = field(default_factory=list)
    opt: torch.optim.Optimizer | None = None
    balance: GradientBalance | None = None
    phase: Phase | None = None

    def advance(self, result: StepResult | None) -> None:
        """Send the last step's result to the schedule (None: start it); keep its next
        request, or None once the phase is over."""
        assert self.schedule is not None
        try:
            self.request = (next(self.schedule) if result is None
                            else self.schedule.send(result))
        except StopIteration as done:
            self.seen += int(done.value)
            self.request = None


def fit_stacked(pools: Sequence[WindowPool], norms: Sequence[Normalisation],
                cfg: TrainConfig, device: torch.device, seeds: Sequence[int],
                descs: Sequence[str] | None = None, n_classes: int = 3,
                inits: Sequence[SICLEER | None] | None = None,
                geometry_seed: int | None = None) -> list[tuple[SICLEER, History, int]]:
    """Train one network per pool, side by side; each as :func:`offline_training.train.fit`
    trains it alone with the same arguments (``pools[k]``, ``norms[k]``, ``seeds[k]``,
    ``inits[k]``, ``geometry_seed``).

    Raises:
        ValueError: the folds' networks differ in shape (channels, widths, classes), their
            windows in length, or some start from a pretrained network and others do not.

    Returns:
        Per fold: (network in eval mode, history, number of windows processed).
    """
    k = len(pools)
    if not (len(norms) == len(seeds) == k) or k == 0:
        raise ValueError(f"fit_stacked needs one normalisation and seed per pool: {k} pools, "
                         f"{len(norms)} normalisations, {len(seeds)} seeds")
    descs = list(descs) if descs is not None else [f"fold {i + 1}" for i in range(k)]
    inits = list(inits) if inits is not None else [None] * k
    if len({init is None for init in inits}) > 1:
        raise ValueError("fit_stacked: either every fold starts from a pretrained network "
                         "or none does")
    folds = []
    for i in range(k):
        torch.manual_seed(seeds[i])
        rng = np.random.default_rng(seeds[i])
        init = inits[i]
        net = init.to(device) if init is not None else new_network(pools[i], cfg, n_classes,
                                                                    device)
        gen = torch.Generator(device=device)
        if device.type == "cpu":
            gen.set_state(torch.get_rng_state())  # where training alone goes on drawing
        else:
            gen.manual_seed(seeds[i])
        pool, val = pools[i], None
        if cfg.val_trials:
            pool, val = pool.split_trials(cfg.val_trials)
        folds.append(_Fold(net, pool, norms[i], rng, gen, val,
                           phases(cfg, descs[i], val, init is not None)))
    shapes = {(f.net.cfg, f.pool.shape) for f in folds}
    if len(shapes) > 1:
        raise ValueError("fit_stacked: the folds' networks or windows differ in shape: "
                         + "; ".join(f"{c.n_channels} channels, {c.hidden_dims}/{c.output_dims}"
                                     f" wide, {c.n_classes} classes, {s[1]}-sample windows"
                                     for c, s in sorted(shapes, key=str)))
    geometry = geometry_stream(seeds[0] if geometry_seed is None else geometry_seed)
    base = copy.deepcopy(folds[0].net)  # the module whose weights the stacked pass swaps
    for index in range(len(folds[0].phases)):
        _stacked_phase(folds, index, base, cfg, device, geometry)
    return [(f.net.eval(), f.history, f.seen) for f in folds]


def _stacked_phase(folds: list[_Fold], index: int, base: SICLEER, cfg: TrainConfig,
                   device: torch.device, geometry: np.random.Generator) -> None:
    """Phase ``index`` of every fold, all folds at one step at a time."""
    mode = folds[0].phases[index].mode
    budget = 0
    for f in folds:
        f.phase = continue_phase(f.phases[index], f.history)
        f.params = phase_parameters(f.net, mode)
        f.opt = make_optimizer(f.params, cfg)
        f.balance = make_balance(f.net, cfg)
        budget += step_budget(len(f.pool), cfg, mode, f.phase.epochs)
    precision = resolve_precision(cfg.precision, device)
    what = {"head": "head", "contrastive": "encoder"}.get(mode, "train")
    bar = progress_bar(total=budget, desc=f"{len(folds)} folds side by side ({what})",
                       leave=False, unit="step", dynamic_ncols=True)
    try:
        for f in folds:
            f.schedule = phase_schedule(f.net, f.pool, f.norm, cfg, device, f.rng, f.phase,
                                        f.history, bar, label=f"{f.phase.desc} ")
            f.advance(None)
        active = [f for f in folds if f.request is not None]
        while active:
            results = _step(active, mode, base, cfg, device, geometry, precision)
            for f, result in zip(active, results, strict=True):
                f.advance(result)
            active = [f for f in active if f.request is not None]
    finally:
        bar.close()


def _step(active: list[_Fold], mode: str, base: SICLEER, cfg: TrainConfig,
          device: torch.device, geometry: np.random.Generator,
          precision: str) -> list[StepResult]:
    """One optimizer step of every active fold (all at the same step of their phase)."""
    steps = {f.request[2] for f in active}  # type: ignore[index]
    assert len(steps) == 1, f"stacked folds out of step: {steps}"
    step = steps.pop()
    length = active[0].pool.shape[1]
    views = crop_views(length, geometry) if mode in _CROP_MODES else None
    by_size: dict[int, list[int]] = {}
    for i, f in enumerate(active):
        by_size.setdefault(len(f.request[1]), []).append(i)  # type: ignore[index]
    hcl: list[torch.Tensor | None] = [None] * len(active)
    ce: list[torch.Tensor | None] = [None] * len(active)
    logits: list[torch.Tensor | None] = [None] * len(active)
    labels: list[torch.Tensor] = [torch.empty(0)] * len(active)
    for members in by_size.values():
        group = [active[i] for i in members]
        inputs, ys = _draws(group, mode, cfg, device, views)
        with autocast(device, precision):
            h, c, lg = _stacked_losses(group, mode, base, cfg, inputs, ys, views)
        for j, i in enumerate(members):
            hcl[i] = h[j] if h is not None else None
            ce[i] = c[j] if c is not None else None
            logits[i] = lg[j] if lg is not None else None
            labels[i] = ys[j]
    for f in active:
        f.opt.zero_grad(set_to_none=True)  # type: ignore[union-attr]
    weights = [f.balance.weight for f in active]  # type: ignore[union-attr]
    probe = mode == "joint" and active[0].balance.due(step)  # type: ignore[union-attr]
    if probe:
        _probe(active, hcl, ce)  # sets every fold's gradients; updates the weights
        weights = [f.balance.weight for f in active]  # type: ignore[union-attr]
    totals = []
    for i in range(len(active)):
        if mode == "joint":
            totals.append(weights[i] * hcl[i] + cfg.lambda_ce * ce[i])  # type: ignore[operator]
        else:
            totals.append(hcl[i] if hcl[i] is not None else ce[i])
    if not probe:
        torch.stack(totals).sum().backward()
    for f in active:
        f.opt.step()  # type: ignore[union-attr]
        if probe:
            b = f.balance
            f.history.add_probe(f.phase.step_offset + step, b.last_share, b.weight,  # type: ignore[union-attr]
                                b.last_ratio)
    return _results(totals, hcl, ce, logits, labels)


def _draws(group: list[_Fold], mode: str, cfg: TrainConfig, device: torch.device,
           views: tuple[int, int, int, int] | None) -> tuple[dict[str, Any], torch.Tensor]:
    """Every random draw and input of one step for folds of one batch size, stacked.

    Returns:
        (inputs for :func:`_stacked_losses`, labels (folds, batch)).
    """
    xs, v1s, v2s, noise = [], [], [], {"n1": [], "n2": [], "n3": []}
    for f in group:
        xb, yb, _ = f.request  # type: ignore[misc]
        x = network_input(xb, f.norm, device)
        xs.append(x)
        model = f.net.cfg
        if views is not None:
            plan = plan_crops(x.shape[0], x.shape[1], f.rng, views=views)
            v1, v2 = take_crops(x, plan)
            v1s.append(v1)
            v2s.append(v2)
            noise["n1"].append(draw_noise(model, len(yb), v1.shape[1], cfg.mask, f.gen, device))
            noise["n2"].append(draw_noise(model, len(yb), v2.shape[1], cfg.mask, f.gen, device))
        if mode in ("joint", "ce"):  # the classification pass: dropout only
            noise["n3"].append(draw_noise(model, len(yb), x.shape[1], False, f.gen, device))
    ys = torch.stack([torch.from_numpy(f.request[1]) for f in group]).to(device)  # type: ignore[index]
    inputs: dict[str, Any] = {"x": torch.stack(xs)}
    if views is not None:
        inputs["v1"], inputs["v2"] = torch.stack(v1s), torch.stack(v2s)
    for key, items in noise.items():
        if items:
            inputs[key] = (_stack([n.keep for n in items]), _stack([n.drop for n in items]))
    return inputs, ys


def _stack(items: list[torch.Tensor | None]) -> torch.Tensor | None:
    return None if items[0] is None else torch.stack(items)  # type: ignore[arg-type]


def _stacked_losses(group: list[_Fold], mode: str, base: SICLEER, cfg: TrainConfig,
                    inputs: dict[str, Any], ys: torch.Tensor,
                    views: tuple[int, int, int, int] | None,
                    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """The folds' losses in one vectorised pass over their stacked weights.

    Returns:
        (contrastive losses (folds,) or None, cross-entropies (folds,) or None,
        logits (folds, batch, classes) or None).
    """
    names = [n for n, _ in base.named_parameters()]
    trained = {id(p) for f in group for p in f.params}
    stacked = {}
    for name in names:
        ps = [f.net.get_parameter(name) for f in group]
        stacked[name] = torch.stack(ps) if id(ps[0]) in trained else torch.stack(ps).detach()
    enc_keys = [n for n in names if n.startswith("encoder.")]
    head_keys = [n for n in names if n.startswith("head.")]
    shared = CropPlan(*views, offsets=np.zeros(0, np.int64)) if views is not None else None

    def encode(params: dict[str, torch.Tensor], x: torch.Tensor,
               noise: tuple[torch.Tensor | None, torch.Tensor | None]) -> torch.Tensor:
        enc = {n[len("encoder."):]: params[n] for n in enc_keys}
        return functional_call(base.encoder, enc, (x,), {"noise": EncoderNoise(*noise)})

    def classify(params: dict[str, torch.Tensor], z: torch.Tensor) -> torch.Tensor:
        head = {n[len("head."):]: params[n] for n in head_keys}
        return functional_call(base.head, head, (z,))

    def one(params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor,
            v1: torch.Tensor | None, v2: torch.Tensor | None, n1: Any, n2: Any,
            n3: Any) -> tuple[torch.Tensor, ...]:
        out = []
        if shared is not None:
            z1, z2 = encode(params, v1, n1), encode(params, v2, n2)
            o1, o2 = overlap_parts(z1, z2, shared)  # type: ignore[arg-type]
            out.append(hierarchical_contrastive_loss(o1, o2, alpha=cfg.alpha))
        if mode in ("joint", "ce"):
            lg = classify(params, encode(params, x, n3))
        elif mode == "head":
            with torch.no_grad():  # as alone: the frozen encoder without noise, no graph
                z = encode(params, x, (None, None))
            lg = classify(params, z)
        else:
            return tuple(out)
        out += [F.cross_entropy(lg.float(), y), lg]
        return tuple(out)

    args = (stacked, inputs["x"], ys, inputs.get("v1"), inputs.get("v2"), inputs.get("n1"),
            inputs.get("n2"), inputs.get("n3"))
    dims = tree_map(lambda a: 0 if isinstance(a, torch.Tensor) else None, args)
    out = vmap(one, in_dims=dims)(*args)
    hcl = out[0] if views is not None else None
    rest = out[1:] if views is not None else out
    return hcl, (rest[0] if rest else None), (rest[1] if rest else None)


def _probe(active: list[_Fold], hcl: list[torch.Tensor | None],
           ce: list[torch.Tensor | None]) -> None:
    """The joint loss's gradient probe for every fold at once: one backward pass per term
    over all folds (a fold's loss reaches only its own weights), then each fold's balance
    weighs its own two gradients (:meth:`GradientBalance.set_gradients`)."""
    params = [p for f in active for p in f.params]
    g_h = torch.autograd.grad(torch.stack(hcl).sum(), params, retain_graph=True,  # type: ignore[arg-type]
                              allow_unused=True)
    g_c = torch.autograd.grad(torch.stack(ce).sum(), params, allow_unused=True)  # type: ignore[arg-type]
    start = 0
    for f in active:
        stop = start + len(f.params)
        f.balance.set_gradients(g_h[start:stop], g_c[start:stop], f.params)  # type: ignore[union-attr]
        start = stop


def _results(totals: list[torch.Tensor], hcl: list[torch.Tensor | None],
             ce: list[torch.Tensor | None], logits: list[torch.Tensor | None],
             labels: list[torch.Tensor]) -> list[StepResult]:
    """Every fold's :class:`StepResult` (one transfer from the device for the figures)."""
    nan = torch.tensor(float("nan"))
    figures = torch.stack([torch.stack([t.detach().float().cpu(),
                                        (h.detach().float().cpu() if h is not None else nan),
                                        (c.detach().float().cpu() if c is not None else nan)])
                           for t, h, c in zip(totals, hcl, ce, strict=True)]).tolist()
    results = []
    for (loss, h, c), lg, y in zip(figures, logits, labels, strict=True):
        correct = int((lg.argmax(1) == y).sum()) if lg is not None else None
        results.append(StepResult(loss, h, c, correct))
    return results


def parallel_folds(cfg: TrainConfig, device: torch.device, pending: int, n_channels: int,
                   window: int, n_classes: int) -> int:
    """How many folds train side by side: ``cfg.parallel_folds`` when given, else by device.

    On the CPU one at a time: stacked folds were measured slower there (0.6-0.9x on two
    cores, which one fold's batch keeps busy; docs/RESULTS.md). On a GPU as many as fit in
    60 % of its free memory, from the memory one fold's training step was measured to take
    (:func:`fold_step_bytes`). Never more than ``pending`` (at least 1).
    """
    most = max(pending, 1)
    if cfg.parallel_folds is not None:
        return min(cfg.parallel_folds, most)
    if device.type != "cuda" or pending <= 1:
        return 1
    free, _ = torch.cuda.mem_get_info(device)
    per_fold = fold_step_bytes(cfg, device, n_channels, window, n_classes)
    return folds_that_fit(free, per_fold, most)


def folds_that_fit(free_bytes: int, per_fold_bytes: int, most: int,
                   share: float = 0.6) -> int:
    """Folds whose training steps fit in ``share`` of ``free_bytes`` (1 to ``most``)."""
    if per_fold_bytes <= 0:
        return most
    return int(min(max(share * free_bytes // per_fold_bytes, 1), most))


def fold_step_bytes(cfg: TrainConfig, device: torch.device, n_channels: int, window: int,
                    n_classes: int) -> int:
    """Peak GPU memory of two stacked training steps of one fold (probe step included),
    measured on random windows of the run's shape with the paper's widths (the larger of
    the two defaults, unless the run sets its own)."""
    hidden, output = cfg.encoder_dims(SMALL_DATA_WINDOWS)
    probe = dataclasses.replace(cfg, epochs=1, min_steps=2, val_trials=0, hidden_dims=hidden,
                                output_dims=output, loss="joint")
    n = 2 * cfg.batch_size
    x = np.random.default_rng(0).normal(0, 1, (n, n_channels, window)).astype(np.float32)
    trial = 1 + np.arange(n) % max(n_classes, 2)
    sw = SessionWindows(x, (trial - 1) % n_classes, trial, 0, 0)
    pool = WindowPool([(sw, np.ones(n, bool))])
    torch.cuda.synchronize(device)
    before = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    norm = Normalisation(mean=np.zeros(n_channels), std=np.ones(n_channels))
    fit_stacked([pool], [norm], probe, device, [0], descs=["memory probe"],
                n_classes=n_classes)
    torch.cuda.synchronize(device)
    return int(torch.cuda.max_memory_allocated(device) - before)
