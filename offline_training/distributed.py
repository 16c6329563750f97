"""``sicleer-train`` under ``torchrun``: the folds of a run spread over processes, GPUs, nodes.

torchrun starts one process (a *rank*) per GPU, on one machine or on several joined by its
rendezvous, and tells each who it is in the environment: ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``. Without them (or with ``WORLD_SIZE=1``)
nothing here does anything and a run is the plain one-process run. With them:

1. :func:`joined` joins the process group (gloo on CPU; on GPUs NCCL for CUDA tensors and
   gloo for CPU ones), puts the rank on ``cuda:LOCAL_RANK`` (:func:`rank_device`) and checks
   that every rank sees the ``--out`` folder that rank 0 writes to;
2. rank 0 checks the data first, which for recordings also prepares the cache the others then
   read (:meth:`Ranks.rank0_first`);
3. rank ``r`` of ``N`` trains folds ``r, r + N, r + 2N, ...`` (:func:`share`), each with the
   seed of its fold (``--seed`` + fold index) whatever the rank, so the folds come out as in
   one process;
4. every rank waits for all (:meth:`Ranks.wait`); rank 0 then reads every fold's result file
   and writes the report, the figures and the ``--export`` model; the others exit with 0.

Waiting and failures go through the key-value store of torchrun's rendezvous (a TCPStore),
not through collectives, so a rank may wait for hours of the others' folds with no collective
timeout and still stop promptly when something goes wrong:

- a rank that fails (a fold, the data, a signal) posts its error before it exits; every other
  rank sees it within :data:`POLL_S` seconds (mid-fold too: the fold's process is ended) and
  stops with that error. Finished folds stay in ``--out/folds`` for the next run;
- a thread of each rank posts a heartbeat every :data:`BEAT_S` seconds; a rank that waits and
  hears nothing from another for :data:`SILENCE_ENV` seconds (default
  :data:`DEFAULT_SILENCE_S`: that rank's process or node is gone without a word) stops with a
  message naming it.

Log lines of a rank (and of its fold processes) start with ``[rank r/N]``; progress bars show
on rank 0 only.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from models.device import resolve_device
from offline_training.progress import LOG_FORMAT, QUIET_ENV

if TYPE_CHECKING:
    import torch
    import torch.distributed as dist

__all__ = ["BEAT_S", "DEFAULT_SILENCE_S", "POLL_S", "SILENCE_ENV", "Ranks", "RanksStopped",
           "World", "backend_for", "joined", "label_log_lines", "rank_device", "share"]

log = logging.getLogger("sicleer.train")

POLL_S = 2.0
"""How often (s) a waiting or training rank looks for another rank's failure."""
BEAT_S = 5.0
"""How often (s) each rank's heartbeat thread says it is alive."""
DEFAULT_SILENCE_S = 600.0
"""After this long (s) without a heartbeat from a rank, the ranks waiting for it give up."""
SILENCE_ENV = "SICLEER_RANK_SILENCE_S"
"""Environment variable overriding :data:`DEFAULT_SILENCE_S` (seconds)."""
PG_TIMEOUT = timedelta(minutes=30)
"""Timeout of the process group's collectives (none of the waits here is one)."""
OUT_TOKEN = ".torchrun-rank0"
"""File rank 0 writes into ``--out`` so that the others can tell they see the same folder."""

T = TypeVar("T")


