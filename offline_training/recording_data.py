"""Lab recordings as training sessions: classes, montage, the signal chain, windows, cache.

Every recording given to ``sicleer-train`` becomes one session of the protocols
(:class:`RecordingSession`):

- **Trials and classes**: with a label map (``--labels``), the trials it matches, classes in
  the map's order; without one, the project's ``trial N start <label>`` markers only
  (:data:`models.eeg.markers.TRIAL_MARKER`), classes in order of first appearance over the
  recordings. Every recording must hold trials of every class.
- **Montage**: the model's channels are the EEG channels that every recording has (compared
  with :func:`models.eeg.labels.normalize_label`, so ``Fp1`` and ``FP1`` are one channel),
  named and ordered as in the first recording; the channels left out are listed in a note.
  Starting from a model file (``--init``), the model's channels instead, each recording mapped
  onto them as the live app maps a stream (:mod:`offline_training.pretrained`).
- **Signal chain**: each whole recording is resampled to the model's rate and filtered, in
  time order (:class:`~offline_training.signal_chain.SignalChain`); a trial's span moves by the
  resampler's delay, starts no earlier than the end of the warm-up (a trial starting inside
  it loses its first part), and is cut into windows. Trials shorter than one window are
  skipped with a note; a recording left without any trial, or without a class, is refused.
- **Cache**: the windows are written once under ``<out>/cache/recordings/<digest>/`` (the
  digest covers the files' sizes and times and every option that changes the windows) with
  ``plan.json`` describing them; each fold's process reads them back memory-mapped.

Trials are numbered 1..n per recording in time order, after the skipped ones are dropped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bci_app.signal.channel_map import ChannelMap, ChannelMappingError, build_channel_map
from models.eeg.labels import normalize_label
from models.eeg.markers import TRIAL_MARKER
from models.metadata import BOUNDS
from models.wording import count, plural
from offline_training.config import TrainConfig
from offline_training.data import SessionStore
from offline_training.pretrained import Pretrained
from offline_training.progress import bar as progress_bar
from offline_training.recordings import Recording, RecordingError, parse_label_map, read_recording
from offline_training.signal_chain import SignalChain
from offline_training.windows import SessionWindows, window_starts

__all__ = ["RecordingPlan", "RecordingSession", "RecordingStore", "load_recordings"]

log = logging.getLogger("sicleer.train")

PLAN_FILE = "plan.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class RecordingSession:
    """One recording as a session of the protocols.

    Attributes:
        path: the recording file.
        subject: its subject (``--subject``, BIDS, the file's metadata, else the name of the
            folder holding it).
        session: its session name (BIDS entities, else the file stem).
        key: a unique, file-name-safe name (fold and cache file names).
        labels: class name of each kept trial; trial ``k`` (1-based, time order) is
            ``labels[k - 1]``.
    """

    path: Path
    subject: str
    session: str
    key: str
    labels: tuple[str, ...]


@dataclass
class RecordingPlan:
    """What preparing the recordings gave (stored as ``plan.json`` beside the windows).

    Attributes:
        sessions: one per recording, in the order given.
        channels: the model's channel names, in order.
        sfreq: the model's rate (Hz).
        window, stride: in samples at ``sfreq``.
        class_names: classes in logit order.
        chain: :meth:`SignalChain.to_dict` of the chain applied.
        label_map: key -> class as given (empty without ``--labels``).
        recordings: per recording: path, subject, session, rate, channel count, trials per
            class.
        trials: per kept trial: recording, trial number, label, onset and duration (s, in the
            file), windows.
        notes: what was left out or clipped, worth telling the user.
    """

    sessions: list[RecordingSession]
    channels: list[str]
    sfreq: float
    window: int
    stride: int
    class_names: list[str]
    chain: dict[str, Any]
    label_map: dict[str, str] = field(default_factory=dict)
    recordings: list[dict[str, Any]] = field(default_factory=list)
    trials: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        """The plan as JSON text."""
        data = asdict(self)
        for s in data["sessions"]:
            s["path"] = str(s["path"])
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str) -> RecordingPlan:
        """Inverse of :meth:`to_json`."""
        data = json.loads(text)
        data["sessions"] = [RecordingSession(Path(s["path"]), s["subject"], s["session"],
                                             s["key"], tuple(s["labels"]))
                            for s in data["sessions"]]
        return cls(**data)


class RecordingStore(SessionStore):
    """The windows of every recording, memory-mapped from the cache folder."""

    def __init__(self, folder: Path, plan: RecordingPlan) -> None:
        self.folder = folder
        self.plan = plan
        self._open: dict[str, SessionWindows] = {}

    def get(self, session: RecordingSession) -> SessionWindows:
        """Windows of one recording (read-only memory map)."""
        if session.key not in self._open:
            x, y, trial = (np.load(self.folder / f"{session.key}{s}", mmap_mode="r")
                           for s in (".x.npy", ".y.npy", ".trial.npy"))
            self._open[session.key] = SessionWindows(x, np.asarray(y), np.asarray(trial),
                                                     session.subject, session.session)
        return self._open[session.key]


def _signature(cfg: TrainConfig, paths: list[Path]) -> str:
    """Digest of the files and of every option that changes the windows."""
    files = []
    for p in paths:
        stat = p.stat()
        files.append([str(p.resolve()), stat.st_size, stat.st_mtime_ns])
    options = {k: getattr(cfg, k) for k in ("labels", "marker_stream", "subject", "sfreq",
                                            "window_seconds")}
    options |= {"stride": cfg.stride,
                "filters": cfg.filters.to_dict() if cfg.filters is not None else None,
                "init": _pretrained(cfg).digest if cfg.init is not None else None}
    text = json.dumps({"files": files, "options": options}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_recordings(cfg: TrainConfig, paths: list[Path]) -> tuple[RecordingPlan, RecordingStore]:
    """The plan and windows of the recordings ``paths``, prepared once and cached.

    Args:
        cfg: the run's options (labels, marker stream, subject, rate, filters, window).
        paths: the recording files, in order.

    Returns:
        The plan and a store of memory-mapped windows ((n, n_channels, window) float32 µV).

    Raises:
        RecordingError: naming the file: unreadable, no EEG, no (matching) trials, a class
            without trials, every trial shorter than one window; or recordings that share no
            EEG channel.
        ValueError: the filters cannot be built at the model's rate, or a resampling ratio
            that cannot be met.
    """
    folder = cfg.out / "cache" / "recordings" / _signature(cfg, paths)
    plan_path = folder / PLAN_FILE
    if plan_path.is_file():
        plan = RecordingPlan.from_json(plan_path.read_text())
    else:
        plan = _prepare(cfg, paths, folder)
        tmp = plan_path.with_suffix(".tmp")
        tmp.write_text(plan.to_json())
        tmp.replace(plan_path)  # written last: a complete plan means complete windows
    return plan, RecordingStore(folder, plan)


def _pretrained(cfg: TrainConfig) -> Pretrained:
    """The ``--init`` model file's header, checked against the options."""
    assert cfg.init is not None
    pre = Pretrained.read(cfg.init)
    pre.check_options(cfg.sfreq, cfg.window_seconds, cfg.filters)
    return pre


