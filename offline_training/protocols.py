"""SEED's evaluation protocols as lists of folds (train and test trials per session)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from offline_training.seed import N_TRIALS, SessionFile

TRAIN_TRIALS = tuple(range(1, 10))  # subject-dependent: trials 1-9 train
TEST_TRIALS = tuple(range(10, N_TRIALS + 1))  # trials 10-15 test
ALL_TRIALS = tuple(range(1, N_TRIALS + 1))

Selection = list[tuple[SessionFile, tuple[int, ...]]]


@dataclass(frozen=True)
class Fold:
    """One train/test split.

    Attributes:
        name: stable identifier, used for the per-fold result file.
        subject: the test subject.
        session: the test session (None when the fold tests every session of a subject).
        train, test: (session file, 1-based trial numbers) pairs.
    """

    name: str
    subject: int
    session: int | None
    train: Selection
    test: Selection


def make_folds(sessions: list[SessionFile], protocol: str) -> list[Fold]:
    """Folds of ``protocol`` over ``sessions``.

    Raises:
        ValueError: the protocol needs more subjects or sessions than given.
    """
    if not sessions:
        raise ValueError("no sessions selected")
    if protocol == "subject-dependent":
        return [Fold(f"sub{s.subject:02d}_ses{s.session}", s.subject, s.session,
                     [(s, TRAIN_TRIALS)], [(s, TEST_TRIALS)]) for s in sessions]
    by_subject: dict[int, list[SessionFile]] = defaultdict(list)
    for s in sessions:
        by_subject[s.subject].append(s)
    if protocol == "loso":
        if len(by_subject) < 2:
            raise ValueError("leave-one-subject-out needs at least 2 subjects, "
                             f"got {sorted(by_subject)}")
        return [Fold(f"sub{subj:02d}", subj, None,
                     [(s, ALL_TRIALS) for s in sessions if s.subject != subj],
                     [(s, ALL_TRIALS) for s in own])
                for subj, own in sorted(by_subject.items())]
    if protocol == "cross-session":
        folds = []
        for subj, own in sorted(by_subject.items()):
            if len(own) < 2:
                raise ValueError(f"cross-session needs at least 2 sessions of subject {subj}, "
                                 f"found {len(own)}")
            for held in own:
                folds.append(Fold(f"sub{subj:02d}_ses{held.session}", subj, held.session,
                                  [(s, ALL_TRIALS) for s in own if s is not held],
                                  [(held, ALL_TRIALS)]))
        return folds
    raise ValueError(f"unknown protocol {protocol!r}")
