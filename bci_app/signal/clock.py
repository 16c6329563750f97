"""Timestamps of a live stream: gaps, jitter and clock jumps, on one continuous timeline.

A stream's timestamps are believed only as far as they agree with its nominal rate and with
this machine's LSL clock. :class:`StreamClock` looks at every step between consecutive samples
(across chunks too), in samples of the nominal period:

- **Jumps.** A step back of more than ``BACK_TOLERANCE_S`` (0.1 s), or a step forward of more
  than ``JUMP_MIN_S`` (0.1 s) after which the stream would be more than ``AHEAD_TOLERANCE_S``
  (0.5 s) ahead of the local clock when the chunk arrived, cannot be a gap: the sender's
  clock jumped. The timeline is re-anchored (it continues at the nominal rate across the jump;
  no sample is counted lost) and the jump is reported. So is a stream whose first samples are
  more than ``AHEAD_TOLERANCE_S`` ahead of the local clock or more than ``START_LAG_S`` (5 s)
  behind it (its timestamps are not on LSL's clock, e.g. the epoch time of ``time.time()``),
  and one that drifts ahead of it (kind ``offset``).
- **Gaps and jitter.** Every other step that differs from one period by more than 1 % (less
  is rounding, or a nominal rate slightly off the true one) feeds its excess, in periods, to a
  lateness ``b = max(0, b + excess)``: how late the stream now is relative to the earliest it
  has been, which only a missing sample raises by a whole period for good. Samples are counted
  lost when ``b`` reaches ``JITTER_TOLERANCE`` (0.75 of a period), ``floor(b + 0.25)`` of
  them. Timestamps taken at push time (what many amplifier scripts send) are late by a varying
  delay; jitter of up to ``JITTER_TOLERANCE`` periods, peak to peak, never counts a lost
  sample, and a chunk pushed late then one on time cancel out. ``b`` decays with a time
  constant of ``JITTER_DECAY_S`` (2 s), so that jitter does not add up over a session.

The corrected times (what the engine stores, logs and pushes out) are the stream's own plus an
offset that changes only at a jump. numpy only; no LSL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = [
    "AHEAD_TOLERANCE_S",
    "BACK_TOLERANCE_S",
    "JITTER_DECAY_S",
    "JITTER_TOLERANCE",
    "JUMP_MIN_S",
    "START_LAG_S",
    "ClockJump",
    "ClockUpdate",
    "StreamClock",
]

AHEAD_TOLERANCE_S = 0.5
"""Seconds a stream may be ahead of the local clock before its timestamps are not believed."""
BACK_TOLERANCE_S = 0.1
"""A step back longer than this (s) is a jump of the sender's clock."""
START_LAG_S = 5.0
"""A stream whose first samples are older than this (s) is on another clock."""
JUMP_MIN_S = 0.1
"""A forward step must exceed one period by this much (s) to be a jump."""
JITTER_TOLERANCE = 0.75
"""Timing jitter up to this fraction of a sample period (peak to peak) never counts a lost
sample."""
JITTER_DECAY_S = 2.0
"""Time constant (s) with which unexplained lateness is forgotten."""

_REGULAR = 0.01  # |excess| below this many periods: a regular step (rounding, rate drift)


@dataclass(frozen=True)
class ClockJump:
    """A moment where the stream's timestamps stopped agreeing with the timeline.

    Attributes:
        shift: seconds the timestamps moved relative to the timeline (+: ahead).
        index: the chunk sample where it happened.
        kind: ``"jump"`` (between two samples) or ``"offset"`` (a stream whose clock is not the
            local one, found on its first chunk, or one that drifted ahead).
    """

    shift: float
    index: int
    kind: Literal["jump", "offset"] = "jump"

    def describe(self, stream: str) -> str:
        """One line for the status line and the log."""
        if self.kind == "offset":
            side = "ahead of" if self.shift > 0 else "behind"
            return (f"timestamps of '{stream}' are {abs(self.shift):.3g} s {side} the local "
                    "clock; re-anchored to it")
        return (f"timestamps of '{stream}' jumped {self.shift:+.3g} s; re-anchored (samples "
                "taken as contiguous)")


