"""Other providers through instructor, against local fakes of their wire formats.

``model="anthropic/…"``, ``"google/…"`` and ``"ollama/…"`` pick the provider's
own SDK; the fake server (``tests/fake_server.py``) answers in that provider's
format, so these tests run the real SDKs and instructor's real request
building and parsing, offline. The faults are fixtures: rate limits with
``Retry-After``, 5xx, hangs, truncation, prose instead of a tool call,
refusals.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from pydantic import BaseModel

from llm_extract import Report, extract, extract_deals
from llm_extract.backends.providers import route
from llm_extract.errors import BackendError, RefusalError
from llm_extract.settings import Settings
from tests.fake_server import (
    Step,
    completion,
    fake_server,
    hang,
    rate_limited,
    refusal,
    server_error,
)

KEY = "sk-provider-" + "Q" * 20  # built at run time: no key-like literal is committed
TEXT = "Brindle Foods agreed to buy Corvid Mills, a flour maker in Leeds, for 9 mln dlrs."
PATHS = {
    "anthropic": "/v1/messages",
    "google": "/models/m-test:generateContent",  # under /v1 or /v1beta, by SDK version
    "ollama": "/v1/chat/completions",
}


class Buyer(BaseModel):
    buyer: str
    target: str


GOOD = json.dumps({"buyer": "Brindle Foods", "target": "Corvid Mills"})


def run(
    provider: str, steps: list[Step], schema: type[BaseModel] = Buyer, **changes: Any
) -> tuple[Any, Any, Report]:
    """``extract`` through ``provider``'s SDK against a fake speaking its format."""
    report = Report()
    with fake_server(steps) as srv:
        url = srv.base_url if provider == "ollama" else srv.root_url
        options: dict[str, Any] = {
            "model": f"{provider}/m-test",
            "base_url": url,
            "api_key": KEY,
            "backoff_base": 0.01,
            "backoff_max": 0.05,
            **changes,
        }
        try:
            result: Any = extract(TEXT, schema=schema, report=report, **options)
        except Exception as exc:
            result = exc
        return result, srv.requests, report


@pytest.mark.parametrize("provider", ["anthropic", "google", "ollama"])
def test_a_provider_answer_is_extracted_through_its_own_sdk(provider: str) -> None:
    result, sent, report = run(provider, [completion(GOOD, usage=(30, 9))])
    assert isinstance(result, Buyer), result
    assert (result.buyer, result.target) == ("Brindle Foods", "Corvid Mills")
    [request] = sent
    assert request.path.split("?")[0].endswith(PATHS[provider])
    assert TEXT in json.dumps(request.body)
    assert report.prompt_tokens == 30 and report.completion_tokens == 9


def test_anthropic_gets_a_forced_tool_with_our_schema_and_the_key_once() -> None:
    _, [request], _ = run("anthropic", [completion(GOOD)])
    assert request.body["model"] == "m-test"
    assert request.body["temperature"] == 0.0
    [tool] = request.body["tools"]
    assert tool["name"] == "Buyer"
    assert set(tool["input_schema"]["properties"]) == {"buyer", "target"}
    assert request.body["tool_choice"] == {
        "type": "tool", "name": "Buyer", "disable_parallel_tool_use": True
    }  # fmt: skip
    carried = [v for v in request.headers.values() if KEY in v]
    assert carried in ([KEY], [f"Bearer {KEY}"])  # x-api-key, or Bearer since SDK 2.x


class Renamed(BaseModel):
    acquirer: str


@pytest.mark.parametrize("provider", ["anthropic", "google", "ollama"])
def test_two_schemas_under_one_name_each_reach_the_wire(provider: str) -> None:
    # instructor caches tool schemas by class; one class per name would send
    # the first schema's fields for the second.
    _, [first], _ = run(provider, [completion(GOOD)])
    Renamed.__name__ = "Buyer"
    try:
        answer = completion(json.dumps({"acquirer": "Brindle Foods"}))
        _, [second], _ = run(provider, [answer], schema=Renamed)
    finally:
        Renamed.__name__ = "Renamed"
    assert "target" in json.dumps(first.body) and "acquirer" not in json.dumps(first.body)
    assert "acquirer" in json.dumps(second.body) and "target" not in json.dumps(second.body)


