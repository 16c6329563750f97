"""Scoring a recording offline exactly as the live engine scores a stream (``sicleer-predict``).

The recording goes through the live signal path itself
(:class:`bci_app.signal.pipeline.LivePipeline`: units, channel map, resampling, causal filters,
invalid samples), in chunks of the replay's size, into the engine's sample ring
(:class:`bci_app.signal.ring.SampleRing`); every window passes the live quality check and
repair of bad channels (:func:`bci_app.engine.window_check.check_window`) and then the model
file's network. Window timing:

- by default (:func:`score_recording`), as the engine schedules a stream whose first sample is
  the recording's first sample: the first window ends the filters' warm-up plus one window
  after it, then one every ``hop``;
- aligned to a live session log (:func:`score_session`), exactly the windows of the log: each
  row's ``segment_start`` (the first sample the live filters ran on) and ``lsl_time`` (the
  window's newest sample) are placed in the recording through the replay's clock: sample ``i``
  of the file was stamped ``t0 + (i + 1) / sfreq`` (``desc/replay/t0`` of the replayed stream,
  which ``bci-app --summary`` records). Live equals offline then to float32 noise.

Times: ``time_s`` is the newest sample's time in seconds from the recording's first sample
(sample ``i`` at ``i / sfreq``); aligned rows also keep the log's ``lsl_time``.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bci_app.engine.config import EngineConfig
from bci_app.engine.window_check import check_window
from bci_app.replay.chunks import MAX_CHUNK_MS, chunk_size_for
from bci_app.session.log import class_columns
from bci_app.signal.channel_map import ChannelRepair
from bci_app.signal.pipeline import LivePipeline
from bci_app.signal.quality import QualityTracker
from bci_app.signal.ring import SampleRing
from models import LoadedModel
from offline_training.recordings import Recording

__all__ = ["AlignmentError", "LoggedWindow", "Scores", "read_session_log", "replay_t0",
           "score_recording", "score_session", "write_scores"]

BATCH = 256  # windows per forward pass
Progress = Callable[[int], None]


class AlignmentError(ValueError):
    """A session log cannot be placed in the recording (names the files and the reason)."""


@dataclass(frozen=True)
class LoggedWindow:
    """One row of a live session log, as far as scoring again needs it."""

    lsl_time: float
    """LSL time of the window's newest sample (s)."""
    segment_start: float
    """LSL time of the first sample of the filters' unbroken run (s)."""
    probs: np.ndarray | None
    """(n_classes,) the probabilities the live model gave, or None."""


@dataclass
class Scores:
    """Per-window probabilities of one recording.

    Attributes:
        class_names: the model's classes (probability order).
        time_s: (n,) time of each window's newest sample, s from the recording's first sample.
        probs: (n, n_classes) float32 probabilities; NaN rows for windows not predicted.
        truth: (n,) the label of the trial holding the newest sample ("" outside trials).
        bad_channels: (n,) model channels interpolated in the window, space-separated.
        notes: (n,) why a window was not predicted ("" when it was).
        lsl_time: (n,) the session log's times when aligned to one, else None.
        logged: (n, n_classes) the log's probabilities when its classes are the model's.
    """

    class_names: list[str]
    time_s: np.ndarray
    probs: np.ndarray
    truth: list[str]
    bad_channels: list[str]
    notes: list[str]
    lsl_time: np.ndarray | None = None
    logged: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.time_s.size)

    @property
    def predicted(self) -> list[str]:
        """Class of the highest probability per window ("" when not predicted)."""
        return ["" if not np.isfinite(p).all() else self.class_names[int(np.argmax(p))]
                for p in self.probs]

    def max_difference(self) -> float | None:
        """Largest |offline - live| probability over the windows both predicted (aligned runs
        whose log has the model's classes), else None."""
        if self.logged is None:
            return None
        both = np.isfinite(self.probs).all(axis=1) & np.isfinite(self.logged).all(axis=1)
        return float(np.abs(self.probs[both] - self.logged[both]).max()) if both.any() else None

    def accuracy(self) -> tuple[float, int] | None:
        """(fraction correct, windows) over the predicted windows inside labelled trials."""
        pairs = [(p, t) for p, t in zip(self.predicted, self.truth, strict=True) if p and t]
        if not pairs:
            return None
        return sum(p == t for p, t in pairs) / len(pairs), len(pairs)