@dataclass(frozen=True)
class ClockUpdate:
    """What one chunk's timestamps say.

    Attributes:
        times: (n,) corrected times, seconds on the local LSL clock.
        lost: samples counted lost before and within this chunk.
        gap: the longest gap in seconds beyond one period (0.0: none).
        jumps: the jumps found (the timeline was re-anchored at each).
    """

    times: np.ndarray
    lost: int
    gap: float
    jumps: tuple[ClockJump, ...]


class StreamClock:
    """Follows one stream's timestamps (see the module docstring).

    Args:
        sfreq: the stream's nominal rate, Hz (> 0).
    """

    def __init__(self, sfreq: float) -> None:
        if not sfreq > 0:
            raise ValueError(f"StreamClock needs a positive nominal rate, got {sfreq!r}")
        self.sfreq = float(sfreq)
        self.offset = 0.0  # corrected = stream timestamp + offset
        self._last_raw: float | None = None
        self._last_time: float | None = None
        self._lateness = 0.0  # periods late relative to the earliest the stream has been

    @property
    def last_time(self) -> float | None:
        """Corrected time of the newest sample seen (None before the first)."""
        return self._last_time

    def update(self, timestamps: np.ndarray, now: float) -> ClockUpdate:
        """Check one chunk's timestamps.

        Args:
            timestamps: (n,) the stream's timestamps of the chunk, seconds, in order.
            now: the local LSL clock when the chunk arrived (s).

        Returns:
            Corrected times, samples lost, the longest gap and the jumps.
        """
        raw = np.asarray(timestamps, dtype=np.float64).reshape(-1)
        if raw.size == 0:
            return ClockUpdate(raw.copy(), 0, 0.0, ())
        period = 1.0 / self.sfreq
        jumps: list[ClockJump] = []
        if self._last_raw is None:
            shift = raw[-1] + self.offset - now
            if shift > AHEAD_TOLERANCE_S or -shift > START_LAG_S:
                self.offset -= shift
                jumps.append(ClockJump(shift, 0, "offset"))
            steps, first = np.diff(raw), 1  # steps[k] ends at sample k + first
        else:
            steps, first = np.diff(np.concatenate(([self._last_raw], raw))), 0
        times = raw + self.offset
        if self._last_time is not None:
            self._lateness *= math.exp(-max(0.0, times[-1] - self._last_time) / JITTER_DECAY_S)
        excess = steps * self.sfreq - 1.0
        lost, gap = 0, 0.0
        for k in np.flatnonzero(np.abs(excess) > _REGULAR).tolist():
            i = k + first
            before = times[i - 1] if i > 0 else self._last_time
            if steps[k] < -BACK_TOLERANCE_S or (steps[k] > period + JUMP_MIN_S
                                                and times[i] > now + AHEAD_TOLERANCE_S):
                delta = before + period - times[i]  # continue at the nominal rate
                times[i:] += delta
                self.offset += delta
                jumps.append(ClockJump(-delta, i))
                continue
            gap = max(gap, float(steps[k]) - period)
            self._lateness = max(0.0, self._lateness + float(excess[k]))
            if self._lateness >= JITTER_TOLERANCE:
                n = math.floor(self._lateness + 1.0 - JITTER_TOLERANCE)
                lost += n
                self._lateness -= n
        if times[-1] > now + AHEAD_TOLERANCE_S:  # drifted ahead without a single jump
            delta = now - times[-1]
            times += delta
            self.offset += delta
            jumps.append(ClockJump(-delta, 0, "offset"))
        self._last_raw, self._last_time = float(raw[-1]), float(times[-1])
        return ClockUpdate(times, lost, gap, tuple(jumps))
