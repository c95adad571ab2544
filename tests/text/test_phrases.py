"""Fixed phrasings that state a deal's type and direction (llm_extract.text.phrases)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_extract.records.schemas import DealType
from llm_extract.text.phrases import phrase_deals, stated_price, stated_worth

A, ST, MG, JV, PT, IV, CM = (
    DealType.ACQUISITION, DealType.STAKE_PURCHASE, DealType.MERGER, DealType.JOINT_VENTURE,
    DealType.PARTNERSHIP, DealType.INVESTMENT, DealType.CONTRACT_MANUFACTURING,
)  # fmt: skip


@pytest.mark.parametrize(
    ("text", "kind", "buyer", "target", "trigger"),
    [
        (
            "Brindle Foods agreed to buy Corvid Mills for 9 mln dlrs.",
            A,
            "Brindle Foods",
            "Corvid Mills",
            "buy",
        ),
        (
            "Brindle Foods Inc said on Monday it had agreed to acquire Corvid Mills.",
            A,
            "Brindle Foods Inc",
            "Corvid Mills",
            "acquire",
        ),
        ("In 2019 Brindle bought Corvid from its founders.", A, "Brindle", "Corvid", "bought"),
        (
            "Corvid Mills was acquired by Brindle Foods last year.",
            A,
            "Brindle Foods",
            "Corvid Mills",
            "acquired",
        ),
        ("Corvid has agreed to be bought by Brindle.", A, "Brindle", "Corvid", "bought"),
        (
            "Brindle's planned acquisition of Corvid needs approval.",
            A,
            "Brindle",
            "Corvid",
            "acquisition",
        ),
        (
            "The purchase of Corvid Mills by Brindle Foods closed.",
            A,
            "Brindle Foods",
            "Corvid Mills",
            "purchase",
        ),
        ("Brindle completed its takeover of Corvid.", A, "Brindle", "Corvid", "takeover"),
        ("Halvard took a 20 pct stake in Corvid Mills.", ST, "Halvard", "Corvid Mills", "stake"),
        ("Orrin Bank will merge with Pell Savings.", MG, "Orrin Bank", "Pell Savings", "merge"),
        (
            "Pell also extended its supply contract with Tarn Steel.",
            PT,
            "Pell",
            "Tarn Steel",
            "extended its supply contract",
        ),
        (
            "The merger of Orrin Bank and Pell Savings was approved.",
            MG,
            "Orrin Bank",
            "Pell Savings",
            "merger",
        ),
        (
            "Tessaly formed a joint venture with Marrow Steel in Chile.",
            JV,
            "Tessaly",
            "Marrow Steel",
            "joint venture",
        ),
        (
            "Lumora has partnered with Kavya Electronics on speakers.",
            PT,
            "Lumora",
            "Kavya Electronics",
            "partnered",
        ),
        (
            "Lumora signed a three-year supply agreement with Kavya.",
            PT,
            "Lumora",
            "Kavya",
            "signed a three-year supply agreement",
        ),
        (
            "Halvard Capital invested 40 mln dlrs in Corvid Mills.",
            IV,
            "Halvard Capital",
            "Corvid Mills",
            "invested",
        ),
        (
            "Northwind Air, teaming up with Orrin Labs, will fly the drones.",
            PT,
            "Northwind Air",
            "Orrin Labs",
            "teaming up",
        ),
        (
            "Tessaly said on Monday it will continue to partner with map company Marrow Soft.",
            PT,
            "Tessaly",
            "Marrow Soft",
            "partner",
        ),
        (
            "Lumora also has a speaker supply deal with Kavya Electronics.",
            PT,
            "Lumora",
            "Kavya Electronics",
            "has a speaker supply deal",
        ),
        (
            "Orrin Bank said it has reached a merger agreement with Pell Savings.",
            MG,
            "Orrin Bank",
            "Pell Savings",
            "reached a merger agreement",
        ),
        (
            "Halvard Capital, which on Monday agreed to buy Corvid Mills, said little.",
            A,
            "Halvard Capital",
            "Corvid Mills",
            "buy",
        ),
        (
            "Pell and Sons Inc said it completed the purchase of Tull Corp.",
            A,
            "Pell and Sons Inc",
            "Tull Corp.",
            "purchase",
        ),
        (
            "Lumora hired Kavya Electronics to build its cameras.",
            CM,
            "Lumora",
            "Kavya Electronics",
            "build",
        ),
    ],
)
def test_each_phrasing_gives_its_type_direction_and_trigger(
    text: str, kind: DealType, buyer: str, target: str, trigger: str
) -> None:
    [found] = phrase_deals(text)
    assert (found.deal.type, found.deal.buyer, found.deal.target) == (kind, buyer, target)
    assert found.deal.trigger == trigger == text[found.start : found.end]


def test_a_name_broken_across_lines_is_one_name() -> None:
    [found] = phrase_deals("Continental Health\nAffiliates Inc said it acquired Marketech Inc.")
    assert found.deal.buyer == "Continental Health Affiliates Inc"
    assert found.deal.target == "Marketech Inc."  # an abbreviation keeps its full stop


@pytest.mark.parametrize(
    "text",
    [
        "The company agreed to buy new machines for its plants.",
        "It has invested heavily in technology and research.",
        "Analysts said the deal could close in June.",
        "Brindle bought back 2 mln of its shares.",
        "Shares of Brindle rose after it bought Brindle.",
        "Brindle bought Corvid's flour unit for 9 mln dlrs.",
        "Brindle bought Corvid 's flour unit.",
        "Halvard Capital is working with Corvid Mills on the inquiry.",
    ],
)
def test_no_deal_without_two_different_names(text: str) -> None:
    assert [(p.deal.buyer, p.deal.target) for p in phrase_deals(text)] == []


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("Brindle Foods agreed to buy Corvid Mills, a miller, for about 9 mln dlrs.", "9 mln dlrs"),
        ("Halvard Capital invested 40 mln dlrs in Corvid Mills.", "40 mln dlrs"),
        ("Brindle bought Corvid for an undisclosed sum.", "undisclosed sum"),
        ("Brindle agreed to buy Corvid for 52 dlrs a share.", None),
        ("Brindle bought Corvid. It paid 5 mln dlrs for its debt.", None),
        ("Lumora partnered with Kavya for 5 mln dlrs.", None),
    ],
)
def test_a_sale_or_investment_takes_the_price_its_own_sentence_gives(
    text: str, amount: str | None
) -> None:
    assert phrase_deals(text)[0].deal.amount == amount


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("Orrin Co said it bought Ohio-based Tull Nursery Inc for cash.", "Tull Nursery Inc"),
        ("Orrin Co said it bought Westway Funding Corp of Armonk, N.Y.", "Westway Funding Corp"),
        ("Orrin Co said it bought Acme Holding corp, a maker of hinges.", "Acme Holding corp"),
        ("Orrin Co said it bought Bank of Pell.", "Bank of Pell"),
    ],
)
def test_a_target_loses_where_it_is_based_and_keeps_a_lower_case_suffix(
    text: str, target: str
) -> None:
    assert phrase_deals(text)[0].deal.target == target


def test_a_lower_case_suffix_alone_is_no_name() -> None:
    assert phrase_deals("corp bought Tull Inc.") == []


def test_a_deal_named_in_an_aside_is_background() -> None:
    [aside] = phrase_deals("Orrin Engines, a joint venture of Tessaly and Marrow Steel, rose.")
    [news] = phrase_deals("The joint venture of Tessaly and Marrow Steel was approved.")
    assert aside.deal.background and not news.deal.background


def test_a_partner_named_by_its_owner_is_the_owned_company() -> None:
    [found] = phrase_deals("Northwind teamed up with Halvard 's Orrin Labs on drones.")
    assert (found.deal.buyer, found.deal.target) == ("Northwind", "Orrin Labs")


def test_and_joins_two_names_unless_a_company_suffix_closes_them() -> None:
    [merger] = phrase_deals("The merger of Orrin Bank and Pell Savings was approved.")
    [bought] = phrase_deals("Brindle bought Corvid and Tull Mills.")
    assert (merger.deal.buyer, merger.deal.target) == ("Orrin Bank", "Pell Savings")
    assert bought.deal.target == "Corvid"


def test_symmetric_types_are_marked_so_their_sides_are_never_turned() -> None:
    merger, bought = phrase_deals("Orrin merged with Pell. Then Orrin bought Tull.")
    assert merger.symmetric and not bought.symmetric


_WORDS = st.sampled_from(
    ["Brindle", "Corvid Mills", "bought", "agreed to buy", "was acquired by", "the", "In",
     "2019", "'s acquisition of", "stake in", "partnered with", ".", "\n", " ", "Inc.", "&"]
)  # fmt: skip


@given(st.lists(_WORDS, max_size=14).map(" ".join))
def test_every_match_stands_in_the_text(text: str) -> None:
    squashed = " ".join(text.split())
    for found in phrase_deals(text):
        assert text[found.start : found.end] == found.deal.trigger
        for name in (found.deal.buyer, found.deal.target):
            assert name and name in squashed and name.strip() == name


@pytest.mark.parametrize(
    ("after", "worth"),
    [
        (" deal worth up to $40 million, it said.", "$40 million"),
        (", valued at 2 bln dlrs, closed.", "2 bln dlrs"),
        (" with Pell worth about 5 mln dlrs.", "5 mln dlrs"),
        (" offer worth 52 dlrs a share.", None),
        (" was announced. It is worth 5 mln dlrs.", None),
        (" with Pell, whose stake is worth 5 mln dlrs.", None),
    ],
)
def test_the_worth_right_after_a_trigger_is_the_deals(after: str, worth: str | None) -> None:
    text = "Orrin signed a licensing" + after
    end = text.index(".") + 1
    assert stated_worth(text, len("Orrin signed a licensing"), end) == worth


@pytest.mark.parametrize(
    ("after", "price"),
    [
        (" by U.S. group Brannock Inc. for 1.2 billion pounds, or 310 pence a share.",
         "1.2 billion pounds"),
        (" Corvid for 52 dlrs a share in cash.", None),
        (" Corvid, and sold Tull Mills for 9 mln dlrs.", None),
        (" Corvid Mills, a flour miller, for 9 mln dlrs.", "9 mln dlrs"),
    ],
)  # fmt: skip
def test_the_price_after_a_sales_trigger_is_its_price(after: str, price: str | None) -> None:
    assert stated_price(after, 0, len(after)) == price