# ---------------------------------------------------------------------------- the live path
def _filters(model: LoadedModel) -> Any:
    """The chain the live engine runs for ``model`` with no filter option given."""
    meta = model.meta
    return EngineConfig(model=Path("-")).resolve_filters(meta.preprocessing.filters,
                                                         float(meta.sfreq)).spec


@dataclass
class _Segment:
    """The recording from one input sample on, through the live path into a ring."""

    ring: SampleRing
    pipeline: LivePipeline
    quality: QualityTracker
    repair: ChannelRepair


def _run_segment(rec: Recording, model: LoadedModel, first: int, stop: int,
                 t0: float) -> _Segment:
    """Push samples ``[first, stop)`` of ``rec``, stamped ``t0 + (i + 1) / sfreq``, through a
    fresh live pipeline, in the replay's chunk size, into a ring that holds them all."""
    meta = model.meta
    pipeline = LivePipeline(rec.ch_names, None, rec.sfreq, list(meta.channel_names),
                            float(meta.sfreq), _filters(model))
    step = chunk_size_for(rec.sfreq, MAX_CHUNK_MS)
    outs, times, flags, raws = [], [], [], []
    for begin in range(first, stop, step):
        end = min(stop, begin + step)
        stamps = t0 + (np.arange(begin, end) + 1.0) / rec.sfreq
        out = pipeline.process(rec.data[:, begin:end].T, stamps)
        outs.append(out.samples)
        times.append(out.times)
        flags.append(out.flags)
        raws.append(out.raw)
    n_model = len(meta.channel_names)
    total = sum(o.shape[0] for o in outs)
    ring = SampleRing(max(total, 1), n_model)
    if total:
        ring.append(np.concatenate(outs), np.concatenate(times), np.concatenate(flags),
                    np.concatenate(raws))
    repair = ChannelRepair(pipeline.channel_map)
    quality = QualityTracker(list(meta.channel_names), repair.matched_rows)
    return _Segment(ring, pipeline, quality, repair)


def _truth(rec: Recording, times: np.ndarray) -> list[str]:
    """Label of the trial holding each time (s from the first sample), "" outside trials."""
    out = [""] * times.size
    for trial in rec.trials:
        for i in np.flatnonzero((times >= trial.onset) & (times < trial.end)):
            out[i] = trial.label
    return out


def _score_ends(seg: _Segment, model: LoadedModel, ends: Sequence[int],
                progress: Progress | None) -> tuple[np.ndarray, list[str], list[str]]:
    """Probabilities of the windows ending (exclusive) at ring samples ``ends``, in order:
    each through the live quality check, then the network in batches."""
    window = int(model.meta.window_samples)
    names = list(model.meta.channel_names)
    probs = np.full((len(ends), len(model.meta.class_names)), np.nan, np.float32)
    bad, notes = [""] * len(ends), [""] * len(ends)
    batch: list[np.ndarray] = []
    rows: list[int] = []

    def flush() -> None:
        if batch:
            p = model.predict_proba(np.stack(batch))
            for row, pr in zip(rows, p, strict=True):
                if np.isfinite(pr).all():
                    probs[row] = pr
                else:
                    notes[row] = "the model gave non-finite probabilities"
            if progress is not None:
                progress(len(batch))
            batch.clear()
            rows.clear()

    for i, end in enumerate(ends):
        checked = check_window(seg.ring.window(end, window), seg.quality, seg.repair)
        bad[i] = " ".join(names[r] for r in checked.bad)
        if checked.data is None:
            notes[i] = checked.refusal
            if progress is not None:
                progress(1)
            continue
        batch.append(checked.data)
        rows.append(i)
        if len(batch) >= BATCH:
            flush()
    flush()
    return probs, bad, notes


