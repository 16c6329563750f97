"""PNG figures of a training report (see ``report.py`` for the report dictionary's schema).

``make_figures`` writes up to four files into ``out_dir``:

- ``fold_accuracy.png``: test accuracy (%) per fold, coloured by subject, mean and chance lines.
- ``confusion.png``: confusion matrix summed over folds, normalised per true class (%), counts.
- ``training_curves.png``: total, contrastive and cross-entropy losses and train accuracy per
  epoch, mean over folds with the min-max band.
- ``channel_importance.png``: occlusion accuracy drop (percentage points) per electrode as a
  topomap, frontal and temporal regions outlined.

A figure without data (no folds, no history, ``channel_importance`` null or with fewer than
:data:`MIN_TOPOMAP_CHANNELS` channels on the montage) is skipped.
Figures are built with matplotlib's object API (``Figure`` + Agg canvas, no pyplot), so nothing
here needs a display or changes the process-wide backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle
from matplotlib.ticker import MaxNLocator

from models.eeg.labels import normalize_label
from models.eeg.montage import padded_hull, region_outline_groups
from models.eeg.regions import FRONTAL, TEMPORAL
from models.eeg.seed_layout import SEED_CHANNELS
from offline_training.importance import ranked_channels

__all__ = [
    "FIGURE_FILES",
    "figures_with_data",
    "make_figures",
    "plot_channel_importance",
    "plot_confusion",
    "plot_fold_accuracy",
    "plot_training_curves",
]

DPI = 130
CHANCE = 100.0 / 3.0
"""Chance level (%) of three classes, the default of :func:`plot_fold_accuracy`."""
MIN_TOPOMAP_CHANNELS = 4
"""Fewest channels on the montage (the SEED/10-20 electrodes) to draw an importance map."""
FIGURE_FILES: dict[str, str] = {
    "fold_accuracy": "fold_accuracy.png",
    "confusion": "confusion.png",
    "training_curves": "training_curves.png",
    "channel_importance": "channel_importance.png",
}
"""Figure key -> file name written by ``make_figures``."""

_REGION_STYLE = {"frontal": "tab:blue", "temporal": "tab:green"}


def _as_float_array(values: Any) -> np.ndarray:
    """1-D float array from a list that may hold None / NaN (both become NaN)."""
    if values is None:
        return np.zeros(0)
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def _percent(fraction: Any) -> float:
    """Fraction in [0, 1] (or None) -> percent (NaN when missing)."""
    return float("nan") if fraction is None else 100.0 * float(fraction)


# --------------------------------------------------------------------- per-fold accuracy


def _subject_colours(subjects: Sequence[Any]) -> dict[Any, Any]:
    """Distinct colour per subject, in first-seen order."""
    unique = list(dict.fromkeys(subjects))
    cmap = matplotlib.colormaps["tab10" if len(unique) <= 10 else "tab20"]
    return {s: cmap(i % cmap.N) for i, s in enumerate(unique)}


def plot_fold_accuracy(folds: Sequence[dict[str, Any]], protocol: str = "",
                       chance: float = CHANCE) -> Figure:
    """Bar per fold (test accuracy, %), coloured by subject, with mean and chance lines.

    Args:
        folds: the report's ``folds`` (each with ``name``, ``subject``, ``accuracy`` in [0, 1]).
        protocol: shown in the title.
        chance: chance level in % (100 / number of classes).
    """
    names = [str(f.get("name", i)) for i, f in enumerate(folds)]
    subjects = [f.get("subject") for f in folds]
    acc = np.array([_percent(f.get("accuracy")) for f in folds])
    colours = _subject_colours(subjects)
    fig = Figure(figsize=(max(6.0, 3.0 + 0.28 * len(folds)), 4.8), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(folds))
    ax.bar(x, np.nan_to_num(acc), color=[colours[s] for s in subjects], edgecolor="black",
           linewidth=0.4)
    mean = float(np.nanmean(acc)) if np.isfinite(acc).any() else float("nan")
    ax.axhline(mean, color="black", linestyle="--", linewidth=1.2, label=f"mean {mean:.1f} %",
               zorder=3)
    # above the mean: a mean at chance must not hide the line that says so
    ax.axhline(chance, color="tab:red", linestyle=":", linewidth=1.8,
               label=f"chance {chance:.1f} %", zorder=4)
    ax.set_xticks(x, names, rotation=90 if len(folds) > 8 else 30,
                  ha="center" if len(folds) > 8 else "right", fontsize=8 if len(folds) > 20 else 9)
    ax.set_ylim(0, 105)
    ax.set_xlim(-0.7, len(folds) - 0.3)
    ax.set_xlabel("fold (held-out test set)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"Test accuracy per fold{f' ({protocol})' if protocol else ''}")
    ax.grid(axis="y", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    for s, c in colours.items():
        handles.append(Rectangle((0, 0), 1, 1, color=c))
        labels.append(f"subject {s}")
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
              ncol=1 if len(labels) <= 18 else 2, frameon=False)
    return fig


# --------------------------------------------------------------------- confusion matrix


def plot_confusion(confusion: Any, class_names: Sequence[str]) -> Figure:
    """Confusion matrix (rows true class, columns predicted), normalised per true class.

    Args:
        confusion: (K, K) counts summed over folds.
        class_names: K names.
    """
    counts = np.asarray(confusion, dtype=np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    norm = np.divide(100.0 * counts, totals, out=np.zeros_like(counts), where=totals > 0)
    k = counts.shape[0]
    fig = Figure(figsize=(5.6, 4.8), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(norm, cmap="Blues", vmin=0.0, vmax=100.0)
    for i in range(k):
        for j in range(k):
            colour = "white" if norm[i, j] > 55 else "black"
            ax.text(j, i, f"{norm[i, j]:.1f} %\n(n={int(counts[i, j])})", ha="center",
                    va="center", color=colour, fontsize=10)
    ax.set_xticks(range(k), class_names)
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"Confusion matrix (all folds, {int(counts.sum())} test windows)")
    fig.colorbar(im, ax=ax, label="% of true-class windows", shrink=0.85)
    return fig


# --------------------------------------------------------------------- training curves

_CURVES = (
    ("loss", "total loss", "loss (nats)"),
    ("loss_contrastive", "contrastive loss", "loss (nats)"),
    ("loss_ce", "cross-entropy loss", "loss (nats)"),
    ("train_accuracy", "train accuracy", "accuracy (%)"),
)


def _history_matrix(folds: Sequence[dict[str, Any]], key: str) -> np.ndarray:
    """(n_folds, n_epochs) values of ``history[key]``, NaN-padded; epochs 1-based by position.

    Component losses that are exactly 0 mean "not computed in this phase" and become NaN.
    Accuracies are converted to percent.
    """
    rows = []
    for fold in folds:
        history = fold.get("history") or {}
        values = _as_float_array(history.get(key))
        if key in ("loss_contrastive", "loss_ce"):
            values[values == 0.0] = np.nan
        if key in ("train_accuracy", "val_accuracy"):
            values = 100.0 * values
        rows.append(values)
    n_epochs = max((len(r) for r in rows), default=0)
    out = np.full((len(rows), n_epochs), np.nan)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def _plot_band(ax: Axes, values: np.ndarray, title: str, ylabel: str) -> None:
    """Mean over folds (line) with min-max band; NaN skipped; 'no data' when empty."""
    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    keep = np.isfinite(values).any(axis=0) if values.size else np.zeros(0, bool)
    if not keep.any():
        ax.text(0.5, 0.5, "not recorded\n(missing, NaN or all zero)", transform=ax.transAxes,
                ha="center", va="center", color="grey")
        ax.set_xticks([])
        ax.set_yticks([])
        return
    epochs = np.arange(1, values.shape[1] + 1)[keep]
    v = values[:, keep]
    n = values.shape[0]
    if n > 1:
        ax.fill_between(epochs, np.nanmin(v, axis=0), np.nanmax(v, axis=0), alpha=0.25,
                        label="min-max over folds")
    ax.plot(epochs, np.nanmean(v, axis=0), marker="o" if len(epochs) <= 30 else None,
            markersize=3, label=f"mean over {n} folds" if n > 1 else "the fold")
    ax.legend(fontsize=8)


def _has_history(folds: Sequence[dict[str, Any]]) -> bool:
    """Whether any fold has a non-empty finite history curve."""
    return any(np.isfinite(_history_matrix(folds, key)).any() for key, _, _ in _CURVES)


def _plot_balance(ax: Axes, folds: Sequence[dict[str, Any]]) -> None:
    """Share of the contrastive term in the encoder's gradient norm per probe, per fold."""
    ax.set_title("which term drives the encoder")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("contrastive share of the\nencoder gradient (%)")
    ax.grid(alpha=0.3)
    drawn = 0
    for fold in folds:
        history = fold.get("history") or {}
        steps = _as_float_array(history.get("probe_step"))
        share = 100.0 * _as_float_array(history.get("grad_share_contrastive"))
        if steps.size and steps.size == share.size and np.isfinite(share).any():
            ax.plot(steps, share, linewidth=1, alpha=0.6 if len(folds) > 1 else 1.0)
            drawn += 1
    if not drawn:
        ax.text(0.5, 0.5, "not recorded\n(no contrastive term in this loss)",
                transform=ax.transAxes, ha="center", va="center", color="grey")
        ax.set_xticks([])
        ax.set_yticks([])
        return
    ax.axhline(50.0, color="black", linestyle=":", linewidth=1, label="balanced (50 %)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8, loc="upper right")
    if drawn > 1:
        ax.text(0.01, 0.02, f"{drawn} folds", transform=ax.transAxes, fontsize=8, color="grey")


def plot_training_curves(folds: Sequence[dict[str, Any]], loss: str = "") -> Figure:
    """2 x 3 panels: total, contrastive and cross-entropy loss, train accuracy per epoch, the
    validation accuracy per epoch (when trials were held out), and the contrastive term's
    share of the encoder's gradient per probe step.

    Args:
        folds: the report's ``folds``, each with ``history`` lists indexed by epoch (and by
            probe for ``probe_step`` / ``grad_share_contrastive``).
        loss: the training loss option (shown in the title).
    """
    fig = Figure(figsize=(14.0, 7.0), layout="constrained")
    axes = fig.subplots(2, 3)
    panels = [*_CURVES, ("val_accuracy", "validation accuracy (held-out trials)",
                         "accuracy (%)")]
    for ax, (key, title, ylabel) in zip(axes.flat[:5], panels, strict=True):
        _plot_band(ax, _history_matrix(folds, key), title, ylabel)
        if ax.get_xticks().size:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _plot_balance(axes.flat[5], folds)
    fig.suptitle(f"Training curves{f' (loss: {loss})' if loss else ''}")
    return fig


# --------------------------------------------------------------------- channel importance


def _outline_regions(ax: Axes, names: Sequence[str], xy: np.ndarray, pad: float) -> None:
    """Draw dashed outlines around the frontal and temporal electrodes, with a legend."""
    seen: set[str] = set()
    for region, pts in region_outline_groups(names, xy):
        label = None if region in seen else f"{region} region"
        seen.add(region)
        ax.add_patch(Polygon(padded_hull(pts, pad)[:-1], closed=True, fill=False, linestyle="--",
                             linewidth=1.6, edgecolor=_REGION_STYLE[region], label=label,
                             zorder=10))
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, 1.0), fontsize=8, frameon=False)


