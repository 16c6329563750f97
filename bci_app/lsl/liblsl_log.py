"""liblsl's own log (the C library's ``INFO|``/``WARN|``/``ERR|`` lines) through Python logging.

liblsl (1.17.7, bundled with mne-lsl) logs with loguru straight to the process's stderr, at
INFO by default: a line when it reads its configuration, one with its build at the first
inlet or outlet, and ``ERR| Stream transmission broke off ...; re-connecting...`` whenever the
other end of a connection goes away. :func:`route_liblsl_log`, called first thing by every
entry point (``bci-app``, ``bci-replay``), sends all of it to the ``"liblsl"`` logger instead:

- levels as liblsl gives them (``FATL`` CRITICAL, ``ERR`` ERROR, ``WARN`` WARNING, ``INFO``
  INFO, verbosity 1..9 DEBUG); the logger shows WARNING and above (everything with ``-v``),
  so a normal start prints none of liblsl's lines and a real problem (a port that cannot be
  bound, a configuration that does not parse, a stream that cannot be recovered) still does;
- a peer that goes away (:data:`DISCONNECT`, e.g. "Stream transmission broke off") is a
  WARNING while the session runs (the engine reports a lost stream and reconnects by itself)
  and DEBUG once the process has begun its orderly stop (:func:`mark_stopping`), so an
  orderly stop prints no error.

What liblsl offers, and why this way: it has no function to set its log level and exports no
loguru callback; its configuration's ``[log]`` section has ``level`` (-3 FATAL .. 0 INFO .. 9)
and ``file`` (with a file, loguru writes there at that level and nothing to stderr); and
``lsl_set_config_content`` (liblsl >= 1.17.7, ``mne_lsl.lsl.set_config_content``) takes the
configuration as a string, in place of ``LSLAPICFG``/``lsl_api.cfg``, if it is called before
liblsl first reads its configuration. So the module reads the configuration file liblsl would
read (the same search: ``$LSLAPICFG``, ``./lsl_api.cfg``, ``~/lsl_api/lsl_api.cfg``,
``/etc/lsl_api/lsl_api.cfg``), appends a ``[log]`` section naming a private temporary file,
hands the text to liblsl and makes it load it at once; a daemon thread reads the file as it
grows (every :data:`POLL_S` s) and logs each line. Only liblsl writes that file: nothing else
in the process is touched, liblsl's threads never wait for Python, and ``LSLAPICFG`` stays as
it was, so child processes (the demo's replay, LabRecorderCLI) read the same configuration.
A ``[log] level`` of the user's configuration is kept (for the file); a ``[log] file`` of the
user's is left alone entirely (liblsl then logs there, as configured).

Rejected: ``level = -2`` alone hides liblsl's warnings and still prints its errors raw, the
orderly-stop ones included; pointing fd 2 at a pipe read by a thread would capture every
other writer of stderr too (Qt, child processes, the interpreter's fatal-error dump) and lose
a crash's last lines with the thread that forwards them.

While liblsl loads the configuration, fd 2 points at a temporary file for that one call: it
catches loguru's own "Logging to ..." INFO line (printed before the new level applies) and
anything liblsl says about the configuration (e.g. a value it refuses), which are then routed
like the rest. A process whose liblsl has already read its configuration, one with a
``[log] file`` of its own, and a liblsl without ``lsl_set_config_content`` keep liblsl's
behaviour unchanged (:func:`route_liblsl_log` returns None).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "DISCONNECT",
    "POLL_S",
    "LiblslLog",
    "classify",
    "config_content",
    "find_config",
    "mark_stopping",
    "route_liblsl_log",
]

log = logging.getLogger("liblsl")

POLL_S = 0.1
"""Seconds between two reads of liblsl's log file."""

DISCONNECT = re.compile(r"Stream transmission broke off|Error while receiving the stream info")
"""liblsl messages about a peer that went away: WARNING while running, DEBUG when stopping."""

_LINE = re.compile(
    r"(?P<where>[\w.+-]+:\d+)\s+(?P<level>FATL|ERR|WARN|INFO|-?\d+)\|\s?(?P<message>.*)$")
