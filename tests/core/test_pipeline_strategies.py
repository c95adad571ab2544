"""The extraction strategies: compact slots (strategy="record") and deal windows
(strategy="windows"), and which one the bare embedded model gets.

A scripted in-process backend (tests/core/pipeline_helpers.py) stands in for
the model; the articles are short invented texts.
"""

from __future__ import annotations

import pytest

from llm_extract import (
    ArticleDeals,
    NoDealFound,
    Report,
    TruncatedOutputError,
    extract_deal,
    extract_deals,
)
from tests.core.pipeline_helpers import (
    ARTICLE,
    COMPACT,
    CORVID,
    INJECTED,
    NO_DEAL_ARTICLE,
    SETTINGS,
    SLOTS,
    TWO_WINDOWS,
    ScriptedBackend,
    reply,
)

# --------------------------------------------------------------------------- compact slots


def test_compact_mode_maps_slots_onto_article_deals() -> None:
    backend = ScriptedBackend(SLOTS)
    report = Report()
    result = extract_deals(ARTICLE, settings=COMPACT, backend=backend, report=report)
    assert backend.requests[0].schema_name == "DealSlots"
    assert report.calls[0].prompt_version.startswith("deal_slots@")
    deal = result.main_deal
    assert deal is not None
    assert deal.purchaser == ["Norvane Robotics"]
    assert deal.acquired == ["Lakeshore Sensors Ltd"]
    assert deal.acquired_business == "lidar units"
    assert deal.acquired_location == "Duluth"
    assert deal.amount is not None and deal.amount.text == "18 mln dlrs"
    assert [c.name for c in result.companies] == ["Norvane Robotics", "Lakeshore Sensors Ltd"]


def test_compact_mode_drops_an_invented_buyer() -> None:
    slots = {**SLOTS, "buyer": INJECTED}
    backend = ScriptedBackend(slots, slots)
    report = Report()
    deal = extract_deal(ARTICLE, settings=COMPACT, backend=backend, report=report)
    assert deal.purchaser == []
    assert deal.acquired == ["Lakeshore Sensors Ltd"]
    assert [(d.path, d.value) for d in report.calls[0].dropped] == [("buyer", INJECTED)]


def test_compact_mode_with_no_parties_is_no_deal() -> None:
    slots = dict.fromkeys(SLOTS) | {"deal_type": "other"}
    with pytest.raises(NoDealFound) as info:
        extract_deal(NO_DEAL_ARTICLE, settings=COMPACT, backend=ScriptedBackend(slots))
    assert info.value.result == ArticleDeals(deals=[], companies=[])


def test_compact_mode_answers_no_deal_without_a_model_call_when_no_deal_words() -> None:
    backend = ScriptedBackend()
    report = Report()
    settings = SETTINGS.with_(strategy="record")
    result = extract_deals(NO_DEAL_ARTICLE, settings=settings, backend=backend, report=report)
    assert result.deals == [] and backend.requests == []
    assert report.calls[0].attempts == 0


# --------------------------------------------------------------------------- deal windows


def test_a_window_that_stays_cut_off_loses_only_its_own_deals() -> None:
    backend = ScriptedBackend(reply('{"deals": [{"trigger": "merger', finish="length"), CORVID)
    report = Report()
    result = extract_deals(TWO_WINDOWS, backend=backend, report=report, strategy="windows",
                           window_chars=200, reasks=0)  # fmt: skip
    assert [[p.name for p in d.parties] for d in result.deals] == [
        ["Brindle Foods", "Corvid Mills"]
    ]
    [call] = report.calls
    assert any("window[0]" in p and "no usable answer" in p for p in call.problems)


def test_every_window_cut_off_is_an_error_not_an_empty_result() -> None:
    cut = reply('{"deals": [{"trigger": "merger', finish="length")
    backend = ScriptedBackend(cut, cut)
    with pytest.raises(TruncatedOutputError):
        extract_deals(TWO_WINDOWS, backend=backend, strategy="windows", window_chars=200, reasks=0)


def test_the_bare_embedded_model_fills_one_record_and_an_explicit_strategy_is_kept() -> None:
    slots = {"buyer": "Brindle Foods", "target": "Corvid Mills", "seller": None,
             "amount": "9 mln dlrs", "status": "agreed", "business": None, "location": None,
             "trigger": "agreed to buy", "deal_type": "acquisition"}  # fmt: skip
    backend = ScriptedBackend(slots)
    extract_deals(TWO_WINDOWS, backend=backend, adapter="none")
    assert [r.schema_name for r in backend.requests] == ["DealSlots"]
    backend = ScriptedBackend(CORVID)
    extract_deals(TWO_WINDOWS, backend=backend, adapter="none", strategy="windows")
    assert [r.schema_name for r in backend.requests] == ["WindowDeals"]


def test_one_window_stating_a_deal_twice_gives_one_deal() -> None:
    """A passage that states a deal and then its closing gets one record of it,
    the first record's fields winning and the repeat filling its gaps."""
    text = TWO_WINDOWS.split("\n\n")[1]
    again = {**CORVID["deals"][0], "trigger": "expect the deal to close", "amount": None,
             "status": None, "location": "Leeds", "background": True}  # fmt: skip
    backend = ScriptedBackend({"deals": [CORVID["deals"][0], again]})
    result = extract_deals(text, backend=backend, strategy="windows", reasks=0)
    [deal] = result.deals
    assert deal.trigger == "agreed to buy" and deal.amount is not None
    assert deal.acquired_location == "Leeds" and deal.background is False
