"""Flat records onto deals: roles by type, and no relation of a company with itself."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from llm_extract.records.schemas import DealType, Role
from llm_extract.records.slots import DealSlots, WindowDeal, parties_of, same_company


def test_roles_follow_the_deal_type() -> None:
    parties = parties_of(DealType.ACQUISITION, "Brindle Foods", "Corvid Mills", "Osk Holdings")
    assert [(p.name, p.role) for p in parties] == [
        ("Brindle Foods", Role.ACQUIRER),
        ("Corvid Mills", Role.TARGET),
        ("Osk Holdings", Role.SELLER),
    ]


@pytest.mark.parametrize("twin", ["Xiaomi", " xiaomi ", "XIAOMI", "Xiaomi Technology"])
def test_one_company_on_both_sides_is_no_deal(twin: str) -> None:
    assert parties_of(DealType.CONTRACT_MANUFACTURING, "Xiaomi", twin, None) == []
    window = WindowDeal(trigger="signed", type=DealType.CONTRACT_MANUFACTURING, buyer="Xiaomi",
                        target=twin, seller=None, amount=None, status=None, business=None,
                        location=None, date=None, background=False)  # fmt: skip
    assert window.to_deal() is None
    record = DealSlots(buyer="Xiaomi", target=twin, seller=None, amount=None, status=None,
                       business=None, location=None, trigger="signed",
                       deal_type=DealType.CONTRACT_MANUFACTURING)  # fmt: skip
    assert record.to_article().deals == []


def test_a_seller_that_repeats_a_side_is_not_a_third_party() -> None:
    parties = parties_of(DealType.ACQUISITION, "Brindle Foods", "Corvid Mills", "brindle foods")
    assert [p.name for p in parties] == ["Brindle Foods", "Corvid Mills"]


names = st.text(st.characters(categories=["L", "Zs"]), min_size=1, max_size=20)


@given(names, names, st.none() | names)
@example(" ", " ", None)  # blank names are no names
def test_no_deal_lists_one_company_twice(a: str, b: str, seller: str | None) -> None:
    parties = parties_of(DealType.ACQUISITION, a, b, seller)
    folded = [" ".join(p.name.split()).casefold() for p in parties]
    assert len(folded) == len(set(folded))


def test_only_a_sale_has_a_seller() -> None:
    parties = parties_of(DealType.CONTRACT_MANUFACTURING, "Lumora", "Kavya Electronics", "Netvolt")
    assert [p.role for p in parties] == [Role.CLIENT, Role.SUPPLIER]


@given(names, names)
def test_one_company_is_symmetric_and_a_shortened_name_is_the_same(a: str, b: str) -> None:
    assert same_company(a, b) == same_company(b, a)
    if a.split():
        assert same_company(a, f"{a} Electronics")


def test_names_sharing_only_a_first_word_are_two_companies() -> None:
    assert not same_company("Zentara Group", "Zentara Electronics")
    assert not same_company("OnePlus", "Optiemus")
