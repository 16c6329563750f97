"""Causal IIR filtering of live chunks with the filter state carried across chunks.

A :class:`CausalFilter` holds a cascade of second-order sections and one state per channel,
so that filtering a signal chunk by chunk gives the same output as filtering it in one call.

Initial state: by default (``init="steady"``) the state is set, on the first non-empty chunk,
to the steady state the filter would have reached if the input had been constant and equal to
the first sample forever (``scipy.signal.sosfilt_zi`` scaled per channel by the first sample).
Amplifiers often deliver large DC offsets (tens of millivolts); with zero initial state a
high-pass filter would turn such an offset into a huge, slowly decaying transient. With the
steady-state initialisation the DC offset is removed from the first sample on, and only the
genuine signal transient remains. ``init="zeros"`` gives the textbook zero state.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
from scipy import signal

from models.preprocessing import FilterSpec

__all__ = ["CausalFilter", "make_live_filter", "warmup_seconds"]

logger = logging.getLogger(__name__)

InitMode = Literal["steady", "zeros"]
_DEFAULT = FilterSpec()  # the one set of live filter defaults (models.preprocessing)


class CausalFilter:
    """Cascade of second-order IIR sections applied causally to ``(n_samples, n_channels)``.

    Args:
        sos: (n_sections, 6) second-order sections (``scipy.signal`` layout). An empty array
            (0 sections) makes a pass-through filter.
        sfreq: sampling rate in Hz (used for :meth:`warmup_seconds` only).
        n_channels: number of channels of every chunk.
        init: initial state, ``"steady"`` (steady state for the first sample, default) or
            ``"zeros"``.
    """

    def __init__(
        self, sos: np.ndarray, sfreq: float, n_channels: int, init: InitMode = "steady"
    ) -> None:
        sos = np.atleast_2d(np.asarray(sos, dtype=np.float64))
        if sos.size == 0:
            sos = np.zeros((0, 6))
        if sos.ndim != 2 or sos.shape[1] != 6:
            raise ValueError(f"sos must have shape (n_sections, 6), got {sos.shape}")
        if not (np.isfinite(sfreq) and sfreq > 0):
            raise ValueError(f"sfreq must be a positive number of Hz, got {sfreq!r}")
        if int(n_channels) != n_channels or n_channels < 1:
            raise ValueError(f"n_channels must be a positive integer, got {n_channels!r}")
        if init not in ("steady", "zeros"):
            raise ValueError(f"init must be 'steady' or 'zeros', got {init!r}")
        self.sos = sos
        self.sfreq = float(sfreq)
        self.n_channels = int(n_channels)
        self.init: InitMode = init
        # Per-section steady-state for a unit step, shape (n_sections, 2).
        self._zi_unit = signal.sosfilt_zi(sos) if len(sos) else np.zeros((0, 2))
        self._zi: np.ndarray | None = None  # (n_sections, 2, n_channels) once started
        self._warmup: dict[float, float] = {}

    @property
    def n_sections(self) -> int:
        """Number of second-order sections."""
        return len(self.sos)

    def reset(self) -> None:
        """Forget the state; the next non-empty chunk starts the filter afresh."""
        self._zi = None

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """Filter one chunk and advance the state.

        Args:
            chunk: (n_samples, n_channels) samples in time order (any float dtype;
                ``n_samples`` may be 0).

        Returns:
            (n_samples, n_channels) float64 filtered samples, same units as the input.
        """
        x = np.asarray(chunk, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_channels:
            raise ValueError(f"chunk must have shape (n_samples, {self.n_channels}), got {x.shape}")
        if x.shape[0] == 0 or self.n_sections == 0:
            return x.copy()
        if self._zi is None:
            if self.init == "steady":
                self._zi = self._zi_unit[:, :, None] * x[0][None, None, :]
            else:
                self._zi = np.zeros((self.n_sections, 2, self.n_channels))
        y, self._zi = signal.sosfilt(self.sos, x, axis=0, zi=self._zi)
        return y

    def warmup_seconds(self, tol: float = 1e-3) -> float:
        """Seconds after which the filter output can be trusted; see :func:`warmup_seconds`."""
        if tol not in self._warmup:
            self._warmup[tol] = warmup_seconds(self.sos, self.sfreq, tol=tol)
        return self._warmup[tol]


def warmup_seconds(sos: np.ndarray, sfreq: float, tol: float = 1e-3) -> float:
    """Time for a filter's impulse response energy to settle.

    Returns the smallest ``t`` such that the energy of the impulse response after ``t`` is at
    most ``tol`` times its total energy, computed numerically (the response is simulated over a
    horizon that doubles until its tail holds a negligible share of the energy).

    Args:
        sos: (n_sections, 6) second-order sections.
        sfreq: sampling rate in Hz.
        tol: fraction of the impulse response energy allowed after the warm-up time.

    Returns:
        Warm-up time in seconds (0.0 for a pass-through filter).
    """
    sos = np.atleast_2d(np.asarray(sos, dtype=np.float64))
    if sos.size == 0:
        return 0.0
    if not 0 < tol < 1:
        raise ValueError(f"tol must be in (0, 1), got {tol!r}")
    n = max(int(10 * sfreq), 64)
    max_n = int(3600 * sfreq)
    while True:
        impulse = np.zeros(n)
        impulse[0] = 1.0
        energy = signal.sosfilt(sos, impulse) ** 2
        total = energy.sum()
        # Energy after sample k: suffix sums.
        tail = np.cumsum(energy[::-1])[::-1]
        if total == 0:
            return 0.0
        # The last 10 % of the horizon must hold much less than tol of the energy.
        if tail[int(0.9 * n)] <= 1e-3 * tol * total or n >= max_n:
            break
        n *= 2
    k = int(np.argmax(tail <= tol * total))
    return k / float(sfreq)


def make_live_filter(
    sfreq: float,
    l_freq: float | None = _DEFAULT.l_freq,
    h_freq: float | None = _DEFAULT.h_freq,
    notch: float | None = _DEFAULT.notch,
    *,
    n_channels: int,
    order: int = _DEFAULT.order,
    notch_q: float = _DEFAULT.notch_q,
    notch_harmonics: bool = False,
    clip_h_freq: bool = True,
    init: InitMode = "steady",
) -> CausalFilter:
    """Build the live path's causal filter: Butterworth band-pass then mains notch.

    Defaults are those of :class:`models.preprocessing.FilterSpec` (0.5-75 Hz, 50 Hz notch,
    order 4), the same as the engine's.

    Args:
        sfreq: sampling rate of the signal in Hz.
        l_freq, h_freq: pass band edges in Hz (-3 dB points). ``None`` drops that edge
            (``l_freq=None``: low-pass only; ``h_freq=None``: high-pass only). The Butterworth
            design of ``order`` is applied per edge (scipy doubles it for a band-pass).
        notch: mains frequency in Hz to remove with an IIR notch (quality factor
            ``notch_q``); ``None`` for no notch. A notch at or above Nyquist is skipped with a
            log message (nothing of that frequency can be told apart in the sampled signal).
        n_channels: number of channels (keyword only).
        order: Butterworth order per edge.
        notch_q: quality factor of the notch.
        notch_harmonics: also notch the harmonics ``2*notch, 3*notch, ...`` below Nyquist.
        clip_h_freq: if ``h_freq`` is at or above 0.9 x Nyquist, lower it to 0.9 x Nyquist
            (logged) rather than raise. With ``False`` such an ``h_freq`` raises ``ValueError``.
        init: initial state, ``"steady"`` or ``"zeros"`` (see :class:`CausalFilter`).

    Returns:
        The filter, with state for ``n_channels`` channels.
    """
    if not (isinstance(sfreq, int | float) and np.isfinite(sfreq) and sfreq > 0):
        raise ValueError(f"sfreq must be a positive number of Hz, got {sfreq!r}")
    nyq = sfreq / 2.0
    if l_freq is not None and not (np.isfinite(l_freq) and 0 < l_freq < nyq):
        raise ValueError(f"l_freq must be in (0, Nyquist={nyq:g}) Hz, got {l_freq!r}")
    if h_freq is not None:
        if not (np.isfinite(h_freq) and h_freq > 0):
            raise ValueError(f"h_freq must be a positive number of Hz, got {h_freq!r}")
        h_max = 0.9 * nyq
        if h_freq > h_max + 1e-9:
            if not clip_h_freq:
                raise ValueError(
                    f"h_freq={h_freq:g} Hz must be below 0.9 x Nyquist = {h_max:g} Hz "
                    f"for sfreq={sfreq:g} Hz"
                )
            logger.info("h_freq %g Hz clipped to %g Hz (sfreq %g Hz)", h_freq, h_max, sfreq)
            h_freq = h_max
    if l_freq is not None and h_freq is not None and l_freq >= h_freq:
        raise ValueError(f"l_freq={l_freq:g} Hz must be below h_freq={h_freq:g} Hz")
    if int(order) != order or order < 1:
        raise ValueError(f"order must be a positive integer, got {order!r}")
    if notch is not None and not (np.isfinite(notch) and notch > 0):
        raise ValueError(f"notch must be a positive number of Hz or None, got {notch!r}")
    if not notch_q > 0:
        raise ValueError(f"notch_q must be positive, got {notch_q!r}")

    sections: list[np.ndarray] = []
    if l_freq is not None and h_freq is not None:
        sections.append(
            signal.butter(order, [l_freq, h_freq], btype="bandpass", fs=sfreq, output="sos")
        )
    elif l_freq is not None:
        sections.append(signal.butter(order, l_freq, btype="highpass", fs=sfreq, output="sos"))
    elif h_freq is not None:
        sections.append(signal.butter(order, h_freq, btype="lowpass", fs=sfreq, output="sos"))

    if notch is not None:
        if notch >= 0.99 * nyq:
            logger.info("notch %g Hz skipped: at or above Nyquist (%g Hz)", notch, nyq)
        freqs = [notch]
        if notch_harmonics:
            k = 2
            while k * notch < 0.99 * nyq:
                freqs.append(k * notch)
                k += 1
        for f0 in freqs:
            if f0 >= 0.99 * nyq:
                continue
            b, a = signal.iirnotch(f0, notch_q, fs=sfreq)
            sections.append(signal.tf2sos(b, a))

    sos = np.concatenate(sections, axis=0) if sections else np.zeros((0, 6))
    return CausalFilter(sos, sfreq, n_channels, init=init)
