"""Tests for llm_extract.evals.scoring: assignment, matching, field and Utah scoring.

Every company and figure here is invented.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_extract.errors import ConfigurationError
from llm_extract.evals.goldsets import GoldDeal, GoldDoc, GoldParty
from llm_extract.evals.scoring import (
    UTAH_SLOTS,
    assign,
    deals_to_utah_slots,
    normalize_ws,
    score_docs,
    score_utah,
    similarity,
    text_match,
)
from llm_extract.records.schemas import ArticleDeals, Deal, DealType, Money, Party, Role


def brute_force(scores: list[list[float]]) -> float:
    if len(scores) > len(scores[0]):
        scores = [list(col) for col in zip(*scores, strict=True)]
    perms = itertools.permutations(range(len(scores[0])), len(scores))
    return max(sum(row[j] for row, j in zip(scores, p, strict=True)) for p in perms)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 5), st.integers(1, 6), st.data())
def test_assign_matches_brute_force(n: int, m: int, data: st.DataObject) -> None:
    row = st.lists(st.floats(-10, 10, allow_nan=False), min_size=m, max_size=m)
    scores = data.draw(st.lists(row, min_size=n, max_size=n))
    pairs = assign(scores)
    assert len(pairs) == min(n, m)
    assert len({i for i, _ in pairs}) == len({j for _, j in pairs}) == len(pairs)
    total = sum(scores[i][j] for i, j in pairs)
    assert total == pytest.approx(brute_force(scores), abs=1e-9)


def test_assign_edge_cases() -> None:
    assert assign([]) == []
    assert assign([[]]) == []
    assert assign([[0.0, 5.0], [5.0, 0.0]]) == [(0, 1), (1, 0)]
    with pytest.raises(ValueError):
        assign([[1.0], [1.0, 2.0]])


def test_assign_without_scipy_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)  # import fails as if not installed
    with pytest.raises(ConfigurationError, match=re.escape('pip install "llm-extract[evals]"')):
        assign([[1.0]])


def test_exact_vs_fuzzy_matching() -> None:
    assert normalize_ws("  Zentrix \n Robotics  ") == "Zentrix Robotics"
    assert text_match("Zentrix  Robotics", "Zentrix Robotics")
    assert not text_match("Zentrix Robotics Ltd", "Zentrix Robotics")
    assert similarity("Zentrix Robotics Ltd", "zentrix robotics") == pytest.approx(2 / 3)
    assert text_match("Zentrix Robotics Ltd", "Zentrix Robotics", mode="fuzzy", threshold=0.6)
    assert not text_match("Zentrix Robotics Ltd", "Zentrix Robotics", mode="fuzzy")
    assert text_match("Zentrix", ["Zentrix Robotics", "Zentrix"])  # any alternative
    with pytest.raises(ValueError):
        text_match("a", "a", mode="fuzzy", threshold=0.0)


def gold_doc(**deal: Any) -> dict[str, Any]:
    """A one-deal gold document; only the given fields are annotated."""
    return {"id": "d1", "deals": [deal]}


def pred_doc(**deal: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"deal_type": "acquisition", "parties": []}
    return {"id": "d1", "deals": [base | deal], "companies": []}


def test_fuzzy_mode_in_score_docs() -> None:
    gold = [gold_doc(parties=[{"name": "Varnel Optics", "role": "acquirer"}])]
    pred = [pred_doc(parties=[{"name": "Varnel Optics Ltd", "role": "acquirer"}])]
    assert score_docs(gold, pred).fields["parties"].f1 == 0.0
    assert score_docs(gold, pred, mode="fuzzy", threshold=0.6).fields["parties"].f1 == 1.0


def test_single_valued_categories() -> None:
    cases = [
        ("40 mln dlrs", None),  # omission
        (None, "7 mln dlrs"),  # hallucination
        (["9 mln stg", "nine mln stg"], "nine  mln stg"),  # tp, via an alternative
        ("12 mln dlrs", "21 mln dlrs"),  # mismatch: one fp and one fn
        (None, None),  # nothing to count
    ]
    gold: list[dict[str, Any]] = []
    pred: list[dict[str, Any]] = []
    for i, (g, p) in enumerate(cases):
        gold.append({"id": str(i), "deals": [{"deal_type": "acquisition", "amount": g}]})
        deal: dict[str, Any] = {"deal_type": "acquisition", "amount": p and {"text": p}}
        pred.append({"id": str(i), "deals": [deal]})
    s = score_docs(gold, pred).fields["amount"]
    assert (s.tp, s.fp, s.fn) == (1, 2, 2)
    assert (s.omissions, s.hallucinations, s.mismatches) == (1, 1, 1)
    assert s.precision == pytest.approx(1 / 3)
    assert s.recall == pytest.approx(1 / 3)
    assert s.f1 == pytest.approx(1 / 3)
    kinds = {d["kind"] for doc in score_docs(gold, pred).docs.values() for d in doc.diffs}
    assert kinds == {"omission", "hallucination", "mismatch"}


def test_list_fields_order_independent() -> None:
    gold = [gold_doc(products=["solar inverters", ["battery packs", "batteries"], "cables"])]
    for order in (["cables", "batteries", "pumps"], ["pumps", "batteries", "cables"]):
        s = score_docs(gold, [pred_doc(products=order)]).fields["products"]
        assert (s.tp, s.fp, s.fn, s.mismatches) == (2, 1, 1, 1)
        assert s.f1 == pytest.approx(2 / 3)


def test_volumes_people_companies_and_unannotated_fields() -> None:
    deal = {"volumes": ["2,000 jobs"], "people": [{"name": ["Ana Pelt", "A. Pelt"]}]}
    companies = [["Brightwell Foods", "Brightwell"], "Osk Mills"]
    gold = [{"id": "d1", "deals": [deal], "companies": companies}]
    pred = pred_doc(
        deal_type="other",
        volumes=[{"text": "2,000 jobs", "value": 2000.0}],
        people=[{"name": "A. Pelt", "title": "CEO"}],
        amount={"text": "1 mln dlrs"},
    ) | {"companies": [{"name": "Brightwell Group", "aliases": ["Brightwell"]}]}
    s = score_docs(gold, [pred]).fields
    assert s["volumes"].tp == s["people"].tp == 1
    assert (s["companies"].tp, s["companies"].fn) == (1, 1)
    assert s["deal_type"].fp == s["amount"].fp == 0  # not annotated: not scored


def test_goldset_models_absent_vs_null() -> None:
    deal = GoldDeal(parties=[GoldParty(name="Lumo Bank", role=Role.INVESTOR)], amount=None)
    gold = [GoldDoc(id="d1", text="An invented story.", deals=[deal])]
    pred = pred_doc(
        parties=[{"name": "Lumo Bank", "role": "investor"}],
        amount={"text": "2 mln dlrs"},
        products=["loans"],
    )
    s = score_docs(gold, [pred]).fields
    assert s["amount"].hallucinations == 1  # null: annotated as none
    assert s["products"].fp == 0  # absent: not annotated
    assert s["purchaser"].f1 == 1.0


def party(name: str, role: str | list[str]) -> dict[str, Any]:
    return {"name": name, "role": role}


def test_parties_need_role_match_party_names_do_not() -> None:
    gold = [gold_doc(parties=[party("Harlow Steel", "acquirer"), party("Pennick Wire", "target")])]
    pred = [
        pred_doc(parties=[party("Pennick Wire", "acquirer"), party("Harlow Steel", "acquirer")])
    ]
    s = score_docs(gold, pred).fields
    assert (s["parties"].tp, s["parties"].mismatches) == (1, 1)
    assert s["party_names"].f1 == 1.0
    assert (s["purchaser"].tp, s["purchaser"].hallucinations) == (1, 1)
    assert (s["acquired"].fn, s["acquired"].omissions) == (1, 1)


def test_a_gold_role_list_accepts_any_of_its_roles_and_no_other() -> None:
    """A coarse corpus role (an undirected partner) lists the roles it covers."""
    sides = [party("Harlow Steel", ["partner", "client", "supplier"])]
    sides.append(party("Pennick Wire", ["investor", "acquirer"]))
    gold = [gold_doc(deal_type=["partnership", "sourcing_agreement"], parties=sides)]
    GoldDoc.model_validate(gold[0] | {"text": "Harlow Steel and Pennick Wire."})
    right = pred_doc(deal_type="sourcing_agreement", parties=[party("Harlow Steel", "client")])
    right["deals"][0]["parties"].append(party("Pennick Wire", "acquirer"))
    s = score_docs(gold, [right]).fields
    assert (s["parties"].tp, s["deal_type"].tp, s["purchaser"].tp) == (2, 1, 1)
    wrong = pred_doc(deal_type="licensing", parties=[party("Harlow Steel", "target")])
    scores = score_docs(gold, [wrong])
    assert (scores.fields["parties"].tp, scores.fields["deal_type"].mismatches) == (0, 1)
    shown = {d["gold"] for d in scores.docs["d1"].diffs if d["field"] == "parties"}
    assert "Harlow Steel (partner|client|supplier)" in shown


def two_deals(amount: Any = str) -> list[dict[str, Any]]:
    return [
        {"deal_type": "acquisition", "parties": [party(name, "acquirer")], "amount": amount(text)}
        for name, text in (("Orvane Corp", "3 mln dlrs"), ("Tesmond Inc", "8 mln dlrs"))
    ]


def test_deal_alignment_follows_party_names_not_order() -> None:
    gold = [{"id": "x", "deals": two_deals()}]
    swapped = two_deals(lambda text: {"text": text})[::-1]
    s = score_docs(gold, [{"id": "x", "deals": swapped}])
    assert s.micro_f1 == 1.0
    assert s.fields["amount"].tp == 2


def test_missing_and_extra_documents() -> None:
    gold = [{"id": "x", "deals": two_deals(), "companies": ["Orvane Corp"]}]
    s = score_docs(gold, [{"id": "other", "deals": []}])
    assert s.extra_docs == ["other"]
    assert s.docs["x"].missing
    assert s.micro.tp == s.micro.fp == 0
    assert s.micro.fn == s.micro.omissions > 0
    assert s.fields["companies"].fn == 1
    json.dumps(s.to_dict())


def test_hallucinated_deal_and_model_input() -> None:
    gold = [{"id": "x", "deals": [two_deals()[0]]}]
    deals = [
        Deal(
            deal_type=DealType.ACQUISITION,
            parties=[Party(name="Orvane Corp", role=Role.ACQUIRER)],
            amount=Money(text="3 mln dlrs"),
        ),
        Deal(deal_type=DealType.MERGER, parties=[Party(name="Kelby Ltd", role=Role.PARTNER)]),
    ]
    pred = [{"id": "x", **ArticleDeals(deals=deals).model_dump(mode="json")}]
    s = score_docs(gold, pred)
    assert (s.fields["amount"].tp, s.fields["amount"].fp) == (1, 0)  # merger has no amount
    assert s.fields["deal_type"].hallucinations == 1
    assert s.fields["party_names"].hallucinations == 1
    assert [r[0] for r in s.table_rows()][-1] == "micro"


UTAH_GOLD: dict[str, Any] = {
    "id": "101",
    "acquired": [["Dunmore Plastics Inc", "Dunmore Plastics"]],
    "acqbus": [["plastic film"]],
    "acqloc": [],
    "dlramt": [["14 mln dlrs"]],
    "purchaser": [["Crestline Group"], ["Fallow Partners"]],
    "seller": [],
    "status": [["agreed"]],
}


def test_utah_hand_computed() -> None:
    pred = {
        "id": "101",
        "acquired": [["Dunmore  Plastics"]],  # tp via the second alternative
        "acqbus": [],  # fn
        "dlramt": [["14 mln dlrs"]],  # tp
        "purchaser": [["Fallow Partners"], ["Crestline"]],  # tp + mismatch
        "seller": [["Crestline Group"]],  # fp
        "status": [["completed", "agreed"]],  # tp: any predicted string may match
    }
    s = score_utah([UTAH_GOLD], [pred])
    assert (s.micro.tp, s.micro.fp, s.micro.fn) == (4, 2, 2)
    assert s.micro.precision == pytest.approx(4 / 6)
    assert s.micro.recall == pytest.approx(4 / 6)
    assert s.micro_f1 == pytest.approx(2 / 3)
    assert s.fields["purchaser"].f1 == pytest.approx(0.5)
    assert s.fields["seller"].hallucinations == 1
    assert s.fields["acqloc"].tp + s.fields["acqloc"].fp + s.fields["acqloc"].fn == 0


def random_rows(seed: int, n: int = 6) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    names = ["Alder", "Birch", "Cedar", "Dogwood", "Elm", "Fir"]
    return [
        {"id": str(i)}
        | {
            slot: [
                [f"{rng.choice(names)} {slot} {k}", f"alt {k}"] for k in range(rng.randint(0, 3))
            ]
            for slot in UTAH_SLOTS
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("seed", range(5))
def test_utah_properties(seed: int) -> None:
    gold = random_rows(seed)
    n_gold = sum(len(r[s]) for r in gold for s in UTAH_SLOTS)
    perfect = [{"id": r["id"]} | {s: [[f[0]] for f in r[s]] for s in UTAH_SLOTS} for r in gold]
    assert score_utah(gold, perfect).micro_f1 == 1.0
    empty = score_utah(gold, [{"id": r["id"]} for r in gold])
    assert (empty.micro.precision, empty.micro.recall, empty.micro_f1) == (0.0, 0.0, 0.0)
    assert (empty.micro.tp, empty.micro.fp, empty.micro.fn) == (0, 0, n_gold)
    rng = random.Random(seed)
    noisy = [{"id": r["id"]} | {s: [*r[s][:1], ["Noise Co"]] for s in UTAH_SLOTS} for r in gold]
    shuffled = [
        {"id": r["id"]} | {s: rng.sample(r[s], len(r[s])) for s in UTAH_SLOTS} for r in noisy
    ]
    rng.shuffle(shuffled)
    assert score_utah(gold, noisy).to_dict() == score_utah(gold, shuffled).to_dict()


NAMES = ("Hollis Bank", "Mardon Oil", "Pike Capital", "Quarry Estates")
ROLES = (Role.INVESTOR, Role.TARGET, Role.ACQUIRER, Role.SELLER)


def test_deals_to_utah_slots() -> None:
    result = ArticleDeals(
        deals=[
            Deal(deal_type=DealType.PARTNERSHIP, parties=[Party(name="Aurel", role=Role.PARTNER)]),
            Deal(
                deal_type=DealType.STAKE_PURCHASE,
                parties=[Party(name=n, role=r) for n, r in zip(NAMES, ROLES, strict=True)],
                amount=Money(text="60 mln dlrs"),
                status="completed",
                acquired_business="oil refining",
            ),
        ]
    )
    slots = deals_to_utah_slots(result.model_dump(mode="json"))
    assert slots == {
        "acquired": [["Mardon Oil"]],
        "acqbus": [["oil refining"]],
        "acqloc": [],
        "dlramt": [["60 mln dlrs"]],
        "purchaser": [["Pike Capital"], ["Hollis Bank"]],
        "seller": [["Quarry Estates"]],
        "status": [["completed"]],
    }
    only = ArticleDeals(deals=[result.deals[0]]).model_dump(mode="json")
    assert deals_to_utah_slots(only)["purchaser"] == []  # falls back to the first deal
    assert deals_to_utah_slots({"deals": []}) == {s: [] for s in UTAH_SLOTS}


def test_invented_deals_counts_documents_without_gold_deals_that_got_one() -> None:
    from llm_extract.evals.scoring import invented_deals

    gold = [{"id": "a", "deals": []}, {"id": "b", "deals": []}, {"id": "c", "deals": [{}]}]
    pred = [{"id": "a", "deals": [{"deal_type": "acquisition"}]}, {"id": "b", "deals": []}]
    assert invented_deals(gold, pred) == {"documents": 2, "with_deal": 1, "rate": 0.5}
