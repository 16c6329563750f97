"""Map a stream's channel labels onto the model's channel list.

Labels are compared after :func:`models.eeg.labels.normalize_label`. Stream channels that the
model does not use (EOG, triggers, AUX, ...) are ignored; model channels that the stream lacks
are interpolated from the matched ones with spherical splines (Perrin et al., 1989) on the
electrode positions of :func:`models.eeg.montage.template_positions` (MNE's 10-05 template,
CB1/CB2 at I1/I2 1 cm lateral), the same positions as in the trainer's topomaps.

The resulting :class:`ChannelMap` turns a chunk ``(n_samples, n_stream_channels)`` into
``(n_samples, n_model_channels)`` with one gather or one matrix product.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.polynomial import legendre

from models.eeg.labels import normalize_label
from models.eeg.montage import head_centre, template_positions

__all__ = [
    "MAX_MISSING_FRACTION",
    "ChannelMap",
    "ChannelMappingError",
    "ChannelRepair",
    "build_channel_map",
    "interpolation_weights",
    "spherical_spline_matrix",
]

MAX_MISSING_FRACTION = 0.25
"""Largest fraction of the model's channels that may be estimated (missing or bad)."""


class ChannelMappingError(ValueError):
    """The stream's channels cannot be mapped onto the model's channels."""



def _legendre_g(cosang: np.ndarray, m: int = 4, n_terms: int = 50) -> np.ndarray:
    """Perrin's g(x) = 1/(4 pi) sum_{n>=1} (2n+1) / (n(n+1))^m P_n(x)."""
    n = np.arange(1, n_terms + 1, dtype=np.float64)
    coefs = np.r_[0.0, (2 * n + 1) / (n * (n + 1)) ** m / (4 * np.pi)]
    return legendre.legval(np.clip(cosang, -1.0, 1.0), coefs)


def spherical_spline_matrix(
    pos_from: np.ndarray, pos_to: np.ndarray, centre: np.ndarray | None = None,
    alpha: float = 1e-5,
) -> np.ndarray:  # fmt: skip
    """Spherical-spline interpolation matrix (Perrin et al., 1989).

    Args:
        pos_from: (n_from, 3) positions in metres of the channels with data.
        pos_to: (n_to, 3) positions in metres of the channels to estimate.
        centre: (3,) sphere centre; ``None`` (default): the centre fitted to the template
            montage.
        alpha: Tikhonov regularisation added to the diagonal of the spline system.

    Returns:
        (n_to, n_from) matrix ``W`` with ``values_to = W @ values_from``; every row sums to 1
        (constants are reproduced).
    """
    c = head_centre() if centre is None else np.asarray(centre, dtype=np.float64)
    a = np.asarray(pos_from, dtype=np.float64) - c
    b = np.asarray(pos_to, dtype=np.float64) - c
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    n_from = len(a)
    g_ff = _legendre_g(a @ a.T)
    g_ff.flat[:: n_from + 1] += alpha
    system = np.zeros((n_from + 1, n_from + 1))
    system[:n_from, :n_from] = g_ff
    system[:n_from, n_from] = 1.0
    system[n_from, :n_from] = 1.0
    rhs = np.zeros((n_from + 1, n_from))
    rhs[:n_from] = np.eye(n_from)
    inv_cols = np.linalg.solve(system, rhs)  # first n_from columns of the inverse
    return np.c_[_legendre_g(b @ a.T), np.ones(len(b))] @ inv_cols


def interpolation_weights(sources: Sequence[str], targets: Sequence[str]) -> np.ndarray:
    """Spherical-spline weights estimating ``targets`` from ``sources`` (any spelling).

    Sources without a template position are given weight 0.

    Returns:
        (n_targets, n_sources) matrix; ``values_targets = W @ values_sources``.

    Raises:
        ChannelMappingError: a target has no known position, or fewer than 4 sources do.
    """
    table = template_positions()
    no_pos = [t for t in targets if normalize_label(t) not in table]
    if no_pos:
        raise ChannelMappingError(f"cannot interpolate {no_pos}: no electrode position known "
                                  "for them")
    known = [j for j, s in enumerate(sources) if normalize_label(s) in table]
    if len(known) < 4:
        raise ChannelMappingError(f"cannot interpolate {list(targets)}: only {len(known)} "
                                  "channels with a known position to interpolate from")
    weights = np.zeros((len(targets), len(sources)))
    weights[:, known] = spherical_spline_matrix(
        np.array([table[normalize_label(sources[j])] for j in known]),
        np.array([table[normalize_label(t)] for t in targets]))
    return weights


