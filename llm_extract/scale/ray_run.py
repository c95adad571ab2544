"""Ray Data runs with ``llm-extract batch``'s guarantees: resume, exactly once, budgets.

:func:`run_dataset` reads a ``ray.data.Dataset`` in batches, hands them to a
fixed pool of extraction actors, and writes one JSONL record per id to one output file: the records
:func:`~llm_extract.scale.batch.run_batch` writes, so the same tools read them.
It also shares a response cache and one 429 pause between the actors.

* **Exactly once.** The driver is the only writer. It appends each block of
  records the actors return in one write and one ``fsync``, drops a record
  for an id it has already written (a retried task, an id twice in the
  input), and holds ``OUT.lock`` for the whole run. A batch's records reach
  the driver only when the whole batch is done, so a batch cut short by a
  dead actor writes nothing; Ray restarts the actor and runs the batch again.
* **Resume.** Before the run the driver reads the ids already in the output
  (cutting the torn last line of a killed run), and the actors skip those ids
  without a model call. A driver killed at 90% restarts at 90%.
* **Cache.** Each actor puts the SQLite response cache at ``cache_path`` in
  front of its backend. Actors on one node share the file, so a run into a
  fresh output, over documents done before, makes no model call. On a
  cluster, give a node-local path: each node then keeps its own cache.
* **Budgets.** One :class:`~llm_extract.scale.ray_state.Budget` actor counts
  the tokens and USD of every actor. Once a cap is reached no document
  starts. Those in flight finish and are written. The rest are not written,
  and the next run does them.
* **429s.** One :class:`~llm_extract.scale.ray_state.Pause` actor holds the
  run's rate-limit pause: a 429 seen by any actor pauses them all.

The done ids travel once to each actor through Ray's object store, as a set
of strings: plan for about 100 bytes per id per actor on a large resume.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from ..backends.cache import ResponseCache
from ..backends.providers import make_backend
from ..backends.throttle import ThrottledBackend
from ..errors import ConfigurationError, InputError
from ..settings import Settings
from .documents import BatchSummary, Prices, document_record, in_front, run_price, sayer
from .files import append, compact, exclusive, key_of, scan_output
from .ray_state import Budget, Pause, PauseClient, actor, load_ray

_USAGE = ("prompt_tokens", "completion_tokens", "requests", "cost_usd")
_COLUMNS = ("key", "status", "line", *_USAGE)
Row = tuple[str, str, str, int, int, int, float]


class RunWorker:
    """One extraction actor of :func:`run_dataset`'s pool; ``extract`` takes one batch.

    An async actor: its batches share one event loop (and so one HTTP pool)
    and at most ``per_actor_concurrency`` documents of them run at once.
    Contract: one output row per input row, with the id's key, a status and,
    for ``ok`` and ``error``, the record's JSON line. The other statuses are
    never written: ``done`` (in the output already), ``unstarted`` (the budget
    had closed) and ``rejected`` (no string or integer id).
    """

    def __init__(self, settings: Settings, *, options: dict[str, Any], shared: list[Any]) -> None:
        done, self.budget, pause = shared
        self.done: frozenset[str] = load_ray().get(done)
        self.settings, self.options = settings, options
        self.throttled = ThrottledBackend(
            make_backend(settings.with_(transport_retries=0)), settings, PauseClient(pause)
        )
        path = options["cache_path"]
        self.cache = ResponseCache(path) if path is not None else None
        self.backend = in_front(self.throttled, self.cache, settings)
        self.slots = asyncio.Semaphore(options["per_actor_concurrency"])

    async def extract(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        """The rows for one batch: a dict of columns, as ``iter_batches`` gives them."""
        ids = list(batch[self.options["id_column"]].tolist())
        texts = list(batch[self.options["text_column"]].tolist())
        days = list(batch["published"].tolist()) if "published" in batch else [None] * len(ids)
        rows = await asyncio.gather(*map(self._slot, ids, texts, days))
        return {name: [row[i] for row in rows] for i, name in enumerate(_COLUMNS)}

    async def counts(self) -> tuple[int, int]:
        """Cache hits and 429s this actor has seen (since its last restart)."""
        return (self.cache.hits if self.cache else 0), self.throttled.rate_limited

    async def _slot(self, ident: Any, text: Any, day: Any) -> Row:
        async with self.slots:
            return await self._one(ident, text, day)

    async def _one(self, ident: Any, text: Any, day: Any) -> Row:
        key = key_of(ident)
        if key is None or key in self.done:
            return (key or "", "done" if key else "rejected", "", 0, 0, 0, 0.0)
        if self.budget is not None and not await self.budget.is_open.remote():
            return (key, "unstarted", "", 0, 0, 0, 0.0)
        column = self.options["text_column"]

        def read() -> tuple[str, date | None]:
            if not isinstance(text, str):
                raise InputError(f"no {column!r} string field (got {type(text).__name__})")
            return text, date.fromisoformat(day) if isinstance(day, str) else None

        record = await document_record(
            {self.options["id_column"]: ident}, read, self.settings, self.backend,
            self.options["price"],
        )  # fmt: skip
        usage = record.get("usage", {})
        if usage and self.budget is not None:
            tokens = usage["prompt_tokens"] + usage["completion_tokens"]
            await self.budget.spend.remote(tokens, usage["cost_usd"])
        line = json.dumps(record, ensure_ascii=False)
        p, c, requests, cost = (usage.get(k, 0) for k in _USAGE)
        return (key, record["status"], line, p, c, requests, cost)


class _Pool:
    """A fixed pool of :class:`RunWorker` actors fed by the driver, ``depth`` batches each.

    Ray restarts a dead actor (``max_restarts=-1``) and re-runs the batches it
    held (``max_task_retries=-1``), so :meth:`results` yields each batch's rows
    exactly once, in the order the batches finish. The pool is fed from
    ``Dataset.iter_batches``, which cuts the input into batches of exactly
    ``batch_size`` rows whatever its blocks are (one JSON file is one block).
    """

    def __init__(self, ray: Any, size: int, num_cpus: float, kwargs: dict[str, Any]) -> None:
        remote = ray.remote(num_cpus=num_cpus, max_restarts=-1, max_task_retries=-1)
        self.ray, self.workers = ray, [remote(RunWorker).remote(**kwargs) for _ in range(size)]

    def results(
        self, batches: Iterator[dict[str, Any]], stop: Callable[[], bool], depth: int = 2
    ) -> Iterator[Any]:
        """Each batch's rows as it finishes; no new batch is sent once ``stop()``."""
        pending: dict[Any, int] = {}
        load = [0] * len(self.workers)
        for batch in batches:
            if stop():
                break
            if len(pending) >= depth * len(self.workers):
                yield self._next(pending, load)
            i = load.index(min(load))
            pending[self.workers[i].extract.remote(batch)] = i
            load[i] += 1
        while pending:
            yield self._next(pending, load)

    def counts(self) -> tuple[int, int]:
        """Cache hits and 429s summed over the actors."""
        pairs = self.ray.get([w.counts.remote() for w in self.workers])
        return sum(p[0] for p in pairs), sum(p[1] for p in pairs)

    def _next(self, pending: dict[Any, int], load: list[int]) -> Any:
        (ref,), _ = self.ray.wait(list(pending), num_returns=1)
        load[pending.pop(ref)] -= 1
        return self.ray.get(ref)