def score_recording(rec: Recording, model: LoadedModel, hop: float = 0.25,
                    progress: Progress | None = None) -> Scores:
    """Score ``rec`` with ``model`` on the live engine's schedule from its first sample.

    Args:
        rec: the recording (data (n_channels, n_samples) microvolts at ``rec.sfreq``).
        model: the loaded model file.
        hop: seconds between windows (the live app's ``--hop``).
        progress: called with the number of windows done, as they are.

    Returns:
        :class:`Scores` of every window that fits after the warm-up.

    Raises:
        ValueError: ``hop`` is not positive.
        bci_app.signal.channel_map.ChannelMappingError: the recording lacks channels the model
            needs (the live app's rule and message).
    """
    if not (hop > 0 and math.isfinite(hop)):
        raise ValueError(f"--hop must be a positive number of seconds, got {hop}")
    seg = _run_segment(rec, model, 0, rec.n_samples, -1.0 / rec.sfreq)
    sfreq, window = float(model.meta.sfreq), int(model.meta.window_samples)
    step = max(1, round(hop * sfreq))
    ends = list(range(seg.pipeline.warmup_samples + window, seg.ring.total + 1, step))
    probs, bad, notes = _score_ends(seg, model, ends, progress)
    times = seg.ring.times[np.asarray(ends, dtype=np.int64) - 1] if ends else np.zeros(0)
    return Scores(list(model.meta.class_names), times, probs, _truth(rec, times), bad, notes)


