"""EEG acquisition: one thread per stream that waits for samples with blocking LSL pulls.

mne-lsl's ``StreamLSL`` polls its inlet every ``acquisition_delay`` seconds with a
busy-waiting sleep. At the 1 ms delay that low latency needs, its thread takes the GIL more
than a thousand times a second, and the GUI thread of the same process waits for it; a longer
delay costs latency (docs/RESULTS.md has the figures). :class:`InletReader` needs neither:
it blocks in liblsl (``pull_sample`` with a timeout, the GIL released) until a sample
arrives, then drains the rest of the chunk without waiting and hands it to a callback, so it
wakes once per chunk.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from mne_lsl.lsl import StreamInlet

from bci_app.lsl.protocol import REPLAY_DESC
from bci_app.lsl.streams import StreamDescription, resolve_info

__all__ = ["ChunkCallback", "InletReader", "StreamNotFoundError"]

log = logging.getLogger("bci_app.lsl.reader")

ChunkCallback = Callable[[np.ndarray, np.ndarray], None]
"""Called with data (n_samples, n_channels) in the stream's units and LSL times (n_samples,)."""


class StreamNotFoundError(RuntimeError):
    """The stream to open is not (or no longer) on the network."""


class InletReader:
    """Opens an inlet on one stream; once started, calls a callback with every chunk.

    Timestamps are on this machine's LSL clock (liblsl's clocksync post-processing), whichever
    host sends the stream. A pull that fails (the stream vanished for good) ends the thread
    and is logged; the owner notices that chunks stop coming and decides what to do.

    Args:
        desc: the stream (found by :func:`bci_app.lsl.streams.list_streams`).
        timeout: seconds to find the stream and open the inlet.
        poll: seconds one blocking pull waits before looking at the stop flag again
            (bounds :meth:`close`).
        max_buffered: seconds liblsl keeps queued when the callback falls behind.
    """

    def __init__(self, desc: StreamDescription, *, timeout: float = 5.0, poll: float = 0.1,
                 max_buffered: int = 10) -> None:
        self.desc = desc
        self._callback: ChunkCallback | None = None
        self._poll = poll
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        sinfo = self._resolve(desc, timeout)
        self._inlet = StreamInlet(sinfo, max_buffered=max_buffered, recover=True,
                                  processing_flags=("clocksync",))
        try:
            self._inlet.open_stream(timeout=timeout)
            self.sinfo = self._inlet.get_sinfo(timeout=timeout)  # with channel descriptions
            # the first clock offset is measured here, not in the first pull (which would
            # otherwise block for it and look like a stalled stream)
            self._inlet.time_correction(timeout=timeout)
        except Exception:
            self._drop_inlet()
            raise

    @staticmethod
    def _resolve(desc: StreamDescription, timeout: float) -> Any:
        if desc.sinfo is not None:  # from a listing: no second resolution
            return desc.sinfo
        info = resolve_info(desc, max(timeout, 1.0))
        if info is None:
            raise StreamNotFoundError(f"stream '{desc.name}' (type {desc.stype}, source id "
                                      f"'{desc.source_id}') is no longer on the network")
        return info

    # ------------------------------------------------------------------ public API
    def channel_names(self) -> list[str]:
        """Channel labels from the stream's description; "0", "1", ... when it has none."""
        names = self.sinfo.get_channel_names()
        return list(names) if names else [str(i) for i in range(self.sinfo.n_channels)]

    def channel_units(self) -> Any:
        """Channel units as ``StreamInfo.get_channel_units`` gives them (None when absent)."""
        return self.sinfo.get_channel_units()

    def replay_info(self) -> dict[str, Any] | None:
        """``{"file": name, "t0": LSL s}`` when the stream is a replay that says where its
        timestamps count from (:data:`bci_app.lsl.protocol.REPLAY_DESC`), else None."""
        node = self.sinfo.desc.child(REPLAY_DESC)
        if node.empty():
            return None
        try:
            t0 = float(node.child_value("t0"))
        except ValueError:
            return None
        return {"file": node.child_value("file"), "t0": t0}

    def start(self, callback: ChunkCallback) -> InletReader:
        """Start the reading thread (returns at once); ``callback`` receives each chunk in
        that thread and must not raise."""
        if self._thread is None:
            self._callback = callback
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name=f"lsl-reader-{self.desc.name}")
            self._thread.start()
        return self

    @property
    def running(self) -> bool:
        """Whether the reading thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def close(self, timeout: float = 2.0) -> None:
        """Stop the thread (within ``poll`` s) and close the inlet. Idempotent."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():  # still inside liblsl: leave the inlet to the thread
                log.warning("reader of '%s' did not stop within %.1f s", self.desc.name,
                            timeout)
                return
        self._drop_inlet()

    # ------------------------------------------------------------------ thread
    def _run(self) -> None:
        inlet, callback = self._inlet, self._callback
        if inlet is None or callback is None:
            return
        try:
            while not self._stop.is_set():
                first, t_first = inlet.pull_sample(timeout=self._poll)  # GIL released here
                if t_first is None:
                    continue
                first = np.array(first, copy=True)  # the inlet reuses its buffers
                rest, t_rest = inlet.pull_chunk(timeout=0.0)
                if len(t_rest):
                    data = np.concatenate((first[None, :], rest), axis=0)
                    times = np.concatenate(([t_first], t_rest))
                else:
                    data, times = first[None, :], np.array([t_first])
                if not self._stop.is_set():
                    callback(data, times)
        except Exception as exc:  # the stream is gone for good, or liblsl failed
            if not self._stop.is_set():
                log.warning("reading '%s' stopped: %s", self.desc.name, exc)

    def _drop_inlet(self) -> None:
        inlet, self._inlet = self._inlet, None
        if inlet is not None:
            try:
                inlet.close_stream()
            except Exception as exc:
                log.debug("closing the inlet of '%s': %s", self.desc.name, exc)
