"""What a live EEG channel can be: invalid samples, and the signal level of each channel.

Two checks, with these thresholds (the README's "Signal checks" lists them too):

- **Invalid samples** (:func:`invalid_flags`, per sample and channel, on the input in
  microvolts): NaN or infinite values, and finite values beyond ±``INPUT_LIMIT_UV`` (1 V, more
  than any EEG amplifier's input range: float32 3e38 or float64 1e300 would overflow the
  float32 ring and the filters). They never reach the filters (the pipeline holds the last
  valid value instead) and are flagged, and so is any filter output that is not finite
  (``OVERFLOW``).
- **Signal level** (:func:`assess_window`, per channel, on one window at the model's rate):

  ======================  ================================================================
  problem                 rule
  ======================  ================================================================
  flat                    filtered standard deviation below ``FLAT_UV`` (1e-6 µV): a
                          constant channel (disconnected, or held at an amplifier rail)
  too small               filtered standard deviation below ``MIN_RMS_UV`` (0.1 µV, under
                          any amplifier's noise floor): e.g. volts sent as microvolts
  too large               filtered standard deviation above ``MAX_RMS_UV`` (1000 µV): no
                          brain signal, not even blinks or chewing, is that large
  saturated               at least ``CLIP_FRACTION`` (10 %) of the window's unfiltered
                          samples within ``CLIP_BAND`` (0.1 %) of its range from its maximum or
                          minimum, over a range of at least ``CLIP_MIN_RANGE_UV`` (50 µV):
                          an amplifier clipping
  ======================  ================================================================

A channel with invalid samples in a window, or a level problem, is *bad* for that window.
Level problems are held for ``HOLD_SECONDS`` after they were last seen, so that a channel
does not flicker between bad and good from one window to the next (:class:`QualityTracker`).
Bad channels are estimated from their neighbours like missing ones
(:class:`bci_app.signal.channel_map.ChannelRepair`) while at most a quarter of the model's
channels are bad or missing; beyond that the engine stops predicting (state ``bad signal``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

__all__ = [
    "CLIP_BAND",
    "CLIP_FRACTION",
    "CLIP_MIN_RANGE_UV",
    "FLAT_UV",
    "HOLD_SECONDS",
    "INPUT_LIMIT_UV",
    "MAX_RMS_UV",
    "MIN_RMS_UV",
    "NON_FINITE",
    "NO_SAMPLE",
    "OUT_OF_RANGE",
    "OVERFLOW",
    "ChannelProblem",
    "Problem",
    "QualityTracker",
    "assess_window",
    "invalid_flags",
]

INPUT_LIMIT_UV = 1e6
"""Largest plausible input magnitude, microvolts (1 V); beyond it a sample is invalid."""
FLAT_UV = 1e-6
"""Filtered standard deviation (µV) below which a channel is flat."""
MIN_RMS_UV = 0.1
"""Filtered standard deviation (µV) below which a channel is implausibly small."""
MAX_RMS_UV = 1000.0
"""Filtered standard deviation (µV) above which a channel is implausibly large."""
CLIP_FRACTION = 0.1
"""Fraction of a window's samples at its extreme value from which a channel is saturated."""
CLIP_BAND = 1e-3
"""Width of the "at its extreme" band, as a fraction of the window's range."""
CLIP_MIN_RANGE_UV = 50.0
"""Smallest window range (µV) at which clipping is looked for."""
HOLD_SECONDS = 2.0
"""How long a level problem keeps a channel bad after it was last seen (s)."""

NON_FINITE = np.uint8(1)
"""Flag bit: the input sample was NaN or infinite."""
OUT_OF_RANGE = np.uint8(2)
"""Flag bit: the input sample was finite but beyond ±INPUT_LIMIT_UV."""
OVERFLOW = np.uint8(4)
"""Flag bit: the filters produced a non-finite value."""
NO_SAMPLE = np.uint8(8)
"""Flag bit: no sample here (history from before the signal restarted)."""


class Problem(StrEnum):
    """Why a channel is bad in a window (the value is what the status line shows)."""

    NON_FINITE = "NaN/Inf samples"
    OUT_OF_RANGE = "values beyond ±1 V"
    OVERFLOW = "filter overflow"
    NO_SAMPLE = "no samples"
    FLAT = "flat"
    TOO_SMALL = "too small"
    TOO_LARGE = "too large"
    SATURATED = "saturated"

    @property
    def invalid(self) -> bool:
        """Whether the problem is invalid samples (not a level that EEG cannot have)."""
        return self in (Problem.NON_FINITE, Problem.OUT_OF_RANGE, Problem.OVERFLOW,
                        Problem.NO_SAMPLE)


_FLAG_PROBLEMS = ((NON_FINITE, Problem.NON_FINITE), (OUT_OF_RANGE, Problem.OUT_OF_RANGE),
                  (OVERFLOW, Problem.OVERFLOW), (NO_SAMPLE, Problem.NO_SAMPLE))


@dataclass(frozen=True)
class ChannelProblem:
    """One bad channel in one window.

    Attributes:
        problem: the kind.
        detail: the figure behind it, e.g. ``"2.1e-05 µV rms (volts sent as microvolts?)"``.
    """

    problem: Problem
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.problem}: {self.detail}" if self.detail else str(self.problem)