def _channel_maps(recordings: list[Recording], pre: Pretrained,
                  notes: list[str]) -> list[ChannelMap]:
    """Each recording's live channel map onto the model's channels (all checked first)."""
    maps = []
    for rec in recordings:
        try:
            cmap = build_channel_map(rec.ch_names, pre.channels)
        except ChannelMappingError as exc:
            raise RecordingError(f"{rec.path}: does not fit --init {pre.path.name}: "
                                 f"{exc}") from None
        if cmap.interpolated or cmap.ignored:
            notes.append(f"{rec.path}: {cmap.summary()}")
        maps.append(cmap)
    return maps


def _read(cfg: TrainConfig, path: Path) -> Recording:
    labels = parse_label_map(cfg.labels) if cfg.labels else None
    rec = read_recording(path, labels, marker_stream=cfg.marker_stream, subject=cfg.subject,
                         default_subject=path.resolve().parent.name)
    if labels is None:
        own = [t for t in rec.trials if TRIAL_MARKER.fullmatch(t.description)]
        if not own:
            raise RecordingError(
                f"{path}: no 'trial N start <label>' markers, so --labels must say which "
                f"annotations are trials of which class (e.g. --labels \"T1=fists,T2=feet\"); "
                f"the file's descriptions are: {', '.join(map(repr, rec.descriptions[:30]))}")
        if len(own) < len(rec.trials):
            n = len(rec.trials) - len(own)
            rec.notes.append(f"{count(n, 'annotated span')} without a 'trial N' marker "
                             f"{plural(n, 'is', 'are')} ignored (give --labels to use "
                             f"{plural(n, 'it', 'them')})")
        rec.trials = own
    return rec


