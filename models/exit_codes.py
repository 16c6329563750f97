"""How every command of the project ends: one exit-code scheme, and stop signals.

``sicleer-train``, ``sicleer-synth``, ``bci-app`` and ``bci-replay`` return these codes (the
README's "Exit codes" section is the user-facing table):

====  =============  ==========================================================================
code  name           meaning
====  =============  ==========================================================================
0     OK             finished: done, ``--duration`` reached, end of file, window closed
1     FAILURE        the run itself failed (a training worker died, a screenshot not written)
2     USAGE          bad command line or option values (argparse's own code)
3     BAD_INPUT      an input file or folder refused: model file, SEED folder, recording
4     STREAM         the LSL stream: not found, refused, or its signal never usable
5     OUTPUT         an output (log, summary, report, model file) cannot be written
128+N INTERRUPTED    stopped by signal N: 130 Ctrl-C (SIGINT), 143 SIGTERM, 129 SIGHUP; the
                     orderly shutdown ran first (outputs closed, summary written)
====  =============  ==========================================================================

Stop signals: :func:`on_stop_signals` routes SIGINT, SIGTERM and SIGHUP to one handler for the
duration of a block, so every way of stopping a command takes the same path.
:func:`raise_interrupted` is the handler for blocking start-up work: it raises
:class:`Interrupted`, a ``KeyboardInterrupt``, so existing ``except KeyboardInterrupt``
clean-ups run for SIGTERM and SIGHUP too.

No torch, no numpy: importing this module is free.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum

__all__ = [
    "STOP_SIGNALS",
    "ExitCode",
    "Interrupted",
    "interrupted_code",
    "on_stop_signals",
    "raise_interrupted",
    "say",
    "signal_name",
]


class ExitCode(IntEnum):
    """Process exit codes shared by every command (see the module docstring)."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    BAD_INPUT = 3
    STREAM = 4
    OUTPUT = 5
    INTERRUPTED = 130  # 128 + SIGINT; other signals give 128 + their number


STOP_SIGNALS: tuple[int, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
"""Signals that stop a command in order: Ctrl-C, ``kill``/``timeout``/systemd/``docker stop``,
and a closed terminal (SIGHUP does not exist on Windows)."""


def interrupted_code(signum: int) -> int:
    """Exit code of a command stopped by signal ``signum``: ``128 + signum`` (shell rule)."""
    return 128 + int(signum)


def signal_name(signum: int) -> str:
    """``"SIGTERM"`` for 15, and so on (``"signal N"`` when unknown)."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived (raised by :func:`raise_interrupted`).

    Attributes:
        signum: the signal's number.
    """

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal_name(signum))
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        """``128 + signum``."""
        return interrupted_code(self.signum)


def raise_interrupted(signum: int) -> None:
    """Stop-signal handler that raises :class:`Interrupted` (for blocking work)."""
    raise Interrupted(signum)


@contextmanager
def on_stop_signals(handler: Callable[[int], None]) -> Iterator[None]:
    """Within the block, call ``handler(signum)`` for SIGINT, SIGTERM and SIGHUP.

    The previous handlers come back when the block ends. Python runs signal handlers in the
    main thread only, so outside it (e.g. a command called from a test's worker thread) the
    block changes nothing.

    Args:
        handler: called in the main thread, between two Python bytecodes; it may raise
            (:func:`raise_interrupted`) or just record the request.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for signum in STOP_SIGNALS:
        previous[signum] = signal.signal(signum, lambda s, _frame: handler(s))
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def say(text: str, err: bool = False) -> None:
    """Print a line (on stderr with ``err``), flushed; a closed terminal (SIGHUP) or pipe must
    not break a shutdown, so a failed write is dropped."""
    with contextlib.suppress(OSError, ValueError):
        print(text, file=sys.stderr if err else sys.stdout, flush=True)