# ---------------------------------------------------------------------------- session logs
def read_session_log(path: str | Path,
                     class_names: Sequence[str]) -> tuple[list[LoggedWindow], bool]:
    """The windows of a ``bci-app --log`` CSV.

    Args:
        path: the session log.
        class_names: the scoring model's classes: when the log has exactly their
            probability columns, each row's live probabilities are read too.

    Returns:
        (rows in file order, whether the log's classes are ``class_names``).

    Raises:
        AlignmentError: no such file, not a session log, or a log without ``segment_start``
            (written before the app recorded it).
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = list(reader.fieldnames or [])
            records = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise AlignmentError(f"{path}: cannot read the session log: {exc}") from None
    for column in ("lsl_time", "segment_start"):
        if column not in header:
            why = (" (logs written before the app recorded where its filters started cannot be "
                   "aligned)" if column == "segment_start" and "lsl_time" in header else "")
            raise AlignmentError(f"{path}: not a session log with a '{column}' column{why}; "
                                 f"its columns: {', '.join(header[:8]) or 'none'}")
    live = [c for c in header if c.startswith("p_") and not c.endswith("_smooth")]
    wanted = [f"p_{c}" for c in class_columns(class_names)]
    same = live == wanted
    rows = []
    for number, rec in enumerate(records, start=2):
        try:
            t, seg = float(rec["lsl_time"]), float(rec["segment_start"])
        except (TypeError, ValueError):
            raise AlignmentError(f"{path}, line {number}: lsl_time {rec['lsl_time']!r} / "
                                 f"segment_start {rec['segment_start']!r} are not times") from None
        probs = np.array([float(rec[c]) for c in wanted], np.float32) if same else None
        rows.append(LoggedWindow(t, seg, probs))
    if not rows:
        raise AlignmentError(f"{path}: the session log has no windows")
    return rows, same


def replay_t0(summary: str | Path) -> tuple[float, str]:
    """(``t0``, file name) of the replayed stream that a ``bci-app --summary`` JSON records.

    Raises:
        AlignmentError: unreadable, or the session's stream was not a replay that says its t0.
    """
    summary = Path(summary)
    try:
        data = json.loads(summary.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AlignmentError(f"{summary}: cannot read the session summary: {exc}") from None
    replay = ((data.get("stream") or {}).get("replay") if isinstance(data, dict) else None)
    if not isinstance(replay, dict) or not isinstance(replay.get("t0"), int | float):
        raise AlignmentError(f"{summary}: the session's stream was not a replay that states its "
                             "clock (desc/replay/t0), so its samples cannot be placed in the "
                             "file; give --stream-t0")
    return float(replay["t0"]), str(replay.get("file") or "")


def score_session(rec: Recording, model: LoadedModel, log_rows: Sequence[LoggedWindow],
                  t0: float, source: str = "the session log",
                  progress: Progress | None = None) -> Scores:
    """Score exactly the windows of a live session log.

    Args:
        rec: the recording that was replayed.
        model: the model to score with: the session's own, or another (its channels are
            mapped from the recording's as live; the windows end where the log's did).
        log_rows: the log's windows (:func:`read_session_log`).
        t0: the replay's clock: sample ``i`` of ``rec`` was stamped ``t0 + (i + 1) / sfreq``.
        source: names the log in messages.
        progress: called with the number of windows done.

    Returns:
        :class:`Scores` in the log's row order, with ``lsl_time`` (and ``logged`` when the
        rows carry probabilities).

    Raises:
        AlignmentError: a segment start or window does not fall on a sample of the recording
            (another file, another clock, a looped replay).
    """
    sfreq_out = float(model.meta.sfreq)
    window = int(model.meta.window_samples)
    n = len(log_rows)
    probs = np.full((n, len(model.meta.class_names)), np.nan, np.float32)
    bad, notes = [""] * n, [""] * n
    times = np.zeros(n)
    by_segment: dict[float, list[int]] = {}
    for i, row in enumerate(log_rows):
        by_segment.setdefault(row.segment_start, []).append(i)
    for seg_start, idx in by_segment.items():
        first = _sample_of(seg_start, t0, rec, source)
        last = max(_sample_of(log_rows[i].lsl_time, t0, rec, source, exact=False) for i in idx)
        seg = _run_segment(rec, model, first, last + 1, t0)
        ends = []
        for i in idx:
            j = int(np.searchsorted(seg.ring.times, log_rows[i].lsl_time - 0.5 / sfreq_out))
            if j >= seg.ring.total or abs(seg.ring.times[j] - log_rows[i].lsl_time) > \
                    0.5 / sfreq_out or j + 1 < window:
                raise AlignmentError(f"{source}: the window ending at LSL time "
                                     f"{log_rows[i].lsl_time:.6f} s is not a full window of "
                                     f"{rec.path.name} after its segment start "
                                     f"{seg_start:.6f} s")
            ends.append(j + 1)
        p, b, nt = _score_ends(seg, model, ends, progress)
        for k, i in enumerate(idx):
            probs[i], bad[i], notes[i] = p[k], b[k], nt[k]
            times[i] = seg.ring.times[ends[k] - 1] - t0 - 1.0 / rec.sfreq
    lsl = np.array([r.lsl_time for r in log_rows])
    logged = (np.stack([r.probs for r in log_rows]) if all(r.probs is not None for r in log_rows)
              else None)
    return Scores(list(model.meta.class_names), times, probs, _truth(rec, times), bad, notes,
                  lsl, logged)


def _sample_of(lsl_time: float, t0: float, rec: Recording, source: str,
               exact: bool = True) -> int:
    """The recording's sample stamped ``lsl_time`` (``t0 + (i + 1) / sfreq``)."""
    pos = (lsl_time - t0) * rec.sfreq - 1.0
    i = round(pos)
    if exact and abs(pos - i) > 0.05:
        raise AlignmentError(f"{source}: LSL time {lsl_time:.6f} s falls between samples of "
                             f"{rec.path.name} with t0 {t0:.6f} s (another file or clock?)")
    if not 0 <= i < rec.n_samples:
        raise AlignmentError(f"{source}: LSL time {lsl_time:.6f} s is sample {i} of "
                             f"{rec.path.name}, which has {rec.n_samples} (another file, a "
                             "looped replay, or the wrong t0?)")
    return int(i)


# ---------------------------------------------------------------------------- output
def write_scores(scores: Scores, path: str | Path) -> Path:
    """Write ``scores`` as CSV: ``lsl_time`` (aligned runs), ``time_s``, ``p_<class>``,
    ``predicted``, ``truth``, ``bad_channels``, ``note``; probabilities with 6 decimals,
    ``nan`` for a window not predicted.

    Raises:
        OSError: the file cannot be written.
    """
    path = Path(path)
    columns = [f"p_{c}" for c in class_columns(scores.class_names)]
    header = (["lsl_time"] if scores.lsl_time is not None else []) + ["time_s", *columns,
                                                                       "predicted", "truth",
                                                                       "bad_channels", "note"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        for i, predicted in enumerate(scores.predicted):
            cells = [f"{scores.lsl_time[i]:.6f}"] if scores.lsl_time is not None else []
            cells.append(f"{scores.time_s[i]:.6f}")
            cells += ["nan" if not math.isfinite(v) else f"{v:.6f}" for v in scores.probs[i]]
            cells += [predicted, scores.truth[i], scores.bad_channels[i], scores.notes[i]]
            writer.writerow(cells)
    return path
