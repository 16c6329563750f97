"""The subject-dependent split of a recording's trials by time, shared by the trainer
(``offline_training.protocols``) and the live calibration (``bci_app.calibration``), which
checks a participant's trials with the same rule before it starts the trainer."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

__all__ = ["DEFAULT_TRAIN_FRACTION", "time_split"]

DEFAULT_TRAIN_FRACTION = 0.6
"""Share of a recording's trials (the first, by time) that train: SEED's 9 of 15."""


def time_split(labels: Sequence[str], train_fraction: float, where: str) -> int:
    """How many of a recording's trials (in time order, classes ``labels``) train under the
    subject-dependent split: the first ``train_fraction``, rounded, at least one on each side.

    Args:
        labels: class of each trial, in time order.
        train_fraction: share of the trials that train.
        where: the recording, for the messages.

    Raises:
        ValueError: fewer than 2 trials, or a side without a trial of some class (the
            message gives the trials per class on each side).
    """
    n = len(labels)
    if n < 2:
        raise ValueError(f"{where}: {n} trial(s); the subject-dependent split needs "
                         "at least one training and one test trial of every class")
    k = min(max(math.floor(train_fraction * n + 0.5), 1), n - 1)
    classes = list(dict.fromkeys(labels))
    sides = {"training": Counter(labels[:k]), "test": Counter(labels[k:])}
    short = [side for side, counts in sides.items() if any(not counts[c] for c in classes)]
    if short:
        def listing(counts: Counter) -> str:
            return ", ".join(f"{c}: {counts[c]}" for c in classes)

        raise ValueError(
            f"{where}: the subject-dependent split (the first {k} of {n} trials by "
            f"time train, --train-fraction {train_fraction:g}) leaves the {' and '.join(short)} "
            f"side without a trial of every class: training trials per class {{"
            f"{listing(sides['training'])}}}, test {{{listing(sides['test'])}}}; change "
            "--train-fraction or use --protocol cross-session")
    return k
