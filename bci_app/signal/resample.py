"""Streaming rational resampling (polyphase FIR) with exact chunk invariance.

The input is conceptually upsampled by ``up`` (zeros inserted), low-pass filtered by a causal
linear-phase FIR ``h`` designed at ``up * sfreq_in`` and then decimated by ``down``. Output
sample ``m`` is therefore located at input index ``m * down / up`` (fractional) and equals

    y[m] = sum_j h[p + j * up] * x[i0 - j],   i0 = (m * down) // up,   p = (m * down) % up

i.e. it uses only input samples up to ``i0 <= m * down / up``: the resampler is causal. Only the
needed outputs are computed, with a vectorised gather of the ``K`` most recent inputs per output
and a batched dot product with the phase's sub-filter (no loop per sample).

State kept between calls: the last ``K - 1`` input samples, the number of input samples
consumed and the index of the next output sample. Processing a signal in chunks of any sizes
(0 included) gives the same output as processing it in one call.

Initial state: before the first sample the input is taken to be equal to the first sample
(edge hold), so a DC offset does not produce a start-up transient.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

__all__ = ["StreamingResampler"]

_MAX_BLOCK_ELEMS = 2_000_000  # bound on the gathered (n_out, C, K) block, in elements


class StreamingResampler:
    """Resample ``(n_samples, n_channels)`` chunks from ``sfreq_in`` to ``sfreq_out`` causally.

    Args:
        sfreq_in: input sampling rate in Hz.
        sfreq_out: output sampling rate in Hz. A rate equal to ``sfreq_in`` gives an exact
            pass-through.
        n_channels: number of channels of every chunk.
        rolloff: anti-alias cutoff (-6 dB) as a fraction of ``min(sfreq_in, sfreq_out) / 2``
            (keyword only).
        atten_db: stop-band attenuation of the Kaiser-window design, in dB (keyword only). The
            transition band runs from ``(2 * rolloff - 1)`` to ``1`` times the lower Nyquist
            frequency.
        max_denominator: largest ``up`` / ``down`` allowed when approximating
            ``sfreq_out / sfreq_in`` by a fraction (keyword only). The effective output rate is
            ``sfreq_in * up / down`` (:attr:`sfreq_out`).
    """

    def __init__(
        self,
        sfreq_in: float,
        sfreq_out: float,
        n_channels: int,
        *,
        rolloff: float = 0.9,
        atten_db: float = 60.0,
        max_denominator: int = 1000,
    ) -> None:
        for name, val in (("sfreq_in", sfreq_in), ("sfreq_out", sfreq_out)):
            if not (isinstance(val, int | float) and np.isfinite(val) and val > 0):
                raise ValueError(f"{name} must be a positive number of Hz, got {val!r}")
        if int(n_channels) != n_channels or n_channels < 1:
            raise ValueError(f"n_channels must be a positive integer, got {n_channels!r}")
        if not 0.5 < rolloff < 1:
            raise ValueError(f"rolloff must be in (0.5, 1), got {rolloff!r}")
        if not atten_db > 21:
            raise ValueError(f"atten_db must be above 21 dB, got {atten_db!r}")
        ratio = (Fraction(float(sfreq_out)) / Fraction(float(sfreq_in))).limit_denominator(
            max_denominator
        )
        if ratio.numerator > max_denominator:
            raise ValueError(
                f"cannot resample {sfreq_in:g} -> {sfreq_out:g} Hz with up/down <= "
                f"{max_denominator}"
            )
        self.sfreq_in = float(sfreq_in)
        self.up = ratio.numerator
        self.down = ratio.denominator
        self.sfreq_out = self.sfreq_in * self.up / self.down
        self.n_channels = int(n_channels)

        if self.up == self.down == 1:
            self.taps = np.ones(1)
        else:
            fs_up = self.sfreq_in * self.up
            nyq_low = min(self.sfreq_in, self.sfreq_out) / 2.0
            cutoff = rolloff * nyq_low
            width = 2.0 * (1.0 - rolloff) * nyq_low
            numtaps, beta = signal.kaiserord(atten_db, width / (fs_up / 2.0))
            numtaps |= 1  # odd length: integer group delay on the upsampled grid
            self.taps = self.up * signal.firwin(numtaps, cutoff, window=("kaiser", beta), fs=fs_up)
        n_taps = len(self.taps)
        self._k = -(-n_taps // self.up)  # taps per phase
        padded = np.zeros(self._k * self.up)
        padded[:n_taps] = self.taps
        # _bank[p, k] multiplies x[i0 - (K-1) + k]: phase sub-filters, time-reversed.
        self._bank = padded.reshape(self._k, self.up).T[:, ::-1].copy()
        self.reset()

    @property
    def is_identity(self) -> bool:
        """True when input and output rates are equal (samples pass through unchanged)."""
        return self.up == self.down == 1

    @property
    def group_delay(self) -> float:
        """Delay of the anti-alias filter in seconds (0 for the identity).

        Output sample ``m`` represents the input signal at ``ts_out[m] - group_delay``, where
        ``ts_out`` are the instants given by :meth:`process_timestamped`.
        """
        return (len(self.taps) - 1) / 2.0 / (self.up * self.sfreq_in)

    def reset(self) -> None:
        """Forget the history; the next non-empty chunk starts a new signal."""
        self._hist: np.ndarray | None = None  # last K - 1 input samples, (K - 1, C)
        self._n_in = 0  # input samples consumed (modulo a common period, see _process)
        self._m_next = 0  # index of the next output sample

    def n_out_for(self, n_samples: int) -> int:
        """Number of output samples the next chunk of ``n_samples`` input samples will give."""
        n_total = self._n_in + int(n_samples)
        return max(0, (n_total * self.up - 1) // self.down + 1 - self._m_next)

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """Resample one chunk.

        Args:
            chunk: (n_samples, n_channels) input samples in time order (``n_samples`` may
                be 0).

        Returns:
            (n_out, n_channels) float64 output samples that became computable with this chunk.
        """
        return self._process(chunk)[0]

    def process_timestamped(
        self, chunk: np.ndarray, timestamps: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Resample one chunk and give each output sample its instant on the input time axis.

        Output sample ``m`` sits at the fractional input position ``m * down / up``; its
        timestamp is the linear interpolation of the chunk's timestamps at that position (one
        nominal input period past the last sample if needed, when upsampling). The filter's
        :attr:`group_delay` is NOT subtracted: subtract it to get the time of the signal content.

        Args:
            chunk: (n_samples, n_channels) input samples in time order.
            timestamps: (n_samples,) input sample times in seconds (LSL clock).

        Returns:
            ``(samples, timestamps)``: samples (n_out, n_channels) float64; timestamps (n_out,)
            in seconds, same clock as the input.
        """
        ts = np.asarray(timestamps, dtype=np.float64)
        x = np.asarray(chunk)
        if x.ndim == 2 and ts.shape != (x.shape[0],):
            raise ValueError(
                f"timestamps must have shape (n_samples,) = ({x.shape[0]},), got {ts.shape}"
            )
        y, pos = self._process(x)
        n = len(ts)
        if len(pos) == 0:
            return y, np.zeros(0)
        if n == 1:
            t_out = ts[0] + pos / self.sfreq_in
        else:
            t_out = np.interp(pos, np.arange(n), ts)
            beyond = pos > n - 1
            if np.any(beyond):
                t_out[beyond] = ts[-1] + (pos[beyond] - (n - 1)) / self.sfreq_in
        return y, t_out

    def _process(self, chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Resample and return ``(samples, positions)``, positions relative to chunk start."""
        x = np.asarray(chunk, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_channels:
            raise ValueError(f"chunk must have shape (n_samples, {self.n_channels}), got {x.shape}")
        n = x.shape[0]
        if self.is_identity:
            return x.copy(), np.arange(n, dtype=np.float64)
        if n == 0:
            return np.zeros((0, self.n_channels)), np.zeros(0)
        k = self._k
        if self._hist is None:
            self._hist = np.repeat(x[:1], k - 1, axis=0)
        buf = np.concatenate([self._hist, x], axis=0)  # buf[r] = x_abs[n_in - (K-1) + r]
        n_total = self._n_in + n
        m_end = (n_total * self.up - 1) // self.down + 1  # exclusive
        ms = np.arange(self._m_next, m_end, dtype=np.int64)
        prod = ms * self.down
        i0 = prod // self.up
        phase = prod % self.up
        start = i0 - self._n_in  # window buf[start : start + K] ends at x_abs[i0]
        pos = prod / self.up - self._n_in

        y = np.empty((len(ms), self.n_channels))
        if len(ms):
            windows = sliding_window_view(buf, k, axis=0)  # (len(buf) - K + 1, C, K)
            step = max(1, _MAX_BLOCK_ELEMS // (self.n_channels * k))
            for b in range(0, len(ms), step):
                sel = slice(b, b + step)
                block = windows[start[sel]]  # (nb, C, K)
                y[sel] = np.matmul(block, self._bank[phase[sel]][:, :, None])[:, :, 0]

        self._hist = buf[len(buf) - (k - 1) :].copy() if k > 1 else buf[:0].copy()
        self._n_in = n_total
        self._m_next = int(m_end)
        # Keep the counters small: shifting m by `up` shifts i0 by `down` exactly.
        periods = min(self._m_next // self.up, self._n_in // self.down)
        self._m_next -= periods * self.up
        self._n_in -= periods * self.down
        return y, pos
