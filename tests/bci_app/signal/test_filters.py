"""Tests of the causal filters and the streaming resampler (bci_app.signal)."""

from __future__ import annotations

import numpy as np
import pytest

from bci_app.signal.filters import CausalFilter, make_live_filter, warmup_seconds
from bci_app.signal.resample import StreamingResampler

RATES = [1000.0, 500.0, 256.0, 160.0, 128.0]


def _chunk_sizes(rng: np.random.Generator, n: int, max_size: int) -> list[int]:
    """Random chunk sizes summing to n, with 0 and 1 among them."""
    sizes = [0, 1, 0, 1, 1]
    while sum(sizes) < n:
        sizes.append(int(rng.integers(0, max_size)))
    sizes[-1] -= sum(sizes) - n
    return sizes


def _run_chunked(proc, x: np.ndarray, sizes: list[int]) -> np.ndarray:
    outs, i = [], 0
    for s in sizes:
        outs.append(proc(x[i : i + s]))
        i += s
    return np.concatenate(outs, axis=0)


def _test_signal(rng: np.random.Generator, sfreq: float, seconds: float, n_ch: int = 3):
    t = np.arange(int(sfreq * seconds)) / sfreq
    x = 40 * rng.standard_normal((len(t), n_ch)) + 500.0  # uV noise on a DC offset
    x += 30 * np.sin(2 * np.pi * 10 * t)[:, None]
    return t, x


# ---------------------------------------------------------------------------- filters


@pytest.mark.parametrize("sfreq", [*RATES, 200.0])
@pytest.mark.parametrize("init", ["steady", "zeros"])
def test_filter_chunked_equals_one_shot(sfreq: float, init: str) -> None:
    rng = np.random.default_rng(int(sfreq))
    _, x = _test_signal(rng, sfreq, 2.0)
    one = make_live_filter(sfreq, n_channels=3, init=init).process(x)
    flt = make_live_filter(sfreq, n_channels=3, init=init)
    chunked = _run_chunked(flt.process, x, _chunk_sizes(rng, len(x), int(sfreq * 0.1)))
    assert chunked.shape == x.shape
    np.testing.assert_allclose(chunked, one, rtol=0, atol=1e-9)
    flt.reset()
    np.testing.assert_allclose(flt.process(x), one, rtol=0, atol=1e-9)


@pytest.mark.parametrize("init", ["steady", "zeros"])
def test_filter_causal(init: str) -> None:
    rng = np.random.default_rng(3)
    sfreq, t0 = 500.0, 400
    _, x = _test_signal(rng, sfreq, 2.0)
    x2 = x.copy()
    x2[t0] += 1000.0
    y1 = make_live_filter(sfreq, n_channels=3, init=init).process(x)
    y2 = make_live_filter(sfreq, n_channels=3, init=init).process(x2)
    np.testing.assert_array_equal(y1[:t0], y2[:t0])
    assert np.all(np.abs(y1[t0] - y2[t0]) > 1.0)


@pytest.mark.parametrize("sfreq", [250.0, 500.0, 1000.0])
def test_notch_removes_mains_and_keeps_alpha(sfreq: float) -> None:
    t = np.arange(int(sfreq * 6)) / sfreq
    settle = int(sfreq * 2)
    mains = np.sin(2 * np.pi * 50 * t)[:, None]
    notch_only = make_live_filter(sfreq, None, None, 50.0, n_channels=1)
    assert np.max(np.abs(notch_only.process(mains)[settle:])) < 0.01
    full = make_live_filter(sfreq, n_channels=1)
    assert np.max(np.abs(full.process(mains)[settle:])) < 0.01
    alpha = np.sin(2 * np.pi * 10 * t)[:, None]
    amp = np.max(np.abs(make_live_filter(sfreq, n_channels=1).process(alpha)[settle:]))
    assert 0.97 < amp < 1.03