def invalid_flags(x: np.ndarray) -> np.ndarray:
    """Flags of the input samples that must not reach the filters.

    Args:
        x: (n, C) samples in microvolts, any float dtype.

    Returns:
        (n, C) uint8: ``NON_FINITE`` or ``OUT_OF_RANGE`` per sample and channel, else 0.
    """
    finite = np.isfinite(x)
    flags = np.where(finite, np.uint8(0), NON_FINITE).astype(np.uint8)
    with np.errstate(invalid="ignore"):
        flags[finite & (np.abs(x) > INPUT_LIMIT_UV)] = OUT_OF_RANGE
    return flags


def assess_window(raw: np.ndarray, filtered: np.ndarray, flags: np.ndarray,
                  rows: Sequence[int]) -> dict[int, ChannelProblem]:
    """The bad channels of one window.

    Args:
        raw: (C, T) unfiltered samples at the model's rate, microvolts.
        filtered: (C, T) the same after the causal filters, microvolts.
        flags: (C, T) uint8 invalid-sample flags (:data:`NON_FINITE`, ...).
        rows: the channels to assess (the stream's own; interpolated ones are not measured).

    Returns:
        Row -> its problem, for the bad rows only (invalid samples take precedence).
    """
    rows = np.asarray(rows, dtype=np.int64)
    out: dict[int, ChannelProblem] = {}
    if rows.size == 0:
        return out
    f = flags[rows]
    any_flag = np.bitwise_or.reduce(f, axis=1)
    for r, bits, n_bad in zip(rows, any_flag, np.count_nonzero(f, axis=1), strict=True):
        if bits:
            kind = next(p for bit, p in _FLAG_PROBLEMS if bits & bit)
            out[int(r)] = ChannelProblem(kind, f"{n_bad} of {f.shape[1]} samples")
    ok = np.array([r not in out for r in rows.tolist()])
    rows = rows[ok]
    if rows.size == 0:
        return out
    sd = filtered[rows].std(axis=1)
    x = raw[rows]
    lo, hi = x.min(axis=1), x.max(axis=1)
    span = hi - lo
    band = CLIP_BAND * span[:, None]
    at_edge = np.maximum((x >= hi[:, None] - band).mean(axis=1),
                         (x <= lo[:, None] + band).mean(axis=1))
    for r, s, rng, edge in zip(rows.tolist(), sd, span, at_edge, strict=True):
        if s < FLAT_UV:
            out[r] = ChannelProblem(Problem.FLAT)
        elif s < MIN_RMS_UV:
            out[r] = ChannelProblem(Problem.TOO_SMALL,
                                    f"{s:.2g} µV rms (volts sent as microvolts?)")
        elif s > MAX_RMS_UV:
            out[r] = ChannelProblem(Problem.TOO_LARGE, f"{s:.3g} µV rms")
        elif rng >= CLIP_MIN_RANGE_UV and edge >= CLIP_FRACTION:
            out[r] = ChannelProblem(Problem.SATURATED,
                                    f"{100 * edge:.0f} % of samples at its limit")
    return out


class QualityTracker:
    """Bad channels over time: each window's problems, level problems held for a while.

    Args:
        names: model channel names (row order).
        rows: rows to assess (the channels the stream provides).
        hold_seconds: how long a level problem keeps its channel bad (:data:`HOLD_SECONDS`).
    """

    def __init__(self, names: Sequence[str], rows: Sequence[int],
                 hold_seconds: float = HOLD_SECONDS) -> None:
        self.names = list(names)
        self.rows = list(rows)
        self.hold_seconds = hold_seconds
        self._held: dict[int, tuple[ChannelProblem, float]] = {}  # row -> (problem, last seen)
        self.current: dict[int, ChannelProblem] = {}

    def reset(self) -> None:
        """Forget everything (a new stream, or the signal restarted)."""
        self._held.clear()
        self.current = {}

    def update(self, raw: np.ndarray, filtered: np.ndarray, flags: np.ndarray,
               time: float) -> bool:
        """Assess one window (see :func:`assess_window`) ending at ``time`` (s).

        Returns:
            Whether the set of bad channels or their problems changed (:attr:`current`).
        """
        found = assess_window(raw, filtered, flags, self.rows)
        for row, problem in found.items():
            if not problem.problem.invalid:
                self._held[row] = (problem, time)
        current = dict(found)
        for row, (problem, seen) in list(self._held.items()):
            if time - seen > self.hold_seconds:
                del self._held[row]
            elif row not in current:
                current[row] = problem
        changed = {r: p.problem for r, p in current.items()} != \
            {r: p.problem for r, p in self.current.items()}
        self.current = dict(sorted(current.items()))
        return changed

    def describe(self, shown: int = 4) -> str:
        """The bad channels in one line, by problem: ``"T7 (flat); too large on 3: O1, O2,
        OZ"`` (a single channel with its figure, a group with up to ``shown`` names)."""
        groups: dict[Problem, list[int]] = {}
        for row, p in self.current.items():
            groups.setdefault(p.problem, []).append(row)
        parts = []
        for kind, rows in groups.items():
            if len(rows) == 1:
                parts.append(f"{self.names[rows[0]]} ({self.current[rows[0]]})")
                continue
            names = ", ".join(self.names[r] for r in rows[:shown])
            more = f" and {len(rows) - shown} more" if len(rows) > shown else ""
            parts.append(f"{kind} on {len(rows)}: {names}{more}")
        return "; ".join(parts)

    def pairs(self) -> tuple[tuple[str, str], ...]:
        """The bad channels as (name, problem) pairs, row order."""
        return tuple((self.names[r], str(p)) for r, p in self.current.items())
