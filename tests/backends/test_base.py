"""InstructorBackend against a scripted fake OpenAI-compatible server on 127.0.0.1.

Answers, response formats, secrets, the async path and the fake itself; the
transport retries (sync and async) are in test_transport.py.

The one timing bound here (the fake stops promptly) is deliberately loose: seconds.
"""

from __future__ import annotations

import json
import time
import traceback

import pytest

from llm_extract.backends.base import Completion
from llm_extract.errors import BackendError
from llm_extract.redaction import scrub
from tests.backends.backend_helpers import ANSWER, KEY, SCHEMA, make_backend, make_request, serving
from tests.fake_server import (
    FakeServer,
    completion,
    empty_choices,
    fake_server,
    hang,
    llama_cpp_like,
    refusal,
    reject_response_format,
    unauthorized_echoing,
)

# --------------------------------------------------------------------------- success


def test_success_returns_completion_with_tokens_and_sends_the_request() -> None:
    with serving([completion(ANSWER, usage=(123, 45), model="served-model-7")]) as (srv, be):
        out = be.complete(make_request())

    assert isinstance(out, Completion)
    assert out.content == ANSWER
    assert out.finish_reason == "stop"
    assert out.refusal is None
    assert (out.prompt_tokens, out.completion_tokens) == (123, 45)
    assert out.model == "served-model-7"
    assert out.requests == 1

    [sent] = srv.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    body = sent.body
    assert body["model"] == "m"
    assert body["messages"] == make_request().messages
    assert body["max_tokens"] == 64
    assert body["temperature"] == 0.0
    assert body["seed"] == 7


def test_length_finish_reason_is_passed_through_not_judged() -> None:
    with serving([completion('{"company": "Bri', finish_reason="length")]) as (_, be):
        out = be.complete(make_request())
    assert out.content == '{"company": "Bri'
    assert out.finish_reason == "length"


def test_missing_usage_counts_zero_tokens() -> None:
    with serving([completion(ANSWER, usage=None)]) as (_, be):
        out = be.complete(make_request())
    assert (out.prompt_tokens, out.completion_tokens) == (0, 0)


def test_refusal_is_reported_with_null_content() -> None:
    with serving([refusal("I can't help with that.")]) as (_, be):
        out = be.complete(make_request())
    assert out.content is None
    assert out.refusal == "I can't help with that."


def test_empty_choices_give_a_completion_without_content() -> None:
    with serving([empty_choices()]) as (srv, be):
        out = be.complete(make_request())
    assert out.content is None
    assert out.finish_reason is None
    assert out.requests == 1
    assert len(srv.requests) == 1  # a well-formed 200 is not a transport failure


# --------------------------------------------------------------------------- response formats


def test_auto_sends_json_schema_first() -> None:
    with serving([completion(ANSWER)], response_format="auto") as (srv, be):
        be.complete(make_request())
    [sent] = srv.requests
    assert sent.response_format["type"] == "json_schema"
    # the name is instructor's (its response model's); the schema is the request's
    assert sent.response_format["json_schema"]["schema"] == SCHEMA


def test_auto_falls_back_to_json_object_and_remembers() -> None:
    steps = [reject_response_format(400), completion(ANSWER), completion(ANSWER)]
    with serving(steps, response_format="auto") as (srv, be):
        first = be.complete(make_request())
        second = be.complete(make_request())
    assert first.content == second.content == ANSWER
    formats = [r.response_format for r in srv.requests]
    assert [f["type"] for f in formats] == ["json_schema", "json_object", "json_object"]
    assert formats[1] == {"type": "json_object", "schema": SCHEMA}
    assert second.requests == 1  # the later call went straight to json_object


@pytest.mark.parametrize("status", [400, 422])
def test_auto_fallback_against_a_llama_cpp_like_server(status: int) -> None:
    with serving([llama_cpp_like(ANSWER, status=status)], response_format="auto") as (srv, be):
        assert be.complete(make_request()).content == ANSWER
        assert be.complete(make_request()).content == ANSWER
    assert [r.response_format["type"] for r in srv.requests] == [
        "json_schema",
        "json_object",
        "json_object",
    ]


def test_a_500_that_mentions_response_format_does_not_switch_forms() -> None:
    # a broken server's 500 is not a refused form: it is retried as a 5xx and the
    # backend keeps sending json_schema (it used to fall back to json_object for good)
    with serving([llama_cpp_like(ANSWER, status=500)], response_format="auto") as (srv, be):
        with pytest.raises(BackendError) as info:
            be.complete(make_request())
        assert info.value.status == 500
        assert {r.response_format["type"] for r in srv.requests} == {"json_schema"}