@dataclass(frozen=True)
class World:
    """Who this process is among torchrun's ranks (one process: rank 0 of 1).

    Attributes:
        rank: global rank, 0 .. size - 1.
        size: number of ranks (``WORLD_SIZE``).
        local_rank: rank on this node (``LOCAL_RANK``): the GPU index it trains on.
    """

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> World:
        """Read torchrun's ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (absent: one process).

        Raises:
            RuntimeError: the variables are not integers or do not fit together.
        """
        env = os.environ if env is None else env
        try:
            size = int(env.get("WORLD_SIZE") or 1)
            rank = int(env.get("RANK") or 0)
            local = int(env.get("LOCAL_RANK") or rank)
        except ValueError as exc:
            raise RuntimeError(f"torchrun's RANK / WORLD_SIZE / LOCAL_RANK are not integers: "
                               f"{exc}") from None
        if size < 1 or not 0 <= rank < size or local < 0:
            raise RuntimeError(f"torchrun's environment does not fit together: RANK={rank}, "
                               f"WORLD_SIZE={size}, LOCAL_RANK={local}")
        return cls(rank, size, local)

    @property
    def distributed(self) -> bool:
        """Whether there is more than one rank."""
        return self.size > 1

    @property
    def label(self) -> str:
        """``"rank r/N"``."""
        return f"rank {self.rank}/{self.size}"


def share(n_items: int, rank: int, size: int) -> list[int]:
    """The items (folds, or groups of folds) rank ``rank`` of ``size`` handles: ``rank``,
    ``rank + size``, ... below ``n_items``. Over all ranks, every item exactly once."""
    if size < 1 or not 0 <= rank < size:
        raise ValueError(f"rank {rank} is not one of {size} ranks")
    return list(range(rank, n_items, size))


def rank_device(name: str, world: World | None = None) -> torch.device:
    """:func:`~models.device.resolve_device`, and on CUDA under torchrun ``cuda:LOCAL_RANK``
    (made the current device, so that everything without an explicit device lands there).

    Raises:
        RuntimeError: more ranks on this node than it has GPUs.
    """
    import torch

    device = resolve_device(name)
    world = World.from_env() if world is None else world
    if device.type != "cuda" or not world.distributed:
        return device
    n = torch.cuda.device_count()
    if world.local_rank >= n:
        raise RuntimeError(f"{world.label} is local rank {world.local_rank} but this node has "
                           f"{n} GPU{'s' if n != 1 else ''}: give torchrun --nproc-per-node {n} "
                           "or fewer")
    device = torch.device("cuda", world.local_rank)
    torch.cuda.set_device(device)
    return device


def backend_for(device: torch.device) -> str:
    """The process-group backend: gloo on CPU; on CUDA NCCL for GPU tensors (what
    DistributedDataParallel uses) and gloo for CPU ones."""
    return "cpu:gloo,cuda:nccl" if device.type == "cuda" else "gloo"


def label_log_lines(world: World | None = None) -> None:
    """Under torchrun, start this process's log lines with ``[rank r/N]`` (no-op alone)."""
    world = World.from_env() if world is None else world
    if not world.distributed:
        return
    fmt = logging.Formatter(f"[{world.label}] {LOG_FORMAT}")
    for handler in logging.getLogger().handlers:
        handler.setFormatter(fmt)


class RanksStopped(RuntimeError):
    """This rank stopped because another failed or went silent (the message says which)."""


def _silence_s() -> float:
    text = os.environ.get(SILENCE_ENV, "")
    try:
        return float(text) if text.strip() else DEFAULT_SILENCE_S
    except ValueError:
        raise RuntimeError(f"{SILENCE_ENV}={text!r} is not a number of seconds") from None


