"""The learning recipe: gradient balance of the joint loss, step budgets, early stopping on
held-out trials, and the CSP + LDA baseline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from models.config import ModelConfig
from models.network import SICLEER
from offline_training.balance import GradientBalance
from offline_training.baseline import CSPLDA, bandpass_fft
from offline_training.config import TrainConfig
from offline_training.train import contrastive_step, fit, predict, step_budget
from offline_training.windows import SessionWindows, WindowPool, fit_normalisation


def _cfg(**kw: object) -> TrainConfig:
    base = dict(data=Path("."), out=Path("."), epochs=3, batch_size=16, hidden_dims=8,
                output_dims=16, head_epochs=2, occlusion_windows=0,
                min_steps=0)
    return TrainConfig(**(base | kw))


def _rhythm_windows(n_trials: int = 12, per_trial: int = 4, seed: int = 0,
                    n_channels: int = 6) -> SessionWindows:
    """Trials of three classes told apart by a 5 / 10 / 22 Hz rhythm (200 Hz, 100 samples)."""
    rng = np.random.default_rng(seed)
    t = np.arange(100) / 200.0
    xs, ys, trials = [], [], []
    for trial in range(1, n_trials + 1):
        cls = (trial - 1) % 3
        for _ in range(per_trial):
            phase = rng.uniform(0, 2 * np.pi, (n_channels, 1))
            xs.append(3 * np.sin(2 * np.pi * (5, 10, 22)[cls] * t + phase)
                      + rng.normal(0, 1, (n_channels, 100)))
            ys.append(cls)
            trials.append(trial)
    return SessionWindows(np.asarray(xs, np.float32), np.asarray(ys), np.asarray(trials), 1, 1)


def _pool(sw: SessionWindows) -> WindowPool:
    return WindowPool([(sw, np.ones(len(sw.y), bool))])


def test_gradnorm_equalises_the_encoder_gradients() -> None:
    torch.manual_seed(0)
    net = SICLEER(ModelConfig(n_channels=6, hidden_dims=8, output_dims=16))
    sw = _rhythm_windows()
    x = torch.from_numpy(sw.x[:16]).transpose(1, 2)
    y = torch.from_numpy(sw.y[:16])
    hcl = contrastive_step(net, x, _cfg(), np.random.default_rng(0))
    ce = F.cross_entropy(net(x), y)
    enc = list(net.encoder.parameters())

    def enc_norm(loss: torch.Tensor) -> float:
        grads = torch.autograd.grad(loss, enc, retain_graph=True, allow_unused=True)
        return float(torch.sqrt(sum((g ** 2).sum() for g in grads if g is not None)))

    balance = GradientBalance(net.encoder.parameters(), "gradnorm", every=10, lambda_ce=1.0)
    share = balance.probe(hcl, ce)
    assert share == pytest.approx(0.5, abs=1e-6)
    assert enc_norm(balance.weight * hcl) == pytest.approx(enc_norm(ce), rel=1e-4)
    assert balance.last_ratio == pytest.approx(enc_norm(hcl) / enc_norm(ce), rel=1e-4)
    # a second probe moves the weight half-way (geometrically) towards the new ratio
    w1 = balance.weight
    balance.probe(2.0 * hcl, ce)  # the contrastive gradient doubles: the target halves
    assert balance.weight == pytest.approx(w1 / np.sqrt(2.0), rel=1e-6)
    none = GradientBalance(net.encoder.parameters(), "none", every=10, lambda_ce=1.0)
    share_none = none.probe(hcl, ce)
    assert none.weight == 1.0
    assert share_none == pytest.approx(none.last_ratio / (none.last_ratio + 1.0), rel=1e-6)
    with pytest.raises(ValueError, match="unknown balance rule"):
        GradientBalance(enc, "magic", 1, 1.0)


def test_joint_fit_records_gradient_shares_every_n_steps() -> None:
    pool = _pool(_rhythm_windows())
    cfg = _cfg(balance_every=2, epochs=4)
    _, hist, _ = fit(pool, fit_normalisation(pool), cfg, torch.device("cpu"), seed=0)
    steps = hist.step[-1]
    assert hist.probe_step == list(range(0, steps, 2))
    shares = np.array(hist.grad_share_contrastive)
    assert np.all((shares > 0) & (shares < 1))
    assert np.all(np.isfinite(hist.contrastive_weight))
    ce_only = fit(pool, fit_normalisation(pool), _cfg(loss="ce"), torch.device("cpu"), 0)[1]
    assert ce_only.probe_step == []  # nothing to balance without the contrastive term


def test_step_budget_gives_small_data_enough_steps() -> None:
    cfg = _cfg(epochs=3, batch_size=16, min_steps=40)
    assert step_budget(48, cfg, "ce", 3) == 40  # 3 epochs x 3 steps < 40
    assert step_budget(48, _cfg(epochs=3, batch_size=16), "ce", 3) == 9
    assert step_budget(33, _cfg(batch_size=16), "joint", 1) == 2  # a lone window is skipped
    pool = _pool(_rhythm_windows())
    _, hist, seen = fit(pool, fit_normalisation(pool), _cfg(min_steps=20, loss="ce"),
                        torch.device("cpu"), seed=0)
    assert hist.step[-1] == 20 and hist.best_step == 20
    assert seen == 20 * 16 - (20 * 16 - seen)  # every step processed a batch
    assert len(hist.epoch) == 7  # 3 steps an epoch: 6 full epochs and a partial one


def test_split_trials_holds_out_whole_trials_per_class() -> None:
    sw = _rhythm_windows(n_trials=12, per_trial=4)
    train, held = _pool(sw).split_trials(1)
    assert len(held) == 3 * 4 and len(train) == 9 * 4
    assert set(np.unique(held.trial_key % 1_000_000)) == {10, 11, 12}  # the last of each class
    assert not set(held.trial_key) & set(train.trial_key)
    assert sorted(np.unique(held.y)) == [0, 1, 2]
    small = SessionWindows(sw.x[:8], sw.y[:8], sw.trial[:8], 1, 1)  # one trial of 2 classes
    keep, none_held = _pool(small).split_trials(1)
    assert len(none_held) == 0 and len(keep) == 8  # a class keeps its only trial


def test_early_stopping_keeps_the_best_validated_step() -> None:
    pool = _pool(_rhythm_windows(n_trials=15))
    norm = fit_normalisation(pool)
    cfg = _cfg(loss="ce", epochs=80, val_trials=1, patience=5, lr=3e-3)
    net, hist, _ = fit(pool, norm, cfg, torch.device("cpu"), seed=0)
    val = np.array(hist.val_accuracy, dtype=float)
    assert np.all(np.isfinite(val))
    best_epoch = hist.step.index(hist.best_step)
    assert val[best_epoch] == val.max()  # the best accuracy (ties: the lowest loss)
    assert len(val) < 80 and len(val) - 1 - best_epoch == cfg.patience  # stopped early
    _, held = pool.split_trials(1)  # the same held-out trials as fit's
    kept = (predict(net, held, norm, torch.device("cpu")).argmax(1) == held.y).mean()
    assert kept == pytest.approx(val.max())  # the weights of the best epoch came back


def test_csp_lda_separates_spatial_patterns() -> None:
    rng = np.random.default_rng(0)
    n, c, t = 120, 8, 160
    y = np.arange(n) % 2
    mixing = rng.normal(size=(c, 2))
    src = rng.normal(size=(n, 2, t))
    src[:, 0] *= np.where(y == 0, 3.0, 0.5)[:, None]  # class 0: source 0 strong
    src[:, 1] *= np.where(y == 1, 3.0, 0.5)[:, None]
    x = np.einsum("cs,nst->nct", mixing, src) + 0.3 * rng.normal(size=(n, c, t))
    x = bandpass_fft(x, 160.0, (8.0, 30.0))  # the sources are broadband: keep 8-30 Hz
    model = CSPLDA(160.0).fit(x[:80], y[:80])
    assert (model.predict(x[80:]) == y[80:]).mean() > 0.9
    three = np.arange(n) % 3
    model3 = CSPLDA(160.0, band=(1.0, 70.0)).fit(x, three)
    assert model3.decision_function(x).shape == (n, 3)
    with pytest.raises(ValueError, match="two classes"):
        CSPLDA(160.0).fit(x, np.zeros(n, int))
    with pytest.raises(RuntimeError, match="fit"):
        CSPLDA(160.0).predict(x)


def test_probe_step_gradients_equal_the_weighted_sum_backward() -> None:
    torch.manual_seed(1)
    net = SICLEER(ModelConfig(n_channels=6, hidden_dims=8, output_dims=16))
    sw = _rhythm_windows()
    x = torch.from_numpy(sw.x[:16]).transpose(1, 2)
    y = torch.from_numpy(sw.y[:16])
    net.eval()  # no dropout: the two passes below see the same network
    params = list(net.parameters())

    def losses() -> tuple[torch.Tensor, torch.Tensor]:
        hcl = contrastive_step(net, x, _cfg(mask=False), np.random.default_rng(0))
        return hcl, F.cross_entropy(net(x), y)

    balance = GradientBalance(net.encoder.parameters(), "gradnorm", every=1, lambda_ce=0.5)
    balance.probe_step(*losses(), params)
    probed = [p.grad.clone() for p in params]
    for p in params:
        p.grad = None
    hcl, ce = losses()
    (balance.weight * hcl + 0.5 * ce).backward()
    for p, g in zip(params, probed, strict=True):
        torch.testing.assert_close(g, p.grad, rtol=1e-5, atol=1e-7)
    assert balance.last_share == pytest.approx(1 / 1.5, rel=1e-4)  # w |g_h| = |g_c|, lambda 0.5


def test_encoder_size_follows_the_amount_of_training_data() -> None:
    """The default encoder is small below SMALL_DATA_WINDOWS training windows, the paper's
    from there on; widths given explicitly always win."""
    from offline_training.config import SMALL_DATA_WINDOWS

    auto = TrainConfig(data=Path("."), out=Path("."))
    assert auto.encoder_dims(SMALL_DATA_WINDOWS - 1) == (32, 64)
    assert auto.encoder_dims(SMALL_DATA_WINDOWS) == (64, 320)
    given = TrainConfig(data=Path("."), out=Path("."), hidden_dims=16, output_dims=None)
    assert given.encoder_dims(10) == (16, 64)
    assert given.encoder_dims(10_000) == (16, 320)
    with pytest.raises(ValueError, match="hidden_dims"):
        TrainConfig(data=Path("."), out=Path("."), hidden_dims=0)
