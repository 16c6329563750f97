"""The real-EEG protocol of the benchmarks: PhysioNet's EEG Motor Movement/Imagery data,
subject S001, within-subject, train on one run and test on another (split by trials).

Runs (``../shared/data/eegmmidb_S001``, 64 channels at 160 Hz, ODC-BY 1.0; attribution in
README.md): R03/R07 executed and R04/R08 imagined left vs right fist, R05/R09 executed and
R06/R10 imagined both fists (T1) vs both feet (T2); T0 is rest. Each annotated block (about
4.1 s) is one trial; its windows all carry its class. Two class sets: ``2`` = T1 vs T2,
``3`` = T0 vs T1 vs T2.

The EDF files are read with MNE directly (the trainer's own recording reader is a later issue);
values are converted to microvolts, channels keep the file's order. By default nothing is
filtered beyond the recording's own hardware filters; with ``filters`` the whole run goes
through the live app's causal filter chain (``bci_app.signal.filters``, state carried through
the run, as an amplifier stream would be) before its trials are cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bci_app.signal.filters import make_live_filter
from models.preprocessing import FilterSpec
from offline_training.windows import SessionWindows, cut_windows

__all__ = ["DATA", "TASKS", "Task", "load_run"]

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "eegmmidb_S001"
CLASSES = {2: ("T1", "T2"), 3: ("T0", "T1", "T2")}


@dataclass(frozen=True)
class Task:
    """One train-run -> test-run split.

    Attributes:
        name: e.g. ``"imagined R06->R10"``.
        train, test: run numbers.
        tuning: whether the task may be used to choose defaults (the others only report).
    """

    name: str
    train: int
    test: int
    tuning: bool


TASKS: tuple[Task, ...] = (
    # imagined fists vs feet: used to choose the defaults (left vs right fist was tried
    # first and dropped: every method, CSP + LDA included, is at chance on it from one run)
    Task("imagined R06->R10", 6, 10, True),
    Task("imagined R10->R06", 10, 6, True),
    # executed fists vs feet: reported, never used for choosing
    Task("executed R05->R09", 5, 9, False),
    Task("executed R09->R05", 9, 5, False),
)


def load_run(run: int, n_classes: int, window_s: float = 1.0, stride_s: float = 1.0,
             folder: Path = DATA, filters: FilterSpec | None = None,
             ) -> tuple[SessionWindows, float, list[str]]:
    """Windows of one run's trials of the chosen classes.

    Args:
        run: run number (3-10).
        n_classes: 2 (T1 vs T2) or 3 (T0, T1, T2).
        window_s, stride_s: window length and hop inside each trial, seconds.
        filters: the causal chain applied to the whole run first (None: raw). Its warm-up
            (0.25 s for 8-30 Hz at 160 Hz) falls in the first rest block, at 0 s.

    Returns:
        (windows, sampling rate in Hz, channel names). ``trial`` numbers follow the
        annotations' order in the run; classes index ``CLASSES[n_classes]``.
    """
    import mne

    raw = mne.io.read_raw_edf(folder / f"S001R{run:02d}.edf", preload=True, verbose="error")
    sfreq = float(raw.info["sfreq"])
    data = raw.get_data() * 1e6  # volts -> microvolts
    if filters is not None:
        chain = make_live_filter(sfreq, filters.l_freq, filters.h_freq, filters.notch,
                                 n_channels=data.shape[0], order=filters.order,
                                 notch_q=filters.notch_q)
        data = chain.process(data.T).T
    window, stride = round(window_s * sfreq), round(stride_s * sfreq)
    labels = CLASSES[n_classes]
    xs, ys, ts = [], [], []
    for number, ann in enumerate(raw.annotations, start=1):
        if ann["description"] not in labels:
            continue
        start = round((ann["onset"] - raw.first_time) * sfreq)
        stop = min(start + round(ann["duration"] * sfreq), data.shape[1])
        w = cut_windows(data[:, start:stop].astype(np.float32), window, stride)
        xs.append(w)
        ys.append(np.full(len(w), labels.index(ann["description"]), dtype=np.int64))
        ts.append(np.full(len(w), number, dtype=np.int64))
    sw = SessionWindows(np.concatenate(xs), np.concatenate(ys), np.concatenate(ts), 1, run)
    return sw, sfreq, list(raw.ch_names)
