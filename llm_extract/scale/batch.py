"""Batch extraction: a JSONL file of articles in, one JSONL record per article out.

Output lines: ``{<id_field>: id, "status": "ok", "result": ArticleDeals, "usage": {...}}`` or
``{<id_field>: id, "status": "error", "error": {"type": ..., "message": ...}}``.

Exactly once and resumable: a partial last output line (a killed run) is truncated away
and ids already written are skipped; one writer task appends complete lines (the records
waiting at that moment, in one ``write``), then ``fsync``. Memory holds a small entry per
id (offset, status); the rest is bounded by the concurrency: finished tasks are let go,
and each text is read by offset when its document runs. ``retry_failed`` re-runs ids
whose latest record is an error, then rewrites the file atomically, one record per id.
A 429 pauses every worker (:class:`ThrottledBackend`). Budgets stop new documents once
reached; the response cache sits outside the throttle, so a hit never waits and costs
nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..backends.base import Backend
from ..backends.cache import ResponseCache
from ..backends.providers import InstructorBackend, make_backend
from ..backends.throttle import ThrottledBackend
from ..errors import ConfigurationError, InputError
from ..settings import Settings
from .documents import BatchSummary, Prices, Say, document_record, in_front, run_price, sayer
from .files import Item, append, compact, exclusive, read_document, scan_input, scan_output
from .workers import Pool, PoolOptions, WorkerJob, arun_pool, check_workers


@dataclass
class Plan:
    """A run's start: what is left to do, its summary so far, and its sayer."""

    todo: list[Item]
    repeated: bool
    summary: BatchSummary
    say: Say


class _Batch:
    """One run's state: the workers, the single writer and the budgets."""

    def __init__(self, backend: Backend, settings: Settings, options: dict[str, Any]) -> None:
        self.backend, self.settings = backend, settings
        self.summary = BatchSummary()
        self.started = options["started"]
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.slots = asyncio.Semaphore(options["concurrency"])
        self.price = options["price"]
        self.id_field, self.text_field = options["id_field"], options["text_field"]
        self.token_cap = options["max_tokens_total"]
        self.cost_cap = options["max_cost"]
        self.on_progress = options["on_progress"]

    def progress(self) -> None:
        self.summary.seconds = time.monotonic() - self.started
        if self.on_progress is not None:
            self.on_progress(self.summary)

    def spent(self) -> bool:
        return self.summary.spent(self.token_cap, self.cost_cap)

    async def work(self, f: IO[bytes], item: Item) -> None:
        """One document; every failure becomes an error record."""
        try:
            record = await document_record(
                {self.id_field: item.ident}, lambda: read_document(f, item, self.text_field),
                self.settings, self.backend, self.price,
            )  # fmt: skip
        finally:
            self.slots.release()
        self.summary.ok += record["status"] == "ok"
        self.summary.errors += record["status"] != "ok"
        if "usage" in record:
            self.summary.count(record["usage"])
        self.queue.put_nowait(record)
        self.progress()

    async def writer(self, fd: int) -> None:
        """Appends the records in the queue: all of those waiting in one ``write``
        and one ``fsync`` (each a whole line), so a slow disk makes bigger
        writes, not a longer queue."""
        done = False
        while not done:
            records = [await self.queue.get()]
            while not self.queue.empty():
                records.append(self.queue.get_nowait())
            done = records[-1] is None
            lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in records if r is not None]
            if lines:
                await asyncio.to_thread(append, fd, "".join(lines).encode("utf-8"))

    async def run(self, source: Path, out: Path, todo: list[Item]) -> None:
        fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        writing = asyncio.create_task(self.writer(fd))
        running: set[asyncio.Task[None]] = set()
        try:
            self.progress()
            with source.open("rb") as f:
                for item in todo:
                    await self.slots.acquire()
                    if writing.done():
                        break
                    if self.spent():
                        self.summary.stopped = "budget"
                        break
                    task = asyncio.create_task(self.work(f, item))
                    running.add(task)
                    task.add_done_callback(running.discard)
                await asyncio.gather(*running)
        finally:
            self.queue.put_nowait(None)
            try:
                await writing
            finally:
                os.close(fd)


def plan(source: Path, out: Path, args: dict[str, Any], log: Callable[[str], None] | None) -> Plan:
    """What is left to do: the input's documents minus the ids already written.

    The summary's ``problems`` list is filled by the plan's ``say`` (see
    :func:`sayer`) from here on, for the input problems and the run's own.
    """
    summary = BatchSummary()
    say = sayer(summary.problems, log)
    items, summary.rejected = scan_input(source, args["id_field"], args["text_field"], say)
    if not items:
        raise InputError(
            f"{source}: no usable input lines ({summary.rejected} rejected); expected one JSON "
            f"object per line with {args['id_field']!r} and {args['text_field']!r} (UTF-8)"
        )
    latest, repeated = scan_output(out, args["id_field"], say)
    retry = args["retry_failed"]
    todo = [i for i in items if i.key not in latest or (retry and latest[i.key] == "error")]
    summary.total, summary.skipped = len(todo), len(items) - len(todo)
    return Plan(todo, repeated, summary, say)


