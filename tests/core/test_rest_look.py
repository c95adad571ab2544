"""The rest look: a window's deal-word sentences its deals left uncovered (Settings.rest_look)."""

from __future__ import annotations

import asyncio

import pytest

from llm_extract import Report, Settings, aextract_deals, extract_deals
from llm_extract.core.deals_job import uncovered
from llm_extract.text.windows import Window
from tests.core.pipeline_helpers import CORVID, ScriptedBackend

STORY = (
    "Brindle Foods agreed to buy Corvid Mills, a flour maker in Leeds, for 9 mln dlrs. "
    "The deal is expected to close in June. "
    "Corvid's shares rose 4 pct on the news. "
    "Trading was quiet elsewhere. "
    "Brindle already buys its sacks from Tamsin Paper under a supply agreement signed in 2021."
)
SUPPLY = {"deals": [{
    "trigger": "supply agreement", "type": "sourcing_agreement", "buyer": "Brindle",
    "target": "Tamsin Paper", "seller": None, "amount": None, "status": None,
    "business": None, "location": None, "date": None, "background": True,
}]}  # fmt: skip


def _window(text: str, start: int = 0) -> Window:
    return Window(start, start + len(text), text)


def test_sentences_two_away_from_every_trigger_with_a_deal_word_are_the_rest() -> None:
    [rest] = uncovered(_window(STORY, start=40), ["agreed to buy"])
    assert rest.text.startswith("Corvid's shares") and rest.text.endswith("2021.")
    assert STORY[rest.start - 40 : rest.end - 40] == rest.text


def test_nothing_is_left_when_the_rest_has_no_deal_word_or_a_trigger_is_not_found() -> None:
    short = STORY.rsplit(" Brindle already", 1)[0]
    assert uncovered(_window(short), ["agreed to buy"]) == []
    assert uncovered(_window(STORY), ["agreed to buy", "sold its mills"]) == []
    assert uncovered(_window(STORY), ["agreed to buy", None]) == []


def test_the_rest_is_asked_about_and_its_deal_joins_the_first() -> None:
    backend = ScriptedBackend(CORVID, SUPPLY)
    report = Report()
    result = extract_deals(STORY, backend=backend, report=report, strategy="windows",
                           window_chars=1200, reasks=0, second_look=0)  # fmt: skip
    assert [d.deal_type.value for d in result.deals] == ["acquisition", "sourcing_agreement"]
    _first, second = backend.requests
    assert "Tamsin Paper" in second.messages[-1]["content"]
    assert "agreed to buy" not in second.messages[-1]["content"]
    assert report.calls[0].attempts == 2 and result.deals[1].background


def test_no_rest_look_when_it_is_turned_off_or_in_the_async_twin_the_same() -> None:
    backend = ScriptedBackend(CORVID)
    result = extract_deals(STORY, backend=backend, strategy="windows", window_chars=1200,
                           reasks=0, second_look=0, rest_look=False)  # fmt: skip
    assert len(result.deals) == 1 and len(backend.requests) == 1
    backend = ScriptedBackend(CORVID, SUPPLY)
    result = asyncio.run(aextract_deals(STORY, backend=backend, strategy="windows",
                                        window_chars=1200, reasks=0, second_look=0))  # fmt: skip
    assert len(result.deals) == 2 and backend.methods == ["acomplete", "acomplete"]


def test_the_environment_turns_the_rest_look_off_and_an_argument_wins() -> None:
    from llm_extract import ConfigurationError, Settings

    off = {"LLM_EXTRACT_REST_LOOK": "false"}
    assert Settings.resolve(env=off).rest_look is False
    assert Settings.resolve(rest_look=True, env=off).rest_look is True
    with pytest.raises(ConfigurationError, match="LLM_EXTRACT_REST_LOOK"):
        Settings.resolve(env={"LLM_EXTRACT_REST_LOOK": "sometimes"})


NO_DEALS: dict[str, list[object]] = {"deals": []}


def test_a_fixed_phrasing_the_answer_left_out_is_added_after_the_relation_checks() -> None:
    text = "Brindle Foods agreed to buy Corvid Mills. Analyst Ann Lee said Ann Lee bought Tull."
    result = extract_deals(text, backend=ScriptedBackend(NO_DEALS), strategy="windows",
                           window_chars=1200, reasks=0, second_look=0)  # fmt: skip
    assert [(d.deal_type.value, d.purchaser, d.acquired) for d in result.deals] == [
        ("acquisition", ["Brindle Foods"], ["Corvid Mills"])
    ]
    off = extract_deals(text, backend=ScriptedBackend(NO_DEALS), strategy="windows",
                        window_chars=1200, reasks=0, second_look=0, phrases=False)  # fmt: skip
    assert off.deals == []
    assert Settings.resolve(env={"LLM_EXTRACT_PHRASES": "0"}).phrases is False
