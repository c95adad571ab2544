"""Tests for llm_extract.evals.converters on the real corpus (skipped when it is missing)."""

from __future__ import annotations

import json
import re

from llm_extract.evals import converters as conv
from llm_extract.evals.goldsets import alternatives
from llm_extract.records.schemas import DealType, Role
from tests.conftest import corpus_file


def test_from_utah_keeps_every_slot_exactly() -> None:
    path = corpus_file("utah_acquisitions/dev.jsonl")
    docs = conv.from_utah(path)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(docs) == len(rows) == 398
    for doc, row in zip(docs, rows, strict=True):
        assert doc.id == f"utah-{row['id']}" and doc.text == row["text"]
        assert doc.slots == {k: row[k] for k in doc.slots or {}} and len(doc.slots or {}) == 7
        [deal] = doc.deals
        assert deal.names_with(Role.ACQUIRER) == row["purchaser"]
        assert deal.names_with(Role.TARGET) == row["acquired"]
        assert deal.names_with(Role.SELLER) == row["seller"]
        assert deal.amount == (row["dlramt"][0] if row["dlramt"] else None)
    by_id = {d.id: d for d in docs}
    assert by_id["utah-10371"].deals[0].amount == ["1.2 billion Belgian francs"]


def test_from_sentivent_gives_deal_docs_with_valid_types() -> None:
    docs = conv.from_sentivent(
        corpus_file("sentivent/docs.jsonl"), corpus_file("sentivent/deal_events.jsonl")
    )
    assert docs and len({d.id for d in docs}) == len(docs)
    assert all(re.fullmatch(r"sentivent-[a-z]+\d+", d.id) for d in docs)  # no headline in ids
    families = {tuple(types) for types in conv.SENTIVENT_FAMILIES.values()}
    families |= {(DealType.JOINT_VENTURE,), (DealType.LICENSING,)}
    for doc in docs:
        assert doc.deals and doc.text
        for deal in doc.deals:
            assert tuple(deal.deal_types()) in families
            for party in deal.parties or []:
                assert all(name in doc.text for name in alternatives(party.name))
    parties = [p for d in docs for deal in d.deals for p in deal.parties or []]
    assert any(" 's" in n for p in parties for n in alternatives(p.name))  # tokenised text kept
    heads = {deal.deal_types()[0] for d in docs for deal in d.deals}
    assert {DealType.ACQUISITION, DealType.INVESTMENT, DealType.PARTNERSHIP} <= heads
    kinds = [deal.deal_types() for d in docs for deal in d.deals]
    deal = next(k for k in kinds if k[0] is DealType.PARTNERSHIP)
    assert DealType.SOURCING_AGREEMENT in deal  # a supply contract is a SENTiVENT Deal


def test_from_fire_maps_buy_sell_and_merge() -> None:
    docs = conv.from_fire(corpus_file("fire/deal_subset_dev.jsonl"))
    assert docs
    for doc in docs:
        for deal in doc.deals:
            names = [alternatives(p.name)[0] for p in deal.parties or []]
            assert names and all(name in (doc.text or "") for name in names)
    [softbank] = [d for d in docs if (d.text or "").startswith("SoftBank bought COMDEX")]
    [deal] = softbank.deals
    assert deal.deal_type is DealType.ACQUISITION
    assert deal.names_with(Role.ACQUIRER) == [["SoftBank"]]
    assert deal.names_with(Role.TARGET) == [["COMDEX"]]
    assert deal.names_with(Role.SELLER) == [["The Interface Group"]]
    mergers = [deal for d in docs for deal in d.deals if deal.deal_type is DealType.MERGER]
    assert mergers and all(len(m.names_with(Role.PARTNER)) == 2 for m in mergers)
