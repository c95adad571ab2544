"""Answers by request hash: the one wrapper behind the response cache, the
eval recordings and their replays.

A store maps the SHA-256 of a canonical request (:func:`request_hash`) to a
model answer and the seconds it took. Two stores exist: a SQLite table
(:class:`~.cache.ResponseCache`, shared between runs and processes) and a
JSONL file (:class:`~.recordings.RecordingFile`, committed beside the evals).
:class:`StoredBackend` puts either in front of a backend:

* ``free_hits`` (the cache): a hit reports no request and no tokens, since
  nothing was spent;
* not ``free_hits`` (a recording): a hit reports the recorded answer as it
  was, tokens included, so a replayed eval shows the recorded run's cost;
* no ``inner`` (a replay): a miss is a :class:`StaleRecordingError`, never a
  silent live call.

Lookups and stores of the async path run in a worker thread: a store may
wait on a lock (SQLite) or ``fsync`` (JSONL), and the event loop must not.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import asdict, dataclass, replace
from typing import Protocol

from ..errors import LLMExtractError
from .base import Backend, ChatRequest, Completion

Stored = tuple[Completion, float | None]


class StaleRecordingError(LLMExtractError):
    """The replayed request is not in the recording: re-record it."""

    def __init__(self, message: str, *, request_hash: str) -> None:
        super().__init__(message)
        self.request_hash = request_hash


def request_hash(identity: str, request: ChatRequest) -> str:
    """The key of ``request`` sent to the model named by ``identity``."""
    body = {"model": identity, **asdict(request)}
    del body["schema_digest"]
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class AnswerStore(Protocol):
    """Where answers are kept: ``lookup`` a key, ``keep`` a new answer."""

    def lookup(self, key: str) -> Stored | None: ...

    def keep(self, key: str, completion: Completion, seconds: float) -> None: ...


@dataclass
class Timing:
    """Model seconds behind the answers a store-backed backend gave, live or stored."""

    seconds: float = 0.0
    timed: int = 0
    untimed: int = 0

    def add(self, seconds: float | None) -> None:
        if seconds is None:
            self.untimed += 1
        else:
            self.seconds += seconds
            self.timed += 1

    def per_answer(self) -> float | None:
        return self.seconds / self.timed if self.timed else None


class StoredBackend:
    """A :class:`Backend` that answers from ``store`` when it can (see the module doc)."""

    def __init__(
        self,
        inner: Backend | None,
        store: AnswerStore,
        *,
        model: str | None = None,
        scope: str = "",
        free_hits: bool = False,
        where: str = "the recording",
    ) -> None:
        self.inner = inner
        self.store = store
        self.model = model or (inner.model if inner is not None else "")
        self.timing = Timing()
        self._identity = f"{self.model}\n{scope}" if scope else self.model
        self._free = free_hits
        self._where = where

    def key(self, request: ChatRequest) -> str:
        return request_hash(self._identity, request)

    def _hit(self, key: str) -> Completion | None:
        found = self.store.lookup(key)
        if found is not None:
            self.timing.add(found[1])
            if self._free:
                return replace(found[0], requests=0, prompt_tokens=0, completion_tokens=0)
            return found[0]
        if self.inner is None:
            raise StaleRecordingError(
                f"request {key[:12]} is not in {self._where}: the prompt, schema, settings or "
                "article changed since it was recorded; re-record with --record",
                request_hash=key,
            )
        return None

    def _kept(self, key: str, completion: Completion, seconds: float) -> Completion:
        self.timing.add(seconds)
        self.store.keep(key, completion, seconds)
        return completion

    def complete(self, request: ChatRequest) -> Completion:
        key = self.key(request)
        found = self._hit(key)
        if found is not None:
            return found
        assert self.inner is not None  # _hit raised for a replay
        started = time.perf_counter()
        completion = self.inner.complete(request)
        return self._kept(key, completion, time.perf_counter() - started)

    async def acomplete(self, request: ChatRequest) -> Completion:
        key = self.key(request)
        found = await asyncio.to_thread(self._hit, key)
        if found is not None:
            return found
        assert self.inner is not None
        started = time.perf_counter()
        completion = await self.inner.acomplete(request)
        seconds = time.perf_counter() - started
        return await asyncio.to_thread(self._kept, key, completion, seconds)