def _sensor_xy(ax: Axes, n_lines: int, n_collections: int, mask: np.ndarray) -> np.ndarray | None:
    """2-D sensor positions (n, 2) as plot_topomap drew them, or None if not recognisable.

    Masked sensors are drawn as one marker line, the others as one scatter; both are read back
    (only artists added after ``n_lines`` lines and ``n_collections`` collections).
    """
    n_in, n_out = int(mask.sum()), int((~mask).sum())
    lines = [np.column_stack([ln.get_xdata(), ln.get_ydata()]) for ln in ax.lines[n_lines:]]
    dots = [np.asarray(c.get_offsets()) for c in ax.collections[n_collections:]]
    inside = next((a for a in lines if a.shape == (n_in, 2)), None)
    outside = next((a for a in dots if a.shape == (n_out, 2)), None) if n_out else np.zeros((0, 2))
    if inside is None or outside is None:
        return None
    xy = np.zeros((mask.size, 2))
    xy[mask], xy[~mask] = inside, outside
    return xy


def _name_top(ax: Axes, names: Sequence[str], xy: np.ndarray, values: np.ndarray,
              top: Sequence[str]) -> None:
    """Label the channels ``top`` (the report's ranking) beside their sensor dots."""
    index = {c: i for i, c in enumerate(names)}
    for i in (index[c] for c in top if c in index):
        ax.annotate(f"{names[i]} {values[i]:.1f}", xy[i], xytext=(6, -10),
                    textcoords="offset points", fontsize=8, fontweight="bold", zorder=12,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                          "alpha": 0.8})


