"""A run's data, whatever ``--data`` names: sessions, their windows, channels, rate, classes and
the signal chain they went through (:class:`TrainingData`), for SEED folders and recordings
alike. :func:`load_data` gives the same result in the parent process and in every fold's."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.eeg.labels import normalize_label
from models.preprocessing import FilterSpec
from offline_training.config import TrainConfig
from offline_training.data import SessionStore, WindowStore, check_sessions, is_synthetic
from offline_training.pretrained import Pretrained
from offline_training.protocols import DEFAULT_TRAIN_FRACTION, Session
from offline_training.recording_data import load_recordings
from offline_training.seed import (
    CLASS_NAMES,
    SEED_CHANNELS,
    SEED_SFREQ,
    SessionFile,
    find_sessions,
    read_labels,
)
from offline_training.signal_chain import SignalChain
from offline_training.sources import DataSources, resolve_sources

log = logging.getLogger("sicleer.train")

__all__ = ["TrainingData", "check_data", "load_data", "select_sessions"]


@dataclass
class TrainingData:
    """Everything a run knows about its data.

    Attributes:
        kind: ``"seed"`` or ``"recordings"``.
        root: the data as given (for the report).
        sessions: SEED session files or recordings, in order.
        store: their windows.
        channels: the model's channel names, in order.
        sfreq: the model's rate (Hz).
        window, stride: in samples at ``sfreq``.
        class_names: classes in logit order.
        filters: the causal filters applied (as applied at ``sfreq``), or None.
        synthetic: whether the data came from ``sicleer-synth``.
        label_map: recordings: key -> class, as given.
        recordings: recordings: per-recording summary (see
            :class:`~offline_training.recording_data.RecordingPlan`).
        trials: recordings: provenance of every kept trial.
        notes: what was left out or clipped.
        pretrained: the ``--init`` model file every fold starts from, or None.
    """

    kind: str
    root: str
    sessions: list[Session]
    store: SessionStore
    channels: list[str]
    sfreq: float
    window: int
    stride: int
    class_names: list[str]
    filters: FilterSpec | None
    synthetic: bool = False
    label_map: dict[str, str] = field(default_factory=dict)
    recordings: list[dict[str, Any]] = field(default_factory=list)
    trials: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pretrained: Pretrained | None = None

    def describe(self) -> dict[str, Any]:
        """The report's ``data`` block."""
        return {
            "format": self.kind, "root": self.root, "synthetic": self.synthetic,
            "n_sessions": len(self.sessions), "channels": list(self.channels),
            "sfreq": self.sfreq, "window_samples": self.window,
            "preprocessing": {"sfreq": self.sfreq, "unit": "uV",
                              "filters": self.filters.to_dict() if self.filters else None},
            "label_map": dict(self.label_map), "recordings": list(self.recordings),
            "notes": list(self.notes),
            "init": self.pretrained.describe() if self.pretrained is not None else None,
        }


def select_sessions(cfg: TrainConfig, root: Path | None = None) -> list[SessionFile]:
    """SEED sessions of the data folder restricted to ``cfg.subjects`` and ``cfg.sessions``."""
    sessions = find_sessions(root if root is not None else cfg.paths[0])
    chosen = [s for s in sessions
              if (cfg.subjects is None or s.subject in cfg.subjects)
              and (cfg.sessions is None or s.session in cfg.sessions)]
    if not chosen:
        have = sorted({(s.subject, s.session) for s in sessions})
        raise ValueError(f"no session matches subjects={cfg.subjects} sessions={cfg.sessions}; "
                         f"available (subject, session): {have}")
    return chosen


def _refuse(cfg: TrainConfig, options: dict[str, bool], kind: str) -> None:
    given = [name for name, used in options.items() if used]
    if given:
        raise ValueError(f"{', '.join(given)}: not for {kind} (see sicleer-train --help)")


def _seed_chain(cfg: TrainConfig) -> SignalChain | None:
    if cfg.init is not None:
        pre = _seed_pretrained(cfg)
        return SignalChain(pre.sfreq, pre.filters)
    if cfg.filters is None and (cfg.sfreq is None or cfg.sfreq == SEED_SFREQ):
        return None
    return SignalChain(float(cfg.sfreq or SEED_SFREQ), cfg.filters)