def _classes(cfg: TrainConfig, recordings: list[Recording]) -> list[str]:
    if cfg.labels:
        classes = list(parse_label_map(cfg.labels).classes)
    else:
        classes = list(dict.fromkeys(c for rec in recordings for c in rec.classes))
    for rec in recordings:
        _check_classes(rec.path, [t.label for t in rec.trials], classes, "")
    if len(classes) < 2:
        raise RecordingError(f"{recordings[0].path}: the recordings hold one class only "
                             f"({classes[0]!r}); training needs two or more")
    return classes


def _check_classes(path: Path, labels: list[str], classes: list[str], why: str) -> None:
    counts = Counter(labels)
    missing = [c for c in classes if not counts[c]]
    if missing:
        have = ", ".join(f"{c!r}: {counts[c]}" for c in classes if counts[c])
        raise RecordingError(f"{path}: no trial of class {', '.join(map(repr, missing))}"
                             f"{why}; every recording needs trials of every class "
                             f"({', '.join(map(repr, classes))}); its trials per class: "
                             f"{have or 'none'}")


def _montage(recordings: list[Recording], notes: list[str]) -> tuple[list[str], list[list[int]]]:
    """The channels every recording has (first recording's names and order), and each
    recording's rows of them."""
    shared = set.intersection(*({normalize_label(c) for c in r.ch_names} for r in recordings))
    channels: list[str] = []
    seen: set[str] = set()
    for name in recordings[0].ch_names:
        key = normalize_label(name)
        if key in shared and key not in seen:
            channels.append(name)
            seen.add(key)
    if not channels:
        listing = "; ".join(f"{r.path}: {', '.join(r.ch_names[:10])}" for r in recordings)
        raise RecordingError(f"the recordings share no EEG channel: {listing}")
    for rec in recordings:
        left = [c for c in rec.ch_names if normalize_label(c) not in seen]
        if left:
            notes.append(f"{rec.path}: {plural(len(left), 'channel')} not in every "
                         f"recording left out: {', '.join(left)}")
    rows = []
    for rec in recordings:
        index: dict[str, int] = {}
        for i, name in enumerate(rec.ch_names):
            index.setdefault(normalize_label(name), i)
        rows.append([index[normalize_label(c)] for c in channels])
    return channels, rows


def _keys(recordings: list[Recording]) -> list[str]:
    keys: list[str] = []
    for rec in recordings:
        base = _UNSAFE.sub("_", f"{rec.subject}_{rec.session}").strip("_") or "recording"
        key, n = base, 1
        while key in keys:
            n += 1
            key = f"{base}-{n}"
        keys.append(key)
    return keys


