"""The second look at a deal window the model doubted was empty (Settings.second_look)."""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace
from typing import Any

import pytest

from llm_extract import Report, aextract_deals, extract_deals
from llm_extract.backends.base import Completion
from tests.core.pipeline_helpers import CORVID, TWO_WINDOWS, ScriptedBackend, reply

CORVID_TEXT = TWO_WINDOWS.split("\n\n")[1]
"""States "Brindle Foods agreed to buy Corvid Mills": tests of what the model's
answer alone gives turn the fixed phrasings off (``phrases=False``)."""


def empty(p: float) -> Completion:
    """``{"deals": []}`` whose empty list the model gave with probability ``p``."""
    pieces = ['{"', "deals", '":', " []", "}"]
    tokens = [(t, math.log(p) if t == " []" else -0.01) for t in pieces]
    return replace(reply('{"deals": []}'), tokens=tokens)


def _deals(result: Any) -> list[list[str]]:
    return [[p.name for p in d.parties] for d in result.deals]


def test_a_doubted_no_deals_is_asked_again_for_a_deal_and_the_deal_is_kept() -> None:
    backend = ScriptedBackend(empty(0.4), CORVID)
    report = Report()
    result = extract_deals(CORVID_TEXT, backend=backend, report=report, strategy="windows",
                           second_look=0.5, reasks=0)  # fmt: skip
    assert _deals(result) == [["Brindle Foods", "Corvid Mills"]]
    first, second = backend.requests
    assert first.schema["properties"]["deals"].get("minItems") is None
    assert second.schema["properties"]["deals"]["minItems"] == 1
    assert second.messages == first.messages
    [call] = report.calls
    assert call.attempts == 2
    assert any(c.path == "window[0]:deals" and math.isclose(c.p, 0.4) for c in call.confidence)


def test_a_sure_no_deals_or_a_zero_threshold_asks_once() -> None:
    for answer, threshold in ((empty(0.9), 0.5), (empty(0.1), 0.0)):
        backend = ScriptedBackend(answer)
        result = extract_deals(CORVID_TEXT, backend=backend, strategy="windows",
                               second_look=threshold, phrases=False)  # fmt: skip
        assert result.deals == [] and len(backend.requests) == 1


def test_what_the_second_look_invents_still_has_to_pass_the_relation_checks() -> None:
    invented = {"deals": [{**CORVID["deals"][0], "trigger": "signed a licensing deal",
                           "type": "licensing"}]}  # fmt: skip
    backend = ScriptedBackend(empty(0.2), invented)
    report = Report()
    result = extract_deals(CORVID_TEXT, backend=backend, report=report, strategy="windows",
                           second_look=0.5, reasks=0)  # fmt: skip
    assert result.deals == []
    assert any("trigger" in d.reason for d in report.calls[0].dropped)


def test_a_failed_second_look_keeps_no_deals_and_says_so() -> None:
    cut = reply('{"deals": [{"trigger": "agreed', finish="length")
    backend = ScriptedBackend(empty(0.2), cut)
    report = Report()
    result = extract_deals(CORVID_TEXT, backend=backend, report=report, strategy="windows",
                           second_look=0.5, reasks=0, phrases=False)  # fmt: skip
    assert result.deals == []
    assert any("second look failed" in p for p in report.calls[0].problems)


def test_the_async_twin_takes_the_same_second_look() -> None:
    backend = ScriptedBackend(empty(0.4), CORVID)
    result = asyncio.run(aextract_deals(CORVID_TEXT, backend=backend, strategy="windows",
                                        second_look=0.5, reasks=0))  # fmt: skip
    assert _deals(result) == [["Brindle Foods", "Corvid Mills"]]
    assert backend.methods == ["acomplete", "acomplete"]


def test_only_the_doubted_window_is_looked_at_again() -> None:
    backend = ScriptedBackend(empty(0.9), empty(0.3), CORVID)
    result = extract_deals(TWO_WINDOWS, backend=backend, strategy="windows", window_chars=200,
                           second_look=0.5, reasks=0)  # fmt: skip
    assert _deals(result) == [["Brindle Foods", "Corvid Mills"]]
    looked = backend.requests[2]
    assert "Corvid Mills" in looked.messages[-1]["content"]
    assert "Osk Holdings" not in looked.messages[-1]["content"]


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_second_look_is_a_probability(bad: float) -> None:
    from llm_extract import ConfigurationError, Settings

    with pytest.raises(ConfigurationError, match="second_look"):
        Settings(second_look=bad)
    assert Settings.resolve(env={"LLM_EXTRACT_SECOND_LOOK": "0.7"}).second_look == 0.7


def test_by_default_only_the_adapters_brief_takes_a_second_look_below_0_98() -> None:
    from llm_extract import Settings

    tuned = Settings(base_url="http://127.0.0.1:8080/v1",
                     model="gemma-3-270m-q4_k_m+deal-windows@0123456789", reasks=0)  # fmt: skip
    other = tuned.with_(model="qwen2.5-7b-instruct")
    backend = ScriptedBackend(empty(0.97), CORVID)
    extract_deals(CORVID_TEXT, backend=backend, settings=tuned, strategy="windows")
    assert len(backend.requests) == 2
    for settings, p in ((tuned, 0.99), (other, 0.1)):
        backend = ScriptedBackend(empty(p))
        extract_deals(CORVID_TEXT, backend=backend, settings=settings, strategy="windows")
        assert len(backend.requests) == 1
