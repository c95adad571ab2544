"""The shared-state actors as plain objects (no Ray needed): budget caps, the pause,
and the pause client's counted-down copy."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from llm_extract.scale.ray_state import Budget, Pause, PauseClient


def test_budget_closes_at_either_cap_and_stays_closed() -> None:
    tokens = Budget(max_tokens=100, max_cost=None)
    assert tokens.is_open() and tokens.spend(60, 0.0)
    assert not tokens.spend(40, 0.0) and not tokens.is_open()
    dollars = Budget(max_tokens=None, max_cost=0.5)
    assert dollars.spend(10**9, 0.49) and not dollars.spend(0, 0.01)
    assert Budget(None, None).spend(10**12, 10**6)


def test_pause_only_grows_and_counts_down() -> None:
    pause = Pause()
    assert pause.left() == 0.0
    pause.extend(0.5)
    pause.extend(0.1)  # a shorter pause does not cut a longer one short
    assert 0.4 < pause.left() <= 0.5


class _Handle:
    """Stands in for a Ray actor handle: ``.left.remote()`` is awaitable."""

    def __init__(self, pause: Pause) -> None:
        self.pause, self.asked = pause, 0
        outer = self

        class _Left:
            def remote(self) -> Any:
                outer.asked += 1
                future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
                future.set_result(outer.pause.left())
                return future

        class _Extend:
            def remote(self, seconds: float) -> None:
                outer.pause.extend(seconds)

        self.left, self.extend = _Left(), _Extend()


def test_the_client_asks_at_most_once_per_interval_and_sees_its_own_extend() -> None:
    pause = Pause()
    handle = _Handle(pause)
    client = PauseClient(handle, every=10.0)

    async def go() -> list[float]:
        first = [await client.left() for _ in range(50)]
        client.extend(0.3)
        return [*first, await client.left()]

    seen = asyncio.run(go())
    assert handle.asked == 1 and seen[:50] == [0.0] * 50
    assert seen[-1] == pytest.approx(0.3, abs=0.05) and pause.left() > 0.2
    pause.extend(5.0)  # another actor's 429: seen at the next ask, not before
    assert asyncio.run(client.left()) < 1.0
    client.asked = time.monotonic() - 11.0
    assert asyncio.run(client.left()) > 4.0 and handle.asked == 2