async def arun_batch(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    id_field: str = "id",
    text_field: str = "text",
    concurrency: int = 8,
    settings: Settings | None = None,
    backend: Backend | None = None,
    retry_failed: bool = False,
    max_tokens_total: int | None = None,
    max_cost: float | None = None,
    prices: Prices | None = None,
    cache_path: str | os.PathLike[str] | None = None,
    on_progress: Callable[[BatchSummary], None] | None = None,
    log: Callable[[str], None] | None = None,
    workers: int = 1,
) -> BatchSummary:
    """Extract the deals of every article in a JSONL file into an output JSONL file.

    ``prices`` extend :data:`DEFAULT_PRICES`; ``cache_path`` None: no cache;
    ``on_progress`` gets the live :class:`BatchSummary` at the start and after each
    document; ``log`` gets input problems (default: stderr). A given ``backend``
    should have ``transport_retries=0``, so that the rate gate handles 429s.
    Raises :class:`InputError` when the input has no usable line and
    :class:`~llm_extract.errors.OutputInUseError` when another run holds the output.

    ``workers`` > 1 runs the documents in that many processes (:mod:`.workers`),
    ``concurrency`` split between them; they need a model server (``base_url``),
    build their own backends (so no ``backend``), and call ``on_progress`` from
    a thread of this process.
    """
    source, out = Path(input_path), Path(output_path)
    _check_paths(source, out, concurrency)
    resolved = settings or Settings.resolve()
    check_workers(workers, resolved, backend)
    args = {"id_field": id_field, "text_field": text_field, "retry_failed": retry_failed}
    started = time.monotonic()
    options: dict[str, Any] = {
        **args, "concurrency": concurrency, "on_progress": on_progress, "prices": prices,
        "max_tokens_total": max_tokens_total, "max_cost": max_cost,
        "cache_path": cache_path, "started": started,
    }  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(out):
        planned = plan(source, out, args, log)
        if workers > 1:
            await _in_workers(source, out, planned, resolved, options | {"workers": workers})
        else:
            await _in_process(source, out, planned, resolved, backend, options)
        if retry_failed or planned.repeated:
            compact(out, id_field)
    planned.summary.seconds = time.monotonic() - started
    return planned.summary


async def _in_process(
    source: Path, out: Path, planned: Plan, settings: Settings, backend: Backend | None,
    options: dict[str, Any],
) -> None:  # fmt: skip
    """The run on this process's event loop; a ``backend`` given is the caller's to close."""
    summary = planned.summary
    inner = backend or make_backend(settings.with_(transport_retries=0))
    price = run_price(inner.model, settings, options["prices"], planned.say)
    throttled = ThrottledBackend(inner, settings)
    cache_path = options["cache_path"]
    cache = ResponseCache(cache_path) if cache_path is not None else None
    batch = _Batch(in_front(throttled, cache, settings), settings, options | {"price": price})
    batch.summary = summary
    try:
        await batch.run(source, out, planned.todo)
    finally:
        if backend is None and isinstance(inner, InstructorBackend):
            await inner.aclose()  # the HTTP client this run made, while its loop runs
        summary.rate_limited = throttled.rate_limited
        if cache is not None:
            summary.cache_hits = cache.hits
            cache.close()


async def _in_workers(
    source: Path, out: Path, planned: Plan, settings: Settings, options: dict[str, Any]
) -> None:
    """The run in worker processes (:mod:`.workers`), this process the only writer."""
    inner = make_backend(settings.with_(transport_retries=0))
    try:
        price = run_price(inner.model, settings, options["prices"], planned.say)
    finally:
        if isinstance(inner, InstructorBackend):
            await inner.aclose()
    cache_path = options["cache_path"]
    if cache_path is not None:
        ResponseCache(cache_path).close()  # made once here, before workers race to make it
    job = WorkerJob(
        str(source), settings, options["id_field"], options["text_field"], price,
        None if cache_path is None else str(cache_path),
    )  # fmt: skip
    pool_options = PoolOptions(
        options["concurrency"], options["workers"], options["max_tokens_total"],
        options["max_cost"], options["on_progress"], options["started"],
    )  # fmt: skip
    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        await arun_pool(planned.todo, fd, Pool(job, planned.summary, pool_options))
    finally:
        os.close(fd)


def _check_paths(source: Path, out: Path, concurrency: int) -> None:
    if concurrency < 1:
        raise ConfigurationError("concurrency must be at least 1")
    if str(source) == "-":
        raise InputError("batch reads a JSONL file, not standard input: save it to a file first")
    if not source.exists():
        raise InputError(f"{source}: no such file")
    if source.is_dir():
        raise InputError(f"{source}: is a directory, not a JSONL file")
    if not source.is_file():
        raise InputError(f"{source}: not a regular file (a pipe or device); write it to a file")
    if out.exists() and out.resolve() == source.resolve():
        raise InputError("the output file must not be the input file")
    if out.exists() and not out.is_file():
        raise InputError(f"{out}: not a regular file; give a file path for the output")


def run_batch(
    input_path: str | os.PathLike[str], output_path: str | os.PathLike[str], **options: Any
) -> BatchSummary:
    """Blocking :func:`arun_batch`, same arguments; call it outside a running event loop."""
    return asyncio.run(arun_batch(input_path, output_path, **options))
