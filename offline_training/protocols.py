"""The evaluation protocols as lists of folds (train and test trials per session).

Every split is by trial, never by window: all windows of a trial are on one side.

- ``subject-dependent``: per session. SEED: trials 1-9 train, 10-15 test (the standard
  protocol). Recordings: the first ``train_fraction`` of each recording's trials by time
  train, the rest test; each side needs a trial of every class.
- ``cross-session``: per subject, leave one session (SEED file or recording) out; needs at
  least two sessions of every subject.
- ``loso``: leave one subject out; needs at least two subjects.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from models.splits import DEFAULT_TRAIN_FRACTION, time_split
from offline_training.recording_data import RecordingSession
from offline_training.seed import N_TRIALS, SessionFile

TRAIN_TRIALS = tuple(range(1, 10))  # subject-dependent: trials 1-9 train
TEST_TRIALS = tuple(range(10, N_TRIALS + 1))  # trials 10-15 test
ALL_TRIALS = tuple(range(1, N_TRIALS + 1))

Session = SessionFile | RecordingSession
Selection = list[tuple[Session, tuple[int, ...]]]


@dataclass(frozen=True)
class Fold:
    """One train/test split.

    Attributes:
        name: stable identifier, used for the per-fold result file.
        subject: the test subject (SEED: a number; recordings: a name).
        session: the test session (None when the fold tests every session of a subject).
        train, test: (session, 1-based trial numbers) pairs.
    """

    name: str
    subject: int | str
    session: int | str | None
    train: Selection
    test: Selection


def all_trials(session: Session) -> tuple[int, ...]:
    """Every trial number of a session (SEED: 1-15; a recording: 1..its kept trials)."""
    if isinstance(session, RecordingSession):
        return tuple(range(1, len(session.labels) + 1))
    return ALL_TRIALS


def split_by_time(session: RecordingSession,
                  train_fraction: float) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The first ``train_fraction`` of a recording's trials (rounded, at least one on each
    side) train, the later ones test.

    Raises:
        ValueError: a side without a trial of some class (naming the recording and the
            trials per class on each side).
    """
    n = len(session.labels)
    k = time_split(session.labels, train_fraction, str(session.path))
    return tuple(range(1, k + 1)), tuple(range(k + 1, n + 1))


def _name(session: Session) -> str:
    if isinstance(session, RecordingSession):
        return session.key
    return f"sub{session.subject:02d}_ses{session.session}"


def _subject_name(subject: int | str) -> str:
    return f"sub{subject:02d}" if isinstance(subject, int) else f"sub-{subject}"


def make_folds(sessions: Sequence[Session], protocol: str,
               train_fraction: float = DEFAULT_TRAIN_FRACTION) -> list[Fold]:
    """Folds of ``protocol`` over ``sessions`` (all SEED session files or all recordings).

    Args:
        sessions: the sessions, in order.
        protocol: ``subject-dependent``, ``loso`` or ``cross-session``.
        train_fraction: recordings, subject-dependent: see :func:`split_by_time`.

    Raises:
        ValueError: the protocol needs more subjects or sessions than given, or a
            subject-dependent split lacks a class on one side.
    """
    if not sessions:
        raise ValueError("no sessions selected")
    if protocol == "subject-dependent":
        folds = []
        for s in sessions:
            train, test = (split_by_time(s, train_fraction) if isinstance(s, RecordingSession)
                           else (TRAIN_TRIALS, TEST_TRIALS))
            folds.append(Fold(_name(s), s.subject, s.session, [(s, train)], [(s, test)]))
        return folds
    by_subject: dict[int | str, list[Session]] = defaultdict(list)
    for s in sessions:
        by_subject[s.subject].append(s)
    if isinstance(sessions[0], SessionFile):  # SEED: by subject number; recordings: as given
        by_subject = dict(sorted(by_subject.items()))
    if protocol == "loso":
        if len(by_subject) < 2:
            raise ValueError("leave-one-subject-out needs at least 2 subjects, "
                             f"got {sorted(map(str, by_subject))}" + _subject_hint(sessions))
        return [Fold(_subject_name(subj), subj, None,
                     [(s, all_trials(s)) for s in sessions if s.subject != subj],
                     [(s, all_trials(s)) for s in own])
                for subj, own in by_subject.items()]
    if protocol == "cross-session":
        folds = []
        for subj, own in by_subject.items():
            if len(own) < 2:
                raise ValueError(f"cross-session needs at least 2 sessions of subject {subj}, "
                                 f"found {len(own)}" + _subject_hint(sessions))
            for held in own:
                folds.append(Fold(_name(held), subj, held.session,
                                  [(s, all_trials(s)) for s in own if s is not held],
                                  [(held, all_trials(held))]))
        return folds
    raise ValueError(f"unknown protocol {protocol!r}")


def _subject_hint(sessions: Sequence[Session]) -> str:
    """For recordings: where their subjects came from, and how to set them."""
    if not isinstance(sessions[0], RecordingSession):
        return ""
    listing = ", ".join(f"{s.path.name}: {s.subject}" for s in sessions[:10])
    return (f" (subject of each recording: {listing}; a recording's subject comes from "
            "--subject, BIDS sub-, the file's metadata, else its folder's name)")