"""A loguru line: ``<date> <time> (<uptime>) [<thread>] <file>:<line> <level>| <message>``."""

_LEVELS = {"FATL": logging.CRITICAL, "ERR": logging.ERROR, "WARN": logging.WARNING,
           "INFO": logging.INFO}
_LOADED = "Configuration loaded from content"  # liblsl's INFO line once our text is in force
_LOGGING_TO = "Logging to '"  # loguru's line on opening the file (also sent to stderr)


def classify(line: str, stopping: bool = False) -> tuple[int, str] | None:
    """The Python level and the message of one line of liblsl's log.

    Args:
        line: one line, without its newline.
        stopping: the process has begun its orderly stop (:data:`DISCONNECT` -> DEBUG).

    Returns:
        ``(level, message)``, or None for a line that is not a log entry (loguru's file
        header, a blank line).
    """
    match = _LINE.search(line)
    if match is None:
        return None
    message = match["message"].strip()
    level = _LEVELS.get(match["level"], logging.DEBUG)
    if DISCONNECT.search(message) and level > logging.INFO:
        level = logging.DEBUG if stopping else logging.WARNING
    return level, message


def find_config() -> Path | None:
    """The configuration file liblsl 1.17 would read: the first readable one of
    ``$LSLAPICFG``, ``./lsl_api.cfg``, ``~/lsl_api/lsl_api.cfg``, ``/etc/lsl_api/lsl_api.cfg``
    (None: liblsl's defaults). An unreadable ``$LSLAPICFG`` is logged as liblsl logs it."""
    candidates: list[Path] = []
    env = os.environ.get("LSLAPICFG")
    if env:
        if _readable(Path(env)):
            candidates.append(Path(env))
        else:
            log.error("LSLAPICFG file %s not found", env)
    candidates.append(Path("lsl_api.cfg"))
    with contextlib.suppress(RuntimeError):  # no home directory
        candidates.append(Path.home() / "lsl_api" / "lsl_api.cfg")
    candidates.append(Path("/etc/lsl_api/lsl_api.cfg"))
    return next((p for p in candidates if _readable(p)), None)


def _readable(path: Path) -> bool:
    try:
        with path.open("rb"):
            return path.is_file()
    except OSError:
        return False


def _log_settings(text: str) -> tuple[list[str], dict[str, str]]:
    """The lines of a configuration without its ``[log]`` keys, and those keys' values
    (liblsl's reader: a section starts with ``[`` in the first column, ``;`` comments)."""
    kept: list[str] = []
    settings: dict[str, str] = {}
    section = ""
    for line in text.splitlines():
        if line.startswith("[") and "]" in line:
            section = line[1:line.index("]")]
        elif section == "log" and "=" in line and not line.startswith(";"):
            key, value = (part.strip() for part in line.split("=", 1))
            if key in ("level", "file"):
                settings[key] = value
                continue
        kept.append(line)
    return kept, settings


def config_content(text: str, log_file: Path) -> str | None:
    """liblsl configuration ``text`` with its log sent to ``log_file``.

    Args:
        text: the contents of the user's configuration file ("" for none).
        log_file: where liblsl shall write its log.

    Returns:
        The configuration (every other setting as given; the user's ``[log] level`` kept,
        INFO otherwise), or None when the user's configuration names its own log file.
    """
    kept, settings = _log_settings(text)
    if settings.get("file"):
        return None
    try:
        level = int(settings.get("level", "0"))
    except ValueError:
        level = 0  # liblsl would refuse it and fall back to its defaults (INFO)
    level = min(max(level, -3), 9)
    return "\n".join([*kept, "", "[log]", f"level = {level}", f"file = {log_file}", ""])


