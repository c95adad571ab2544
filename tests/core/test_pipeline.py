"""The extraction loop (llm_extract.core.pipeline): input checks, an accepted
answer and its report, repairs without a re-ask, and the Run drivers.

A scripted in-process backend (tests/core/pipeline_helpers.py) stands in for
the model; the articles are short invented texts.
"""

from __future__ import annotations

from typing import Any

import pytest

from llm_extract import ArticleDeals, InputError, Money, Report, extract_deals
from llm_extract.core.pipeline import Run, check_text, run_async, run_sync
from llm_extract.prompts.build import DEALS, GENERIC
from tests.core.pipeline_helpers import (
    ARTICLE,
    GOOD,
    HIRE,
    HIRE_ARTICLE,
    INVALID,
    SETTINGS,
    TRUNCATED,
    Hire,
    ScriptedBackend,
    dumps,
    last_user,
    reply,
)

# --------------------------------------------------------------------------- input checks


@pytest.mark.parametrize(
    "text",
    ["", "   \n\t ", "Norvane bought\x00Lakeshore", b"bytes are not text", None],
    ids=["empty", "whitespace", "nul", "bytes", "none"],
)
def test_unusable_input_is_rejected_before_any_call(text: Any) -> None:
    backend = ScriptedBackend()
    with pytest.raises(InputError) as info:
        extract_deals(text, settings=SETTINGS, backend=backend)
    assert isinstance(info.value, ValueError)
    assert backend.requests == []


@pytest.mark.parametrize("text", ["", "  ", "a\x00b"])
def test_check_text_rejects(text: str) -> None:
    with pytest.raises(InputError):
        check_text(text)


def test_check_text_returns_the_text_unchanged() -> None:
    assert check_text(ARTICLE) is ARTICLE


# --------------------------------------------------------------------------- acceptance


def test_valid_answer_is_accepted_first_try_with_report() -> None:
    backend = ScriptedBackend(reply(dumps(GOOD), prompt_tokens=321, completion_tokens=45))
    report = Report()
    result = extract_deals(ARTICLE, settings=SETTINGS, backend=backend, report=report)

    assert isinstance(result, ArticleDeals)
    deal = result.main_deal
    assert deal is not None
    assert deal.purchaser == ["Norvane Robotics"]
    assert deal.acquired == ["Lakeshore Sensors Ltd"]
    assert deal.amount is not None and deal.amount.text == "18 mln dlrs"

    assert len(backend.requests) == 1
    [call] = report.calls
    assert call.attempts == 1
    assert call.requests == 1
    assert (call.prompt_tokens, call.completion_tokens) == (321, 45)
    assert (report.prompt_tokens, report.completion_tokens, report.attempts) == (321, 45, 1)
    assert call.prompt_version.startswith("deals@")
    assert call.model == "fake-model"
    assert call.repairs == [] and call.problems == [] and call.dropped == []
    assert 0 < call.latency_s < 10  # the time the scripted call took, measured


def test_request_carries_settings_schema_and_article() -> None:
    settings = SETTINGS.with_(max_tokens=777, temperature=0.3, seed=42)
    backend = ScriptedBackend(GOOD)
    extract_deals(ARTICLE, settings=settings, backend=backend)
    [request] = backend.requests
    assert request.schema_name == "ArticleDeals"
    assert (request.max_tokens, request.temperature, request.seed) == (777, 0.3, 42)
    assert request.messages[0]["role"] == "system"
    assert "deals" in request.schema["properties"]
    assert request.schema["additionalProperties"] is False
    article_turn = last_user(request)
    assert ARTICLE in article_turn
    assert article_turn.index("<article>") < article_turn.index(ARTICLE)
    assert article_turn.index(ARTICLE) < article_turn.index("</article>")


def test_report_accumulates_across_calls_and_transport_requests() -> None:
    report = Report()
    extract_deals(
        ARTICLE,
        settings=SETTINGS,
        backend=ScriptedBackend(reply(dumps(GOOD), requests=3)),
        report=report,
    )
    extract_deals(ARTICLE, settings=SETTINGS, backend=ScriptedBackend(GOOD), report=report)
    assert len(report.calls) == 2
    assert report.calls[0].requests == 3
    assert report.attempts == 2
    assert report.prompt_tokens == 200
    assert report.completion_tokens == 100
    assert report.calls[1].to_dict()["attempts"] == 1


# --------------------------------------------------------------------------- repairs


@pytest.mark.parametrize(
    ("raw", "repairs"),
    [
        ("```json\n" + dumps(GOOD)[:-1] + ",}\n```", {"fence", "trailing_comma"}),
        ("Here is the record:\n" + dumps(GOOD) + "\nHope this helps!", {"prose"}),
        (dumps(GOOD).replace("]", ",]"), {"trailing_comma"}),
    ],
    ids=["fenced-trailing-comma", "prose", "trailing-commas"],
)
def test_repairable_answer_is_accepted_without_reask(raw: str, repairs: set[str]) -> None:
    backend = ScriptedBackend(raw)
    report = Report()
    result = extract_deals(ARTICLE, settings=SETTINGS, backend=backend, report=report)
    assert result == ArticleDeals.model_validate(GOOD)
    assert len(backend.requests) == 1
    assert set(report.calls[0].repairs) == repairs
    assert report.calls[0].attempts == 1


def test_truncated_tail_without_length_finish_is_repaired_and_reported() -> None:
    # a server that drops the tail but says "stop": repair is allowed, and named
    report = Report()
    result = extract_deals(
        ARTICLE, settings=SETTINGS, backend=ScriptedBackend(TRUNCATED), report=report
    )
    assert "truncated" in report.calls[0].repairs
    assert result.main_deal is not None
    assert result.main_deal.purchaser == ["Norvane Robotics"]


# --------------------------------------------------------------------------- Run / drivers


def test_run_sync_drives_a_run() -> None:
    backend = ScriptedBackend(INVALID, GOOD)
    run = Run(ARTICLE, ArticleDeals, DEALS, SETTINGS, backend)
    first = run.request()
    assert first.messages == run.base
    result = run_sync(run, backend)
    # the model's derived values are not taken: normalization fills them later
    assert result.deals[0].amount == Money(text="18 mln dlrs")
    assert result.model_dump(exclude={"deals": {0: {"amount"}}}) == ArticleDeals.model_validate(
        GOOD
    ).model_dump(exclude={"deals": {0: {"amount"}}})
    assert run.report.attempts == 2
    assert len(run.history) == 2
    assert run.history[0].problems and not run.history[1].problems
    assert backend.methods == ["complete", "complete"]


def test_run_take_accepts_or_prepares_a_reask() -> None:
    backend = ScriptedBackend()
    run = Run(HIRE_ARTICLE, Hire, GENERIC, SETTINGS, backend)
    assert run.take(reply(dumps({"person": 1})), 0.01) is None
    assert run.messages[-2] == {"role": "assistant", "content": dumps({"person": 1})}
    value = run.take(reply(dumps(HIRE)), 0.01)
    assert value == Hire(**HIRE)
    assert run.report.latency_s == pytest.approx(0.02)


async def test_run_async_drives_a_run() -> None:
    backend = ScriptedBackend(reply(None), GOOD)
    run = Run(ARTICLE, ArticleDeals, DEALS, SETTINGS, backend)
    result = await run_async(run, backend)
    assert result.main_deal is not None
    assert backend.methods == ["acomplete", "acomplete"]
