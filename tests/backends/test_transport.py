"""InstructorBackend's transport retries against a scripted fake server on 127.0.0.1.

429 and ``Retry-After``, 5xx, client errors, timeouts, dropped and refused
connections, on the sync path and the async one (llm_extract.backends.transport).

Timing bounds here are deliberately loose (seconds, not milliseconds): they
only tell "capped/short backoff" from "waited as long as the server asked".
"""

from __future__ import annotations

import json
import time
from typing import Any

import openai
import pytest

from llm_extract.backends.providers import InstructorBackend
from llm_extract.backends.transport import asent_as_is, sent_as_is
from llm_extract.errors import BackendError
from llm_extract.settings import Settings
from tests.backends.backend_helpers import ANSWER, KEY, make_request, serving
from tests.fake_server import (
    FakeServer,
    Step,
    completion,
    drop,
    error,
    fake_server,
    hang,
    rate_limited,
    reset,
    server_error,
)

# --------------------------------------------------------------------------- transport retries


def test_429_then_success_is_retried() -> None:
    with serving([rate_limited(), completion(ANSWER)]) as (srv, be):
        out = be.complete(make_request())
    assert out.content == ANSWER
    assert out.requests == 2
    assert len(srv.requests) == 2


def test_retry_after_zero_is_honoured() -> None:
    # backoff_base is large, so only honouring "Retry-After: 0" keeps this fast
    with serving(
        [rate_limited(0), rate_limited(0), completion(ANSWER)], backoff_base=3.0, backoff_max=3.0
    ) as (srv, be):
        started = time.monotonic()
        out = be.complete(make_request())
        elapsed = time.monotonic() - started
    assert out.requests == 3
    assert len(srv.requests) == 3
    assert elapsed < 2.0


def test_retry_after_longer_than_backoff_max_is_capped() -> None:
    with serving([rate_limited(30), completion(ANSWER)], backoff_max=0.05) as (srv, be):
        started = time.monotonic()
        out = be.complete(make_request())
        elapsed = time.monotonic() - started
    assert out.content == ANSWER
    assert len(srv.requests) == 2
    assert elapsed < 2.0  # the server asked for 30 s


def test_retry_after_is_waited_for_when_below_the_cap() -> None:
    # the counterpart of the two tests above: the hint really is used as the wait
    with serving([rate_limited(0.6), completion(ANSWER)], backoff_max=5.0) as (srv, be):
        started = time.monotonic()
        be.complete(make_request())
        elapsed = time.monotonic() - started
    assert len(srv.requests) == 2
    assert elapsed >= 0.5
    gap = srv.requests[1].at - srv.requests[0].at
    assert 0.5 <= gap < 4.0


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_retried_up_to_the_budget_then_raises(status: int) -> None:
    with (
        serving([server_error(status)], transport_retries=3) as (srv, be),
        pytest.raises(BackendError) as info,
    ):
        be.complete(make_request())
    assert info.value.status == status
    assert info.value.attempts == 4
    assert len(srv.requests) == 4
    assert "4 request(s)" in str(info.value)


def test_zero_transport_retries_sends_once() -> None:
    with (
        serving([server_error(503), completion(ANSWER)], transport_retries=0) as (srv, be),
        pytest.raises(BackendError) as info,
    ):
        be.complete(make_request())
    assert info.value.attempts == 1
    assert len(srv.requests) == 1


def test_5xx_then_success_recovers() -> None:
    with serving([server_error(502), server_error(500), completion(ANSWER)]) as (srv, be):
        out = be.complete(make_request())
    assert out.content == ANSWER
    assert out.requests == 3
    assert len(srv.requests) == 3


@pytest.mark.parametrize("status", [400, 404, 422])
def test_client_errors_are_not_retried(status: int) -> None:
    fault = error(status, "This model's maximum context length is 4096 tokens.")
    with serving([fault, completion(ANSWER)]) as (srv, be), pytest.raises(BackendError) as info:
        be.complete(make_request())
    assert info.value.status == status
    assert info.value.attempts == 1
    assert len(srv.requests) == 1


def test_timeouts_are_retried_then_raise_without_status() -> None:
    with serving([hang(5.0)], timeout=0.3, transport_retries=1) as (srv, be):
        started = time.monotonic()
        with pytest.raises(BackendError) as info:
            be.complete(make_request())
        elapsed = time.monotonic() - started
    assert info.value.status is None
    assert info.value.attempts == 2
    assert len(srv.requests) == 2
    assert "Timeout" in str(info.value)
    assert elapsed < 4.0  # two 0.3 s timeouts, not two 5 s hangs


def test_timeout_then_success_recovers() -> None:
    with serving([hang(5.0), completion(ANSWER)], timeout=0.3) as (srv, be):
        out = be.complete(make_request())
    assert out.content == ANSWER
    assert out.requests == 2
    assert len(srv.requests) == 2


@pytest.mark.parametrize("fault", [drop(), reset()], ids=["mid-body", "no-response"])
def test_dropped_connection_is_retried(fault: Step) -> None:
    with serving([fault, completion(ANSWER)]) as (srv, be):
        out = be.complete(make_request())
    assert out.content == ANSWER
    assert out.requests == 2
    assert len(srv.requests) == 2


