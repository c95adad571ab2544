"""The fake server itself: its schema answers, bounded records, counters, and a burst of clients.

The benches measure the library against it (``bench/stub_server.py``), so a
stub that refused connections or answered the wrong schema would skew them.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anthropic
import openai

from tests.fake_server import answer_by_schema, fake_server

ANSWERS: dict[str, Any] = {"Deal": {"buyer": "Orchid Labs"}, "Note": {"text": "hi"}}


def _schema(name: str) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": {"title": name}}}


def test_each_request_gets_the_answer_for_the_schema_it_names() -> None:
    with fake_server([answer_by_schema(ANSWERS)]) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)
        ask = client.chat.completions.create
        msg = [{"role": "user", "content": "go"}]
        by_format = ask(model="m", messages=msg, response_format=_schema("Deal"))
        assert json.loads(by_format.choices[0].message.content or "") == ANSWERS["Deal"]
        tool = {"type": "function", "function": {"name": "Note", "parameters": {}}}
        by_tool = ask(model="m", messages=msg, tools=[tool])
        call = by_tool.choices[0].message.tool_calls[0]
        assert by_tool.choices[0].finish_reason == "tool_calls"
        assert (call.function.name, json.loads(call.function.arguments)) == (
            "Note",
            ANSWERS["Note"],
        )
        in_text = [{"role": "system", "content": 'Answer as {"title": "Note", ...}'}, *msg]
        by_title = ask(model="m", messages=in_text)
        assert json.loads(by_title.choices[0].message.content or "") == ANSWERS["Note"]
        unknown = ask(model="m", messages=msg, response_format=_schema("Other"))
        assert unknown.choices[0].message.content == "{}"
        assert by_format.usage is not None and by_format.usage.prompt_tokens > 0


def test_schema_answers_in_anthropic_form_are_tool_calls() -> None:
    with fake_server([answer_by_schema(ANSWERS)]) as srv:
        client = anthropic.Anthropic(base_url=srv.root_url, api_key="k", max_retries=0)
        tool = {"name": "Deal", "input_schema": {"type": "object"}}
        reply = client.messages.create(
            model="m",
            max_tokens=50,
            messages=[{"role": "user", "content": "go"}],
            tools=[tool],
        )
        (block,) = reply.content
        assert block.type == "tool_use" and block.input == ANSWERS["Deal"]


def test_keep_bounds_the_records_and_stats_count_then_reset() -> None:
    with fake_server([answer_by_schema(ANSWERS)], keep=3) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)
        for i in range(5):
            client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": str(i)}]
            )
        recorded = srv.take_requests()
        assert [json.loads(r.raw)["messages"][0]["content"] for r in recorded] == ["2", "3", "4"]
        assert srv.take_requests() == []
        assert srv.stats() == {"served": 5, "peak_inflight": 1}
        assert srv.stats() == {"served": 0, "peak_inflight": 0}


def test_a_request_counts_as_served_before_its_answer_arrives() -> None:
    """Asked right after each answer, ``stats()`` has already counted it.

    Counted after the write (as the first version did), the count lagged the
    client now and then: CI read 4 served of 5.
    """
    with fake_server([answer_by_schema(ANSWERS)]) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)
        lags = 0
        for _ in range(300):
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
            lags += srv.stats() != {"served": 1, "peak_inflight": 1}
        assert lags == 0


def test_a_burst_of_new_connections_is_served_concurrently() -> None:
    """128 clients connecting at once: none refused, all in flight together."""

    async def burst(base_url: str) -> list[str | None]:
        client = openai.AsyncOpenAI(base_url=base_url, api_key="k", max_retries=0)
        async with client:
            replies = await asyncio.gather(*[
                client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "go"}],
                    response_format=_schema("Deal"),
                )
                for _ in range(128)
            ])  # fmt: skip
        return [r.choices[0].message.content for r in replies]

    with fake_server([answer_by_schema(ANSWERS, latency=0.5)]) as srv:
        contents = asyncio.run(burst(srv.base_url))
        assert contents == [json.dumps(ANSWERS["Deal"])] * 128
        assert srv.stats()["peak_inflight"] >= 64