class _Writer:
    """The driver's side: appends the finished records, each id once, and counts them."""

    def __init__(self, fd: int, summary: BatchSummary, say: Callable[[str], None]) -> None:
        self.fd, self.summary, self.say = fd, summary, say
        self.written: set[str] = set()
        self.unstarted = 0

    def take(self, block: dict[str, Any]) -> None:
        lines, s = [], self.summary
        columns = [block[name] for name in _COLUMNS]
        for key, status, line, p, c, requests, cost in zip(*columns, strict=True):
            if status == "done":
                s.skipped += 1
            elif status == "unstarted":
                self.unstarted += 1
            elif status == "rejected":
                s.rejected += 1
            elif key in self.written:
                self.say(f"id {key} came back twice (a duplicate id in the input?): kept the first")
            else:
                self.written.add(key)
                lines.append(line + "\n")
                s.ok += status == "ok"
                s.errors += status != "ok"
                s.count(dict(zip(_USAGE, (p, c, requests, cost), strict=True)))
        if lines:
            append(self.fd, "".join(lines).encode("utf-8"))


def run_dataset(
    ds: Any,
    output_path: str | os.PathLike[str],
    *,
    id_column: str = "id",
    text_column: str = "text",
    actors: int = 2,
    per_actor_concurrency: int = 8,
    batch_size: int = 16,
    cache_path: str | os.PathLike[str] | None = None,
    max_tokens_total: int | None = None,
    max_cost: float | None = None,
    prices: Prices | None = None,
    retry_failed: bool = False,
    num_cpus: float = 0.5,
    on_progress: Callable[[BatchSummary], None] | None = None,
    log: Callable[[str], None] | None = None,
    **settings_kwargs: Any,
) -> BatchSummary:
    """Extract every document of ``ds`` into ``output_path`` (JSONL), resumably (module doc).

    The driver cuts the input into batches of ``batch_size`` rows and keeps
    two in flight per actor; it writes each batch as it finishes. Each actor
    reserves ``num_cpus`` (half a CPU: the work mostly waits on the server,
    and a pool that reserved every CPU would leave none for Ray Data's tasks
    that read the input).
    ``settings_kwargs`` are :class:`Settings` fields, resolved once here (then
    the driver's environment) and shipped to the actors. ``retry_failed`` runs
    the ids whose record is an error again, leaving one record per id. Once a
    cap closes the budget, no new batch is sent: ``stopped`` is ``"budget"``
    and ``total`` counts the documents written plus those that came back
    unstarted (the batches never sent are not counted).
    Raises :class:`InputError` for a dataset without the id or text column and
    :class:`~llm_extract.errors.OutputInUseError` when another run holds the output.
    """
    ray = load_ray()
    if actors < 1 or per_actor_concurrency < 1 or batch_size < 1:
        raise ConfigurationError("actors, per_actor_concurrency and batch_size must be >= 1")
    resolved = Settings.resolve(**settings_kwargs)
    missing = {id_column, text_column} - set(ds.schema().names)
    if missing:
        raise InputError(f"the dataset has no {', '.join(sorted(map(repr, missing)))} column")
    out = Path(output_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with exclusive(out):
        summary = BatchSummary()
        say = sayer(summary.problems, log)
        latest, repeated = scan_output(out, id_column, say)
        done = frozenset(k for k, s in latest.items() if not (retry_failed and s == "error"))
        options = {"id_column": id_column, "text_column": text_column,
                   "per_actor_concurrency": per_actor_concurrency,
                   "cache_path": None if cache_path is None else str(cache_path),
                   "price": run_price(resolved.model_name, resolved, prices, say)}  # fmt: skip
        capped = max_tokens_total is not None or max_cost is not None
        budget = actor(Budget, max_tokens_total, max_cost) if capped else None
        shared = [ray.put(done), budget, actor(Pause)]
        kwargs = {"settings": resolved, "options": options, "shared": shared}
        pool = _Pool(ray, actors, num_cpus, kwargs)
        batches = ds.iter_batches(batch_size=batch_size, batch_format="numpy")
        fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        writer = _Writer(fd, summary, say)
        try:
            for block in pool.results(batches, stop=lambda: writer.unstarted > 0):
                writer.take(block)
                summary.seconds = time.monotonic() - started
                if on_progress is not None:
                    on_progress(summary)
        finally:
            os.close(fd)
        summary.cache_hits, summary.rate_limited = pool.counts()
        summary.total = summary.ok + summary.errors + writer.unstarted
        if writer.unstarted:
            summary.stopped = "budget"
            say("budget spent: the documents not written were not started; run again to go on")
        if retry_failed or repeated:
            compact(out, id_column)
    summary.seconds = time.monotonic() - started
    return summary