@dataclass
class ChannelMap:
    """How to build the model's channels from a stream's channels.

    Attributes:
        model_labels: model channel names (as given), in output column order.
        stream_labels: stream channel names (as given), in input column order.
        stream_indices: (n_used,) int array of the stream columns that are used, in the order
            of :attr:`matrix`'s columns.
        matrix: (n_model, n_used) array; output = ``chunk[:, stream_indices] @ matrix.T``.
            Rows of matched channels are one-hot.
        matched: model channels found in the stream.
        interpolated: model channels estimated by interpolation.
        ignored: stream labels not used by the model.
    """

    model_labels: list[str]
    stream_labels: list[str]
    stream_indices: np.ndarray
    matrix: np.ndarray
    matched: list[str] = field(default_factory=list)
    interpolated: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._gather: np.ndarray | None = None
        if not self.interpolated:
            # Pure selection: every row is one-hot, use a gather (exact and faster).
            self._gather = self.stream_indices[np.argmax(self.matrix, axis=1)]

    @property
    def n_model(self) -> int:
        """Number of output (model) channels."""
        return len(self.model_labels)

    @property
    def n_stream(self) -> int:
        """Number of input (stream) channels."""
        return len(self.stream_labels)

    def apply(self, chunk: np.ndarray) -> np.ndarray:
        """Map a chunk onto the model channels.

        Args:
            chunk: (n_samples, n_stream) samples, stream channels in column order.

        Returns:
            (n_samples, n_model) samples in the same units as the input; float64 when channels
            are interpolated.
        """
        x = np.asarray(chunk)
        if x.ndim != 2 or x.shape[1] != self.n_stream:
            raise ValueError(
                f"chunk must have shape (n_samples, {self.n_stream}) for stream channels "
                f"{self.stream_labels}, got {x.shape}"
            )
        if self._gather is not None:
            return x[:, self._gather]
        return x[:, self.stream_indices] @ self.matrix.T

    def summary(self) -> str:
        """One line for the log."""
        text = f"{self.n_model} model channels: {len(self.matched)} matched"
        if self.interpolated:
            text += f", {len(self.interpolated)} interpolated ({', '.join(self.interpolated)})"
        else:
            text += ", none interpolated"
        if self.ignored:
            text += f"; {len(self.ignored)} stream channels ignored ({', '.join(self.ignored)})"
        return text