def test_explicit_json_schema_does_not_fall_back() -> None:
    steps = [reject_response_format(400), completion(ANSWER)]
    with (
        serving(steps, response_format="json_schema") as (srv, be),
        pytest.raises(BackendError) as info,
    ):
        be.complete(make_request())
    assert info.value.status == 400
    assert info.value.attempts == 1
    assert [r.response_format["type"] for r in srv.requests] == ["json_schema"]


def test_json_object_sends_schema_under_response_format() -> None:
    with serving([completion(ANSWER)], response_format="json_object") as (srv, be):
        be.complete(make_request())
    [sent] = srv.requests
    assert sent.response_format == {"type": "json_object", "schema": SCHEMA}
    system, user = sent.body["messages"]
    # instructor's JSON mode states the schema in the system message, after ours
    assert system["content"].startswith(make_request().messages[0]["content"])
    assert json.dumps(SCHEMA, indent=2) in system["content"]
    assert user == make_request().messages[1]


def test_prompt_format_sends_no_response_format_and_appends_schema() -> None:
    request = make_request()
    with serving([completion(ANSWER)], response_format="prompt") as (srv, be):
        be.complete(request)
    [sent] = srv.requests
    assert "response_format" not in sent.body
    system, last = sent.body["messages"]
    assert system["content"].startswith(request.messages[0]["content"])
    assert json.dumps(SCHEMA, indent=2) in system["content"]
    assert last["role"] == "user"
    original = request.messages[-1]["content"]
    assert last["content"].startswith(original)
    assert "json" in last["content"][len(original) :]
    # the caller's request object is not mutated
    assert request.messages[-1]["content"] == original


# --------------------------------------------------------------------------- secrets


def test_api_key_never_appears_in_backend_errors() -> None:
    with serving([unauthorized_echoing(KEY)]) as (srv, be), pytest.raises(BackendError) as info:
        be.complete(make_request())
    exc = info.value
    assert exc.status == 401
    assert exc.attempts == 1
    assert srv.requests[0].headers["authorization"] == f"Bearer {KEY}"
    shown = [str(exc), repr(exc), *map(str, exc.args)]
    printed = "".join(traceback.format_exception(exc))
    for text in [*shown, printed]:
        assert KEY not in text
        assert "XXXXXXXXXXXXXXXX" not in text  # not even the masked form's tail
    assert "[redacted]" in str(exc)


async def test_api_key_never_appears_in_async_backend_errors() -> None:
    with serving([unauthorized_echoing(KEY)]) as (_, be), pytest.raises(BackendError) as info:
        await be.acomplete(make_request())
    assert KEY not in str(info.value)
    assert "".join(traceback.format_exception(info.value)).count(KEY) == 0


def test_scrub_removes_key_and_key_shaped_strings() -> None:
    text = f"key {KEY}, masked sk-abc*****wxyz, header Bearer abcdef123456"
    out = scrub(text, KEY)
    assert KEY not in out
    assert "sk-abc*****wxyz" not in out
    assert "abcdef123456" not in out
    assert scrub("nothing secret here", None) == "nothing secret here"


# --------------------------------------------------------------------------- async path


async def test_async_success() -> None:
    with serving([completion(ANSWER, usage=(9, 4))]) as (srv, be):
        out = await be.acomplete(make_request())
    assert out.content == ANSWER
    assert (out.prompt_tokens, out.completion_tokens, out.requests) == (9, 4, 1)
    assert srv.requests[0].headers["authorization"] == f"Bearer {KEY}"


async def test_async_auto_fallback_is_shared_with_sync_path() -> None:
    with serving([llama_cpp_like(ANSWER)], response_format="auto") as (srv, be):
        assert (await be.acomplete(make_request())).content == ANSWER
        assert be.complete(make_request()).content == ANSWER
    assert [r.response_format["type"] for r in srv.requests] == [
        "json_schema",
        "json_object",
        "json_object",
    ]


# --------------------------------------------------------------------------- the fake itself


def test_fake_server_repeats_last_step_and_can_be_strict() -> None:
    with fake_server([completion("a"), completion("b")]) as srv:
        be = make_backend(srv)
        assert [be.complete(make_request()).content for _ in range(3)] == ["a", "b", "b"]
    with fake_server([completion("a")], repeat_last=False) as srv:
        be = make_backend(srv, transport_retries=0)
        assert be.complete(make_request()).content == "a"
        with pytest.raises(BackendError):
            be.complete(make_request())
        assert srv.exhausted


def test_fake_server_stops_promptly_while_a_request_hangs() -> None:
    srv = FakeServer([hang(60.0)], max_sleep=5.0).start()
    be = make_backend(srv, timeout=0.2, transport_retries=0)
    with pytest.raises(BackendError):
        be.complete(make_request())
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 3.0
