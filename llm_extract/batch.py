"""Batch extraction: a JSONL file of articles in, one JSONL record per article out.

Output lines: ``{<id_field>: id, "status": "ok", "result": ArticleDeals, "usage": {...}}`` or
``{<id_field>: id, "status": "error", "error": {"type": ..., "message": ...}}``.

Exactly once and resumable: a partial last output line (a killed run) is truncated away
and ids already written are skipped; one writer task appends each record as one ``write``
of a complete line, then ``fsync``. ``retry_failed`` re-runs ids whose latest record is an
error, then rewrites the file atomically, one record per id. A 429 pauses every worker
(:class:`ThrottledBackend`). Budgets stop new documents once reached; the response cache
sits outside the throttle, so a hit never waits and costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import IO, Any

from .api import aextract_deals
from .backends import Backend, ChatRequest, Completion, OpenAIBackend, scrub
from .cache import CachingBackend, ResponseCache
from .errors import BackendError, ConfigurationError, InputError
from .pipeline import CallReport, Report
from .providers import make_backend
from .settings import EMBEDDED_MODEL, Settings

Prices = dict[str, dict[str, float]]
Say = Callable[[str], None]
_USAGE = ("prompt_tokens", "completion_tokens", "requests", "attempts")
_FREE = {"prompt_per_1k": 0.0, "completion_per_1k": 0.0}
DEFAULT_PRICES: Prices = {
    "gpt-4o-mini": {"prompt_per_1k": 0.00015, "completion_per_1k": 0.0006},
    "gpt-4o": {"prompt_per_1k": 0.0025, "completion_per_1k": 0.01},
    "gpt-4.1-mini": {"prompt_per_1k": 0.0004, "completion_per_1k": 0.0016},
    "gpt-4.1-nano": {"prompt_per_1k": 0.0001, "completion_per_1k": 0.0004},
    EMBEDDED_MODEL: _FREE,
}
"""USD per 1,000 tokens; extend or override with ``prices=`` (CLI: ``--prices file.json``)."""


class ThrottledBackend:
    """Retries transient failures (429, 5xx, timeouts, dropped connections) with the
    budget and backoff of ``settings``; build ``inner`` with ``transport_retries=0``.

    One instance is shared by all workers and is their gate: ``not_before`` is a
    monotonic time before which no call starts. A 429 moves it to now + ``Retry-After``
    (else jittered exponential backoff), pausing every caller, not only the one that
    got it; the call is then retried, at most ``settings.transport_retries`` times.
    """

    def __init__(self, inner: Backend, settings: Settings) -> None:
        self.inner = inner
        self.model = inner.model
        self.settings = settings
        self.not_before = 0.0
        self.rate_limited = 0

    def _failed(self, exc: BackendError, tally: list[int]) -> float:
        """Count a failure; the seconds to sleep before retrying, or raise to give up."""
        failures, sent = tally[0] + 1, tally[1] + max(1, exc.attempts)
        tally[:] = failures, sent
        if failures > self.settings.transport_retries or not exc.transient:
            if failures == 1:
                raise exc
            raise BackendError(f"{exc} ({failures} tries)", status=exc.status, attempts=sent)
        s, delay = self.settings, exc.retry_after
        ceiling = min(s.backoff_max, s.backoff_base * 2 ** (failures - 1))
        delay = min(s.backoff_max, random.uniform(ceiling / 2, ceiling) if delay is None else delay)
        if exc.status != 429:
            return delay
        self.rate_limited += 1
        self.not_before = max(self.not_before, time.monotonic() + delay)
        return 0.0  # the gate does the waiting, for every caller

    def complete(self, request: ChatRequest) -> Completion:
        tally = [0, 0]
        while True:
            while (left := self.not_before - time.monotonic()) > 0:
                time.sleep(left)
            try:
                done = self.inner.complete(request)
                return replace(done, requests=done.requests + tally[1])
            except BackendError as exc:
                time.sleep(self._failed(exc, tally))

    async def acomplete(self, request: ChatRequest) -> Completion:
        tally = [0, 0]
        while True:
            while (left := self.not_before - time.monotonic()) > 0:
                await asyncio.sleep(left)
            try:
                done = await self.inner.acomplete(request)
                return replace(done, requests=done.requests + tally[1])
            except BackendError as exc:
                await asyncio.sleep(self._failed(exc, tally))


@dataclass
class BatchSummary:
    """What a batch run did; ``total``: documents it set out to do, ``rejected``: bad lines."""

    total: int = 0
    ok: int = 0
    errors: int = 0
    skipped: int = 0
    rejected: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0
    cost: float = 0.0
    seconds: float = 0.0
    cache_hits: int = 0
    rate_limited: int = 0
    stopped: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, call: CallReport, price: dict[str, float]) -> dict[str, Any]:
        """Account one document's call; its ``usage`` record."""
        p, c = call.prompt_tokens, call.completion_tokens
        cost = (p * price["prompt_per_1k"] + c * price["completion_per_1k"]) / 1000
        self.prompt_tokens += p
        self.completion_tokens += c
        self.requests += call.requests
        self.cost += cost
        usage: dict[str, Any] = {k: getattr(call, k) for k in _USAGE}
        return usage | {"latency_s": round(call.latency_s, 3), "cost_usd": round(cost, 8)}

    def line(self) -> str:
        text = (
            f"done: {self.ok} ok, {self.errors} errors, {self.skipped} skipped, "
            f"{self.tokens} tokens, ${self.cost:.4f}, {self.seconds:.1f} s"
        )
        return text + (f", stopped: {self.stopped}" if self.stopped else "")