class Ranks:
    """This rank's view of the others, through a shared key-value store.

    Args:
        world: who this process is.
        store: a ``torch.distributed.Store`` every rank shares (None when alone); keys are
            written under this run's own prefix by the caller.
        beat_store: a second client of the same store for the heartbeat thread (None: the
            same object, for stores that are thread-safe, e.g. ``HashStore`` in tests).
        silence_s: seconds without a heartbeat after which a waited-for rank counts as gone.
        poll_s: seconds between two looks at the store while waiting.
        beat_s: seconds between two heartbeats.
    """

    def __init__(self, world: World, store: dist.Store | None = None,
                 beat_store: dist.Store | None = None, silence_s: float = DEFAULT_SILENCE_S,
                 poll_s: float = POLL_S, beat_s: float = BEAT_S) -> None:
        if world.distributed and store is None:
            raise ValueError("several ranks need a store")
        self.world = world
        self._store = store
        self._beat_store = beat_store if beat_store is not None else store
        self.silence_s, self.poll_s, self.beat_s = silence_s, poll_s, beat_s
        self._stop = threading.Event()
        self._beater: threading.Thread | None = None

    @classmethod
    def alone(cls) -> Ranks:
        """One process, no torchrun: every method below is a no-op."""
        return cls(World())

    @property
    def rank(self) -> int:
        """This rank."""
        return self.world.rank

    @property
    def size(self) -> int:
        """Number of ranks."""
        return self.world.size

    @property
    def distributed(self) -> bool:
        """Whether there is more than one rank."""
        return self.world.distributed

    def start_heartbeat(self) -> None:
        """Post a heartbeat every ``beat_s`` from a daemon thread until :meth:`close`."""
        if not self.distributed or self._beater is not None:
            return
        assert self._beat_store is not None
        store, key = self._beat_store, f"beat/{self.rank}"

        def beat() -> None:
            while True:
                try:
                    store.add(key, 1)
                except Exception:  # the store is gone: the main thread will find out
                    return
                if self._stop.wait(self.beat_s):
                    return

        self._beater = threading.Thread(target=beat, daemon=True, name="sicleer-heartbeat")
        self._beater.start()

    def close(self) -> None:
        """Stop the heartbeat thread."""
        self._stop.set()
        if self._beater is not None:
            self._beater.join(self.beat_s + 1)
            self._beater = None

    def fail(self, message: str) -> None:
        """Tell the other ranks that this one failed (the first rank to fail is the one
        reported); never raises (the store may be gone already)."""
        if not self.distributed:
            return
        assert self._store is not None
        try:
            self._store.compare_set("failed", "", f"{self.world.label}: {message}")
        except Exception as exc:  # already failing: say so and go on
            log.warning("could not tell the other ranks (%s)", exc)

    def failure(self) -> str | None:
        """The first failure any rank posted, or None."""
        if not self.distributed:
            return None
        assert self._store is not None
        if not self._store.check(["failed"]):
            return None
        return self._store.get("failed").decode(errors="replace")

    def check(self) -> None:
        """Raise :class:`RanksStopped` if another rank has failed (call it between steps).

        Raises:
            RanksStopped: with the failed rank's message.
        """
        text = self.failure()
        if text is not None:
            raise RanksStopped(f"stopping: {text}")

    def mark(self, phase: str) -> None:
        """Say that this rank has reached the end of ``phase``."""
        if self.distributed:
            assert self._store is not None
            self._store.set(f"{phase}/{self.rank}", "1")

    def wait(self, phase: str, ranks: list[int] | None = None, what: str = "") -> None:
        """Mark ``phase`` and wait until ``ranks`` (default: all) have marked it too.

        Polls every ``poll_s``; ends early, raising :class:`RanksStopped`, when a rank fails
        or one of those waited for sends no heartbeat for ``silence_s``. No timeout
        otherwise: the others may train for hours.
        """
        if not self.distributed:
            return
        assert self._store is not None
        store = self._store
        self.mark(phase)
        pending = [r for r in (range(self.size) if ranks is None else ranks) if r != self.rank]
        heard: dict[int, tuple[int, float]] = {}
        said = False
        while True:
            self.check()
            pending = [r for r in pending if not store.check([f"{phase}/{r}"])]
            if not pending:
                return
            if not said:
                log.info("waiting for %s (%s)", ", ".join(f"rank {r}" for r in pending),
                         what or phase)
                said = True
            now = time.monotonic()
            for r in pending:
                beat = store.add(f"beat/{r}", 0)
                last = heard.get(r)
                if last is None or beat != last[0]:
                    heard[r] = (beat, now)
                elif now - last[1] > self.silence_s:
                    raise RanksStopped(
                        f"stopping: rank {r} has not been heard from for "
                        f"{now - last[1]:.0f} s (its process or its node is gone?)")
            time.sleep(self.poll_s)

    def rank0_first(self, work: Callable[[], T], what: str = "rank 0 first") -> T:
        """Run ``work`` on rank 0, then (once it succeeded) on the other ranks: for work
        that writes a cache the others then read."""
        if not self.distributed:
            return work()
        if self.rank == 0:
            out = work()
            self.mark(what)
            return out
        self.wait(what, [0], what)
        return work()