def test_notch_harmonics() -> None:
    sfreq = 1000.0
    t = np.arange(int(sfreq * 4)) / sfreq
    x = np.sin(2 * np.pi * 100 * t)[:, None]
    plain = make_live_filter(sfreq, None, None, 50.0, n_channels=1)
    harm = make_live_filter(sfreq, None, None, 50.0, n_channels=1, notch_harmonics=True)
    assert harm.n_sections > plain.n_sections
    assert np.max(np.abs(plain.process(x)[2000:])) > 0.9
    assert np.max(np.abs(harm.process(x)[2000:])) < 0.01


def test_steady_state_init_avoids_dc_transient() -> None:
    sfreq = 250.0
    x = np.full((500, 2), 20_000.0)  # 20 mV electrode offset
    steady = make_live_filter(sfreq, n_channels=2).process(x)
    zeros = make_live_filter(sfreq, n_channels=2, init="zeros").process(x)
    assert np.max(np.abs(steady)) < 1e-6
    assert np.max(np.abs(zeros)) > 1000


def test_filter_validation_and_clipping() -> None:
    with pytest.raises(ValueError, match="h_freq"):
        make_live_filter(100.0, h_freq=50.0, n_channels=1, clip_h_freq=False)
    with pytest.raises(ValueError, match="l_freq"):
        make_live_filter(250.0, l_freq=60.0, h_freq=50.0, n_channels=1)
    with pytest.raises(ValueError, match="l_freq"):
        make_live_filter(250.0, l_freq=200.0, n_channels=1)
    with pytest.raises(ValueError, match="sfreq"):
        make_live_filter(-1.0, n_channels=1)
    with pytest.raises(ValueError, match="n_channels"):
        make_live_filter(250.0, n_channels=0)
    with pytest.raises(ValueError, match="notch"):
        make_live_filter(250.0, notch=-50.0, n_channels=1)
    # Defaults work at a low rate: h_freq clipped to 0.9 x Nyquist, notch at Nyquist skipped.
    flt = make_live_filter(100.0, n_channels=2)
    assert flt.process(np.ones((10, 2))).shape == (10, 2)
    with pytest.raises(ValueError, match=r"\(n_samples, 2\)"):
        flt.process(np.ones((10, 3)))
    with pytest.raises(ValueError, match="sos"):
        CausalFilter(np.ones((2, 5)), 100.0, 1)


def test_warmup_seconds() -> None:
    flt = make_live_filter(500.0, n_channels=1)
    w = flt.warmup_seconds()
    assert 0.1 < w < 5.0
    assert flt.warmup_seconds(1e-4) > w
    assert warmup_seconds(np.zeros((0, 6)), 500.0) == 0.0
    passthrough = make_live_filter(500.0, None, None, None, n_channels=2)
    assert passthrough.warmup_seconds() == 0.0
    x = np.arange(10.0).reshape(5, 2)
    np.testing.assert_array_equal(passthrough.process(x), x)


# ---------------------------------------------------------------------------- resampler


@pytest.mark.parametrize("sfreq", [*RATES, 200.0])
def test_resampler_chunked_equals_one_shot(sfreq: float) -> None:
    rng = np.random.default_rng(int(sfreq) + 1)
    t, x = _test_signal(rng, sfreq, 3.0)
    ts = 1000.0 + t
    one, ts_one = StreamingResampler(sfreq, 200.0, 3).process_timestamped(x, ts)
    rs = StreamingResampler(sfreq, 200.0, 3)
    sizes = _chunk_sizes(rng, len(x), int(sfreq * 0.06))
    ys, tss, i = [], [], 0
    for s in sizes:
        y, tt = rs.process_timestamped(x[i : i + s], ts[i : i + s])
        ys.append(y)
        tss.append(tt)
        i += s
    chunked, ts_chunked = np.concatenate(ys), np.concatenate(tss)
    assert chunked.shape == one.shape
    assert len(one) == int(np.ceil(len(x) * 200.0 / sfreq))
    np.testing.assert_allclose(chunked, one, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ts_chunked, ts_one, rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.diff(ts_one), 1 / 200.0, atol=1e-9)
    rs.reset()
    np.testing.assert_allclose(rs.process(x), one, rtol=0, atol=1e-9)


