"""Replay options that need no MNE or LSL: default names and the chunking of the stream."""

from __future__ import annotations

import math
from pathlib import Path

__all__ = ["DEFAULT_NAME", "MAX_CHUNK_MS", "chunk_size_for", "default_source_id"]

DEFAULT_NAME = "bci-replay"
"""Default LSL name of the EEG stream."""
MAX_CHUNK_MS = 25.0
"""Default and longest duration of one pushed chunk, in milliseconds."""


def chunk_size_for(sfreq: float, chunk_ms: float = MAX_CHUNK_MS) -> int:
    """Samples per pushed chunk: ``floor(chunk_ms / 1000 * sfreq)``, at least 1.

    Args:
        sfreq: sampling rate in Hz.
        chunk_ms: longest chunk duration in milliseconds (0 < chunk_ms <= 25).

    Raises:
        ValueError: ``chunk_ms`` outside (0, 25] or ``sfreq`` not positive.
    """
    if not 0 < chunk_ms <= MAX_CHUNK_MS:
        raise ValueError(f"chunk duration {chunk_ms} ms is outside (0, {MAX_CHUNK_MS}] ms")
    if not sfreq > 0:
        raise ValueError(f"sampling rate {sfreq} Hz is not positive")
    return max(1, math.floor(chunk_ms * sfreq / 1000.0 + 1e-9))


def default_source_id(path: str | Path) -> str:
    """Stable LSL source id derived from the file name: ``"bci-replay-<stem>"``."""
    return f"{DEFAULT_NAME}-{Path(path).stem}"
