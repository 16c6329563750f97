"""SI-CLEER network, hierarchical contrastive loss, crops and model file."""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest
import torch

from models import (
    SICLEER,
    ModelConfig,
    ModelFileError,
    ModelMetadata,
    hierarchical_contrastive_loss,
    instance_contrastive_loss,
    load_model,
    overlap_parts,
    plan_crops,
    save_model,
    take_crops,
    temporal_contrastive_loss,
    timestamp_mask,
)
from models.metadata import Preprocessing
from models.preprocessing import Normalisation


def _nll_pairs(rows: list[list[float]], n: int) -> float:
    """Naive reference: rows i and n+i are positives; mean over both directions."""
    def nll(anchor: int, positive: int) -> float:
        sims = [float(np.dot(rows[anchor], rows[j])) for j in range(2 * n) if j != anchor]
        log_z = math.log(sum(math.exp(s) for s in sims))
        return -(float(np.dot(rows[anchor], rows[positive])) - log_z)

    fwd = np.mean([nll(i, n + i) for i in range(n)])
    bwd = np.mean([nll(n + i, i) for i in range(n)])
    return float((fwd + bwd) / 2)


def test_loss_by_hand_single_timestamp() -> None:
    # batch 2, time 1, one feature: only the instance term exists, one level.
    z1 = torch.tensor([[[1.0]], [[2.0]]])
    z2 = torch.tensor([[[1.0]], [[0.0]]])
    # anchors: a=1, b=2 (view 1), c=1, d=0 (view 2); positives a-c and b-d.
    lse = math.log
    e = math.exp
    a_c = -(1 - lse(e(2) + e(1) + e(0)))  # a vs {b, c, d}
    b_d = -(0 - lse(e(2) + e(2) + e(0)))  # b vs {a, c, d}
    c_a = -(1 - lse(e(1) + e(2) + e(0)))  # c vs {a, b, d}
    d_b = -(0 - lse(e(0) + e(0) + e(0)))  # d vs {a, b, c}
    expected_instance = ((a_c + b_d) / 2 + (c_a + d_b) / 2) / 2
    assert instance_contrastive_loss(z1, z2).item() == pytest.approx(expected_instance, rel=1e-6)
    loss = hierarchical_contrastive_loss(z1, z2, alpha=0.5)
    assert loss.item() == pytest.approx(0.5 * expected_instance, rel=1e-6)


def test_loss_matches_naive_reference_over_levels() -> None:
    torch.manual_seed(0)
    z1 = torch.randn(3, 5, 4)
    z2 = torch.randn(3, 5, 4)
    alpha = 0.3
    expected, levels = 0.0, 0
    a, b = z1.numpy().copy(), z2.numpy().copy()
    while a.shape[1] >= 1:
        batch, time = a.shape[0], a.shape[1]
        inst = np.mean([_nll_pairs([*a[:, t].tolist(), *b[:, t].tolist()], batch)
                        for t in range(time)])
        expected += alpha * inst
        levels += 1
        if time == 1:
            break
        temp = np.mean([_nll_pairs([*a[i].tolist(), *b[i].tolist()], time)
                        for i in range(batch)])
        expected += (1 - alpha) * temp
        # max-pool by 2 (floor): 5 -> 2 -> 1
        half = time // 2
        a = a[:, : 2 * half].reshape(batch, half, 2, -1).max(axis=2)
        b = b[:, : 2 * half].reshape(batch, half, 2, -1).max(axis=2)
    assert levels == 3  # lengths 5, 2, 1
    got = hierarchical_contrastive_loss(z1, z2, alpha=alpha).item()
    assert got == pytest.approx(expected / levels, rel=1e-5)


def test_view_with_itself_scores_lower_than_shuffled_partner() -> None:
    torch.manual_seed(1)
    z = torch.randn(8, 16, 32)
    noisy = z + 0.05 * torch.randn_like(z)
    shuffled = noisy[torch.randperm(8)]
    aligned = hierarchical_contrastive_loss(z, noisy)
    mismatched = hierarchical_contrastive_loss(z, shuffled)
    assert aligned.item() < mismatched.item()
    # the temporal term alone also prefers aligned timestamps
    rolled = torch.roll(noisy, shifts=3, dims=1)
    assert temporal_contrastive_loss(z, noisy) < temporal_contrastive_loss(z, rolled)