def _on_montage(channels: Sequence[str]) -> list[str]:
    """The montage's names (SEED's 62 electrodes) of ``channels`` that it has, in its order."""
    have = {normalize_label(c) for c in channels}
    return [c for c in SEED_CHANNELS if c in have]


def plot_channel_importance(importance: dict[str, Any]) -> Figure:
    """Topomap of the occlusion accuracy drop (percentage points) per electrode.

    Args:
        importance: ``{"channels": [names], "accuracy_drop": [fractions]}``; channels unknown to
            the SEED montage are left out, NaN drops are drawn as 0.
    """
    import mne

    from models.eeg.montage import topomap_info

    drops = dict(zip((normalize_label(c) for c in importance["channels"]),
                     _as_float_array(importance["accuracy_drop"]), strict=True))
    names = _on_montage(importance["channels"])
    values = 100.0 * np.nan_to_num(np.array([drops[c] for c in names]))
    info, sphere = topomap_info(names)
    region = np.array([c in FRONTAL or c in TEMPORAL for c in names])
    limit = float(np.max(np.abs(values))) or 1.0

    fig = Figure(figsize=(6.4, 5.6), layout="constrained")
    ax = fig.subplots()
    n_lines, n_collections = len(ax.lines), len(ax.collections)
    im, _ = mne.viz.plot_topomap(
        values, info, axes=ax, show=False, cmap="RdBu_r", vlim=(-limit, limit), contours=6,
        sphere=sphere, extrapolate="local", mask=region, sensors=True,
        mask_params={"marker": "o", "markerfacecolor": "white", "markeredgecolor": "black",
                     "linewidth": 0, "markersize": 6},
    )
    xy = _sensor_xy(ax, n_lines, n_collections, region)
    ranked, noise, n = ranked_channels(importance)
    top = [normalize_label(c) for c, _ in ranked[:3]]
    if xy is not None:
        _outline_regions(ax, names, xy, pad=0.1 * sphere[3])
        _name_top(ax, names, xy, values, top)
    fig.colorbar(im, ax=ax, label="accuracy drop (pp)", shrink=0.8)
    within = f"±{100 * noise:.1f} pp on {n} windows" if n else "no window count"
    named = (f"top {len(top)} beyond noise ({within}) named" if top
             else f"no channel beyond noise ({within}): none ranked")
    ax.set_title("Channel importance: test-accuracy drop when the channel is zeroed\n"
                 f"(white dots: frontal and temporal electrodes; {named})", fontsize=10)
    return fig