def _prepare(cfg: TrainConfig, paths: list[Path], folder: Path) -> RecordingPlan:
    """Read, check, resample, filter and cut every recording; write the windows to
    ``folder``."""
    recordings = [_read(cfg, p) for p in progress_bar(paths, desc="reading recordings",
                                                      unit="file", leave=False)]
    notes = [f"{r.path}: {n}" for r in recordings for n in r.notes]
    classes = _classes(cfg, recordings)
    if cfg.init is not None:
        pre = _pretrained(cfg)
        channels, sfreq, filters = pre.channels, pre.sfreq, pre.filters
        maps = _channel_maps(recordings, pre, notes)
        inputs = [lambda r, m=m: m.apply(r.data.T).T.astype(np.float32) for m in maps]
    else:
        channels, rows = _montage(recordings, notes)
        sfreq, filters = float(cfg.sfreq or recordings[0].sfreq), cfg.filters
        inputs = [lambda r, p=p: r.data[p] for p in rows]
    low, high = BOUNDS["sfreq"]
    if not low <= sfreq <= high:
        raise ValueError(f"{recordings[0].path}: its rate, {sfreq:g} Hz, is outside the "
                         f"{low:g}-{high:g} Hz a model can have; give --sfreq")
    chain = SignalChain(sfreq, filters)
    window, stride = round(cfg.window_seconds * sfreq), round(cfg.stride * sfreq)
    folder.mkdir(parents=True, exist_ok=True)
    plan = RecordingPlan([], channels, sfreq, window, stride, classes, chain.to_dict(),
                         label_map=dict(parse_label_map(cfg.labels).entries) if cfg.labels
                         else {}, notes=notes)
    steps = progress_bar(zip(recordings, _keys(recordings), inputs, strict=True),
                         total=len(recordings), desc="filtering and cutting", unit="file",
                         leave=False)
    for rec, key, model_input in steps:
        done = chain.apply(model_input(rec), rec.sfreq)
        sw, kept = _cut(rec, done, chain, classes, window, stride, plan.notes)
        for suffix, arr in ((".x.npy", sw.x), (".y.npy", sw.y), (".trial.npy", sw.trial)):
            np.save(folder / f"{key}{suffix}", arr)
        labels = tuple(t["label"] for t in kept)
        plan.sessions.append(RecordingSession(rec.path, rec.subject, rec.session, key, labels))
        plan.trials += kept
        plan.recordings.append({
            "path": str(rec.path), "subject": rec.subject, "session": rec.session,
            "sfreq": rec.sfreq, "n_channels": len(rec.ch_names), "n_trials": len(kept),
            "trials_per_class": {c: labels.count(c) for c in classes}})
        del done, sw
    for note in plan.notes:
        log.info("%s", note)
    return plan


def _cut(rec: Recording, done: Any, chain: SignalChain, classes: list[str], window: int,
         stride: int, notes: list[str]) -> tuple[SessionWindows, list[dict[str, Any]]]:
    """Windows of every trial of one processed recording, and the kept trials' provenance."""
    fs, n_out = chain.sfreq, done.data.shape[1]
    xs, ys, ts, kept, short, clipped = [], [], [], [], [], 0
    for trial in rec.trials:
        first = round((trial.onset + done.delay) * fs)
        end = min(round((trial.end + done.delay) * fs), n_out)
        if first < done.start:
            clipped += 1
            first = done.start
        starts = window_starts(max(end - first, 0), window, stride)
        if starts.size == 0:
            short.append(f"{trial.label} at {trial.onset:.2f} s ({max(end - first, 0) / fs:.2f} s)")
            continue
        number = len(kept) + 1
        view = np.lib.stride_tricks.sliding_window_view(done.data[:, first:end], window, axis=1)
        xs.append(np.ascontiguousarray(view[:, starts].transpose(1, 0, 2)))
        ys.append(np.full(starts.size, classes.index(trial.label), dtype=np.int64))
        ts.append(np.full(starts.size, number, dtype=np.int64))
        kept.append({"recording": str(rec.path), "trial": number, "label": trial.label,
                     "onset": trial.onset, "duration": trial.duration,
                     "description": trial.description, "windows": int(starts.size)})
    warm = done.start / fs
    if clipped:
        notes.append(f"{rec.path}: {count(clipped, 'trial')} {plural(clipped, 'starts', 'start')}"
                     f" inside the first {warm:.2f} s (the signal chain's warm-up) and "
                     f"{plural(clipped, 'loses its', 'lose their')} first part")
    if short:
        notes.append(f"{rec.path}: {count(len(short), 'trial')} shorter than one window "
                     f"({window / fs:g} s) after the warm-up {plural(len(short), 'is', 'are')} "
                     f"skipped: {'; '.join(short)}")
    if not kept:
        raise RecordingError(f"{rec.path}: every trial is shorter than one window "
                             f"({window / fs:g} s = {window} samples at {fs:g} Hz) after the "
                             f"signal chain's {warm:.2f}-s warm-up; use a shorter "
                             "--window-seconds")
    _check_classes(rec.path, [t["label"] for t in kept], classes,
                   " left once the trials shorter than one window are skipped")
    return SessionWindows(np.concatenate(xs), np.concatenate(ys), np.concatenate(ts),
                          rec.subject, rec.session), kept