def test_batch_of_one_gives_zero_instance_term() -> None:
    z1, z2 = torch.randn(1, 6, 8), torch.randn(1, 6, 8)
    assert instance_contrastive_loss(z1, z2).item() == 0.0
    only_instance = hierarchical_contrastive_loss(z1, z2, alpha=1.0)
    assert only_instance.item() == 0.0
    assert hierarchical_contrastive_loss(z1, z2, alpha=0.5).item() > 0.0


@pytest.mark.parametrize("time", [1, 2, 3, 7, 33, 200])
def test_odd_lengths_are_finite_and_differentiable(time: int) -> None:
    z1 = torch.randn(4, time, 8, requires_grad=True)
    z2 = torch.randn(4, time, 8, requires_grad=True)
    loss = hierarchical_contrastive_loss(z1, z2)
    loss.backward()
    assert torch.isfinite(loss)
    assert z1.grad is not None and torch.isfinite(z1.grad).all()


def test_loss_rejects_misaligned_views() -> None:
    with pytest.raises(ValueError, match="share"):
        hierarchical_contrastive_loss(torch.randn(2, 5, 3), torch.randn(2, 4, 3))


def test_mask_rate_is_half() -> None:
    gen = torch.Generator().manual_seed(0)
    keep = timestamp_mask(256, 1000, 0.5, generator=gen)
    assert keep.dtype == torch.bool
    assert abs(keep.float().mean().item() - 0.5) < 0.01


def test_encoder_masks_only_in_training_and_fresh_per_view() -> None:
    torch.manual_seed(0)
    cfg = ModelConfig(n_channels=4, hidden_dims=8, output_dims=16, repr_dropout=0.0)
    net = SICLEER(cfg)
    x = torch.randn(2, 50, 4)
    net.train()
    a, b = net.encode(x, mask=True), net.encode(x, mask=True)
    assert not torch.allclose(a, b)  # independent masks per call
    assert torch.allclose(net.encode(x, mask=False), net.encode(x, mask=False))
    net.eval()
    assert torch.allclose(net.encode(x, mask=True), net.encode(x, mask=False))


def test_encoder_shapes_and_receptive_field() -> None:
    cfg = ModelConfig(n_channels=62)
    net = SICLEER(cfg).eval()
    x = torch.randn(3, 201, 62)
    z = net.encode(x)
    assert z.shape == (3, 201, 320)
    assert net(x).shape == (3, 3)
    assert len(net.encoder.cnn.blocks) == 5
    dilations = [blk.conv1.conv.dilation[0] for blk in net.encoder.cnn.blocks]
    assert dilations == [1, 2, 4, 8, 16]
    assert net.encoder.cnn.blocks[-1].project is not None  # 64 -> 320 residual projection
    assert net.encoder.cnn.blocks[0].project is None


def test_crop_alignment_same_raw_sample() -> None:
    rng = np.random.default_rng(0)
    batch, length = 5, 40
    # each timestamp carries its own index, so we can read back which raw sample it was
    x = torch.arange(length, dtype=torch.float32).view(1, length, 1).repeat(batch, 1, 1)
    x = x + 1000 * torch.arange(batch).view(batch, 1, 1)
    for _ in range(50):
        plan = plan_crops(batch, length, rng)
        v1, v2 = take_crops(x, plan)
        assert v1.shape[1] == plan.overlap_end - plan.left1
        assert v2.shape[1] == plan.right2 - plan.overlap_start
        o1, o2 = overlap_parts(v1, v2, plan)
        assert o1.shape[1] == plan.overlap >= 2
        assert torch.equal(o1, o2)
        # each row stays inside its own window and is contiguous
        assert ((o1 % 1000) >= 0).all() and ((o1 % 1000) < length).all()
        assert (torch.diff(o1[..., 0], dim=1) == 1).all()


def _meta(cfg: ModelConfig, **kw: object) -> ModelMetadata:
    names = [f"CH{i}" for i in range(cfg.n_channels)]
    norm = Normalisation.from_lists([0.0] * cfg.n_channels, [10.0] * cfg.n_channels)
    return ModelMetadata(config=cfg, channel_names=names, sfreq=200.0, window_samples=50,
                         preprocessing=Preprocessing(norm), synthetic=True, **kw)


