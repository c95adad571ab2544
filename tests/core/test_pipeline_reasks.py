"""Re-asks in the extraction loop (llm_extract.core.pipeline): invalid JSON,
schema errors, the re-ask budget, truncation, refusal and empty answers.

A scripted in-process backend (tests/core/pipeline_helpers.py) stands in for
the model; the broken answers are fault fixtures.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from llm_extract import (
    ArticleDeals,
    EmptyResponseError,
    ExtractionError,
    RefusalError,
    Report,
    TruncatedOutputError,
    ValidationFailedError,
    extract_deals,
)
from llm_extract.backends.base import Completion
from llm_extract.errors import AttemptRecord
from tests.core.pipeline_helpers import (
    ARTICLE,
    GOOD,
    INVALID,
    PARTIES,
    SETTINGS,
    TRUNCATED,
    ScriptedBackend,
    dumps,
    last_user,
    reply,
)

# --------------------------------------------------------------------------- re-asks


def test_invalid_json_is_reasked_then_accepted() -> None:
    # FAULT FIXTURE: prose with no JSON at all
    backend = ScriptedBackend("The article is about an acquisition.", GOOD)
    report = Report()
    extract_deals(ARTICLE, settings=SETTINGS, backend=backend, report=report)
    assert len(backend.requests) == 2
    assert report.calls[0].attempts == 2
    assert any(p.startswith("invalid JSON") for p in report.calls[0].problems)
    assert "invalid JSON" in last_user(backend.requests[1])


def test_schema_errors_are_reasked_with_only_the_latest_answer() -> None:
    answers = [
        {"deals": [{"deal_type": f"takeover_{i}", "parties": PARTIES}], "companies": []}
        for i in range(3)
    ]
    backend = ScriptedBackend(*answers, GOOD)
    report = Report()
    result = extract_deals(
        ARTICLE, settings=SETTINGS.with_(reasks=3), backend=backend, report=report
    )
    assert result == ArticleDeals.model_validate(GOOD)
    assert report.calls[0].attempts == 4

    first = backend.requests[0].messages
    sizes = set()
    for k, request in enumerate(backend.requests[1:], start=1):
        messages = request.messages
        assert messages[: len(first)] == first  # the original turns, unchanged
        extra = messages[len(first) :]
        assert [m["role"] for m in extra] == ["assistant", "user"]
        assert extra[0]["content"] == dumps(answers[k - 1])  # the latest answer only
        reask = extra[1]["content"]
        assert "deals.0.deal_type" in reask
        assert "takeover" not in first[-1]["content"]
        for older in answers[: k - 1]:
            assert all(dumps(older) not in m["content"] for m in messages)
        sizes.add(sum(len(m["content"]) for m in messages))
    assert len(sizes) == 1  # context does not grow across re-asks


def test_reask_clips_a_huge_rejected_answer() -> None:
    huge = dumps(INVALID) + " " * 20_000 + "x"
    backend = ScriptedBackend(huge, GOOD)
    extract_deals(ARTICLE, settings=SETTINGS, backend=backend)
    assistant = backend.requests[1].messages[-2]
    assert assistant["role"] == "assistant"
    assert len(assistant["content"]) < 4_100


def test_validation_budget_exhausted_raises_with_attempts() -> None:
    answers = [dumps({**INVALID, "note": i}) for i in range(3)]
    backend = ScriptedBackend(*answers)
    report = Report()
    with pytest.raises(ValidationFailedError) as info:
        extract_deals(ARTICLE, settings=SETTINGS, backend=backend, report=report)
    exc = info.value
    assert len(backend.requests) == 3  # 1 + reasks
    assert len(exc.attempts) == 3
    assert all(isinstance(a, AttemptRecord) for a in exc.attempts)
    assert [a.raw for a in exc.attempts] == answers
    assert all(a.problems for a in exc.attempts)
    assert exc.last_raw == answers[-1]
    assert exc.errors == exc.attempts[-1].problems
    assert any("deals.0.deal_type" in e for e in exc.errors)
    assert any("note" in e for e in exc.errors)  # extra="forbid" is enforced
    assert "3 attempt" in str(exc)
    # the report is filled even when the call fails
    assert report.calls[0].attempts == 3
    assert report.calls[0].prompt_tokens == 300


def test_zero_reasks_fails_after_one_answer() -> None:
    backend = ScriptedBackend(INVALID)
    with pytest.raises(ValidationFailedError):
        extract_deals(ARTICLE, settings=SETTINGS.with_(reasks=0), backend=backend)
    assert len(backend.requests) == 1


# ------------------------------------------------------------------ truncation, refusal, empty


def test_length_truncated_answer_is_never_accepted() -> None:
    backend = ScriptedBackend(*[reply(TRUNCATED, finish="length")] * 3)
    with pytest.raises(TruncatedOutputError) as info:
        extract_deals(ARTICLE, settings=SETTINGS, backend=backend)
    assert len(backend.requests) == 3
    assert len(info.value.attempts) == 3
    assert all(a.finish_reason == "length" for a in info.value.attempts)
    assert all(a.problems[0].startswith("truncated") for a in info.value.attempts)
    assert info.value.last_raw == TRUNCATED
    assert "truncated" in last_user(backend.requests[1])


def test_length_truncated_then_complete_answer_is_accepted() -> None:
    backend = ScriptedBackend(reply(TRUNCATED, finish="length"), GOOD)
    report = Report()
    result = extract_deals(ARTICLE, settings=SETTINGS, backend=backend, report=report)
    assert len(result.main_deal.parties) == 2  # type: ignore[union-attr]
    assert "truncated" not in report.calls[0].repairs


@pytest.mark.parametrize(
    "answer",
    [
        reply(None, refusal="I can't help with that request."),
        reply(dumps(GOOD), refusal="I can't help with that request."),
        reply(None, finish="content_filter"),
    ],
    ids=["refusal", "refusal-with-content", "content-filter"],
)
def test_refusal_raises_at_once(answer: Completion) -> None:
    backend = ScriptedBackend(answer, GOOD)
    with pytest.raises(RefusalError) as info:
        extract_deals(ARTICLE, settings=SETTINGS, backend=backend)
    assert len(backend.requests) == 1
    assert info.value.attempts[0].problems[0].startswith("refused")


def test_empty_content_raises_after_budget() -> None:
    backend = ScriptedBackend(reply(None), reply("   "), reply(None, finish=None))
    with pytest.raises(EmptyResponseError) as info:
        extract_deals(ARTICLE, settings=SETTINGS, backend=backend)
    assert len(backend.requests) == 3
    assert len(info.value.attempts) == 3
    assert isinstance(info.value, ExtractionError)


def test_empty_content_then_answer_recovers() -> None:
    backend = ScriptedBackend(reply(None), GOOD)
    assert extract_deals(ARTICLE, settings=SETTINGS, backend=backend).main_deal is not None
    assert len(backend.requests) == 2


def test_deeply_nested_answer_is_an_extraction_error() -> None:
    # FAULT FIXTURE: a looping model emitting thousands of brackets
    deep = "[" * 3000 + "]" * 3000
    backend = ScriptedBackend(deep, deep, deep)
    with pytest.raises(ExtractionError):
        extract_deals(ARTICLE, settings=SETTINGS, backend=backend)


json_ish = st.one_of(
    st.text(max_size=200),
    st.text(alphabet='{}[]",:0123456789 truefalsn\\abc\n`', max_size=200),
    st.builds(lambda cut: dumps(GOOD)[:cut], st.integers(0, len(dumps(GOOD)))),
)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=json_ish, finish=st.sampled_from(["stop", "length", None]))
def test_any_answer_gives_a_result_or_an_extraction_error(raw: str, finish: str | None) -> None:
    backend = ScriptedBackend(*[reply(raw, finish=finish)] * 3)
    try:
        result = extract_deals(ARTICLE, settings=SETTINGS, backend=backend)
    except ExtractionError as exc:
        assert exc.attempts and len(backend.requests) == len(exc.attempts) <= 3
    else:
        assert isinstance(result, ArticleDeals)
        assert finish != "length"
