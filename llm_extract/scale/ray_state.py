"""The state a Ray run shares between its actors: small actors, and Ray itself loaded lazily.

Each is a plain class turned into a Ray actor with ``num_cpus=0`` (it only
counts), so a 2-CPU cluster keeps both CPUs for the extraction actors. Their
clocks are their own: a pause is handed out as seconds left, never as a time
of day, so workers on other machines need no synchronised clocks.
"""

from __future__ import annotations

import importlib
import time
from typing import Any

from ..errors import ConfigurationError


def load_ray() -> Any:
    """The ``ray`` module with Ray Data loaded, or a ConfigurationError saying what to install."""
    try:
        ray = importlib.import_module("ray")
        importlib.import_module("ray.data")
    except ImportError:
        raise ConfigurationError(
            "Ray Data is not installed: pip install 'llm-extract[ray]'"
        ) from None
    return ray


def actor(cls: type, *args: Any) -> Any:
    """A handle to a new zero-CPU actor of ``cls`` on the current cluster."""
    return load_ray().remote(num_cpus=0)(cls).remote(*args)


class Counter:
    """Hands out 0, 1, 2, ... so each actor of one run gets its own index."""

    def __init__(self) -> None:
        self.n = -1

    def take(self) -> int:
        self.n += 1
        return self.n


class Budget:
    """A run's tokens and USD, spent by every actor; closed once either cap is reached.

    An actor asks :meth:`is_open` before it starts a document and reports what
    the document cost with :meth:`spend`; so the overshoot is at most what the
    documents in flight when it closed cost.
    """

    def __init__(self, max_tokens: int | None, max_cost: float | None) -> None:
        self.max_tokens, self.max_cost = max_tokens, max_cost
        self.tokens, self.cost = 0, 0.0

    def is_open(self) -> bool:
        over_tokens = self.max_tokens is not None and self.tokens >= self.max_tokens
        return not (over_tokens or (self.max_cost is not None and self.cost >= self.max_cost))

    def spend(self, tokens: int, cost: float) -> bool:
        self.tokens += tokens
        self.cost += cost
        return self.is_open()


class Pause:
    """The run's one 429 pause: any actor extends it, every actor waits it out."""

    def __init__(self) -> None:
        self.until = 0.0

    def extend(self, seconds: float) -> None:
        self.until = max(self.until, time.monotonic() + seconds)

    def left(self) -> float:
        return max(0.0, self.until - time.monotonic())


class PauseClient:
    """A :class:`~llm_extract.backends.throttle.SharedPause` over a :class:`Pause` actor.

    It asks the actor at most once per ``every`` seconds and counts down its
    last answer in between, so thousands of requests a second cost a few
    actor calls; a 429 elsewhere is seen within ``every``.
    """

    def __init__(self, handle: Any, every: float = 0.05) -> None:
        self.handle, self.every = handle, every
        self.asked = -every
        self.until = 0.0

    async def left(self) -> float:
        now = time.monotonic()
        if now - self.asked >= self.every:
            self.asked = now
            self.until = now + float(await self.handle.left.remote())
        return max(0.0, self.until - time.monotonic())

    def extend(self, seconds: float) -> None:
        self.handle.extend.remote(seconds)
        self.until = max(self.until, time.monotonic() + seconds)