class LiblslLog:
    """Routes the lines liblsl appends to its log file to a logger, from a daemon thread.

    Args:
        path: the log file liblsl writes (configured with :func:`config_content`).
        logger: where the lines go (default: ``"liblsl"``).
        poll_s: seconds between two reads.
    """

    def __init__(self, path: Path, logger: logging.Logger = log, poll_s: float = POLL_S) -> None:
        self.path = Path(path)
        self.logger = logger
        self.poll_s = poll_s
        self.stopping = False
        self._file = self.path.open("rb", buffering=0)
        self._pending = b""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the reading thread (named ``liblsl-log``)."""
        self._thread = threading.Thread(target=self._run, name="liblsl-log", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.poll()

    def route_line(self, line: str) -> bool:
        """Log one line of liblsl's log; returns whether it was a log entry."""
        found = classify(line, self.stopping)
        if found is not None:
            self.logger.log(found[0], "%s", found[1])
        return found is not None

    def poll(self) -> None:
        """Route every complete line written since the last call."""
        with self._lock:
            if self._file.closed:
                return
            try:
                data = self._file.read()
            except OSError:
                return
            if not data:
                return
            *lines, self._pending = (self._pending + data).split(b"\n")
            for raw in lines:
                self.route_line(raw.decode("utf-8", "replace").rstrip("\r"))

    def mark_stopping(self) -> None:
        """From now on a peer that goes away is an orderly stop's doing: DEBUG."""
        self.stopping = True

    def close(self) -> None:
        """Route what is left, stop the thread and remove the file (idempotent)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)
        self.poll()
        with self._lock:
            if self._pending:
                self.route_line(self._pending.decode("utf-8", "replace"))
                self._pending = b""
            self._file.close()
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)


_router: LiblslLog | None = None
_tried = False
_install_lock = threading.Lock()


def route_liblsl_log(verbose: bool = False) -> LiblslLog | None:
    """Send liblsl's log to the ``"liblsl"`` logger (see the module docstring); idempotent.

    Call it before anything in the process uses LSL. Without a handler on the root logger
    (``bci-replay`` configures no logging), the ``"liblsl"`` logger gets its own on stderr.

    Args:
        verbose: show liblsl's INFO and debug lines too (``-v``); otherwise WARNING and above.

    Returns:
        The router, or None where liblsl's log cannot be routed and stays as it was.
    """
    global _router, _tried
    log.setLevel(logging.DEBUG if verbose else logging.WARNING)
    if not logging.getLogger().handlers and not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                                               datefmt="%H:%M:%S"))
        log.addHandler(handler)
        log.propagate = False
    with _install_lock:
        if not _tried:
            _tried = True
            _router = _install()
    return _router


def mark_stopping() -> None:
    """The process has begun its orderly stop: liblsl's messages about peers that go away
    are DEBUG from now on (no-op when liblsl's log is not routed)."""
    if _router is not None:
        _router.mark_stopping()


def _install() -> LiblslLog | None:
    """Configure liblsl to log into a temporary file and start routing it."""
    try:
        from mne_lsl.lsl import protocol_version, set_config_content
    except ImportError:  # an mne-lsl older than 1.8
        return None
    config = find_config()
    text = config.read_text(encoding="utf-8", errors="replace") if config else ""
    fd, name = tempfile.mkstemp(prefix="liblsl-", suffix=".log")
    os.close(fd)
    path = Path(name)
    content = config_content(text, path)
    if content is None:
        log.debug("%s names its own log file: liblsl's log stays there", config)
        path.unlink(missing_ok=True)
        return None
    try:
        set_config_content(content)
    except NotImplementedError:  # liblsl < 1.17.7
        path.unlink(missing_ok=True)
        return None
    said = _stderr_of(protocol_version)  # liblsl loads its configuration now
    router = LiblslLog(path)
    for line in said.splitlines():  # what liblsl said on stderr while it did
        if _LOGGING_TO in line:
            continue  # the same line is in the file
        if not router.route_line(line):
            _write_stderr(line + "\n")
    if _LOADED.encode() not in path.read_bytes():  # liblsl had read a configuration before
        router.close()
        return None
    if os.name == "posix":
        path.unlink(missing_ok=True)  # liblsl and the router keep it open: nothing left behind
    router.start()
    atexit.register(router.close)
    return router


def _stderr_of(call: Callable[[], object]) -> str:
    """Run ``call`` with fd 2 pointed at a temporary file; returns what was written there."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        call()
        return ""
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            call()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        return tmp.read().decode("utf-8", "replace")


def _write_stderr(text: str) -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.write(text)
        sys.stderr.flush()