def build_channel_map(
    stream_labels: Sequence[str],
    model_labels: Sequence[str],
    max_missing_fraction: float = MAX_MISSING_FRACTION,
) -> ChannelMap:
    """Match stream channels to model channels, planning interpolation of the missing ones.

    Args:
        stream_labels: the stream's channel labels, in column order (any spelling, see
            :func:`normalize_label`).
        model_labels: the model's channel names, in the order the model expects.
        max_missing_fraction: largest fraction of model channels that may be interpolated.

    Returns:
        The :class:`ChannelMap` from stream columns to model channels.

    Raises:
        ChannelMappingError: two stream labels normalise to the same model channel; too many
            model channels missing; a missing channel (or too few matched ones) has no
            template position to interpolate.
    """
    if not 0 <= max_missing_fraction < 1:
        raise ValueError(f"max_missing_fraction must be in [0, 1), got {max_missing_fraction!r}")
    stream = [str(s) for s in stream_labels]
    model = [str(s) for s in model_labels]
    if not model:
        raise ValueError("model_labels is empty")
    model_norm = [normalize_label(m) for m in model]
    dup_model = sorted(k for k, c in Counter(model_norm).items() if c > 1)
    if dup_model:
        raise ChannelMappingError(f"model channel names repeat after normalisation: {dup_model}")

    stream_norm = [normalize_label(s) for s in stream]
    wanted = set(model_norm)
    by_key: dict[str, list[int]] = {}
    for i, key in enumerate(stream_norm):
        by_key.setdefault(key, []).append(i)
    clashes = {k: [stream[i] for i in v] for k, v in by_key.items() if k in wanted and len(v) > 1}
    if clashes:
        detail = "; ".join(f"{k} <- {v}" for k, v in sorted(clashes.items()))
        raise ChannelMappingError(
            f"stream labels that are the same channel after normalisation: {detail}"
        )

    matched = [m for m, k in zip(model, model_norm, strict=True) if k in by_key]
    missing = [m for m, k in zip(model, model_norm, strict=True) if k not in by_key]
    ignored = [s for s, k in zip(stream, stream_norm, strict=True) if k not in wanted]
    limit = int(np.floor(max_missing_fraction * len(model) + 1e-9))
    if len(missing) > limit:
        raise ChannelMappingError(
            f"{len(missing)} of {len(model)} model channels are missing from the stream "
            f"(at most {limit} can be interpolated): {missing}; stream labels: {stream}"
        )

    used_keys = [k for k in model_norm if k in by_key]
    stream_indices = np.array([by_key[k][0] for k in used_keys], dtype=np.int64)
    col = {k: j for j, k in enumerate(used_keys)}
    matrix = np.zeros((len(model), len(used_keys)))
    for r, k in enumerate(model_norm):
        if k in col:
            matrix[r, col[k]] = 1.0

    if missing:
        try:
            weights = interpolation_weights(used_keys, missing)  # columns: used_keys order
        except ChannelMappingError as exc:
            raise ChannelMappingError(f"{exc} (missing: {missing}; stream labels: {stream})") \
                from None
        for w_row, m in zip(weights, missing, strict=True):
            matrix[model.index(m)] = w_row

    return ChannelMap(
        model_labels=model,
        stream_labels=stream,
        stream_indices=stream_indices,
        matrix=matrix,
        matched=matched,
        interpolated=missing,
        ignored=ignored,
    )


class ChannelRepair:
    """Estimates bad model channels from the good ones, as the map does for missing ones.

    Works on windows of model channels at the model's rate (interpolation is linear and
    time-invariant, so estimating after the filters equals estimating before them). The
    channels the map interpolates are estimated again from the good channels only, so a bad
    channel does not leak into them. Matrices are cached per set of bad channels.

    Args:
        channel_map: the stream's map onto the model's channels.
        max_fraction: largest fraction of the model's channels that may be missing or bad.
    """

    def __init__(self, channel_map: ChannelMap,
                 max_fraction: float = MAX_MISSING_FRACTION) -> None:
        self.labels = list(channel_map.model_labels)
        missing = set(channel_map.interpolated)
        self.missing_rows = [r for r, m in enumerate(self.labels) if m in missing]
        self.matched_rows = [r for r, m in enumerate(self.labels) if m not in missing]
        self.limit = int(np.floor(max_fraction * len(self.labels) + 1e-9))
        self._cache: dict[frozenset[int], tuple[list[int], list[int], np.ndarray]] = {}

    def plan(self, bad_rows: frozenset[int]) -> tuple[list[int], list[int], np.ndarray]:
        """(rows to estimate, rows estimated from, weights (n_estimated, n_from)).

        Raises:
            ChannelMappingError: more channels missing or bad than the limit, or bad channels
                that cannot be interpolated; the message names them.
        """
        if bad_rows in self._cache:
            return self._cache[bad_rows]
        estimate = sorted(set(self.missing_rows) | set(bad_rows))
        if len(estimate) > self.limit:
            raise ChannelMappingError(
                f"{len(estimate)} of {len(self.labels)} model channels are bad or missing (at "
                f"most {self.limit} can be interpolated)")
        sources = [r for r in self.matched_rows if r not in bad_rows]
        weights = interpolation_weights([self.labels[r] for r in sources],
                                        [self.labels[r] for r in estimate])
        if len(self._cache) > 64:
            self._cache.clear()
        self._cache[bad_rows] = (estimate, sources, weights)
        return self._cache[bad_rows]

    def apply(self, window: np.ndarray, bad_rows: frozenset[int]) -> np.ndarray:
        """A copy of ``window`` (C, T) with the bad and missing rows estimated.

        Raises:
            ChannelMappingError: see :meth:`plan`.
        """
        estimate, sources, weights = self.plan(bad_rows)
        out = window.copy()
        out[estimate] = (weights @ window[sources]).astype(window.dtype, copy=False)
        return out
