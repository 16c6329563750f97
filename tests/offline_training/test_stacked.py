"""Folds trained side by side (``--parallel-folds``): each as it trains alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from models.config import ModelConfig
from models.crops import crop_views, plan_crops
from models.encoder import EncoderNoise, draw_noise
from models.network import SICLEER
from offline_training.cli import build_parser
from offline_training.cli import main as train_main
from offline_training.config import TrainConfig
from offline_training.stacked import fit_stacked, folds_that_fit, parallel_folds
from offline_training.train import fit, predict
from offline_training.windows import fit_normalisation
from tests.offline_training.test_learning import _pool, _rhythm_windows

CPU = torch.device("cpu")


def _cfg(**kw: object) -> TrainConfig:
    base = dict(data=Path("."), out=Path("."), epochs=4, batch_size=16, hidden_dims=8,
                output_dims=16, head_epochs=2, occlusion_windows=0, min_steps=0,
                balance_every=2, precision="fp32")
    return TrainConfig(**(base | kw))


def _folds(sizes: tuple[int, ...] = (12, 9, 15)):
    """Pools of different sizes (so their last, smaller batches fall on different steps)."""
    pools = [_pool(_rhythm_windows(n_trials=n, seed=i)) for i, n in enumerate(sizes)]
    return pools, [fit_normalisation(p) for p in pools]


def _alone_and_stacked(cfg: TrainConfig, inits=None):
    torch.use_deterministic_algorithms(True, warn_only=True)
    pools, norms = _folds()
    seeds = [10, 11, 12]
    alone = [fit(p, n, cfg, CPU, s, init=None if inits is None else inits(s),
                 geometry_seed=0)
             for p, n, s in zip(pools, norms, seeds, strict=True)]
    stacked = fit_stacked(pools, norms, cfg, CPU, seeds, geometry_seed=0,
                          inits=None if inits is None else [inits(s) for s in seeds])
    return pools, norms, alone, stacked


def _assert_same(pools, norms, alone, stacked) -> None:
    for pool, norm, (a, ha, sa), (b, hb, sb) in zip(pools, norms, alone, stacked, strict=True):
        assert sa == sb
        assert ha.step == hb.step and ha.epoch == hb.epoch
        assert ha.best_step == hb.best_step and ha.probe_step == hb.probe_step
        np.testing.assert_allclose(ha.loss, hb.loss, rtol=1e-4)
        np.testing.assert_allclose(ha.contrastive_weight, hb.contrastive_weight, rtol=1e-3)
        np.testing.assert_array_equal(ha.train_accuracy, hb.train_accuracy)
        for (name, pa), pb in zip(a.named_parameters(), b.parameters(), strict=True):
            torch.testing.assert_close(pa, pb, atol=1e-5, rtol=1e-4, msg=name)
        pa, pb = predict(a, pool, norm, CPU), predict(b, pool, norm, CPU)
        np.testing.assert_allclose(pa, pb, atol=1e-5)
        assert (pa.argmax(1) == pb.argmax(1)).all()


SLOW = pytest.mark.slow


@pytest.mark.parametrize("recipe", [
    {"loss": "joint", "epochs": 3},  # gradient-balance probes every other step
    pytest.param({"loss": "ce", "dropout": 0.3}, marks=SLOW),
    pytest.param({"loss": "contrastive"}, marks=SLOW),  # two phases: encoder, then head
    pytest.param({"loss": "joint", "val_trials": 1, "patience": 1, "epochs": 6},
                 marks=SLOW),  # early stopping: the folds stop at different epochs
    pytest.param({"loss": "joint", "balance": "none", "mask": False}, marks=SLOW),
])
def test_three_stacked_folds_train_as_each_does_alone(recipe: dict) -> None:
    """K = 3 folds of 36, 27 and 45 windows, 3-6 epochs: 20-45 s a case on 2 cores beside
    another training job (all but the first in ``make test-all``)."""
    pools, norms, alone, stacked = _alone_and_stacked(_cfg(**recipe))
    _assert_same(pools, norms, alone, stacked)
    if recipe.get("val_trials"):
        assert len({len(h.epoch) for _, h, _ in stacked}) > 1  # one stopped before the others


def test_stacked_folds_fine_tune_pretrained_heads() -> None:
    """Every fold starts from its own pretrained network; with --freeze-encoder only the
    heads train, and each frozen encoder stays what it was."""
    def init(seed: int) -> SICLEER:
        torch.manual_seed(100 + seed)
        return SICLEER(ModelConfig(n_channels=6, hidden_dims=8, output_dims=16))

    cfg = _cfg(loss="joint", freeze_encoder=True, init=Path("unused.safetensors"))
    pools, norms, alone, stacked = _alone_and_stacked(cfg, inits=init)
    _assert_same(pools, norms, alone, stacked)
    for seed, (net, _, _) in zip((10, 11, 12), stacked, strict=True):
        for a, b in zip(net.encoder.parameters(), init(seed).encoder.parameters(),
                        strict=True):
            assert torch.equal(a, b)


def test_stacking_folds_of_other_shapes_is_refused() -> None:
    pools, norms = _folds((12, 9))
    wide = [_pool(_rhythm_windows(n_trials=12, n_channels=5))]
    with pytest.raises(ValueError, match="differ in shape"):
        fit_stacked([pools[0], *wide], [norms[0], fit_normalisation(wide[0])], _cfg(), CPU,
                    [0, 1])
    with pytest.raises(ValueError, match="one normalisation and seed per pool"):
        fit_stacked(pools, norms[:1], _cfg(), CPU, [0, 1])


def test_noise_drawn_outside_equals_what_the_encoder_draws() -> None:
    cfg = ModelConfig(n_channels=4, hidden_dims=8, output_dims=16, repr_dropout=0.2)
    torch.manual_seed(0)
    net = SICLEER(cfg).train()
    x = torch.randn(5, 30, 4)
    state = torch.get_rng_state()
    inside = net.encode(x, mask=True)
    gen = torch.Generator()
    gen.set_state(state)
    outside = net.encode(x, noise=draw_noise(cfg, 5, 30, True, gen))
    assert torch.equal(inside, outside)
    plain = net.eval().encode(x)
    net.train()  # noise given is authoritative: none given, none drawn, in training mode too
    state = torch.get_rng_state()
    assert torch.equal(net.encode(x, mask=True, noise=EncoderNoise()), plain)
    assert torch.equal(torch.get_rng_state(), state)


def test_crop_geometry_comes_from_its_own_stream() -> None:
    a = plan_crops(8, 100, np.random.default_rng(1), geometry=np.random.default_rng(7))
    b = plan_crops(4, 100, np.random.default_rng(2), geometry=np.random.default_rng(7))
    assert (a.left1, a.overlap_start, a.overlap_end, a.right2) == \
        (b.left1, b.overlap_start, b.overlap_end, b.right2)
    assert not np.array_equal(a.offsets[:4], b.offsets)
    views = crop_views(100, np.random.default_rng(7))
    c = plan_crops(8, 100, np.random.default_rng(1), views=views)
    assert views == (a.left1, a.overlap_start, a.overlap_end, a.right2)
    assert np.array_equal(c.offsets, plan_crops(8, 100, np.random.default_rng(1),
                                                views=views).offsets)


def test_how_many_folds_train_side_by_side() -> None:
    assert parallel_folds(_cfg(), CPU, 45, 62, 200, 3) == 1  # auto on the CPU
    assert parallel_folds(_cfg(parallel_folds=9), CPU, 45, 62, 200, 3) == 9
    assert parallel_folds(_cfg(parallel_folds=9), CPU, 4, 62, 200, 3) == 4
    assert parallel_folds(_cfg(parallel_folds=9), CPU, 0, 62, 200, 3) == 1
    assert folds_that_fit(100 * 2**30, 2**30, 45) == 45  # 60 GiB usable, 1 GiB a fold
    assert folds_that_fit(10 * 2**30, 2**30, 45) == 6
    assert folds_that_fit(2**29, 2**30, 45) == 1  # never fewer than one
    with pytest.raises(ValueError, match="parallel_folds"):
        _cfg(parallel_folds=0)


def test_parallel_folds_option() -> None:
    parse = build_parser().parse_args
    base = ["--data", "d", "--out", "o"]
    assert parse(base).parallel_folds is None
    assert parse([*base, "--parallel-folds", "auto"]).parallel_folds is None
    assert parse([*base, "--parallel-folds", "3"]).parallel_folds == 3
    for bad in ("0", "three"):
        with pytest.raises(SystemExit):
            parse([*base, "--parallel-folds", bad])


@pytest.mark.slow
def test_a_run_with_parallel_folds_reports_what_one_by_one_does(tmp_path: Path) -> None:
    """sicleer-train on 3 synthetic sessions, --parallel-folds 3 against 1: 128 s on 2 cores
    beside another training job (``make test-all``)."""
    from offline_training.synth import generate_seed_folder

    root = tmp_path / "SEED"
    generate_seed_folder(root, subjects=(1, 2, 3), n_sessions=1, trial_seconds=12.0, seed=0)
    reports = {}
    for k in (1, 3):
        out = tmp_path / f"k{k}"
        assert train_main(["--data", str(root), "--out", str(out), "--epochs", "3",
                           "--min-steps", "0", "--hidden-dims", "8", "--output-dims", "16",
                           "--batch-size", "32", "--occlusion-windows", "16",
                           "--precision", "fp32", "--parallel-folds", str(k), "-q"]) == 0
        reports[k] = json.loads((out / "report.json").read_text())
    one, three = reports[1]["folds"], reports[3]["folds"]
    assert [f["name"] for f in one] == [f["name"] for f in three]
    for a, b in zip(one, three, strict=True):
        assert (a["stacked"], b["stacked"]) == (1, 3)
        assert a["accuracy"] == b["accuracy"] and a["confusion"] == b["confusion"]
        assert a["baseline"]["accuracy"] == b["baseline"]["accuracy"]
        np.testing.assert_allclose(a["history"]["loss"], b["history"]["loss"], rtol=1e-4)


def test_a_fold_loss_reaches_only_its_own_weights() -> None:
    """What the stacked backward pass relies on: vmapped weights keep folds apart."""
    from torch.func import functional_call, vmap

    nets = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        nets.append(SICLEER(ModelConfig(n_channels=4, hidden_dims=8, output_dims=16)))
    names = [n for n, _ in nets[0].named_parameters()]
    stacked = {n: torch.stack([net.get_parameter(n) for net in nets]) for n in names}
    x = torch.randn(2, 3, 20, 4)
    y = torch.tensor([[0, 1, 2], [2, 1, 0]])

    def loss(params: dict, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(functional_call(nets[0].eval(), params, (xb,)), yb)

    losses = vmap(loss)(stacked, x, y)
    losses[1].backward()
    assert all(nets[0].get_parameter(n).grad is None or
               not nets[0].get_parameter(n).grad.any() for n in names)
    assert any(nets[1].get_parameter(n).grad.abs().sum() > 0 for n in names)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_stacked_folds_learn_on_the_gpu(precision: str) -> None:
    """On CUDA the folds draw masks and dropout from their own generators (no equality with
    training alone there); each must still learn its easy task."""
    cuda = torch.device("cuda")
    pools, norms = _folds()
    cfg = _cfg(loss="joint", epochs=30, precision=precision, device="cuda")
    for (net, hist, _), pool, norm in zip(fit_stacked(pools, norms, cfg, cuda, [0, 1, 2]),
                                          pools, norms, strict=True):
        assert next(net.parameters()).device.type == "cuda"
        assert np.isfinite(hist.loss).all()
        assert (predict(net, pool, norm, cuda).argmax(1) == pool.y).mean() > 0.8


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_auto_parallel_folds_on_the_gpu_measures_a_step() -> None:
    from offline_training.stacked import fold_step_bytes

    cuda = torch.device("cuda")
    per_fold = fold_step_bytes(_cfg(), cuda, 62, 200, 3)
    assert 2**20 < per_fold < 2**34
    assert 1 <= parallel_folds(_cfg(), cuda, 45, 62, 200, 3) <= 45
    assert parallel_folds(_cfg(), cuda, 1, 62, 200, 3) == 1  # nothing to stack: no probe
