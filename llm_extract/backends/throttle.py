"""One gate for every worker: a 429 pauses them all, not only the one that got it."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Protocol

from ..errors import BackendError
from ..settings import Settings
from .base import Backend, ChatRequest, Completion
from .transport import backoff


class SharedPause(Protocol):
    """A pause kept outside this process, for workers in other processes or machines.

    ``left`` is how many seconds the pause still runs (0 when none does); it may
    answer from a recent copy. ``extend`` makes it run at least ``seconds``
    from now, without waiting for the answer.
    """

    async def left(self) -> float: ...

    def extend(self, seconds: float) -> None: ...


class ThrottledBackend:
    """Retries transient failures (429, 5xx, timeouts, dropped connections) with the
    budget and backoff of ``settings``; build ``inner`` with ``transport_retries=0``.

    One instance is shared by all workers and is their gate: ``not_before`` is a
    monotonic time before which no call starts. A 429 moves it to now + ``Retry-After``
    (else jittered exponential backoff), pausing every caller, not only the one that
    got it; the call is then retried, at most ``settings.transport_retries`` times.
    With ``shared`` (async calls only), the pause is also told to and read from
    there, so workers in other processes pause too (Ray's actors).
    """

    def __init__(
        self, inner: Backend, settings: Settings, shared: SharedPause | None = None
    ) -> None:
        self.inner = inner
        self.shared = shared
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
        delay = backoff(self.settings, failures, exc.retry_after)
        if exc.status != 429:
            return delay
        self.rate_limited += 1
        self.not_before = max(self.not_before, time.monotonic() + delay)
        if self.shared is not None:
            self.shared.extend(delay)
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
            await self._gate()
            try:
                done = await self.inner.acomplete(request)
                return replace(done, requests=done.requests + tally[1])
            except BackendError as exc:
                await asyncio.sleep(self._failed(exc, tally))

    async def _gate(self) -> None:
        """Wait until neither this process's pause nor the shared one runs."""
        while True:
            left = self.not_before - time.monotonic()
            if self.shared is not None:
                left = max(left, await self.shared.left())
            if left <= 0:
                return
            await asyncio.sleep(left)
