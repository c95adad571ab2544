"""The invented training passages: rebuilt exactly from their seed, and every
value of every deal stands in the passage, after the deal's sentence start.

The adapter is trained on these rows, so a pattern that wrote a name that is
not in its own sentence would teach the model to invent one.
"""

from __future__ import annotations

import json

from llm_extract.records.slots import WindowDeals
from train import build_data, house

TEXT_FIELDS = ("trigger", "buyer", "target", "seller", "amount", "business", "location", "date")


def test_a_seed_rebuilds_the_same_passages_and_another_seed_does_not() -> None:
    assert house.build(40) == house.build(40)
    assert house.build(40, seed=1) != house.build(40)


def test_every_value_stands_in_the_passage_after_its_sentence_start() -> None:
    for row in house.build(300):
        for deal in row["deals"]:
            for key in TEXT_FIELDS:
                value = deal[key]
                if value is not None:
                    assert value in row["text"][deal["at"] :], (row["id"], key, value)


def test_the_passages_cover_every_kind_and_background_and_no_deal() -> None:
    rows = house.build(300)
    kinds = {d["type"] for r in rows for d in r["deals"]}
    assert kinds >= {
        "contract_manufacturing",
        "sourcing_agreement",
        "licensing",
        "distribution",
        "partnership",
        "joint_venture",
        "investment",
        "acquisition",
        "stake_purchase",
        "merger",
    }
    assert any(d["background"] for r in rows for d in r["deals"])
    assert any(not r["deals"] for r in rows)


def test_each_window_answer_is_what_the_library_parses() -> None:
    for _, text, deals in build_data.house_articles(60):
        parsed = WindowDeals.model_validate(json.loads(build_data.answer(deals, text)))
        assert len(parsed.deals) == len(deals)
        assert all(d.buyer is None or d.buyer in text for d in parsed.deals)
