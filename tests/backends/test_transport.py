"""InstructorBackend's transport retries against a scripted fake server on 127.0.0.1.

429 and ``Retry-After``, 5xx, client errors, timeouts, dropped and refused
connections, on the sync path and the async one (llm_extract.backends.transport).

Timing bounds here are deliberately loose (seconds, not milliseconds): they
only tell "capped/short backoff" from "waited as long as the server asked".
"""

from __future__ import annotations

import time

import pytest

from llm_extract.backends.providers import InstructorBackend
from llm_extract.errors import BackendError
from llm_extract.settings import Settings
from tests.backends.backend_helpers import ANSWER, KEY, make_request, serving
from tests.fake_server import (
    FakeServer,
    Step,
    completion,
    drop,
    error,
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


# --------------------------------------------------------------------------- hooks


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
