"""Annotations and markers -> labelled trials (the same rules for every file format).

1. An annotation with a duration > 0 is one trial, from its onset for its duration.
2. Zero-duration events that follow the project's own convention (``"trial N start <label>"``
   ... ``"trial N end <label>"``, :data:`models.eeg.markers.TRIAL_MARKER`) pair into one
   trial, recognised without a label map: the start marker is at the trial's first sample and
   the end marker at its last one, so the trial lasts ``end - start + 1 / sfreq``. Its class is
   the marker's label word (through the label map when one is given: the map is tried on the
   label word, then on the start marker's text). Markers without a class word give no trial.
3. Any other zero-duration event, with a label map, starts a trial that lasts until the next
   event (of any kind, at a later time), or until the end of the data for the last one.
   Without a label map such events give no trial.
4. Without a label map, trials of rule 1 take their description as class, except MNE's bad and
   edge spans (descriptions starting with ``bad`` or ``edge``, any case). With a label map, only
   the descriptions it matches give trials, under the mapped class.

Trials are clipped to the data (``0 .. n_samples / sfreq``); those wholly outside are left out,
with a note.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from models.eeg.markers import TRIAL_MARKER
from models.wording import count, plural
from offline_training.recordings.base import Event, RecordingError, Trial
from offline_training.recordings.labels import LabelMap

__all__ = ["build_trials", "distinct_descriptions"]

_MNE_SPECIAL = ("bad", "edge")


@dataclass(frozen=True)
class _Candidate:
    onset: float
    duration: float
    description: str
    words: tuple[str, ...]  # what the label map is tried on, in order; first is the default
    convention: bool = False  # paired from "trial N start/end" markers


def distinct_descriptions(events: Sequence[Event]) -> list[str]:
    """Every distinct description of ``events``, in order of first appearance."""
    return list(dict.fromkeys(e.description for e in events))


def _listing(descriptions: Sequence[str], limit: int = 30) -> str:
    shown = ", ".join(repr(d) for d in descriptions[:limit])
    more = len(descriptions) - limit
    return shown + (f" ... and {more} more" if more > 0 else "")


def _pair_convention(events: Sequence[Event], sfreq: float,
                     notes: list[str]) -> tuple[list[_Candidate], set[int]]:
    """Pair ``trial N start`` / ``trial N end`` markers; returns candidates and used indices."""
    pending: dict[int, tuple[int, Event, str | None]] = {}
    candidates: list[_Candidate] = []
    used: set[int] = set()
    for index, event in enumerate(events):
        match = TRIAL_MARKER.fullmatch(event.description)
        if event.duration > 0 or match is None:
            continue
        used.add(index)
        number, kind, label = int(match.group(1)), match.group(2).lower(), match.group(3)
        if kind == "start":
            if number in pending:
                notes.append(f"trial {number} started twice without an end; the first start "
                             f"(at {pending[number][1].onset:.3f} s) is ignored")
            pending[number] = (index, event, label)
            continue
        if number not in pending:
            notes.append(f"marker {event.description!r} at {event.onset:.3f} s has no start "
                         "marker; ignored")
            continue
        _, start, start_label = pending.pop(number)
        if start_label and label and start_label.lower() != label.lower():
            notes.append(f"trial {number}: start label {start_label!r} and end label "
                         f"{label!r} differ; the start label is used")
        word = start_label or label
        if word is None:
            notes.append(f"trial {number} has no class word in its markers; left out")
            continue
        candidates.append(_Candidate(start.onset, event.onset - start.onset + 1.0 / sfreq,
                                     start.description, (word, start.description), True))
    for _, start, _ in sorted(pending.values(), key=lambda item: item[0]):
        notes.append(f"marker {start.description!r} at {start.onset:.3f} s has no end marker; "
                     "left out")
    return candidates, used


def build_trials(events: Sequence[Event], labels: LabelMap | None, *, sfreq: float,
                 data_seconds: float, source: str) -> tuple[list[Trial], list[str]]:
    """Turn a file's events into its labelled trials (rules in the module docstring).

    Args:
        events: annotations / markers, onsets in seconds from the first sample (any order).
        labels: the label map, or None (descriptions and the trial convention only).
        sfreq: sampling rate (Hz), for the one-sample end of convention trials.
        data_seconds: length of the data (s); trials are clipped to ``0 .. data_seconds``.
        source: the file, named in every message.

    Returns:
        The trials in time order, and notes about events that were ignored or clipped.

    Raises:
        RecordingError: no events; no trial at all; with a label map, a map that matches no
            description or a class of the map without any trial (the message lists the
            descriptions the file has).
    """
    if not events:
        raise RecordingError(f"{source}: the recording has no annotations or markers, so no "
                             "trials can be labelled")
    ordered = sorted(events, key=lambda e: e.onset)
    notes: list[str] = []
    candidates, used = _pair_convention(ordered, sfreq, notes)
    onsets = [e.onset for e in ordered]
    for index, event in enumerate(ordered):
        if index in used:
            continue
        if event.duration > 0:
            candidates.append(_Candidate(event.onset, event.duration, event.description,
                                         (event.description,)))
        elif labels is not None:
            following = bisect.bisect_right(onsets, event.onset)
            end = onsets[following] if following < len(onsets) else data_seconds
            candidates.append(_Candidate(event.onset, end - event.onset, event.description,
                                         (event.description,)))

    trials: list[Trial] = []
    tolerance = 0.5 / sfreq  # within half a sample of the data counts as inside
    outside = 0
    clipped = 0
    for cand in sorted(candidates, key=lambda c: c.onset):
        label = _classify(cand, labels)
        if label is None:
            continue
        start, end = cand.onset, cand.onset + cand.duration
        if end <= tolerance or start >= data_seconds - tolerance:
            outside += 1
            continue
        if start < -tolerance or end > data_seconds + tolerance:
            clipped += 1
        start, end = max(start, 0.0), min(end, data_seconds)
        trials.append(Trial(start, end - start, label, cand.description))
    if outside:
        notes.append(f"{count(outside, 'trial')} {plural(outside, 'lies', 'lie')} outside the "
                     f"data ({data_seconds:.3f} s) and {plural(outside, 'is', 'are')} left out")
    if clipped:
        notes.append(f"{count(clipped, 'trial')} {plural(clipped, 'reaches', 'reach')} past the "
                     f"data and {plural(clipped, 'is', 'are')} clipped to it")
    _check(trials, labels, distinct_descriptions(ordered), source)
    return trials, notes


def _classify(cand: _Candidate, labels: LabelMap | None) -> str | None:
    if labels is None:
        if not cand.convention and cand.description.strip().lower().startswith(_MNE_SPECIAL):
            return None
        return cand.words[0]
    for word in cand.words:
        cls = labels.match(word)
        if cls is not None:
            return cls
    return None


def _check(trials: list[Trial], labels: LabelMap | None, descriptions: list[str],
           source: str) -> None:
    have = f"the file's descriptions are: {_listing(descriptions)}"
    if labels is None:
        if not trials:
            raise RecordingError(
                f"{source}: no labelled trials: no annotation has a duration and there are no "
                f"'trial N start <label>' / 'trial N end <label>' markers; give a label map "
                f"(e.g. 'T1=fists,T2=feet') to make trials of its events; {have}")
        return
    if not any(labels.match(d) is not None for d in descriptions) and not trials:
        raise RecordingError(f"{source}: the label map {labels} matches none of the file's "
                             f"annotations or markers; {have}")
    found = {t.label for t in trials}
    missing = [cls for cls in labels.classes if cls not in found]
    if missing:
        detail = "; ".join(f"{cls!r} (keys {', '.join(labels.keys_of(cls))})" for cls in missing)
        raise RecordingError(f"{source}: no trial of class {detail} of the label map {labels}; "
                             f"{have}")