def test_one_response_class_per_schema_already_wrapped_for_instructor() -> None:
    from instructor import ResponseSchema
    from instructor.v2.core.response_model import prepare_response_model

    from llm_extract.backends.base import ChatRequest
    from llm_extract.backends.providers import _answer_model
    from llm_extract.prompts.build import schema_digest

    def request(schema: dict[str, Any]) -> ChatRequest:
        return ChatRequest([], schema, "Buyer", 64, 0.0, 0, False)

    one = _answer_model(request({"type": "object", "properties": {"a": {"type": "string"}}}))
    same = _answer_model(request({"properties": {"a": {"type": "string"}}, "type": "object"}))
    other = _answer_model(request({"type": "object", "properties": {"b": {"type": "string"}}}))
    assert one is same and one is not other and one.__name__ == "Buyer"
    assert issubclass(one, ResponseSchema)
    assert prepare_response_model(one) is one  # no wrapper class made per call
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    told = dataclasses.replace(request(schema), schema_digest=schema_digest(schema))
    assert _answer_model(told) is one
    elsewhere = dataclasses.replace(request(schema), schema_digest=schema_digest({"b": 1}))
    assert _answer_model(elsewhere) is not one  # a caller's digest is taken as given


def test_gemini_gets_a_function_declaration_and_its_own_key_header() -> None:
    _, [request], _ = run("google", [completion(GOOD)])
    [tool] = request.body["tools"]
    [declared] = tool["functionDeclarations"]
    assert "buyer" in json.dumps(declared)
    assert request.headers["x-goog-api-key"] == KEY


@pytest.mark.parametrize("provider", ["anthropic", "google"])
def test_a_429_is_retried_after_the_wait_the_server_asked_for(provider: str) -> None:
    result, sent, _ = run(provider, [rate_limited(0), server_error(503), completion(GOOD)])
    assert isinstance(result, Buyer), result
    assert len(sent) == 3


@pytest.mark.parametrize("provider", ["anthropic", "google"])
def test_a_provider_that_keeps_failing_is_a_typed_transient_error(provider: str) -> None:
    result, sent, _ = run(provider, [server_error(500)], transport_retries=2)
    assert isinstance(result, BackendError)
    assert result.status == 500 and result.transient
    assert len(sent) == 3
    assert KEY not in str(result)


@pytest.mark.parametrize("provider", ["anthropic", "google"])
def test_a_hung_provider_times_out_as_a_transient_error(provider: str) -> None:
    result, sent, _ = run(provider, [hang(5)], timeout=0.5, transport_retries=0)
    assert isinstance(result, BackendError), result
    assert result.transient
    assert len(sent) == 1


@pytest.mark.parametrize("provider", ["anthropic", "google"])
def test_a_truncated_answer_is_re_asked_not_accepted(provider: str) -> None:
    cut = completion('{"buyer": "Brindle Foods", "target": "Corvid Mills"}', finish_reason="length")
    result, sent, report = run(provider, [cut, completion(GOOD)])
    assert isinstance(result, Buyer), result
    assert len(sent) == 2
    assert report.calls[0].problems, "the cut answer was not reported as a problem"


@pytest.mark.parametrize("provider", ["anthropic", "google"])
def test_prose_instead_of_a_tool_call_is_re_asked(provider: str) -> None:
    prose = completion("Brindle Foods is buying Corvid Mills.")  # FAULT FIXTURE
    result, sent, _ = run(provider, [prose, completion(GOOD)])
    assert isinstance(result, Buyer), result
    assert len(sent) == 2


@pytest.mark.parametrize("provider", ["anthropic", "google"])
def test_a_refusal_is_a_typed_refusal(provider: str) -> None:
    result, sent, _ = run(provider, [refusal()])
    assert isinstance(result, RefusalError), result
    assert len(sent) == 1


def test_re_asks_through_instructor_stay_bounded() -> None:
    """Each re-ask carries only the latest rejected answer, so the tenth prompt is
    no bigger than the second (instructor's own re-ask would append all nine)."""
    bad = completion(json.dumps({"buyer": "Brindle Foods", "target": 7}))  # FAULT FIXTURE
    result, sent, _ = run("ollama", [bad], reasks=9)
    assert len(sent) == 10
    sizes = [len(json.dumps(r.body["messages"])) for r in sent]
    assert sizes[9] <= sizes[1]
    assert isinstance(result, Exception)


def test_extract_deals_through_anthropic_returns_grounded_deals() -> None:
    slots = {
        "trigger": "agreed to buy",
        "deal_type": "acquisition",
        "buyer": "Brindle Foods",
        "target": "Corvid Mills",
        "seller": None,
        "amount": "9 mln dlrs",
        "status": "agreed",
        "business": "flour maker",
        "location": "Leeds",
    }
    with fake_server([completion(json.dumps(slots))]) as srv:
        result = extract_deals(
            TEXT,
            model="anthropic/m-test",
            base_url=srv.root_url,
            api_key=KEY,
            strategy="record",
        )
    deal = result.main_deal
    assert deal is not None
    assert deal.purchaser == ["Brindle Foods"]
    assert deal.acquired == ["Corvid Mills"]


def test_a_provider_prefix_is_never_the_embedded_model() -> None:
    settings = Settings(model="anthropic/claude-test")
    assert not settings.embedded
    assert route(settings).provider == "anthropic"
    assert route(Settings(model="gpt-4o-mini", api_key=KEY)).provider == "openai"
