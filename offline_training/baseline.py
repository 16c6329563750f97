"""The classical baseline every report prints beside SI-CLEER: CSP + shrinkage LDA.

On the same windows as the network: each window (n_channels, T) in microvolts is band-passed
(``band``, default 8-30 Hz, by zeroing FFT bins outside it), projected on common spatial
patterns, and classified by linear discriminant analysis on the log-variances.

- **CSP** (Koles 1991; Ramoser et al. 2000), one class against the rest for each class (the
  two-class problem uses one pair): with ``C_k`` the mean trace-normalised covariance of class
  ``k``'s windows and ``C`` that of all windows, the filters are the generalised eigenvectors
  of ``(C_k, C)`` with the ``n_filters // 2`` largest and the ``n_filters // 2`` smallest
  eigenvalues. Features: ``log(var(W^T x) / sum var)``.
- **LDA** with Ledoit-Wolf shrinkage of the pooled within-class covariance (Ledoit & Wolf
  2004), equal class priors.

numpy and scipy only. Fitting needs at least two classes and more windows than one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg

__all__ = ["CSPLDA", "bandpass_fft"]

_CHUNK = 256  # windows band-passed at a time


def bandpass_fft(x: np.ndarray, sfreq: float, band: tuple[float, float]) -> np.ndarray:
    """Zero every frequency bin of each window outside ``band`` (Hz).

    Args:
        x: (n, n_channels, T) windows.
        sfreq: sampling rate in Hz.
        band: (low, high) edges in Hz, ``low <= f <= high`` kept.

    Returns:
        (n, n_channels, T) float64 windows, zero mean.
    """
    spec = np.fft.rfft(np.asarray(x, dtype=np.float64), axis=-1)
    freqs = np.fft.rfftfreq(x.shape[-1], 1.0 / sfreq)
    spec[..., (freqs < band[0]) | (freqs > band[1])] = 0.0
    return np.fft.irfft(spec, n=x.shape[-1], axis=-1)


def _covariances(x: np.ndarray) -> np.ndarray:
    """(n, C, C) trace-normalised spatial covariances of (n, C, T) zero-mean windows."""
    cov = np.einsum("nct,ndt->ncd", x, x) / x.shape[-1]
    trace = np.trace(cov, axis1=1, axis2=2)
    return cov / np.maximum(trace, 1e-30)[:, None, None]


def _ledoit_wolf(z: np.ndarray) -> np.ndarray:
    """Ledoit-Wolf shrunk covariance (F, F) of centred samples z (n, F)."""
    n, f = z.shape
    s = z.T @ z / n
    mu = np.trace(s) / f
    d2 = np.sum((s - mu * np.eye(f)) ** 2)
    b2 = np.sum((np.einsum("ni,nj->nij", z, z) - s) ** 2) / n**2
    shrink = min(b2, d2) / d2 if d2 > 0 else 1.0
    return shrink * mu * np.eye(f) + (1 - shrink) * s


@dataclass
class CSPLDA:
    """CSP + shrinkage-LDA classifier of EEG windows.

    Args:
        sfreq: sampling rate of the windows, Hz.
        band: pass band of the CSP input, Hz.
        n_filters: spatial filters per class (per one-vs-rest problem), even.

    Attributes (after :meth:`fit`):
        classes_: the class labels seen, sorted.
        filters_: (n_channels, n_features) CSP filters.
        coef_, intercept_: LDA weights (n_features, n_classes) and offsets (n_classes,).
    """

    sfreq: float
    band: tuple[float, float] = (8.0, 30.0)
    n_filters: int = 6
    classes_: np.ndarray = field(default=None, init=False, repr=False)  # type: ignore[assignment]
    filters_: np.ndarray = field(default=None, init=False, repr=False)  # type: ignore[assignment]
    coef_: np.ndarray = field(default=None, init=False, repr=False)  # type: ignore[assignment]
    intercept_: np.ndarray = field(default=None, init=False, repr=False)  # type: ignore[assignment]

    def _filtered(self, x: np.ndarray):
        """Band-passed float64 windows, ``_CHUNK`` at a time (bounded memory)."""
        for start in range(0, len(x), _CHUNK):
            yield bandpass_fft(x[start: start + _CHUNK], self.sfreq, self.band)

    def _features(self, x: np.ndarray) -> np.ndarray:
        out = []
        for xf in self._filtered(x):
            var = np.einsum("cf,nct->nft", self.filters_, xf).var(axis=-1)
            out.append(np.log(var / np.maximum(var.sum(axis=1, keepdims=True), 1e-30) + 1e-30))
        return np.concatenate(out)

    def fit(self, x: np.ndarray, y: np.ndarray) -> CSPLDA:
        """Fit on windows x (n, n_channels, T) in microvolts and labels y (n,).

        Raises:
            ValueError: fewer than two classes, or a class with a single window.
        """
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"CSP + LDA needs two classes or more, got {self.classes_.tolist()}")
        counts = [int((y == c).sum()) for c in self.classes_]
        if min(counts) < 2:
            raise ValueError(f"CSP + LDA needs two windows per class, got {counts}")
        covs = np.concatenate([_covariances(xf) for xf in self._filtered(x)])
        mean_all = np.mean([covs[y == c].mean(0) for c in self.classes_], axis=0)
        problems = self.classes_[:1] if len(self.classes_) == 2 else self.classes_
        half = max(self.n_filters // 2, 1)
        filters = []
        reg = 1e-10 * np.trace(mean_all) * np.eye(len(mean_all))
        for c in problems:
            vals, vecs = scipy.linalg.eigh(covs[y == c].mean(0), mean_all + reg)
            order = np.argsort(vals)
            filters.append(vecs[:, np.r_[order[:half], order[-half:]]])
        self.filters_ = np.concatenate(filters, axis=1)
        f = self._features(x)
        means = np.stack([f[y == c].mean(0) for c in self.classes_])
        centred = np.concatenate([f[y == c] - means[i] for i, c in enumerate(self.classes_)])
        sigma = _ledoit_wolf(centred)
        self.coef_ = np.linalg.solve(sigma, means.T)  # (F, K)
        self.intercept_ = -0.5 * np.einsum("kf,fk->k", means, self.coef_)
        return self

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """(n, n_classes) linear discriminant scores (higher: more likely)."""
        if self.filters_ is None:
            raise RuntimeError("CSPLDA.fit must be called first")
        return self._features(x) @ self.coef_ + self.intercept_

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(n,) predicted class labels."""
        return self.classes_[np.argmax(self.decision_function(x), axis=1)]