# --------------------------------------------------------------------- entry point


def _save(fig: Figure, path: Path) -> Path:
    """Save ``fig`` as PNG at ``DPI`` on a white background; return ``path``."""
    fig.savefig(path, dpi=DPI, facecolor="white")
    return path


def figures_with_data(report: dict[str, Any]) -> list[str]:
    """Keys of ``FIGURE_FILES`` that ``make_figures`` writes for ``report`` (those with data)."""
    folds = report.get("folds") or []
    confusion = (report.get("summary") or {}).get("confusion")
    importance = report.get("channel_importance") or {}
    has = {
        "fold_accuracy": bool(folds),
        "confusion": confusion is not None and float(np.sum(confusion)) > 0,
        "training_curves": bool(folds) and _has_history(folds),
        "channel_importance": bool(
            np.isfinite(_as_float_array(importance.get("accuracy_drop"))).any())
        and len(_on_montage(importance.get("channels") or [])) >= MIN_TOPOMAP_CHANNELS,
    }
    return [key for key in FIGURE_FILES if has[key]]


def _render(report: dict[str, Any], key: str) -> Figure:
    """Build the figure ``key`` of ``FIGURE_FILES`` (its data must exist)."""
    config = report.get("config") or {}
    folds = report.get("folds") or []
    if key == "fold_accuracy":
        n_classes = len(report.get("class_names") or []) or 3
        return plot_fold_accuracy(folds, str(config.get("protocol", "")), 100.0 / n_classes)
    if key == "confusion":
        confusion = report["summary"]["confusion"]
        names = report.get("class_names") or [str(i) for i in range(len(confusion))]
        return plot_confusion(confusion, names)
    if key == "training_curves":
        return plot_training_curves(folds, str(config.get("loss", "")))
    return plot_channel_importance(report["channel_importance"])


def make_figures(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write the report's figures as PNG files (``FIGURE_FILES`` names) into ``out_dir``.

    Args:
        report: report dictionary (``folds``, ``summary``, ``class_names``,
            ``channel_importance``, ``config``); accuracies are fractions in [0, 1].
        out_dir: folder, created if missing.

    Returns:
        Paths written, in the order fold accuracy, confusion, training curves, channel
        importance; a figure without data is skipped (see ``figures_with_data``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [_save(_render(report, key), out_dir / FIGURE_FILES[key])
            for key in figures_with_data(report)]
