"""Tests for llm_extract.core.api: how the units of one article run together."""

from __future__ import annotations

import asyncio

import pytest

from llm_extract import BackendError, Settings, aextract_deals
from llm_extract.backends.base import ChatRequest, Completion

PART = (
    "Norvane Robotics said on Tuesday it agreed to buy Lakeshore Sensors Ltd, a maker of "
    "lidar units based in Duluth, for 18 mln dlrs in cash. "
)
LONG = PART * 3 + "\n\n" + "Calloway Mills will sell its dye works to Brenner Textiles. " * 5


class FailsFirst:
    """The first request fails at once with a fatal error; the others wait long."""

    model = "fake-model"

    def __init__(self) -> None:
        self.started = 0
        self.cancelled = 0
        self.finished = 0

    def complete(self, request: ChatRequest) -> Completion:
        raise AssertionError("the async path must not call complete()")

    async def acomplete(self, request: ChatRequest) -> Completion:
        self.started += 1
        if self.started == 1:
            await asyncio.sleep(0.05)
            raise BackendError("401 from the server: the key was refused", status=401, attempts=1)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.finished += 1
        raise AssertionError("a sibling ran to the end")


async def test_a_fatal_error_in_one_chunk_cancels_its_siblings() -> None:
    backend = FailsFirst()
    settings = Settings(model="fake-model", strategy="full", chunk_chars=300, chunk_overlap=0)
    started = asyncio.get_running_loop().time()
    with pytest.raises(BackendError, match="key was refused"):
        await aextract_deals(LONG, settings=settings, backend=backend)
    assert asyncio.get_running_loop().time() - started < 5
    assert backend.started >= 2
    assert backend.cancelled == backend.started - 1
    assert backend.finished == 0


def test_extract_enforces_max_chars_too() -> None:
    from llm_extract import InputError, Settings, extract
    from llm_extract.records.schemas import Deal
    from tests.core.pipeline_helpers import ScriptedBackend

    settings = Settings(base_url="http://unused", max_chars=1_000)
    with pytest.raises(InputError, match="max_chars=1,000"):
        extract("Acme Corp agreed to buy Beta Inc. " * 40, Deal, settings=settings,
                backend=ScriptedBackend())  # fmt: skip


def test_a_server_named_for_the_adapter_is_asked_the_way_it_was_trained() -> None:
    from llm_extract.core.deals_job import window_spec
    from llm_extract.prompts.build import WINDOWS, WINDOWS_TUNED

    served = Settings(
        base_url="http://127.0.0.1:8080/v1", model="gemma-3-270m-q4_k_m+deal-windows@0123456789"
    )
    other = Settings(base_url="http://127.0.0.1:8080/v1", model="qwen2.5-7b-instruct")
    assert window_spec(served) is WINDOWS_TUNED
    assert window_spec(other) is WINDOWS