def _seed_pretrained(cfg: TrainConfig) -> Pretrained:
    """The ``--init`` model for SEED sessions: it must take SEED's 62 channels as they are."""
    assert cfg.init is not None
    pre = Pretrained.read(cfg.init)
    pre.check_options(cfg.sfreq, cfg.window_seconds, cfg.filters)
    if [normalize_label(c) for c in pre.channels] != [normalize_label(c) for c in SEED_CHANNELS]:
        raise ValueError(f"--init {pre.path.name} has {len(pre.channels)} channels "
                         f"({', '.join(pre.channels[:6])}...), not SEED's 62 in SEED's order; "
                         "a SEED folder can only fine-tune a model made on SEED's montage")
    return pre


def _seed_data(cfg: TrainConfig, sources: DataSources) -> TrainingData:
    _refuse(cfg, {"--labels": cfg.labels is not None,
                  "--marker-stream": cfg.marker_stream is not None,
                  "--subject": cfg.subject is not None,
                  "--train-fraction (SEED's split is trials 1-9 / 10-15)":
                      cfg.train_fraction != DEFAULT_TRAIN_FRACTION}, "SEED folders")
    assert sources.seed_root is not None
    sessions = select_sessions(cfg, sources.seed_root)
    chain = _seed_chain(cfg)
    sfreq = chain.sfreq if chain is not None else SEED_SFREQ
    window, stride = round(cfg.window_seconds * sfreq), round(cfg.stride * sfreq)
    pooled = cfg.protocol != "subject-dependent"
    store = WindowStore(read_labels(sources.seed_root), window, stride,
                        cfg.out / "cache" if pooled else None, chain)
    return TrainingData(
        "seed", str(sources.seed_root), list(sessions), store, list(SEED_CHANNELS), sfreq,
        window, stride, list(CLASS_NAMES), chain.applied if chain is not None else None,
        synthetic=any(is_synthetic(s.path) for s in sessions))


def _recording_data(cfg: TrainConfig, sources: DataSources) -> TrainingData:
    _refuse(cfg, {"--subjects": cfg.subjects is not None,
                  "--sessions": cfg.sessions is not None}, "recordings (list the files to use)")
    plan, store = load_recordings(cfg, list(sources.recordings))
    filters = plan.chain["filters"]
    return TrainingData(
        "recordings", ", ".join(map(str, cfg.paths)), list(plan.sessions), store,
        plan.channels, plan.sfreq, plan.window, plan.stride, plan.class_names,
        FilterSpec.from_dict(filters) if filters is not None else None,
        label_map=plan.label_map, recordings=plan.recordings, trials=plan.trials,
        notes=plan.notes)


def load_data(cfg: TrainConfig) -> TrainingData:
    """The data of ``cfg.data``: SEED sessions (windows read as the folds need them) or
    recordings (prepared once, then memory-mapped from ``<out>/cache``).

    Raises:
        DataSourceError, RecordingError, SeedFormatError: the data cannot be used (the
            message names the path at fault).
        ValueError: options that do not fit the data (SEED-only options with recordings and
            the reverse, no session selected, filters impossible at the model's rate).
    """
    sources = resolve_sources(cfg.paths)
    data = _seed_data(cfg, sources) if sources.kind == "seed" else _recording_data(cfg, sources)
    if cfg.init is not None:
        data.pretrained = Pretrained.read(cfg.init)
    return data


def check_data(cfg: TrainConfig) -> TrainingData:
    """:func:`load_data`, plus for SEED the header checks of every selected session (each trial
    at least the chain's warm-up plus one window long), before any training starts."""
    paths = cfg.data if isinstance(cfg.data, list | tuple) else [cfg.data]
    log.info("reading and checking %s", ", ".join(map(str, paths)))
    data = load_data(cfg)
    if data.kind == "seed":
        chain = _seed_chain(cfg)
        warm = chain.warmup_seconds(SEED_SFREQ) if chain is not None else 0.0
        check_sessions(data.sessions, cfg.window_seconds, warm)  # type: ignore[arg-type]
    return data