@pytest.mark.parametrize("sfreq", RATES)
def test_resampler_causal(sfreq: float) -> None:
    rng = np.random.default_rng(5)
    _, x = _test_signal(rng, sfreq, 1.0)
    t0 = int(0.5 * sfreq) + 1
    x2 = x.copy()
    x2[t0] += 1000.0
    rs1, rs2 = StreamingResampler(sfreq, 200.0, 3), StreamingResampler(sfreq, 200.0, 3)
    y1, ts1 = rs1.process_timestamped(x, np.arange(len(x)) / sfreq)
    y2, _ = rs2.process_timestamped(x2, np.arange(len(x)) / sfreq)
    before = ts1 < t0 / sfreq - 1e-12
    assert before.sum() > 50
    np.testing.assert_array_equal(y1[before], y2[before])
    assert np.any(np.abs(y1 - y2) > 1.0)


@pytest.mark.parametrize("sfreq", RATES)
def test_resampler_sinusoid(sfreq: float) -> None:
    t = np.arange(int(sfreq * 3)) / sfreq
    x = np.c_[np.sin(2 * np.pi * 10 * t), 25 * np.cos(2 * np.pi * 10 * t)]
    rs = StreamingResampler(sfreq, 200.0, 2)
    assert rs.sfreq_out == 200.0
    y, ts = rs.process_timestamped(x, t)
    steady = ts > 0.5
    t_sig = ts[steady] - rs.group_delay
    np.testing.assert_allclose(y[steady, 0], np.sin(2 * np.pi * 10 * t_sig), atol=5e-3)
    np.testing.assert_allclose(y[steady, 1], 25 * np.cos(2 * np.pi * 10 * t_sig), atol=0.1)
    # Frequency: the spectrum of the steady part peaks at 10 Hz.
    seg = y[steady, 0][:400]
    freqs = np.fft.rfftfreq(len(seg), 1 / 200.0)
    assert freqs[np.argmax(np.abs(np.fft.rfft(seg)))] == pytest.approx(10.0)


@pytest.mark.parametrize("sfreq", [1000.0, 500.0, 256.0])
def test_resampler_rejects_aliases(sfreq: float) -> None:
    """A tone above the output Nyquist (100 Hz) must not alias into the EEG bands."""
    t = np.arange(int(sfreq * 3)) / sfreq
    x = np.sin(2 * np.pi * 120 * t)[:, None]
    y = StreamingResampler(sfreq, 200.0, 1).process(x)
    assert np.max(np.abs(y[200:])) < 2e-3


def test_resampler_identity_and_validation() -> None:
    rs = StreamingResampler(200.0, 200.0, 2)
    assert rs.is_identity and rs.group_delay == 0.0
    x = np.random.default_rng(0).standard_normal((7, 2))
    y, ts = rs.process_timestamped(x, np.arange(7) * 0.005)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(ts, np.arange(7) * 0.005)
    assert StreamingResampler(1000.0, 200.0, 1).group_delay > 0
    with pytest.raises(ValueError, match="sfreq_in"):
        StreamingResampler(0.0, 200.0, 1)
    with pytest.raises(ValueError, match=r"\(n_samples, 2\)"):
        rs.process(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="timestamps"):
        StreamingResampler(1000.0, 200.0, 2).process_timestamped(np.zeros((4, 2)), np.zeros(3))


def test_resampler_n_out_for() -> None:
    rs = StreamingResampler(256.0, 200.0, 1)
    for n in [0, 1, 7, 0, 64, 3]:
        expected = rs.n_out_for(n)
        assert len(rs.process(np.ones((n, 1)))) == expected


# ---------------------------------------------------------------------------- band power