def _key(ident: object) -> str | None:
    """A canonical key for an id that is a string or an integer, else None."""
    if isinstance(ident, bool) or not isinstance(ident, str | int):
        return None
    return json.dumps(ident)


@dataclass
class _Item:
    offset: int
    ident: Any
    key: str
    error: str | None = None


def _scan_input(path: Path, id_field: str, text_field: str, say: Say) -> tuple[list[_Item], int]:
    """The documents, by line and byte offset (texts are read when they run)."""
    items: list[_Item] = []
    first: set[str] = set()
    rejected = offset = 0
    with path.open("rb") as f:
        for n, raw in enumerate(f, 1):
            here, offset = offset, offset + len(raw)
            if not raw.strip():
                continue
            try:
                doc = json.loads(raw)
            except ValueError as exc:
                say(f"{path}:{n}: broken JSON line ({getattr(exc, 'msg', exc)}); skipped")
                rejected += 1
                continue
            ident = doc.get(id_field) if isinstance(doc, dict) else None
            key = _key(ident)
            if key is None or key in first:
                why = f"no {id_field!r} string or integer" if key is None else "duplicate id"
                say(f"{path}:{n}: {why}; skipped")
                rejected += 1
                continue
            first.add(key)
            items.append(_Item(here, ident, key))
            if not isinstance(doc.get(text_field), str):
                items[-1].error = f"line {n}: no {text_field!r} string field"
                say(f"{path}:{n}: no {text_field!r} string field; error record for id {ident!r}")
    return items, rejected


def _scan_output(path: Path, id_field: str, say: Say) -> tuple[dict[str, str], bool]:
    """Latest status per id, whether an id has several records; drops a partial last line."""
    if not path.exists():
        return {}, False
    latest: dict[str, str] = {}
    repeated = False
    with path.open("r+b") as f:
        pos = 0
        for n, line in enumerate(f, 1):
            if not line.endswith(b"\n"):
                say(f"{path}: dropping a partial last line ({len(line)} bytes) of a killed run")
                f.truncate(pos)
                os.fsync(f.fileno())
                break
            pos += len(line)
            try:
                record = json.loads(line)
                key, status = _key(record[id_field]), str(record["status"])
            except (ValueError, KeyError, TypeError):
                key = None
            if key is None:
                say(f"{path}:{n}: unreadable record ignored")
                continue
            repeated = repeated or key in latest
            latest[key] = status
    return latest, repeated


def _compact(path: Path, id_field: str) -> None:
    """Rewrite ``path`` atomically with one record per id, the newest."""
    last: dict[str | None, int] = {}
    with path.open("rb") as f:
        for i, line in enumerate(f):
            with contextlib.suppress(ValueError, KeyError, TypeError):
                last[_key(json.loads(line)[id_field])] = i
    keep = {i for key, i in last.items() if key is not None}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with path.open("rb") as src, tmp.open("wb") as dst:
        dst.writelines(line for i, line in enumerate(src) if i in keep)
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(tmp, path)