def _store_client(timeout: timedelta) -> dist.Store:
    """A client of the store at ``MASTER_ADDR:MASTER_PORT`` (torchrun's agent, or rank 0's
    own when launched without torchrun's agent), under this run's key prefix."""
    import torch.distributed as dist

    addr, port = os.environ.get("MASTER_ADDR"), os.environ.get("MASTER_PORT")
    if not addr or not port:
        raise RuntimeError("WORLD_SIZE > 1 but MASTER_ADDR / MASTER_PORT are not set: start "
                           "the ranks with torchrun")
    base = dist.TCPStore(addr, int(port), is_master=False, timeout=timeout,
                         wait_for_workers=False)
    run_id = os.environ.get("TORCHELASTIC_RUN_ID", "run")
    attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    return dist.PrefixStore(f"sicleer/{run_id}/{attempt}/", base)


def _check_same_out(ranks: Ranks, store: dist.Store, out: Path) -> None:
    """Rank 0 writes a token into ``out``; every other rank must find it there."""
    if ranks.rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex
        (out / OUT_TOKEN).write_text(token)
        store.set("out-token", token)
        ranks.mark("out")
        return
    ranks.wait("out", [0], "rank 0 to create --out")
    token = store.get("out-token").decode()
    path = out / OUT_TOKEN
    try:
        seen = path.read_text()
    except OSError:
        seen = ""
    if seen != token:
        raise RuntimeError(f"--out {out} on {socket.gethostname()} is not the folder rank 0 "
                           "writes to: under torchrun every node must see the same --out "
                           "(a shared file system), where each rank writes its folds' result "
                           "files and rank 0 reads them all")


@contextmanager
def joined(device_name: str, out: Path) -> Iterator[Ranks]:
    """This process's :class:`Ranks` for the body of a run.

    Alone (no torchrun, or ``WORLD_SIZE=1``): :meth:`Ranks.alone`, nothing else. Under
    torchrun: joins the process group (:func:`backend_for` the rank's device), starts the
    heartbeat, labels the log lines, turns the progress bars off on ranks other than 0 (and
    in their fold processes), checks ``out`` is shared. An exception leaving the body is
    posted to the other ranks (:meth:`Ranks.fail`) before it goes on up; the process group
    is left at the end.

    Args:
        device_name: ``--device`` (``auto``, ``cpu``, ``cuda``).
        out: ``--out``, which every rank must see.
    """
    world = World.from_env()
    if not world.distributed:
        yield Ranks.alone()
        return
    import torch.distributed as dist

    label_log_lines(world)
    if world.rank != 0:
        os.environ[QUIET_ENV] = "1"  # one set of bars (rank 0's); fold processes inherit it
    device = rank_device(device_name, world)
    backend = backend_for(device)
    dist.init_process_group(backend, init_method="env://", rank=world.rank,
                            world_size=world.size, timeout=PG_TIMEOUT)
    ranks: Ranks | None = None
    try:
        store = _store_client(PG_TIMEOUT)
        ranks = Ranks(world, store, _store_client(PG_TIMEOUT), _silence_s())
        ranks.start_heartbeat()
        log.info("%s on %s, device %s, process group %s", world.label, socket.gethostname(),
                 device, backend)
        try:
            _check_same_out(ranks, store, out)
            yield ranks
        except RanksStopped:
            raise
        except KeyboardInterrupt:
            first = ranks.failure()
            if first is not None:
                log.error("interrupted after %s", first)
            ranks.fail("interrupted")
            raise
        except BaseException as exc:
            ranks.fail(f"{type(exc).__name__}: {exc}")
            raise
    finally:
        if ranks is not None:
            ranks.close()
        if world.rank == 0:
            (out / OUT_TOKEN).unlink(missing_ok=True)
        dist.destroy_process_group()