def test_model_file_round_trip(tmp_path) -> None:
    cfg = ModelConfig(n_channels=6, hidden_dims=8, output_dims=16)
    net = SICLEER(cfg)
    meta = _meta(cfg, metrics={"accuracy": 0.9}, protocol="test")
    path = save_model(tmp_path / "m.safetensors", net, meta)
    loaded = load_model(path)
    assert loaded.meta.channel_names == meta.channel_names
    assert loaded.meta.metrics == {"accuracy": 0.9}
    assert loaded.meta.synthetic is True
    x = np.random.default_rng(0).normal(0, 10, (4, 6, 50)).astype(np.float32)
    centred = (x - x.mean(-1, keepdims=True)) / 10  # each window demeaned, then / std
    expected = torch.softmax(net.eval()(torch.from_numpy(centred).transpose(1, 2)), -1)
    assert isinstance(loaded._forward, torch.jit.ScriptModule)  # the traced path is tested
    probs = loaded.predict_proba(x)
    np.testing.assert_allclose(probs, expected.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match=r"\(batch, 6, 50\)"):
        loaded.predict_proba(x[:, :5])


def _rewrite_header(path, edit) -> None:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8: 8 + n])
    edit(header)
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    path.write_bytes(struct.pack("<Q", len(new)) + new + raw[8 + n:])


def test_tampered_model_files_are_refused(tmp_path) -> None:
    cfg = ModelConfig(n_channels=6, hidden_dims=8, output_dims=16)
    path = save_model(tmp_path / "m.safetensors", SICLEER(cfg), _meta(cfg))

    # 1) metadata claims another architecture
    bad = tmp_path / "arch.safetensors"
    bad.write_bytes(path.read_bytes())

    def more_channels(h: dict) -> None:
        meta = json.loads(h["__metadata__"]["sicleer"])
        meta["config"]["n_channels"] = 7
        meta["channel_names"].append("X")
        meta["preprocessing"]["normalisation"]["mean"].append(0.0)
        meta["preprocessing"]["normalisation"]["std"].append(1.0)
        h["__metadata__"]["sicleer"] = json.dumps(meta)

    _rewrite_header(bad, more_channels)
    with pytest.raises(ModelFileError, match="do not match the architecture"):
        load_model(bad)

    # 2) a weight byte flipped
    flipped = tmp_path / "flip.safetensors"
    raw = bytearray(path.read_bytes())
    raw[-5] ^= 0xFF
    flipped.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="digest"):
        load_model(flipped)

    # 3) truncated / garbage / missing
    trunc = tmp_path / "trunc.safetensors"
    trunc.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ModelFileError, match="not a safetensors file"):
        load_model(trunc)
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "nope.safetensors")

    # 4) inconsistent metadata (channel names vs n_channels)
    short = tmp_path / "short.safetensors"
    short.write_bytes(path.read_bytes())

    def drop_name(h: dict) -> None:
        meta = json.loads(h["__metadata__"]["sicleer"])
        meta["channel_names"].pop()
        h["__metadata__"]["sicleer"] = json.dumps(meta)

    _rewrite_header(short, drop_name)
    with pytest.raises(ModelFileError, match="5 channel names"):
        load_model(short)


def test_plain_safetensors_without_metadata_refused(tmp_path) -> None:
    from safetensors.torch import save_file

    p = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(p))
    with pytest.raises(ModelFileError, match="no SI-CLEER metadata"):
        load_model(p)


@pytest.mark.parametrize(("kernel", "dilation"), [(3, 2), (3, 16), (4, 3), (2, 5), (3, 1)])
def test_cpu_dilated_conv_equals_conv1d(kernel: int, dilation: int) -> None:
    from models.encoder import SamePadConv

    torch.manual_seed(0)
    layer = SamePadConv(8, 5, kernel, dilation)
    x = torch.randn(3, 8, 37)
    ref = layer.conv(x)[:, :, :37]  # nn.Conv1d's own path, trimmed to the input length
    with torch.no_grad():  # inference: the shifted-matmul path on the CPU
        got = layer(x)
    assert got.shape == (3, 5, 37)
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(layer._shifted_matmul(x), layer.conv(x), atol=1e-5, rtol=1e-5)


def test_loss_is_float32_under_bfloat16_autocast() -> None:
    torch.manual_seed(0)
    z1, z2 = torch.randn(4, 9, 8), torch.randn(4, 9, 8)
    exact = hierarchical_contrastive_loss(z1, z2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        under = hierarchical_contrastive_loss(z1, z2)
    assert under.dtype == torch.float32
    assert under.item() == pytest.approx(exact.item(), rel=1e-6)  # no bf16 product inside