def _append(fd: int, data: bytes) -> None:
    if os.write(fd, data) != len(data):  # disk full: stop; the next run drops the partial line
        raise OSError(f"short write: the disk is full? ({len(data)} bytes)")
    os.fsync(fd)


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
) -> BatchSummary:
    """Extract the deals of every article in a JSONL file into an output JSONL file.

    ``prices`` extend :data:`DEFAULT_PRICES`; ``cache_path`` None: no cache;
    ``on_progress`` gets the live :class:`BatchSummary` at the start and after each
    document; ``log`` gets input problems (default: stderr). A given ``backend``
    should have ``transport_retries=0``, so that the rate gate handles 429s.
    """
    started, summary = time.monotonic(), BatchSummary()

    def say(message: str) -> None:
        summary.problems.append(message)
        (log or functools.partial(print, file=sys.stderr, flush=True))(message)

    source, out = Path(input_path), Path(output_path)
    if concurrency < 1:
        raise ConfigurationError("concurrency must be at least 1")
    if not source.is_file():
        raise InputError(f"{source}: no such file")
    if out.exists() and out.resolve() == source.resolve():
        raise InputError("the output file must not be the input file")
    resolved = settings or Settings.resolve()
    items, summary.rejected = _scan_input(source, id_field, text_field, say)
    out.parent.mkdir(parents=True, exist_ok=True)
    latest, repeated = _scan_output(out, id_field, say)
    todo = [i for i in items if i.key not in latest or (retry_failed and latest[i.key] == "error")]
    summary.total, summary.skipped = len(todo), len(items) - len(todo)
    inner = backend or make_backend(resolved.with_(transport_retries=0))
    throttled = ThrottledBackend(inner, resolved)
    table = DEFAULT_PRICES | (prices or {})
    names = [name for name in table if inner.model.startswith(name)]  # longest prefix wins
    price = table[max(names, key=len)] if names else None
    if resolved.embedded or inner.model.endswith(".gguf"):
        price = _FREE
    elif price is None:
        say(f"no price for model {inner.model!r}: its cost counts as $0 (see --prices)")
    cache = ResponseCache(cache_path) if cache_path is not None else None
    be: Backend = throttled if cache is None else CachingBackend(throttled, cache)
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    slots = asyncio.Semaphore(concurrency)
    token_cap = math.inf if max_tokens_total is None else max_tokens_total
    cost_cap = math.inf if max_cost is None else max_cost

    def progress() -> None:
        summary.seconds = time.monotonic() - started
        if on_progress is not None:
            on_progress(summary)

    async def work(f: IO[bytes], item: _Item) -> None:
        report = Report()
        record: dict[str, Any] = {id_field: item.ident}
        try:  # every failure becomes an error record; the slot is released at the end
            if item.error:
                raise InputError(item.error)
            f.seek(item.offset)
            doc = json.loads(f.readline())
            day = doc.get("published")
            day = date.fromisoformat(day) if isinstance(day, str) else None
            result = await aextract_deals(
                doc[text_field], settings=resolved, backend=be, report=report, published=day
            )
            record.update(status="ok", result=result.model_dump(mode="json"))
        except Exception as exc:
            message = scrub(str(exc), resolved.api_key)
            record.update(status="error", error={"type": type(exc).__name__, "message": message})
        finally:
            slots.release()
        summary.ok += record["status"] == "ok"
        summary.errors += record["status"] != "ok"
        if report.calls:
            record["usage"] = summary.add(report.calls[-1], price or _FREE)
        queue.put_nowait(record)
        progress()

    async def writer(fd: int) -> None:
        while (record := await queue.get()) is not None:
            line = json.dumps(record, ensure_ascii=False) + "\n"
            await asyncio.to_thread(_append, fd, line.encode("utf-8"))

    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    writing = asyncio.create_task(writer(fd))
    tasks: list[asyncio.Task[None]] = []
    try:
        progress()
        with source.open("rb") as f:
            for item in todo:
                await slots.acquire()
                if writing.done():
                    break
                if summary.tokens >= token_cap or summary.cost >= cost_cap:
                    summary.stopped = "budget"
                    break
                tasks.append(asyncio.create_task(work(f, item)))
            await asyncio.gather(*tasks)
    finally:
        queue.put_nowait(None)
        try:
            await writing
        finally:
            os.close(fd)
            if backend is None and isinstance(inner, OpenAIBackend):
                await inner.aclose()  # the HTTP client this run made, while its loop runs
            summary.rate_limited = throttled.rate_limited
            if cache is not None:
                summary.cache_hits = cache.hits
                cache.close()
    if retry_failed or repeated:
        _compact(out, id_field)
    summary.seconds = time.monotonic() - started
    return summary


def run_batch(
    input_path: str | os.PathLike[str], output_path: str | os.PathLike[str], **options: Any
) -> BatchSummary:
    """Blocking :func:`arun_batch`, same arguments; call it outside a running event loop."""
    return asyncio.run(arun_batch(input_path, output_path, **options))
