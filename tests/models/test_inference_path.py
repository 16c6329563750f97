"""The CPU inference plan (models/inference.py) computes what the eager network computes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models import ModelConfig, ModelMetadata, load_model, save_model
from models.inference import InferencePlan, OneWindowPlan
from models.io import warm_up_tracing
from models.metadata import Preprocessing
from models.network import SICLEER
from models.preprocessing import Normalisation


def _net(cfg: ModelConfig, seed: int = 0) -> SICLEER:
    torch.manual_seed(seed)
    net = SICLEER(cfg).eval()
    with torch.no_grad():  # non-zero biases everywhere, so a misplaced bias shows
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return net


def _meta(cfg: ModelConfig, window: int) -> ModelMetadata:
    names = [f"CH{i}" for i in range(cfg.n_channels)]
    norm = Normalisation.from_lists([0.0] * cfg.n_channels, [10.0] * cfg.n_channels)
    return ModelMetadata(config=cfg, channel_names=names, sfreq=200.0, window_samples=window,
                         preprocessing=Preprocessing(norm), synthetic=True)


@pytest.mark.parametrize(("cfg", "time"), [
    (ModelConfig(n_channels=6, hidden_dims=8, output_dims=16), 50),   # the default layout
    (ModelConfig(n_channels=5, hidden_dims=8, output_dims=8), 40),    # no residual projection
    (ModelConfig(n_channels=4, hidden_dims=6, output_dims=12, kernel_size=2), 33),  # even spans
    (ModelConfig(n_channels=4, hidden_dims=6, output_dims=12, kernel_size=4), 30),
    (ModelConfig(n_channels=3, hidden_dims=4, output_dims=8, kernel_size=5, depth=3), 64),
    (ModelConfig(n_channels=6, hidden_dims=8, output_dims=16), 10),   # taps beyond the window
    (ModelConfig(n_channels=3, hidden_dims=4, output_dims=8, depth=1), 7),
])
@pytest.mark.parametrize("batch", [1, 3])
def test_plan_equals_the_eager_network(cfg: ModelConfig, time: int, batch: int) -> None:
    net = _net(cfg)
    plan = InferencePlan(net).eval()
    x = torch.randn(batch, time, cfg.n_channels)
    with torch.inference_mode():
        expected = net(x)
        got = plan(x)
        # the network's own channel-major input, as network_input makes it (a transposed view)
        got_view = plan(x.transpose(1, 2).contiguous().transpose(1, 2))
    assert got.shape == expected.shape == (batch, cfg.n_classes)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(got_view, got, rtol=1e-6, atol=1e-6)
    with torch.inference_mode():  # the one-window form, window by window
        single = torch.cat([OneWindowPlan(plan)(x[b:b + 1]) for b in range(batch)])
    torch.testing.assert_close(single, expected, rtol=1e-5, atol=1e-5)


def test_plan_equals_the_network_without_its_inference_shortcut() -> None:
    """Against ``nn.Conv1d`` itself (with gradients on, SamePadConv runs the plain conv)."""
    cfg = ModelConfig(n_channels=6, hidden_dims=16, output_dims=32)
    net = _net(cfg, seed=1)
    x = torch.randn(2, 60, cfg.n_channels)
    expected = net(x).detach()  # grad enabled: nn.Conv1d for every convolution
    with torch.no_grad():
        got = InferencePlan(net)(x)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_loaded_model_traces_the_plan_on_the_cpu(tmp_path) -> None:
    cfg = ModelConfig(n_channels=6, hidden_dims=8, output_dims=16)
    net = _net(cfg, seed=2)
    keys = {k: v.clone() for k, v in net.state_dict().items()}
    path = save_model(tmp_path / "m.safetensors", net, _meta(cfg, 50))
    loaded = load_model(path)
    baseline = load_model(path, plan=False)
    assert isinstance(loaded._forward, torch.jit.ScriptModule)
    assert loaded._forward.original_name == "OneWindowPlan"
    assert baseline._forward.original_name == "SICLEER"
    assert loaded._batched is None  # traced when a batch first comes
    # the model file's weights and names are the network's, untouched by the plan
    assert loaded.net.state_dict().keys() == keys.keys()
    for k, v in loaded.net.state_dict().items():
        assert torch.equal(v, keys[k]), k
    rng = np.random.default_rng(0)
    for batch in (1, 5):  # traced on one window; the offline scorer sends batches
        x = rng.normal(0, 10, (batch, 6, 50)).astype(np.float32)
        centred = (x - x.mean(-1, keepdims=True)) / 10  # demeaned, then / std, as the meta says
        with torch.inference_mode():
            expected = torch.softmax(net(torch.from_numpy(centred).transpose(1, 2)), -1).numpy()
        np.testing.assert_allclose(loaded.predict_proba(x), expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(baseline.predict_proba(x), expected, rtol=1e-5, atol=1e-6)
    assert isinstance(loaded._batched, torch.jit.ScriptModule)
    assert loaded._batched.original_name == "InferencePlan"
    # the same window gives the same probabilities alone and within a batch
    np.testing.assert_allclose(loaded.predict_proba(x[2:3]), loaded.predict_proba(x)[2:3],
                               rtol=1e-5, atol=1e-6)


def test_warm_up_tracing_runs() -> None:
    warm_up_tracing()
