"""Worker processes for one batch, so that both cores extract while one process writes.

``run_batch(..., workers=N)`` with N > 1 runs here. The parent plans the run as
the in-process runner does, then starts N worker processes, each with its own
event loop, backend and share of the concurrency. It hands each worker
documents by input offset over a pipe, never more at once than that worker's
share. The worker reads the text itself, extracts, and sends back the finished
output line, so the JSON encoding is done off the parent too.

The parent is the only writer. Each round of finished lines goes out in one
``write`` and one ``fsync``, so the output stays exactly once and resumable,
as with one process. Budgets are checked before each document is handed out.
A 429 in any worker pauses them all through one shared clock value, and the
response cache is the same SQLite file in every worker.

A worker that dies (killed, out of memory) costs only the documents it held.
Each gets an error record of type ``WorkerError``, which ``retry_failed`` runs
again, and a new worker takes its place. A worker that dies before finishing a
single document points at its set-up, not at a document: when no worker has
finished one yet, or when ``FAILED_STARTS`` new workers in a row die so, the
run stops instead (``summary.stopped``) and leaves the rest for a re-run, so a
set-up that broke mid-run cannot spawn processes without end.

Workers are started with ``spawn``, so a script that calls ``run_batch`` with
workers needs the ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import IO, Any

from ..backends.cache import ResponseCache
from ..backends.providers import InstructorBackend, make_backend
from ..backends.throttle import ThrottledBackend
from ..errors import ConfigurationError
from ..settings import Settings
from .documents import BatchSummary, document_record, in_front
from .files import Item, append, read_document

_SPAWN = multiprocessing.get_context("spawn")
_TICK = 0.25
"""Seconds between the parent's looks at its stop flag while it waits for workers."""
FAILED_STARTS = 3
"""New workers in a row that may die before their first document before the run stops."""


@dataclass(frozen=True)
class WorkerJob:
    """What every worker is given once, at its start (so it must pickle)."""

    source: str
    settings: Settings
    id_field: str
    text_field: str
    price: dict[str, float]
    cache_path: str | None


class ClockPause:
    """The run's 429 pause as one shared double: the monotonic time before which no
    call starts. ``CLOCK_MONOTONIC`` is one clock for every process on a machine,
    so the value means the same in each worker (a
    :class:`~llm_extract.backends.throttle.SharedPause`)."""

    def __init__(self, until: Any) -> None:
        self.until = until

    async def left(self) -> float:
        return max(0.0, float(self.until.value) - time.monotonic())

    def extend(self, seconds: float) -> None:
        with self.until.get_lock():
            self.until.value = max(self.until.value, time.monotonic() + seconds)


