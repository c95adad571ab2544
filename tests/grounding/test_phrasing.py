"""A fixed phrasing's evidence applied to a window's answer (relations.with_phrases)."""

from __future__ import annotations

from typing import Any

from llm_extract.grounding.phrasing import with_phrases
from llm_extract.records.slots import WindowDeal
from llm_extract.text.phrases import phrase_deals


def _deal(**values: Any) -> WindowDeal:
    base: dict[str, Any] = dict.fromkeys(WindowDeal.model_fields)
    base |= {"type": "acquisition", "background": False}
    return WindowDeal.model_validate(base | values)


def _pairs(deals: list[WindowDeal]) -> list[tuple[str, str | None, str | None]]:
    return [(d.type.value, d.buyer, d.target) for d in deals]


def test_the_phrase_turns_a_deal_the_model_gave_the_wrong_way_round() -> None:
    text = "Netflix's acquisition of Millarworld was its first."
    answer = [_deal(trigger="acquisition", buyer="Millarworld", target="Netflix")]
    deals, extra, notes = with_phrases(answer, phrase_deals(text), "window[0]")
    assert _pairs(deals) == [("acquisition", "Netflix", "Millarworld")] and extra == []
    assert [n.path for n in notes] == ["window[0].deals[0].buyer"]
    assert "other way round" in notes[0].reason


def test_a_partnership_named_the_other_way_round_is_left_alone() -> None:
    text = "Chinese RealMe partnered with Optiemus to make earphones."
    answer = [_deal(trigger="partnered", type="partnership", buyer="Optiemus", target="RealMe")]
    deals, extra, notes = with_phrases(answer, phrase_deals(text), "window[0]")
    assert deals == answer and extra == [] and notes == []


def test_a_one_sided_record_is_completed_and_keeps_the_models_spelling() -> None:
    text = "Brindle Foods Inc agreed to buy Corvid Mills."
    answer = [_deal(trigger="buy", buyer="Brindle Foods", background=True)]
    deals, extra, notes = with_phrases(answer, phrase_deals(text), "window[2]")
    assert _pairs(deals) == [("acquisition", "Brindle Foods", "Corvid Mills")]
    assert deals[0].background and extra == [] and notes[0].path == "window[2].deals[0]"


def test_a_phrase_the_answer_left_out_is_returned_apart_and_only_once() -> None:
    text = "Brindle agreed to buy Corvid. Brindle later agreed to buy Corvid again."
    answer = [_deal(trigger="partnered", type="partnership", buyer="Orrin", target="Pell")]
    deals, extra, notes = with_phrases(answer, phrase_deals(text), "window[0]")
    assert deals == answer and notes == []
    assert _pairs(extra) == [("acquisition", "Brindle", "Corvid")]


def test_a_deal_of_another_type_over_the_same_pair_keeps_the_models_type() -> None:
    text = "Brindle agreed to buy Corvid."
    answer = [_deal(trigger="buy", type="stake_purchase", buyer="Corvid", target="Brindle")]
    deals, extra, notes = with_phrases(answer, phrase_deals(text), "window[0]")
    assert deals == answer and extra == [] and notes == []


def test_a_completed_record_keeps_what_the_model_said_beyond_the_sides() -> None:
    text = "Brindle Foods Inc agreed to buy Corvid Mills for 9 mln dlrs."
    half = _deal(trigger="buy", buyer="Brindle Foods", seller="Halvard", amount="8 mln dlrs")
    [deal], _, _ = with_phrases([half], phrase_deals(text), "window[0]")
    assert (deal.target, deal.seller, deal.amount) == ("Corvid Mills", "Halvard", "8 mln dlrs")


def test_the_phrases_price_fills_a_deal_the_model_gave_without_one() -> None:
    text = "Brindle agreed to buy Corvid for 9 mln dlrs."
    answer = [_deal(trigger="buy", buyer="Brindle", target="Corvid")]
    [deal], extra, _ = with_phrases(answer, phrase_deals(text), "window[0]")
    assert deal.amount == "9 mln dlrs" and extra == []
