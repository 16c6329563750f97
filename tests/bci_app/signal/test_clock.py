"""The stream clock: gaps counted from timestamps, jitter tolerated, jumps re-anchored."""

from __future__ import annotations

import numpy as np
import pytest

from bci_app.signal.clock import JITTER_TOLERANCE, StreamClock

SFREQ = 200.0
T0 = 5000.0  # the local LSL clock when the stream starts


def _feed(clock: StreamClock, stamps: np.ndarray, chunk: int = 5, latency: float = 0.01,
          now: np.ndarray | None = None,
          truth: np.ndarray | None = None) -> tuple[np.ndarray, int, list]:
    """Feed ``stamps`` chunk by chunk, each arriving ``latency`` s after its last sample's
    true time (``truth``, default the stamps themselves), or at ``now[k]``; returns the
    corrected times, samples lost and the jumps."""
    truth = stamps if truth is None else truth
    times, lost, jumps = [], 0, []
    for k, start in enumerate(range(0, stamps.size, chunk)):
        part = stamps[start:start + chunk]
        arrival = now[k] if now is not None else truth[start + part.size - 1] + latency
        out = clock.update(part, arrival)
        times.append(out.times)
        lost += out.lost
        jumps += list(out.jumps)
    return np.concatenate(times), lost, jumps


def _regular(n: int) -> np.ndarray:
    return T0 + np.arange(n) / SFREQ


def test_regular_stream_loses_nothing_and_keeps_its_times() -> None:
    stamps = _regular(2000)
    times, lost, jumps = _feed(StreamClock(SFREQ), stamps)
    assert lost == 0 and jumps == []
    np.testing.assert_array_equal(times, stamps)


def test_gaps_count_the_missing_samples_within_and_across_chunks() -> None:
    stamps = np.delete(_regular(2000), [5, 6, 7, 12, *range(1000, 1400)])  # 404 missing
    _, lost, jumps = _feed(StreamClock(SFREQ), stamps, chunk=7)
    assert lost == 404 and jumps == []
    clock = StreamClock(SFREQ)  # a 10-s hole while the outlet stayed open
    first = clock.update(_regular(200), T0 + 1.0)
    hole = clock.update(T0 + 11.0 + np.arange(5) / SFREQ, T0 + 11.03)
    assert first.lost == 0 and hole.lost == 2000  # samples 200..2199 never came
    assert hole.gap == pytest.approx(10.0, abs=0.01) and hole.jumps == ()


@pytest.mark.parametrize("pattern", ["late-then-on-time", "on-time-then-early", "random"])
def test_push_time_jitter_within_the_tolerance_counts_nothing(pattern: str) -> None:
    """Amplifier scripts stamp each chunk at push time: the chunk's last sample carries the
    push instant, the others are back-dated at the nominal rate (what liblsl does)."""
    n_chunks, chunk = 800, 5
    rng = np.random.default_rng(3)
    swing = 0.95 * JITTER_TOLERANCE / SFREQ  # peak to peak, seconds
    if pattern == "late-then-on-time":
        jitter = np.where(np.arange(n_chunks) % 2 == 0, swing, 0.0)
    elif pattern == "on-time-then-early":
        jitter = np.where(np.arange(n_chunks) % 2 == 0, 0.0, -swing)
    else:
        jitter = rng.uniform(-swing / 2, swing / 2, n_chunks)
    push = T0 + (np.arange(n_chunks) + 1) * chunk / SFREQ + jitter
    stamps = (push[:, None] - (chunk - 1 - np.arange(chunk))[None, :] / SFREQ).reshape(-1)
    _, lost, jumps = _feed(StreamClock(SFREQ), stamps, chunk=chunk, latency=0.005)
    assert lost == 0 and jumps == []
    # the samples of a real loss still count with that jitter
    with_loss = np.delete(stamps, range(2000, 2010))
    _, lost, _ = _feed(StreamClock(SFREQ), with_loss, chunk=chunk, latency=0.005)
    assert lost == 10


def test_a_jump_forward_is_reanchored_not_counted_as_lost() -> None:
    stamps = _regular(1000)
    stamps[600:] += 1000.0  # the sender's clock jumps 1000 s ahead
    clock = StreamClock(SFREQ)
    times, lost, jumps = _feed(clock, stamps, chunk=7, truth=_regular(1000))
    assert lost == 0
    assert [j.kind for j in jumps] == ["jump"] and jumps[0].shift == pytest.approx(1000.0)
    np.testing.assert_allclose(np.diff(times), 1 / SFREQ, atol=1e-9)  # one timeline
    assert "jumped +1e+03 s" in jumps[0].describe("amp")


def test_a_jump_back_is_reanchored_and_later_latency_is_meaningful() -> None:
    stamps = _regular(1000)
    stamps[500:] -= 5.0  # the sender's clock goes back 5 s
    times, lost, jumps = _feed(StreamClock(SFREQ), stamps, truth=_regular(1000))
    assert lost == 0 and len(jumps) == 1 and jumps[0].shift == pytest.approx(-5.0)
    assert times[-1] == pytest.approx(_regular(1000)[-1])  # the latency stays 10 ms, not 5 s


def test_a_stream_on_another_clock_is_anchored_at_its_first_chunk() -> None:
    stamps = 1.7e9 + np.arange(400) / SFREQ  # epoch seconds (time.time()), not LSL's clock
    now = T0 + (np.arange(80) + 1) * 5 / SFREQ + 0.01
    times, lost, jumps = _feed(StreamClock(SFREQ), stamps, now=now)
    assert lost == 0 and [j.kind for j in jumps] == ["offset"]
    assert "ahead of the local clock" in jumps[0].describe("amp")
    assert abs(times[-1] - now[-1]) < 0.02
    behind = T0 - 3600 + np.arange(400) / SFREQ  # an hour in the past: re-anchored too
    _, _, jumps = _feed(StreamClock(SFREQ), behind, now=now)
    assert jumps and "behind the local clock" in jumps[0].describe("amp")


def test_a_stream_drifting_ahead_of_the_clock_is_pulled_back() -> None:
    n = 32000  # 160 s at 200 Hz; the stamps run 0.5 % fast: 0.8 s ahead at the end
    stamps = T0 + np.arange(n) / SFREQ * 1.005
    now = T0 + (np.arange(1, n // 5 + 1) * 5 - 1) / SFREQ + 0.005
    times, lost, jumps = _feed(StreamClock(SFREQ), stamps, now=now)
    assert lost == 0 and jumps and {j.kind for j in jumps} == {"offset"}
    assert (times[4::5] <= now + 0.5 + 1e-9).all()


def test_bad_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="positive nominal rate"):
        StreamClock(0.0)
