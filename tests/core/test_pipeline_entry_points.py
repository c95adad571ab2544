"""The public entry points over the loop (llm_extract.core.api): extract_deal,
extract with a user schema or prompt file, and the async twins.

A scripted in-process backend (tests/core/pipeline_helpers.py) stands in for
the model; the articles are short invented texts.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from llm_extract import (
    ArticleDeals,
    Deal,
    InputError,
    LLMExtractError,
    NoDealFound,
    RefusalError,
    Report,
    Role,
    TruncatedOutputError,
    ValidationFailedError,
    aextract,
    aextract_deal,
    aextract_deals,
    extract,
    extract_deal,
    extract_deals,
)
from tests.core.pipeline_helpers import (
    ARTICLE,
    COMPACT,
    GOOD,
    HIRE,
    HIRE_ARTICLE,
    INVALID,
    NO_DEAL_ARTICLE,
    NO_DEALS,
    SETTINGS,
    SLOTS,
    TRUNCATED,
    Hire,
    ScriptedBackend,
    dumps,
    last_user,
    reply,
)

# --------------------------------------------------------------------------- extract_deal / extract


def test_extract_deal_returns_the_main_deal() -> None:
    deal = extract_deal(ARTICLE, settings=SETTINGS, backend=ScriptedBackend(GOOD))
    assert isinstance(deal, Deal)
    assert deal.names_with(Role.TARGET) == ["Lakeshore Sensors Ltd"]


def test_extract_deal_on_an_empty_result_raises_no_deal_found() -> None:
    report = Report()
    with pytest.raises(NoDealFound) as info:
        extract_deal(
            NO_DEAL_ARTICLE, settings=SETTINGS, backend=ScriptedBackend(NO_DEALS), report=report
        )
    assert isinstance(info.value, LLMExtractError)
    assert isinstance(info.value.result, ArticleDeals)
    assert info.value.result.deals == []
    assert report.calls[0].attempts == 1


def test_extract_deals_on_an_empty_result_is_not_an_error() -> None:
    result = extract_deals(NO_DEAL_ARTICLE, settings=SETTINGS, backend=ScriptedBackend(NO_DEALS))
    assert result.main_deal is None


def test_extract_with_a_user_schema() -> None:
    backend = ScriptedBackend(HIRE)
    report = Report()
    hire = extract(HIRE_ARTICLE, Hire, settings=SETTINGS, backend=backend, report=report)
    assert hire == Hire(**HIRE)
    [request] = backend.requests
    assert request.schema_name == "Hire"
    assert set(request.schema["required"]) == set(Hire.model_fields)
    assert "Who was hired." in request.messages[0]["content"]  # the field guide
    call = report.calls[0]
    assert call.prompt_version.startswith("extract@")
    assert {e.path for e in call.evidence} == {"person", "employer", "title"}  # not the Literal


def test_extract_user_schema_reasks_on_wrong_types() -> None:
    backend = ScriptedBackend({**HIRE, "year": "last spring"}, HIRE)
    hire = extract(HIRE_ARTICLE, Hire, settings=SETTINGS, backend=backend)
    assert hire.year == 2021
    assert "year" in last_user(backend.requests[1])


def test_extract_with_a_custom_prompt_file(tmp_path: Any) -> None:
    template = tmp_path / "brief.j2"
    template.write_text("Fill {{ schema_name }}.\n{{ field_guide }}", encoding="utf-8")
    backend = ScriptedBackend(HIRE)
    report = Report()
    extract(HIRE_ARTICLE, Hire, prompt=template, settings=SETTINGS, backend=backend, report=report)
    assert backend.requests[0].messages[0]["content"].startswith("Fill Hire.")
    assert report.calls[0].prompt_version.startswith("custom:brief.j2@")


# --------------------------------------------------------------------------- async twins


async def test_aextract_deals() -> None:
    backend = ScriptedBackend("```json\n" + dumps(GOOD) + "\n```")
    report = Report()
    result = await aextract_deals(ARTICLE, settings=SETTINGS, backend=backend, report=report)
    assert result == ArticleDeals.model_validate(GOOD)
    assert backend.methods == ["acomplete"]
    assert report.calls[0].repairs == ["fence"]


async def test_aextract_deals_compact() -> None:
    backend = ScriptedBackend(SLOTS)
    result = await aextract_deals(ARTICLE, settings=COMPACT, backend=backend)
    assert result.main_deal is not None and result.main_deal.purchaser == ["Norvane Robotics"]
    assert backend.methods == ["acomplete"]


async def test_aextract_deal_and_no_deal() -> None:
    deal = await aextract_deal(ARTICLE, settings=SETTINGS, backend=ScriptedBackend(GOOD))
    assert deal.acquired == ["Lakeshore Sensors Ltd"]
    with pytest.raises(NoDealFound):
        await aextract_deal(NO_DEAL_ARTICLE, settings=SETTINGS, backend=ScriptedBackend(NO_DEALS))


async def test_aextract_user_schema_with_grounding_drop() -> None:
    class Hire2(BaseModel):
        person: str
        employer: str | None = None

    answer = {"person": "Dana Whitcombe", "employer": "Zentrix Holdings"}
    backend = ScriptedBackend(answer, answer)
    report = Report()
    hire = await aextract(HIRE_ARTICLE, Hire2, settings=SETTINGS, backend=backend, report=report)
    assert hire == Hire2(person="Dana Whitcombe", employer=None)
    assert backend.methods == ["acomplete", "acomplete"]
    assert [d.path for d in report.calls[0].dropped] == ["employer"]


async def test_async_errors_match_sync() -> None:
    backend = ScriptedBackend(*[reply(TRUNCATED, finish="length")] * 3)
    with pytest.raises(TruncatedOutputError):
        await aextract_deals(ARTICLE, settings=SETTINGS, backend=backend)
    with pytest.raises(RefusalError):
        await aextract_deals(
            ARTICLE, settings=SETTINGS, backend=ScriptedBackend(reply(None, refusal="no"))
        )
    with pytest.raises(InputError):
        await aextract(" ", Hire, settings=SETTINGS, backend=ScriptedBackend())
    backend = ScriptedBackend(INVALID, INVALID, INVALID)
    with pytest.raises(ValidationFailedError) as info:
        await aextract_deals(ARTICLE, settings=SETTINGS, backend=backend)
    assert len(info.value.attempts) == 3