def shares(concurrency: int, workers: int) -> list[int]:
    """Each worker's share of the concurrency, as even as it goes and never 0."""
    n = min(workers, concurrency)
    return [concurrency // n + (i < concurrency % n) for i in range(n)]


def serve(job: WorkerJob, conn: Connection, until: Any) -> None:
    """A worker process: ``(offset, id)`` orders in, ``("done", ...)`` lines out, until
    a ``None`` order; then ``("bye", rate_limited, cache_hits)``.

    Each line carries the 429s and cache hits since the last one, and "bye" the
    rest, so a worker that dies loses none that came before its last document.

    Results leave through a sender thread, so the event loop never blocks on a
    full pipe and always takes in the parent's next orders.
    """
    outbox: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
    sender = threading.Thread(target=_send_all, args=(conn, outbox), daemon=True)
    sender.start()
    try:
        asyncio.run(_serve(job, conn, ClockPause(until), outbox))
    finally:
        outbox.put(None)
        sender.join()


def _send_all(conn: Connection, outbox: queue.SimpleQueue[tuple[Any, ...] | None]) -> None:
    while (message := outbox.get()) is not None:
        conn.send(message)


async def _serve(
    job: WorkerJob, conn: Connection, pause: ClockPause, outbox: queue.SimpleQueue[Any]
) -> None:
    inner = make_backend(job.settings.with_(transport_retries=0))
    throttled = ThrottledBackend(inner, job.settings, shared=pause)
    cache = ResponseCache(job.cache_path) if job.cache_path is not None else None
    backend = in_front(throttled, cache, job.settings)
    inbox: asyncio.Queue[tuple[int, Any] | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    loop.add_reader(conn.fileno(), _receive, conn, inbox)
    running: set[asyncio.Task[None]] = set()
    sent = [0, 0]

    def news() -> tuple[int, int]:
        now = throttled.rate_limited, cache.hits if cache is not None else 0
        new = now[0] - sent[0], now[1] - sent[1]
        sent[:] = now
        return new

    async def one(f: IO[bytes], item: Item) -> None:
        record = await document_record(
            {job.id_field: item.ident}, lambda: read_document(f, item, job.text_field),
            job.settings, backend, job.price,
        )  # fmt: skip
        line = json.dumps(record, ensure_ascii=False) + "\n"
        outbox.put(("done", item.offset, record["status"], record.get("usage"), line, *news()))

    try:
        with open(job.source, "rb") as f:
            while (order := await inbox.get()) is not None:
                task = asyncio.create_task(one(f, Item(order[0], order[1], "")))
                running.add(task)
                task.add_done_callback(running.discard)
            await asyncio.gather(*running)
    finally:
        loop.remove_reader(conn.fileno())
        if isinstance(inner, InstructorBackend):
            await inner.aclose()
        rest = news()
        if cache is not None:
            cache.close()
    outbox.put(("bye", *rest))


def _receive(conn: Connection, inbox: asyncio.Queue[tuple[int, Any] | None]) -> None:
    try:
        inbox.put_nowait(conn.recv())
    except (EOFError, OSError):  # the parent is gone: finish what is held, then stop
        inbox.put_nowait(None)


@dataclass
class _Worker:
    process: Any
    conn: Connection
    slots: int
    number: int
    held: dict[int, Item] = field(default_factory=dict)
    finished: int = 0


@dataclass
class PoolOptions:
    """The parent's part of a run: its budgets, progress callback and stop flag."""

    concurrency: int
    workers: int
    max_tokens_total: int | None
    max_cost: float | None
    on_progress: Callable[[BatchSummary], None] | None
    started: float
    stop: threading.Event = field(default_factory=threading.Event)


class Pool:
    """The parent's side: hands out documents, writes what comes back, replaces the dead."""

    def __init__(self, job: WorkerJob, summary: BatchSummary, options: PoolOptions) -> None:
        self.job, self.summary, self.options = job, summary, options
        self.until = _SPAWN.Value("d", 0.0)
        self.workers: list[_Worker] = []
        self.count = 0
        self.failed_starts = 0
        self.any_finished = False
        """Whether any worker of this run, alive or dead, has finished a document."""

    def run(self, todo: deque[Item], fd: int) -> None:
        """Every item of ``todo`` written once to ``fd``, unless a budget, a failed
        worker or the stop flag ends the run first; workers are gone on return."""
        try:
            self._progress()
            for slots in shares(self.options.concurrency, self.options.workers):
                self.workers.append(self._start(slots))
            while not self.options.stop.is_set():
                lines: list[str] = []
                for w in [w for w in self.workers if not w.process.is_alive()]:
                    self._drain(w, lines)
                self._hand_out(todo)
                busy = [w for w in self.workers if w.held]
                if busy:
                    self._collect(busy, lines)
                self._write(fd, lines)
                if not busy and (not todo or self.summary.stopped or not self.workers):
                    break
            else:
                self.summary.stopped = "interrupted"
            if not self.options.stop.is_set():
                self._close()
        finally:
            for w in self.workers:
                if w.process.is_alive():
                    w.process.terminate()
                w.process.join()

    def _start(self, slots: int) -> _Worker:
        mine, theirs = _SPAWN.Pipe()
        self.count += 1
        process = _SPAWN.Process(
            target=serve, args=(self.job, theirs, self.until), daemon=True,
            name=f"llm-extract-worker-{self.count}",
        )  # fmt: skip
        process.start()
        theirs.close()
        return _Worker(process, mine, slots, self.count)

    def _hand_out(self, todo: deque[Item]) -> None:
        s, o = self.summary, self.options
        for w in self.workers:
            while len(w.held) < w.slots and todo and not s.stopped:
                if s.spent(o.max_tokens_total, o.max_cost):
                    s.stopped = "budget"
                    break
                item = todo[0]
                try:
                    w.conn.send((item.offset, item.ident))
                except OSError:  # it died: the next round finds out and replaces it
                    break
                w.held[todo.popleft().offset] = item

    def _collect(self, busy: list[_Worker], lines: list[str]) -> None:
        """What the workers that are ready have finished (or, dead, held), into ``lines``."""
        ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy], _TICK))
        for w in busy:
            if w.conn in ready or w.process.sentinel in ready:
                self._drain(w, lines)

    def _write(self, fd: int, lines: list[str]) -> None:
        if lines:
            append(fd, "".join(lines).encode("utf-8"))
            for _ in lines:
                self._progress()

    def _drain(self, w: _Worker, lines: list[str]) -> None:
        try:
            while w.conn.poll():
                _, offset, status, usage, line, rate_limited, hits = w.conn.recv()
                self._counters(rate_limited, hits)
                del w.held[offset]
                if not w.finished:
                    self.failed_starts = 0
                w.finished += 1
                self.any_finished = True
                self.summary.ok += status == "ok"
                self.summary.errors += status != "ok"
                if usage is not None:
                    self.summary.count(usage)
                lines.append(line)
        except (EOFError, OSError):
            pass
        if not w.process.is_alive():
            self._lost(w, lines)

    def _lost(self, w: _Worker, lines: list[str]) -> None:
        """A dead worker: its documents become error records; a new worker takes its
        place, unless no worker has finished a document or the last ``FAILED_STARTS``
        new ones died before their first (the set-up itself fails)."""
        w.process.join()
        code = w.process.exitcode
        message = (
            f"worker process {w.number} exited with code {code} while this document ran; "
            "a run with retry_failed (--retry-failed) runs it again"
        )
        for item in w.held.values():
            error = {"type": "WorkerError", "message": message}
            record = {self.job.id_field: item.ident, "status": "error", "error": error}
            lines.append(json.dumps(record, ensure_ascii=False) + "\n")
            self.summary.errors += 1
        w.held.clear()
        self.workers.remove(w)
        self.failed_starts += not w.finished
        if self.summary.stopped:
            return
        if not self.any_finished:
            self.summary.stopped = f"worker process {w.number} exited with code {code}"
        elif self.failed_starts >= FAILED_STARTS:
            self.summary.stopped = (
                f"{self.failed_starts} new worker processes in a row exited before finishing "
                f"a document (the last, {w.number}, with code {code})"
            )
        else:
            self.workers.append(self._start(w.slots))

    def _close(self) -> None:
        """Tell each worker to stop, and add up its 429s and cache hits."""
        for w in self.workers:
            with contextlib.suppress(OSError):
                w.conn.send(None)
        for w in self.workers:
            with contextlib.suppress(EOFError, OSError):
                if not w.conn.poll(60):
                    continue
                self._counters(*w.conn.recv()[1:])

    def _counters(self, rate_limited: int, hits: int) -> None:
        self.summary.rate_limited += rate_limited
        self.summary.cache_hits += hits

    def _progress(self) -> None:
        self.summary.seconds = time.monotonic() - self.options.started
        if self.options.on_progress is not None:
            self.options.on_progress(self.summary)


async def arun_pool(todo: list[Item], fd: int, pool: Pool) -> None:
    """:meth:`Pool.run` in a thread. A cancelled caller (Ctrl-C) sets the stop flag and
    waits the tick it takes the pool to stop its workers, so ``fd`` is free on return."""
    running = asyncio.ensure_future(asyncio.to_thread(pool.run, deque(todo), fd))
    try:
        await asyncio.shield(running)
    except asyncio.CancelledError:
        pool.options.stop.set()
        await running
        raise


def check_workers(workers: int, settings: Settings, backend: object) -> None:
    """Raise :class:`ConfigurationError` for a worker set-up that cannot run."""
    if workers < 1:
        raise ConfigurationError("workers must be at least 1")
    if workers == 1:
        return
    if backend is not None:
        raise ConfigurationError(
            "workers > 1 build their own backends from the settings; a backend object "
            "cannot be passed to other processes (give settings with base_url instead)"
        )
    if settings.embedded:
        raise ConfigurationError(
            "workers > 1 need a model server (base_url): the embedded model already "
            "uses every core in one process"
        )
