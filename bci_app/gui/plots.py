"""pyqtgraph panels of the live window: trajectory, band power, head map, EEG traces.

Every panel keeps its data in preallocated numpy buffers and redraws with ``setData(...,
skipFiniteCheck=True)``; none of them calls the engine. Every time axis is fixed and reads
seconds before the newest data (0 = now): the data scroll under it, so the axes are never laid
out again (a scrolling axis cost 15-50 ms of GUI thread per re-layout).
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from models.eeg.bands import BAND_NAMES
from models.eeg.labels import normalize_label, rows_of
from models.eeg.montage import (
    electrode_positions,
    fit_sphere,
    padded_hull,
    region_outline_groups,
    topomap_info,
)
from models.eeg.regions import FAA_PAIR, FRONTAL, REGIONS, TEMPORAL, region_of, region_rows
from models.wording import count

__all__ = [
    "BAND_COLORS",
    "CLASS_PALETTE",
    "NAMED_CLASS_COLORS",
    "BandPowerPanel",
    "HeadMapPanel",
    "RingBuffer",
    "StickyRange",
    "TracesPanel",
    "TrajectoryPanel",
    "class_colors",
    "class_runs",
    "head_layout",
    "peak_decimate",
    "set_curve",
]

NAMED_CLASS_COLORS: dict[str, str] = {"negative": "#e8575a", "neutral": "#8fa7c4",
                                      "positive": "#4fbf6a"}
"""Classes that keep one colour in every model: SEED's negative (red), neutral (grey-blue),
positive (green)."""
CLASS_PALETTE: tuple[str, ...] = ("#f29e4c", "#b07cf7", "#3ec9d6", "#f2d544", "#ff70a6",
                                  "#a3d65c", "#5b7fde", "#d4a373")
"""Qualitative palette for the other classes, in order: orange, violet, cyan, yellow, pink,
lime, blue, tan (distinct from the named colours and from each other on the dark theme)."""
BAND_COLORS: tuple[str, ...] = ("#b07cc6", "#5b8fd9", "#4cc9c0", "#f29e4c", "#f2d544")
"""delta, theta, alpha, beta, gamma."""
FRONTAL_COLOR = "#7fc8ff"
TEMPORAL_COLOR = "#ffb454"
OTHER_COLOR = "#9aa3ad"
TEXT_COLOR = "#d7dce2"


class RingBuffer:
    """Last ``capacity`` rows of width ``width``, stored contiguously (no copy to read).

    Rows are written into a buffer twice the capacity; when it is full the newest
    ``capacity`` rows move to the front (amortised O(1) per row).
    """

    def __init__(self, capacity: int, width: int = 1) -> None:
        self._data = np.full((2 * capacity, width), np.nan)
        self._cap = capacity
        self._pos = 0

    @property
    def width(self) -> int:
        """Values per row."""
        return int(self._data.shape[1])

    def append(self, row: np.ndarray | Sequence[float] | float) -> None:
        """Append one row (width values)."""
        if self._pos == self._data.shape[0]:
            self._data[: self._cap] = self._data[self._cap :]
            self._pos = self._cap
        self._data[self._pos] = row
        self._pos += 1

    def view(self) -> np.ndarray:
        """The stored rows, oldest first: (n, width) view (valid until the next append)."""
        return self._data[max(0, self._pos - self._cap) : self._pos]

    def clear(self) -> None:
        """Forget every row."""
        self._pos = 0

    def __len__(self) -> int:
        return min(self._pos, self._cap)


def peak_decimate(data: np.ndarray, target: int) -> tuple[np.ndarray, int]:
    """Min/max decimation for display: (C, n) -> (C, 2 * n // f) keeping every peak.

    Args:
        data: (n_channels, n_samples).
        target: wanted number of output points per channel (about twice the plot width).

    Returns:
        (decimated data, factor f); f == 1 returns ``data`` unchanged. Output column ``2k`` and
        ``2k + 1`` hold the min and max of input samples ``k f .. (k + 1) f - 1``.
    """
    n = data.shape[1]
    f = max(1, int(np.ceil(2 * n / max(target, 2))))
    if f == 1:
        return data, 1
    m = n // f
    blocks = data[:, n - m * f :].reshape(data.shape[0], m, f)
    out = np.empty((data.shape[0], m, 2), dtype=data.dtype)
    lo, hi = out[:, :, 0], out[:, :, 1]
    lo[...] = hi[...] = blocks[:, :, 0]
    for k in range(1, f):  # f element-wise passes: ~18x faster than min(axis=2) for small f
        np.minimum(lo, blocks[:, :, k], out=lo)
        np.maximum(hi, blocks[:, :, k], out=hi)
    return out.reshape(data.shape[0], 2 * m), f


def set_curve(curve: pg.PlotDataItem | pg.PlotCurveItem, x: np.ndarray, y: np.ndarray,
              **kwargs: object) -> None:
    """``setData`` that skips pyqtgraph's finite check when the data are finite anyway."""
    finite = bool(np.isfinite(y).all() and np.isfinite(x).all())
    curve.setData(x, y, skipFiniteCheck=finite, **kwargs)


class StickyRange:
    """A y range (or colour scale) that changes only when the data leave it or shrink a lot.

    Autoranging on every update re-lays out the axis each time (milliseconds of GUI thread
    per axis); with hysteresis it happens only when the data really move.

    Args:
        margin: padding added on each side when the range is reset, as a fraction of the
            data's extent.
        shrink: the range is reset when the data span less than this fraction of it.
        symmetric: keep the range centred on 0 (for signed values such as FAA).
        min_extent: the smallest range width (data units).
    """

    def __init__(self, margin: float = 0.15, shrink: float = 0.4, symmetric: bool = False,
                 min_extent: float = 1e-3) -> None:
        self.margin, self.shrink, self.symmetric = margin, shrink, symmetric
        self.min_extent = min_extent
        self.range: tuple[float, float] | None = None

    def update(self, values: np.ndarray) -> tuple[float, float] | None:
        """Fold in the visible values (any shape, NaN ignored); returns the new range when it
        changed, else None."""
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return None
        lo, hi = float(finite.min()), float(finite.max())
        if self.symmetric:
            hi = max(abs(lo), abs(hi))
            lo = -hi
        if self.range is not None:
            cur_lo, cur_hi = self.range
            inside = cur_lo <= lo and hi <= cur_hi
            if inside and (hi - lo) >= self.shrink * (cur_hi - cur_lo):
                return None
        pad = max(self.margin * (hi - lo), self.min_extent / 2)
        self.range = (lo - pad, hi + pad)
        return self.range


def class_colors(class_names: Sequence[str]) -> list[str]:
    """A distinct colour per class, for any number of classes (the one home of class colours).

    A class named in :data:`NAMED_CLASS_COLORS` (any case) keeps its colour; the others take
    :data:`CLASS_PALETTE` colours in order (skipping those already taken), then hues spread by
    the golden ratio when the palette runs out.
    """
    named = [NAMED_CLASS_COLORS.get(n.strip().lower()) for n in class_names]
    free = [c for c in CLASS_PALETTE if c not in named]
    out: list[str] = []
    extra = 0
    for color in named:
        if color is None or color in out:  # ("Neutral", "neutral"): the second one too
            if free:
                color = free.pop(0)
            else:
                r, g, b = colorsys.hsv_to_rgb((0.11 + 0.618034 * extra) % 1.0, 0.55, 0.95)
                color = f"#{round(255 * r):02x}{round(255 * g):02x}{round(255 * b):02x}"
                extra += 1
        out.append(color)
    return out


def _title(text: str) -> str:
    return f"<span style='color:{TEXT_COLOR}; font-size:11pt; font-weight:600'>{text}</span>"


def _key(names: Sequence[str], colors: Sequence[str]) -> str:
    """Inline colour key: a coloured bar and the name for each series."""
    return " &nbsp;".join(f"<span style='color:{colors[i % len(colors)]}; font-size:11pt'>"
                          f"━ {n}</span>" for i, n in enumerate(names))


def gap_connect(t: np.ndarray, factor: float = 3.0) -> np.ndarray | str:
    """``connect`` for a time series: no line across a gap > ``factor`` x median step.

    Returns ``"all"`` when there is no gap (pyqtgraph draws that case about twice as fast as
    a boolean array), else an (n,) bool array.
    """
    if t.size < 3:
        return "all"
    d = np.diff(t)
    step = float(np.median(d[-50:]))
    joined = d <= factor * step
    return "all" if joined.all() else np.append(joined, False)


def class_runs(t: np.ndarray, t_end: np.ndarray, joined: np.ndarray,
               sel: np.ndarray) -> np.ndarray:
    """Segments of a class ribbon, one per run of consecutive selected windows.

    Args:
        t, t_end: (n,) start and end time of each window's stretch of ribbon.
        joined: (n,) bool, window ``i`` runs into window ``i + 1`` (no gap between them).
        sel: (n,) bool, the windows of this class.

    Returns:
        (2 m,) x coordinates ``start0, end0, start1, end1, ...`` for ``connect="pairs"``: a
        few segments per trial instead of one per window (each wide segment costs paint time).
    """
    prev = np.concatenate(([False], sel[:-1] & joined[:-1]))  # continues the run before it
    nxt = np.concatenate((sel[1:] & joined[:-1], [False]))  # the run goes on after it
    starts = np.flatnonzero(sel & ~prev)
    ends = np.flatnonzero(sel & ~nxt)
    return np.column_stack((t[starts], t_end[ends])).ravel()


def _style_plot(plot: pg.PlotItem, left: str | None = None, bottom: str | None = None) -> None:
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.setMouseEnabled(x=False, y=False)
    plot.setClipToView(True)
    for name in ("left", "bottom"):
        plot.getAxis(name).setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
    if left:
        plot.setLabel("left", left)
    if bottom:
        plot.setLabel("bottom", bottom)


MAX_TICK_LABELS = 12
"""Trial starts labelled at most on the trajectory (the newest; older ones keep a tick)."""


class TrajectoryPanel(pg.GraphicsLayoutWidget):
    """Smoothed class probabilities over the last ``span`` seconds, with class ribbons.

    Rows: title with the colour key of the model's classes and the online accuracy; one
    probability curve per class, with the chance level 1/K dashed; a ribbon of the predicted
    class and one of the true class (from the marker stream); a dotted tick at each trial
    start, labelled with its number and class (:meth:`set_trial_marks`). :meth:`set_classes`
    adapts it to another model's classes.

    Attributes:
        class_names: the classes shown, in probability order.
        legend: (class name, colour) of each curve, as the key shows them.
        chance_line: the dashed line at 1/K.
    """

    def __init__(self, class_names: Sequence[str], span: float = 180.0,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.span = span
        self.title = self.addLabel("", row=0, col=0)
        self.plot = self.addPlot(row=1, col=0)
        _style_plot(self.plot, left="probability (smoothed)")
        self.plot.setYRange(0, 1, padding=0.02)
        self.chance_line = pg.InfiniteLine(
            0.5, angle=0, pen=pg.mkPen("#5a626d", style=QtCore.Qt.DashLine),
            label="chance 1/2", labelOpts={"position": 0.02, "color": "#8b949e",
                                            "anchors": [(0, 1), (0, 1)]})
        self.plot.addItem(self.chance_line)
        self.ribbons = self.addPlot(row=2, col=0)
        _style_plot(self.ribbons, bottom="time before now (s)")
        self.ribbons.showGrid(x=True, y=False, alpha=0.15)
        self.ribbons.setXLink(self.plot)
        self.plot.setXRange(-span, 0, padding=0.01)
        self.ribbons.setYRange(-0.6, 1.6, padding=0)
        self.ribbons.getAxis("left").setTicks([[(1, "predicted"), (0, "true")]])
        for p in (self.plot, self.ribbons):
            p.getAxis("left").setWidth(78)
        self.ribbons.setMaximumHeight(80)
        self.plot.getAxis("bottom").setStyle(showValues=False)
        self.ci.layout.setRowStretchFactor(1, 5)
        self.ci.layout.setRowStretchFactor(2, 1)
        self.class_names: list[str] = []
        self.legend: list[tuple[str, str]] = []
        self.curves: list[pg.PlotDataItem] = []
        self._ribbon_curves: list[list[pg.PlotCurveItem]] = [[], []]
        self._no_truth = pg.TextItem("no marker stream", color="#7d8590", anchor=(0, 0.5))
        self._no_truth.setPos(-0.99 * span, 0)
        self.ribbons.addItem(self._no_truth)
        # trial starts from the marker stream: one tick per start across both plots, and a
        # label at the top of the probability plot (a fixed pool of text items)
        tick_pen = pg.mkPen("#8b949e", width=1, style=QtCore.Qt.DotLine)
        self._ticks = [pg.PlotCurveItem(pen=tick_pen, connect="pairs", skipFiniteCheck=True)
                       for _ in range(2)]
        self.plot.addItem(self._ticks[0])
        self.ribbons.addItem(self._ticks[1])
        self._tick_labels = [pg.TextItem("", color="#9aa3ad", anchor=(0, 0))
                             for _ in range(MAX_TICK_LABELS)]
        for item in self._tick_labels:
            item.setVisible(False)
            self.plot.addItem(item)
        self.trial_marks: list[tuple[float, str]] = []
        self.set_classes(class_names)

    def set_classes(self, class_names: Sequence[str]) -> None:
        """Show these classes (probability order): a curve, a ribbon colour and a key entry
        each, the chance line at 1/K. Nothing is redone for the classes already shown."""
        names = list(class_names)
        if names == self.class_names:
            return
        self.class_names = names
        colors = class_colors(names)
        self.legend = list(zip(names, colors, strict=True))
        self._key = _key(names, colors)
        for c in self.curves:
            self.plot.removeItem(c)
        self.curves = [
            # not antialiased: antialiased 2.5-px curves took 12 ms of a 3-min view's paint
            self.plot.plot(pen=pg.mkPen(color, width=2), name=name, skipFiniteCheck=True)
            for name, color in self.legend
        ]
        self.chance_line.setValue(1 / len(names))
        self.chance_line.label.setFormat(f"chance 1/{len(names)}")
        for row, curves in zip((1, 0), self._ribbon_curves, strict=True):
            for c in curves:
                self.ribbons.removeItem(c)
            curves.clear()
            for color in colors:
                c = pg.PlotCurveItem(pen=pg.mkPen(color, width=14, cap=QtCore.Qt.FlatCap),
                                     connect="pairs", skipFiniteCheck=True)
                c.setPos(0, row)
                self.ribbons.addItem(c)
                curves.append(c)
        self.title.setText(_title("Emotion trajectory &nbsp;") + self._key + "<br>"
                           + f"<span style='color:{TEXT_COLOR}; font-size:10pt'>online "
                           "accuracy n/a (no window with truth yet)</span>")

    def set_trial_marks(self, x: Sequence[float], labels: Sequence[str]) -> None:
        """Mark trial starts: ``x`` in seconds before the newest window (<= 0), ``labels``
        e.g. ``"3 negative"``. Only the newest :data:`MAX_TICK_LABELS` get a label."""
        marks = [(float(v), str(text)) for v, text in zip(x, labels, strict=True)
                 if -self.span <= v <= 0]
        if marks == self.trial_marks:
            return
        self.trial_marks = marks
        xs = np.repeat(np.array([m[0] for m in marks], dtype=float), 2)
        for curve, (y0, y1) in zip(self._ticks, ((0.0, 1.0), (-0.6, 1.6)), strict=True):
            ys = np.tile([y0, y1], len(marks)).astype(float)
            curve.setData(xs, ys, skipFiniteCheck=True)
        labelled = marks[-MAX_TICK_LABELS:]
        view = self.plot.getViewBox()

        def px(t: float) -> float:  # a time's horizontal position on the screen
            return view.mapViewToScene(QtCore.QPointF(t, 0.0)).x()

        now = px(0.0)  # the view's right edge
        limit = float("inf")  # left edge (px) of the newer label's text: nothing beyond it
        for i in reversed(range(len(self._tick_labels))):  # the newest label chooses first
            item = self._tick_labels[i]
            item.setVisible(i < len(labelled))
            if i >= len(labelled):
                continue
            x, text = labelled[i]
            item.setPos(x, 1.0)
            at = px(x)
            for candidate in (text, text.split(" ", 1)[0], ""):  # whole, its number, nothing
                item.setText(candidate)
                width = item.boundingRect().width()  # device pixels (text ignores the zoom)
                right_aligned = at + width > now  # it would leave the view: it ends at its tick
                right = at if right_aligned else at + width
                if not candidate or right < limit:
                    break
            item.setAnchor((1, 0) if right_aligned else (0, 0))
            limit = min(limit, at - width if right_aligned else at)

    def set_accuracy(self, accuracy: float | None, n_with_truth: int) -> None:
        """Show the running online accuracy (fraction 0..1, None when no true class yet) and
        how many windows it counts."""
        if accuracy is None or not np.isfinite(accuracy) or n_with_truth == 0:
            text = "online accuracy n/a (no window with truth yet)"
        else:
            text = (f"online accuracy {100 * accuracy:.0f} % "
                    f"({count(n_with_truth, 'window')} with truth)")
        # on a line of its own: a longer title would widen the layout beyond the panel and
        # push the plots' right edge (now) out of view
        self.title.setText(_title("Emotion trajectory &nbsp;") + self._key + "<br>"
                           + f"<span style='color:{TEXT_COLOR}; font-size:10pt'>{text}</span>")

    def update_data(self, t: np.ndarray, smoothed: np.ndarray, predicted: np.ndarray,
                    truth: np.ndarray, lag: float = 0.0) -> None:
        """Redraw from result times (n,) s, smoothed probabilities (n, K), predicted (n,) and
        true class (n,) with -1 where unknown (K: the classes shown; other widths are
        ignored); ``lag``: seconds from the newest window to now (> 0 while the stream is
        lost, so the view goes on scrolling)."""
        if t.size == 0 or smoothed.ndim != 2 or smoothed.shape[1] != len(self.curves):
            for c in self.curves:
                c.setData([], [])
            for row in self._ribbon_curves:
                for c in row:
                    c.setData([], [])
            return
        connect = gap_connect(t)
        t = t - t[-1] - lag  # seconds before now
        for k, c in enumerate(self.curves):
            set_curve(c, t, smoothed[:, k], connect=connect)
        hop = float(np.median(np.diff(t[-50:]))) if t.size > 1 else 0.25
        t_next = np.empty_like(t)
        t_next[:-1] = t[1:]
        t_next[-1] = t[-1] + hop
        t_next = np.minimum(t_next, t + 2 * hop)  # do not bridge gaps (lost stream)
        joined = np.append(t_next[:-1] == t[1:], False)  # window i runs into window i + 1
        for row, cls in zip(self._ribbon_curves, (predicted, truth), strict=True):
            for k, c in enumerate(row):
                x = class_runs(t, t_next, joined, cls == k)
                c.setData(x, np.zeros_like(x), skipFiniteCheck=True)
        self._no_truth.setVisible(not np.any(truth >= 0))


BAND_SMOOTHING: tuple[tuple[str, float], ...] = (("raw", 0.0), ("smooth 2 s", 2.0),
                                                 ("smooth 10 s", 10.0))
"""The band power panel's display smoothing choices: (label, time constant in s)."""


def smooth_exponential(t: np.ndarray, values: np.ndarray, tau: float) -> np.ndarray:
    """Exponential moving average of ``values`` (n,) or (n, m) over times ``t`` (n,) s with
    time constant ``tau`` s: each row weighs the new value by ``1 - exp(-hop / tau)`` with the
    median hop (the windows' schedule). A row with NaN, or a gap longer than ``5 tau``, ends
    a run; each run starts afresh from its first value; NaN rows stay NaN. Vectorised (one
    ``lfilter`` per run): a redraw of 180 s at 4 Hz takes well under a millisecond."""
    from scipy.signal import lfilter

    v = np.asarray(values, dtype=float)
    out = np.array(v, copy=True)
    n = v.shape[0]
    if n < 2 or tau <= 0:
        return out
    hop = float(np.median(np.diff(t)))
    alpha = 1.0 - np.exp(-max(hop, 1e-9) / tau)
    finite = np.isfinite(v).all(axis=1) if v.ndim == 2 else np.isfinite(v)
    breaks = np.ones(n, dtype=bool)  # a run starts here
    breaks[1:] = (np.diff(t) > 5 * tau) | ~finite[:-1]
    starts = np.flatnonzero(breaks & finite)
    for start in starts:
        stop = start + 1
        while stop < n and finite[stop] and not breaks[stop]:
            stop += 1
        seg = v[start:stop]
        zi = (1.0 - alpha) * seg[:1]
        out[start:stop], _ = lfilter([alpha], [1.0, alpha - 1.0], seg, axis=0, zi=zi)
    return out


class BandPowerPanel(pg.GraphicsLayoutWidget):
    """Band power (log10 uV^2, delta..gamma) of the frontal and temporal regions, and FAA.

    :meth:`set_channels` tells it the model's channels: a region without any of its channels,
    and the asymmetry without F3 and F4, keep their row with a note saying so (``notes``).

    Attributes:
        notes: row (``"frontal"``, ``"temporal"``, ``"faa"``) -> the note shown instead of
            data, "" when the model has the channels.
    """

    REGIONS: tuple[str, ...] = tuple(REGIONS)

    def __init__(self, span: float = 180.0, channel_names: Sequence[str] | None = None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.span = span
        key = _key(BAND_NAMES, BAND_COLORS)
        self.addLabel(_title("Frontal and temporal activity") + "<br>" + key, row=0, col=0,
                      justify="left")
        # display smoothing of the band power (the five bands tangle without it): a combo box
        # over the top right corner, beside the title
        self.smooth_box = QtWidgets.QComboBox(self)
        for label, seconds in BAND_SMOOTHING:
            self.smooth_box.addItem(label, seconds)
        self.smooth_box.setCurrentIndex(1)
        self.smooth_box.setToolTip("smooth the band power and asymmetry curves for display "
                                   "(exponential, this time constant); the log keeps the "
                                   "raw values")
        self.smooth_box.currentIndexChanged.connect(self._on_smoothing)
        self._last: tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, float] | None = None
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, list[pg.PlotDataItem]] = {}
        for i, region in enumerate(self.REGIONS):
            p = self.addPlot(row=1 + i, col=0)
            _style_plot(p, left=f"{region}<br>log10 µV²")
            p.getAxis("bottom").setStyle(showValues=False)
            self.plots[region] = p
            self.curves[region] = [
                p.plot(pen=pg.mkPen(BAND_COLORS[b], width=1), name=name,
                       skipFiniteCheck=True)
                for b, name in enumerate(BAND_NAMES)
            ]
        self.faa_plot = self.addPlot(row=3, col=0)
        left, right = FAA_PAIR
        _style_plot(self.faa_plot, left=f"FAA<br>ln {right} − ln {left}",
                    bottom="time before now (s)")
        self.faa_plot.getAxis("left").enableAutoSIPrefix(False)
        self.faa_plot.addItem(pg.InfiniteLine(0, angle=0, pen=pg.mkPen("#5a626d")))
        self.faa_curve = self.faa_plot.plot(pen=pg.mkPen("#e6e6e6", width=1),
                                            skipFiniteCheck=True)
        self.plots["temporal"].setXLink(self.plots["frontal"])
        self.faa_plot.setXLink(self.plots["frontal"])
        self.plots["frontal"].setXRange(-span, 0, padding=0.01)
        self._y_ranges = {region: StickyRange() for region in self.REGIONS}
        self._faa_range = StickyRange(symmetric=True, min_extent=0.2)
        for p in (*self.plots.values(), self.faa_plot):
            p.disableAutoRange(axis="y")
        left_w = 62
        for p in (*self.plots.values(), self.faa_plot):
            p.getAxis("left").setWidth(left_w)
            p.showGrid(x=False, y=True, alpha=0.15)
        self.notes: dict[str, str] = {}
        self._note_items: dict[str, pg.TextItem] = {}
        for row, plot in (*self.plots.items(), ("faa", self.faa_plot)):
            item = pg.TextItem("", color="#9aa3ad", anchor=(0.5, 0.5))
            item.setPos(-span / 2, 0.5)
            item.setVisible(False)
            plot.addItem(item, ignoreBounds=True)
            self._note_items[row] = item
            self.notes[row] = ""
        self._channels: list[str] | None = None
        if channel_names is not None:
            self.set_channels(channel_names)

    def set_channels(self, channel_names: Sequence[str]) -> None:
        """Adapt the rows to the model's channels: a note replaces the data of a region
        without channels and of the asymmetry without both F3 and F4."""
        names = [normalize_label(n) for n in channel_names]
        if names == self._channels:
            return
        self._channels = names
        rows = region_rows(names)
        wanted = dict.fromkeys(self.REGIONS, "")
        for region in self.REGIONS:
            if not rows[region]:
                wanted[region] = f"no {region} channels in this model"
        if len(rows_of(names, FAA_PAIR)) < 2:
            wanted["faa"] = f"{'/'.join(FAA_PAIR)} not in this model's channels"
        for row, note in wanted.items():
            self.notes[row] = note
            item = self._note_items[row]
            item.setText(note)
            item.setVisible(bool(note))
            plot = self.faa_plot if row == "faa" else self.plots[row]
            curves = [self.faa_curve] if row == "faa" else self.curves[row]
            for c in curves:
                c.setData([], [])
            if note:  # nothing will move the range: frame the note
                plot.setYRange(0, 1, padding=0)
            (self._faa_range if row == "faa" else self._y_ranges[row]).range = None

    @property
    def smoothing_s(self) -> float:
        """The display smoothing's time constant in seconds (0: raw)."""
        return float(self.smooth_box.currentData())

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        """Keep the smoothing box in the top right corner."""
        super().resizeEvent(event)
        box = getattr(self, "smooth_box", None)  # resized once while being built
        if box is None:
            return
        box.adjustSize()
        box.move(max(0, self.width() - box.width() - 6), 4)

    def _on_smoothing(self) -> None:
        if self._last is not None:
            self.update_data(*self._last)

    def update_data(self, t: np.ndarray, power: dict[str, np.ndarray], faa: np.ndarray,
                    lag: float = 0.0) -> None:
        """Redraw from result times (n,) s, region -> (n, 5) log power and FAA (n,);
        ``lag`` as for :meth:`TrajectoryPanel.update_data`. Shown smoothed by
        :attr:`smoothing_s` (:func:`smooth_exponential`)."""
        if not t.size:
            return
        self._last = (t, power, faa, lag)
        if self.smoothing_s > 0:
            power = {r: smooth_exponential(t, v, self.smoothing_s) for r, v in power.items()}
            faa = smooth_exponential(t, faa, self.smoothing_s)
        connect = gap_connect(t)
        t = t - t[-1] - lag  # seconds before now
        for region, curves in self.curves.items():
            values = power[region]
            for b, c in enumerate(curves):
                set_curve(c, t, values[:, b], connect=connect)
        set_curve(self.faa_curve, t, faa, connect=connect)
        shown = t >= -self.span
        for region, plot in self.plots.items():
            new = self._y_ranges[region].update(power[region][shown])
            if new is not None:
                plot.setYRange(*new, padding=0)
        new = self._faa_range.update(faa[shown])
        if new is not None:
            self.faa_plot.setYRange(*new, padding=0)


def head_layout(names: Sequence[str]) -> np.ndarray:
    """2-D head-map positions (n, 2) of channels; the 10-20 ring lies on the unit circle.

    Azimuthal equidistant projection (as in MNE's topomaps) of the levelled SEED montage of
    :func:`models.eeg.montage.topomap_info`; channels outside the SEED set use MNE's 10-05
    template with a fitted sphere. Channels without any known position get NaN.
    """
    if len(names) == 0:
        return np.zeros((0, 2))
    try:
        info, sphere = topomap_info(names)
        pos = np.array([ch["loc"][:3] for ch in info["chs"]], dtype=float)
        centre, radius = np.asarray(sphere[:3]), float(sphere[3])
    except ValueError:
        table = electrode_positions(names)
        pos = np.array([table.get(normalize_label(n), np.full(3, np.nan)) for n in names])
        ok = np.isfinite(pos).all(axis=1)
        if ok.sum() < 4:
            return np.full((len(names), 2), np.nan)
        centre, radius = fit_sphere(pos[ok])
    v = pos - centre
    r = np.linalg.norm(v, axis=1)
    theta = np.arccos(np.clip(v[:, 2] / np.where(r > 0, r, 1.0), -1.0, 1.0))
    phi = np.arctan2(v[:, 1], v[:, 0])
    rho = theta / (np.pi / 2)
    del radius  # the projection only needs directions from the centre
    return np.column_stack((rho * np.cos(phi), rho * np.sin(phi)))


def inside_head(outline: np.ndarray, radius: float = 0.985) -> np.ndarray:
    """``outline`` (m, 2) with every point beyond ``radius`` of the head's centre pulled in
    onto that circle (the head is the unit circle)."""
    r = np.hypot(outline[:, 0], outline[:, 1])
    scale = np.where(r > radius, radius / np.maximum(r, 1e-12), 1.0)
    return outline * scale[:, None]


class HeadMapPanel(QtWidgets.QWidget):
    """Head map of the current window's band power (interpolated image + electrodes).

    The frontal region and the two temporal regions are outlined; a combo box picks the band.
    """

    GRID = 96
    EXTENT = 1.2

    def __init__(self, channel_names: Sequence[str],
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        head = QtWidgets.QHBoxLayout()
        label = QtWidgets.QLabel("<b>Head map</b> · band power of the current window")
        self.band_box = QtWidgets.QComboBox()
        self.band_box.addItems(list(BAND_NAMES))
        self.band_box.setCurrentText("alpha")
        self.band_box.setToolTip("band shown on the head map")
        head.addWidget(label)
        head.addStretch(1)
        head.addWidget(QtWidgets.QLabel("band"))
        head.addWidget(self.band_box)
        layout.addLayout(head)
        self.view = pg.GraphicsLayoutWidget()
        layout.addWidget(self.view, 1)
        self.box = self.view.addViewBox(row=0, col=0, lockAspect=True, enableMouse=False)
        self.box.setMenuEnabled(False)
        self.cmap = pg.colormap.get("viridis")
        self.image = pg.ImageItem()
        self.box.addItem(self.image)
        self.colorbar = pg.ColorBarItem(colorMap=self.cmap, interactive=False, width=14,
                                        label="log10 µV²", colorMapMenu=False)
        self.colorbar.setImageItem(self.image)
        self.view.addItem(self.colorbar, row=0, col=1)
        self._levels = StickyRange(margin=0.1, shrink=0.5, min_extent=1e-6)
        self._draw_head()
        self.set_channels(channel_names)
        self.box.setRange(xRange=(-1.6, 1.6), yRange=(-1.2, 1.3), padding=0)
        self.band_box.currentIndexChanged.connect(self._on_band)
        self._topo: np.ndarray | None = None

    @property
    def band(self) -> int:
        """Index of the selected band (0 = delta .. 4 = gamma)."""
        return self.band_box.currentIndex()

    def _draw_head(self) -> None:
        pen = pg.mkPen("#c9ced6", width=2)
        ang = np.linspace(0, 2 * np.pi, 181)
        self.box.addItem(pg.PlotCurveItem(np.cos(ang), np.sin(ang), pen=pen))
        self.box.addItem(pg.PlotCurveItem([-0.12, 0.0, 0.12], [0.99, 1.13, 0.99], pen=pen))
        ear = np.linspace(-0.35, 0.35, 30)
        for side in (-1, 1):
            x = side * (1.0 + 0.06 * np.cos(ear / 0.35 * np.pi / 2))
            self.box.addItem(pg.PlotCurveItem(x, ear * 0.8, pen=pen))

    def set_channels(self, names: Sequence[str]) -> None:
        """Lay out the channels (model order) and precompute the interpolation weights.

        Tens of milliseconds for 62 channels, so nothing is redone when the channels are the
        ones already shown (an engine restart with the same model).
        """
        wanted = [normalize_label(n) for n in names]
        if wanted == getattr(self, "names", None):
            return
        self.names = wanted
        xy = head_layout(self.names)
        self._valid = np.isfinite(xy).all(axis=1)
        self.xy = xy
        g = np.linspace(-self.EXTENT, self.EXTENT, self.GRID)
        gx, gy = np.meshgrid(g, g, indexing="ij")  # image[i, j] is at (g[i], g[j])
        grid = np.column_stack((gx.ravel(), gy.ravel()))
        pts = xy[self._valid] if self._valid.any() else np.zeros((1, 2))
        d2 = ((grid[:, None, :] - pts[None, :, :]) ** 2).sum(axis=2)
        w = np.exp(-d2 / (2 * 0.16**2)) + 1e-12  # Gaussian kernel (Nadaraya-Watson) weights
        self._weights = w / w.sum(axis=1, keepdims=True)
        self._outside = (gx**2 + gy**2).ravel() > 1.0
        for item in getattr(self, "_channel_items", []):
            self.box.removeItem(item)
        items: list[pg.GraphicsObject] = []
        colors = {"frontal": FRONTAL_COLOR, "temporal": TEMPORAL_COLOR}
        for region, g_pts in region_outline_groups(self.names, xy, min_points=1):
            color = colors[region]
            hull = inside_head(padded_hull(g_pts, 0.09))
            curve = pg.PlotCurveItem(hull[:, 0], hull[:, 1],
                                     pen=pg.mkPen(color, width=2.2, style=QtCore.Qt.DashLine))
            items.append(curve)
            # labels outside the head (no box cutting into the map)
            cx = float(g_pts[:, 0].mean())
            if region == "frontal":
                text = pg.TextItem(region, color=color, anchor=(0.5, 1.0))
                text.setPos(cx, 1.14)  # above the nose
            else:  # beside the ear of its side, below it
                text = pg.TextItem(region, color=color, anchor=(1.0 if cx < 0 else 0.0, 0.5))
                text.setPos(-1.08 if cx < 0 else 1.08, -0.42)
            items.append(text)
        dots = pg.ScatterPlotItem(xy[self._valid, 0], xy[self._valid, 1], size=6,
                                  brush=pg.mkBrush(240, 240, 240, 220),
                                  pen=pg.mkPen(20, 20, 20, 200))
        items.append(dots)
        for item in items:
            item.setZValue(10)
            self.box.addItem(item)
        self._channel_items = items

    def _on_band(self) -> None:
        self._levels.range = None  # another band has another power range
        self._redraw()

    def update_topo(self, topo: np.ndarray) -> None:
        """Show one window's band power: topo (n_channels, n_bands) log10 uV^2."""
        self._topo = np.asarray(topo, dtype=float)
        self._redraw()

    def _redraw(self) -> None:
        if self._topo is None or self._topo.shape[0] != len(self.names):
            return
        values = self._topo[self._valid, self.band]
        finite = np.isfinite(values)
        if not finite.any():
            return
        values = np.where(finite, values, np.nanmean(values[finite]))
        img = self._weights @ values
        img[self._outside] = np.nan
        # a colour scale with hysteresis: steady colours, and the colour bar's axis is laid
        # out again only when the values leave the scale
        new = self._levels.update(np.percentile(values, [5, 95]))
        first = self.image.image is None
        self.image.setImage(img.reshape(self.GRID, self.GRID), autoLevels=False)
        if first:  # the rectangle needs the image size
            e = self.EXTENT
            self.image.setRect(QtCore.QRectF(-e, -e, 2 * e, 2 * e))
        if new is not None:
            self.colorbar.setLevels(new)


TRACE_CLIP = 0.5
"""Traces are clipped at this fraction of the channel spacing (above and below their line),
so that neighbouring channels never overlap."""


def nice_below(value: float) -> float:
    """The largest 1, 2 or 5 times a power of ten that is at most ``value`` (> 0)."""
    if not value > 0 or not np.isfinite(value):
        return 0.0
    exp = 10.0 ** np.floor(np.log10(value))
    for m in (5.0, 2.0, 1.0):
        if m * exp <= value * (1 + 1e-9):
            return float(m * exp)
    return float(exp)


class TracesPanel(QtWidgets.QWidget):
    """Scrolling filtered EEG traces of the frontal and temporal channels (or all: on request,
    and when the model lacks the frontal or the temporal channels).

    Each group (frontal, temporal, other) is one curve with NaN breaks between channels, so a
    redraw of 62 channels is three ``setData`` calls (``connect="finite"``, which also paints
    faster than a boolean connect array). Data are peak-decimated for display.
    """

    def __init__(self, channel_names: Sequence[str], seconds: float = 10.0,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.seconds = seconds
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        head = QtWidgets.QHBoxLayout()
        head.addWidget(QtWidgets.QLabel(
            f"<b>EEG traces</b> · filtered, last {seconds:g} s · "
            f"<span style='color:{FRONTAL_COLOR}'>frontal</span> · "
            f"<span style='color:{TEMPORAL_COLOR}'>temporal</span>"))
        head.addStretch(1)
        self.scale_label = QtWidgets.QLabel("")
        head.addWidget(self.scale_label)
        self.all_box = QtWidgets.QCheckBox("all channels")
        self.all_box.setToolTip("show every model channel instead of frontal + temporal")
        head.addWidget(self.all_box)
        layout.addLayout(head)
        self.plot_widget = pg.PlotWidget()
        layout.addWidget(self.plot_widget, 1)
        self.plot = self.plot_widget.getPlotItem()
        _style_plot(self.plot, bottom="time before now (s)")
        self.plot.showGrid(x=True, y=False, alpha=0.15)
        self.plot.setXRange(-seconds, 0, padding=0.01)
        # amplitude scale bar at the bottom left: a round number of µV, a label beside it
        self.scale_bar = pg.PlotCurveItem(pen=pg.mkPen("#e6e6e6", width=3))
        self.scale_text = pg.TextItem("", color="#e6e6e6", anchor=(0, 0.5))
        for item in (self.scale_bar, self.scale_text):
            item.setZValue(20)
            self.plot.addItem(item)
        self.scale_uv = 0.0
        self.curves = {
            g: self.plot.plot(pen=pg.mkPen(c, width=1))
            for g, c in (("other", OTHER_COLOR), ("frontal", FRONTAL_COLOR),
                         ("temporal", TEMPORAL_COLOR))
        }
        self._scale = 0.0
        self.set_channels(channel_names)
        self.all_box.toggled.connect(self._select)

    def set_channels(self, names: Sequence[str]) -> None:
        """Channel names of the engine's data rows (model order)."""
        wanted = [normalize_label(n) for n in names]
        if wanted == getattr(self, "names", None):
            return
        self.names = wanted
        self._group = np.array(region_of(self.names))
        self._select()

    def _select(self) -> None:
        """Rows shown: the frontal and temporal channels, or every channel when asked or
        when the model lacks one of those regions (a motor-strip montage, say)."""
        regions = region_rows(self.names)
        if self.all_box.isChecked() or not all(regions.values()):
            self.rows = np.arange(len(self.names))
        else:
            self.rows = np.array(rows_of(self.names, (*FRONTAL, *TEMPORAL)), dtype=int)
        n = len(self.rows)
        step = max(1, int(np.ceil(n / 24)))
        ticks = [(-float(i), self.names[r]) for i, r in enumerate(self.rows) if i % step == 0]
        self.plot.getAxis("left").setTicks([ticks, []])
        self.plot.setYRange(-n + 0.3, 0.7, padding=0)

    def update_data(self, data: np.ndarray, times: np.ndarray,
                    target_points: int | None = None, lag: float = 0.0) -> None:
        """Redraw from data (n_channels, n) uV and their LSL times (n,).

        ``target_points`` (default: the plot's width in pixels) caps the points per channel;
        ``lag``: seconds from the newest sample to now (> 0 while the stream is lost).
        """
        if target_points is None:
            target_points = max(200, int(self.plot.vb.width()))
        if data.ndim != 2 or data.shape[1] < 2 or data.shape[0] != len(self.names):
            for c in self.curves.values():
                c.setData([], [])
            return
        sel = data[self.rows]
        sel = sel - sel.mean(axis=1, keepdims=True)
        dec, f = peak_decimate(sel, target_points)
        t = times - times[-1] - lag
        if f > 1:
            m = dec.shape[1] // 2
            tb = t[t.size - m * f :].reshape(m, f)
            tx = np.repeat(tb[:, [0, -1]].mean(axis=1), 2)
        else:
            tx = t
        target = max(3.3 * float(np.median(dec.std(axis=1))), 1e-3)  # ~ 5-95 % range
        self._scale = target if self._scale == 0 else 0.9 * self._scale + 0.1 * target
        # clipped at half the spacing: a blink on FP1 never draws over FPZ and FP2
        scaled = np.clip(-dec / (1.2 * self._scale), -TRACE_CLIP, TRACE_CLIP)
        y = scaled - np.arange(len(self.rows))[:, None]
        groups = self._group[self.rows]
        width = tx.size + 1  # one NaN column breaks the line between channels
        for g, curve in self.curves.items():
            mask = groups == g
            k = int(mask.sum())
            if not k:
                curve.setData([], [])
                continue
            yy = np.full((k, width), np.nan)
            yy[:, :-1] = y[mask]
            xx = np.empty((k, width))
            xx[:, :-1] = tx
            xx[:, -1] = np.nan
            curve.setData(xx.ravel(), yy.ravel(), connect="finite")
        spacing = 1.2 * self._scale
        self.scale_label.setText(f"channel spacing ≈ {spacing:.0f} µV · clipped at "
                                 f"±{TRACE_CLIP * spacing:.0f} µV")
        self._draw_scale_bar(spacing)

    def _draw_scale_bar(self, spacing: float) -> None:
        """A vertical bar of a round number of µV (at most the spacing) at the bottom left."""
        bar = nice_below(spacing)
        if bar == self.scale_uv:
            return
        self.scale_uv = bar
        x = -0.985 * self.seconds
        y0 = -len(self.rows) + 0.35
        self.scale_bar.setData([x, x], [y0, y0 + bar / spacing])
        self.scale_text.setText(f"{bar:g} µV")
        self.scale_text.setPos(x + 0.01 * self.seconds, y0 + 0.5 * bar / spacing)
