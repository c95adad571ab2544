"""One gate for every worker: a 429 pauses them all, not only the one that got it."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from ..errors import BackendError
from ..settings import Settings
from .base import Backend, ChatRequest, Completion
from .transport import backoff


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
        delay = backoff(self.settings, failures, exc.retry_after)
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
