"""llm_extract.backends.openai_wire against the fake server: what goes out, byte for byte.

Each test sends one call through the SDK's own ``create`` and the same call
through :func:`sent_as_is` (or its async twin), and compares what the server
received: body bytes, path with query, and headers.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletion
from pydantic import BaseModel

from llm_extract.backends.openai_wire import asent_as_is, post_args, sent_as_is
from tests.backends.backend_helpers import ANSWER, KEY
from tests.fake_server import FakeServer, Recorded, completion, fake_server, rate_limited

_MESSAGES = [
    {"role": "system", "content": "Extract the deal."},
    {"role": "user", "content": "Harlow Steel agreed to buy Pennick Wire.", "name": None},
]
_SHAPE = {"type": "json_schema", "json_schema": {"name": "Deal", "schema": {"type": "object"}}}
_VARYING = {"x-stainless-retry-count"}


def _sent(request: Recorded) -> tuple[str, str, dict[str, str]]:
    headers = {k: v for k, v in request.headers.items() if k not in _VARYING}
    return request.path, request.raw, headers


def _same(one: ChatCompletion, other: ChatCompletion) -> bool:
    """Equal answers, the fake's per-request id and time aside."""
    return one.model_dump(exclude={"id", "created"}) == other.model_dump(exclude={"id", "created"})


def _both(srv: FakeServer, **kwargs: Any) -> tuple[Any, Any]:
    """What the SDK sent on its own, then through :func:`sent_as_is`; and the answers."""
    client = openai.OpenAI(base_url=srv.base_url, api_key=KEY, max_retries=0)
    own = client.chat.completions.create(**kwargs)
    assert post_args(kwargs) is not None  # posted as it is, not by the SDK's create
    ours = sent_as_is(client)(**kwargs)
    first, second = srv.take_requests()
    assert _sent(second) == _sent(first)
    return own, ours


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"response_format": _SHAPE},
        {"response_format": {"type": "json_object"},
         "extra_body": {"response_format": {"type": "json_object", "schema": {}}}},
        {"seed": 7, "temperature": 0.0, "logprobs": True, "max_tokens": 9},
        {"extra_headers": {"X-Trace": "t1"}, "extra_query": {"api-version": "1"}},
        {"timeout": 20.0, "tools": [{"type": "function", "function": {"name": "f"}}]},
    ],
)  # fmt: skip
def test_plain_calls_go_out_as_the_sdk_sends_them(extra: dict[str, Any]) -> None:
    with fake_server([completion(ANSWER)]) as srv:
        own, ours = _both(srv, model="m", messages=_MESSAGES, **extra)
    assert isinstance(ours, ChatCompletion) and _same(ours, own)


_FINITE = st.floats(allow_nan=False, allow_infinity=False)
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), _FINITE,
                    st.text(max_size=8))  # fmt: skip
_NAMES = ["max_tokens", "temperature", "seed", "top_p", "n", "user", "stop", "logprobs",
          "presence_penalty", "store", "service_tier"]  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.dictionaries(st.sampled_from(_NAMES), _SCALAR, max_size=6),
       text=st.text(max_size=40))  # fmt: skip
def test_any_plain_scalars_go_out_as_the_sdk_sends_them(values: dict[str, Any], text: str) -> None:
    with fake_server([completion(ANSWER)]) as srv:
        _both(srv, **values, messages=[{"role": "user", "content": text}], model="m")


async def test_the_async_twin_sends_the_same_and_returns_a_completion() -> None:
    with fake_server([completion(ANSWER)]) as srv:
        client = openai.AsyncOpenAI(base_url=srv.base_url, api_key=KEY, max_retries=0)
        kwargs: dict[str, Any] = {"model": "m", "messages": _MESSAGES, "response_format": _SHAPE}
        own = await client.chat.completions.create(**kwargs)
        assert post_args(kwargs) is not None
        ours = await asent_as_is(client)(**kwargs)
        first, second = srv.take_requests()
        await client.close()
    assert _sent(second) == _sent(first) and _same(ours, own)


def test_arguments_the_sdk_must_see_take_its_own_path() -> None:
    class Shape(BaseModel):
        a: int

    parts = [{"role": "user", "content": iter([{"type": "text", "text": "Harlow Steel"}])}]
    assert post_args({"model": "m", "messages": parts}) is None
    assert post_args({"model": "m", "messages": _MESSAGES, "stream": True}) is None
    assert post_args({"model": "m", "messages": _MESSAGES, "response_format": Shape}) is None
    assert post_args({"model": "m", "messages": _MESSAGES, "temprature": 0.0}) is None
    assert post_args({"messages": _MESSAGES}) is None
    with fake_server([completion(ANSWER)]) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key=KEY, max_retries=0)
        sent_as_is(client)(messages=parts, model="m")
        (request,) = srv.take_requests()
        with pytest.raises(TypeError):  # the SDK's own refusals, unchanged
            sent_as_is(client)(messages=_MESSAGES, model="m", response_format=Shape)
        with pytest.raises(TypeError):
            sent_as_is(client)(messages=_MESSAGES, model="m", temprature=0.0)
    assert request.body["messages"][0]["content"] == [{"type": "text", "text": "Harlow Steel"}]


def test_server_errors_raise_the_sdks_own_exceptions() -> None:
    with fake_server([rate_limited(2)]) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key=KEY, max_retries=0)
        with pytest.raises(openai.RateLimitError) as caught:
            sent_as_is(client)(messages=_MESSAGES, model="m")
    assert caught.value.status_code == 429 and caught.value.response.headers["retry-after"] == "2"