def test_dropped_connections_exhaust_the_budget_without_status() -> None:
    with serving([drop()], transport_retries=2) as (srv, be), pytest.raises(BackendError) as info:
        be.complete(make_request())
    assert info.value.status is None
    assert info.value.attempts == 3
    assert len(srv.requests) == 3


def test_connection_refused_is_a_backend_error() -> None:
    srv = FakeServer([completion(ANSWER)]).start()
    base_url = srv.base_url
    srv.stop()  # nothing listens on that port any more
    be = InstructorBackend(
        Settings(
            base_url=base_url,
            api_key=KEY,
            model="m",
            timeout=2.0,
            transport_retries=1,
            backoff_base=0.01,
            backoff_max=0.05,
        )
    )
    with pytest.raises(BackendError) as info:
        be.complete(make_request())
    assert info.value.status is None
    assert info.value.attempts == 2


# --------------------------------------------------------------------------- async path


async def test_async_429_then_success_is_retried() -> None:
    with serving([rate_limited(0), completion(ANSWER)]) as (srv, be):
        out = await be.acomplete(make_request())
    assert out.content == ANSWER
    assert out.requests == 2
    assert len(srv.requests) == 2


async def test_async_5xx_exhausts_budget() -> None:
    with (
        serving([server_error(502)], transport_retries=2) as (srv, be),
        pytest.raises(BackendError) as info,
    ):
        await be.acomplete(make_request())
    assert (info.value.status, info.value.attempts) == (502, 3)
    assert len(srv.requests) == 3


async def test_async_timeout_and_drop_are_retried() -> None:
    with serving([hang(5.0), drop(), completion(ANSWER)], timeout=0.3) as (srv, be):
        out = await be.acomplete(make_request())
    assert out.content == ANSWER
    assert out.requests == 3
    assert len(srv.requests) == 3


async def test_async_400_is_not_retried() -> None:
    with (
        serving([error(400, "bad request"), completion(ANSWER)]) as (srv, be),
        pytest.raises(BackendError) as info,
    ):
        await be.acomplete(make_request())
    assert (info.value.status, info.value.attempts) == (400, 1)
    assert len(srv.requests) == 1


# --------------------------------------------------------------------------- messages as sent

_MESSAGES = [
    {"role": "system", "content": "Extract the deal."},
    {"role": "user", "content": "Harlow Steel agreed to buy Pennick Wire.", "name": None},
]


_SHAPE = {"type": "json_schema", "json_schema": {"name": "Deal", "schema": {"type": "object"}}}


def _bodies(srv: FakeServer, **extra: Any) -> tuple[str, str]:
    """The raw body the SDK sends on its own, then through :func:`sent_as_is`."""
    client = openai.OpenAI(base_url=srv.base_url, api_key=KEY, max_retries=0)
    kwargs = {"model": "m", "max_tokens": 9, "extra_body": {"seed": 7}, **extra}
    client.chat.completions.create(messages=_MESSAGES, **kwargs)
    sent_as_is(client.chat.completions.create)(messages=_MESSAGES, **kwargs)
    own, as_is = srv.take_requests()
    return own.raw, as_is.raw


def test_plain_messages_go_out_byte_for_byte_as_the_sdk_sends_them() -> None:
    with fake_server([completion(ANSWER)]) as srv:
        own, as_is = _bodies(srv)
        assert as_is == own and json.loads(as_is)["messages"] == _MESSAGES
        own, as_is = _bodies(srv, response_format=_SHAPE)  # moved to the end: same JSON
    assert json.loads(as_is) == json.loads(own) and json.loads(own)["response_format"] == _SHAPE


async def test_the_async_client_sends_plain_messages_as_they_are() -> None:
    seen: list[dict[str, Any]] = []

    async def create(**kwargs: Any) -> None:
        seen.append(kwargs)

    await asent_as_is(create)(messages=_MESSAGES, model="m", extra_body={"seed": 7})
    extra = {"seed": 7, "messages": _MESSAGES}
    assert seen == [{"messages": [], "model": "m", "extra_body": extra}]
    ours = {"type": "json_object", "schema": {"type": "object"}}  # llama-cpp-python's dialect
    await asent_as_is(create)(
        messages=_MESSAGES, response_format={"type": "json_object"},
        extra_body={"response_format": ours},
    )  # fmt: skip
    assert seen[1]["extra_body"]["response_format"] == ours and "response_format" not in seen[1]


def test_messages_the_sdk_must_rewrite_take_its_own_path() -> None:
    parts = [{"role": "user", "content": iter([{"type": "text", "text": "Harlow Steel"}])}]
    with fake_server([completion(ANSWER)]) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key=KEY, max_retries=0)
        sent_as_is(client.chat.completions.create)(messages=parts, model="m")
        (request,) = srv.take_requests()
    assert request.body["messages"][0]["content"] == [{"type": "text", "text": "Harlow Steel"}]


def test_counting_hooks_count_requests_and_usage_through_instructors_emit() -> None:
    from types import SimpleNamespace

    from llm_extract.backends.transport import Tally, counting_hooks

    tally = Tally()
    hooks = counting_hooks(tally)
    for _ in range(2):
        hooks.emit_completion_arguments(model="m", messages=[], temperature=0.0)
    usage = SimpleNamespace(prompt_tokens=7, completion_tokens=3)
    hooks.emit_completion_response(SimpleNamespace(usage=usage))
    assert (tally.requests, tally.prompt_tokens, tally.completion_tokens) == (2, 7, 3)
