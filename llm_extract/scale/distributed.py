"""Deal extraction over a Ray Data ``Dataset``: many documents, a fleet of model servers.

Each actor of a fixed pool holds ONE :class:`~llm_extract.settings.Settings` and ONE
backend (one HTTP connection pool), and runs up to ``per_actor_concurrency`` documents of
its batch at once with asyncio: the work is waiting on the model server, so a few actors
with many requests in flight each beat many actors with one. Total requests in flight
is at most ``actors * per_actor_concurrency``; size that to what the servers can take.

Pointing it at vLLM or any OpenAI-compatible fleet:

* one address: ``base_url="http://lb:8000/v1"``, a load balancer in front of the
  servers (the simplest and most even spread, and servers can come and go);
* several addresses, no balancer: ``base_urls=["http://gpu0:8000/v1", ...]``. Actor
  *i* (numbered in start order by a small counter actor) sends all its requests to
  ``base_urls[i % len(base_urls)]``, so use ``actors`` a multiple of the URL count.
  A dead server fails only the documents of the actors pinned to it (error rows).

Set ``model`` to the served model name and ``api_key`` if the servers check one
(``"x"`` otherwise). Settings are resolved ONCE on the driver (explicit arguments, then
the driver's environment) and shipped to the actors, so workers on other machines need
no environment variables, and a worker never falls back to the embedded model by itself.
The key travels pickled in the actors' constructor arguments; it is never logged.

Each output row: the id, ``status`` ("ok"/"error"), ``result`` (ArticleDeals JSON, ""
on error), ``error`` ("" when ok; type and message, key scrubbed), ``prompt_tokens``,
``completion_tokens``. One document's failure is a row, never a failed job. Rows come
back in no particular order; other input columns are not carried over (join on id).

Ray is imported lazily: ``import llm_extract.scale.distributed`` works without it.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from ..backends.providers import make_backend
from ..core.api import aextract_deals
from ..core.pipeline import Report
from ..errors import ConfigurationError, InputError
from ..redaction import scrub
from ..settings import Settings
from .ray_state import Counter, actor, load_ray

COLUMNS = ("status", "result", "error", "prompt_tokens", "completion_tokens")
"""The output columns besides the id column."""


class Extractor:
    """The callable class for ``Dataset.map_batches``: one instance per actor.

    Contract: ``__call__`` returns one row per input row, every input id exactly once,
    and raises only for a malformed batch (a missing column), never for a document.
    With ``base_urls`` the actor's ``base_url`` is ``base_urls[index % len]``, the index
    from ``counter`` (a :class:`~llm_extract.scale.ray_state.Counter` actor handle;
    without one, index 0).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        id_column: str = "id",
        text_column: str = "text",
        per_actor_concurrency: int = 8,
        base_urls: list[str] | None = None,
        counter: Any = None,
    ) -> None:
        if per_actor_concurrency < 1:
            raise ConfigurationError("per_actor_concurrency must be at least 1")
        if base_urls:
            index = load_ray().get(counter.take.remote()) if counter is not None else 0
            settings = settings.with_(base_url=base_urls[index % len(base_urls)])
        # The driver's resolved settings, used as they are: never re-resolved on a
        # worker, whose environment may name another server or key.
        self.settings = settings
        self.backend = make_backend(self.settings)
        self.id_column, self.text_column = id_column, text_column
        self.per_actor_concurrency = per_actor_concurrency
        # One loop for the actor's life: the async HTTP client's pooled connections
        # belong to the loop they were opened on, so a fresh loop per batch would break them.
        self._loop = asyncio.new_event_loop()
        self._lock = threading.Lock()  # run_until_complete is not re-entrant

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        ids = list(batch[self.id_column].tolist())
        texts = list(batch[self.text_column].tolist())
        with self._lock:
            rows = self._loop.run_until_complete(self._all(texts))
        out: dict[str, list[Any]] = {self.id_column: ids}
        for i, name in enumerate(COLUMNS):
            out[name] = [row[i] for row in rows]
        return out

    async def _all(self, texts: list[Any]) -> list[tuple[str, str, str, int, int]]:
        slots = asyncio.Semaphore(self.per_actor_concurrency)

        async def one(text: Any) -> tuple[str, str, str, int, int]:
            async with slots:
                return await self._one(text)

        return list(await asyncio.gather(*(one(t) for t in texts)))

    async def _one(self, text: Any) -> tuple[str, str, str, int, int]:
        report = Report()
        try:
            if not isinstance(text, str):
                raise InputError(f"the {self.text_column!r} value is {type(text).__name__}")
            result = await aextract_deals(
                text, settings=self.settings, backend=self.backend, report=report
            )
            row = ("ok", result.model_dump_json(), "")
        except Exception as exc:
            row = ("error", "", f"{type(exc).__name__}: {scrub(str(exc), self.settings.secret)}")
        return (*row, report.prompt_tokens, report.completion_tokens)


def extract_dataset(
    ds: Any,
    *,
    id_column: str = "id",
    text_column: str = "text",
    actors: int = 2,
    per_actor_concurrency: int = 8,
    batch_size: int = 16,
    base_urls: list[str] | None = None,
    num_cpus: float | None = None,
    **settings_kwargs: Any,
) -> Any:
    """``ds`` (a ``ray.data.Dataset``) mapped to one result row per document, lazily.

    ``actors`` is a fixed pool (``ActorPoolStrategy(size=actors)``); ``num_cpus`` is what
    each actor reserves (Ray's default 1; I/O-bound actors can take less, e.g. 0.25).
    ``settings_kwargs`` are :class:`Settings` fields, checked here before any actor starts.
    Returns the ``ray.data.Dataset``; nothing runs until it is consumed.
    """
    ray = load_ray()
    if actors < 1 or per_actor_concurrency < 1 or batch_size < 1:
        raise ConfigurationError("actors, per_actor_concurrency and batch_size must be >= 1")
    if base_urls is not None and (not base_urls or settings_kwargs.get("base_url")):
        raise ConfigurationError("give base_urls (non-empty) or base_url, not both")
    first = {"base_url": base_urls[0]} if base_urls else {}
    resolved = Settings.resolve(**{**settings_kwargs, **first})
    counter = actor(Counter) if base_urls else None
    remote_args: dict[str, Any] = {} if num_cpus is None else {"num_cpus": num_cpus}
    return ds.map_batches(
        Extractor,
        fn_constructor_kwargs={
            "settings": resolved,
            "id_column": id_column,
            "text_column": text_column,
            "per_actor_concurrency": per_actor_concurrency,
            "base_urls": base_urls,
            "counter": counter,
        },
        compute=ray.data.ActorPoolStrategy(size=actors),
        batch_size=batch_size,
        batch_format="numpy",
        **remote_args,
    )


from .ray_run import run_dataset  # noqa: E402  (the documented home of both Ray entry points)

__all__ = ["COLUMNS", "Extractor", "extract_dataset", "run_dataset"]
