"""Which side is which: llm_extract.grounding.sides reads the trigger's sentence."""

from __future__ import annotations

import pytest

from llm_extract.grounding.sides import (
    bought_alone,
    licensor_first,
    named_role,
    own_unit_sold,
    passive_sides,
    unit_seller,
)
from llm_extract.records.schemas import DealType
from llm_extract.records.slots import WindowDeal


@pytest.mark.parametrize(
    ("deal_type", "buyer", "target", "sentence", "swap"),
    [
        (DealType.ACQUISITION, "Corvid Mills", "Brindle Foods",
         "Corvid Mills was bought by Brindle Foods for 9 mln dlrs.", True),
        (DealType.ACQUISITION, "Brindle Foods", "Corvid Mills",
         "Corvid Mills was bought by Brindle Foods for 9 mln dlrs.", False),
        (DealType.CONTRACT_MANUFACTURING, "Kavya Electronics", "Lumora",
         "Lumora will have its cameras built in India by Kavya Electronics.", True),
        (DealType.CONTRACT_MANUFACTURING, "Lumora", "Kavya Electronics",
         "Lumora will have its cameras built in India by Kavya Electronics.", False),
        (DealType.ACQUISITION, "Osk Holdings", "Tarn Ltd",
         "Osk Holdings, itself bought by Fenwick in 2019, agreed to buy Tarn Ltd.", False),
        (DealType.PARTNERSHIP, "Tarn Ltd", "Osk Holdings",
         "Tarn Ltd was chosen by Osk Holdings as its partner.", False),
    ],
)  # fmt: skip
def test_a_passive_agent_decides_the_sides(
    deal_type: DealType, buyer: str, target: str, sentence: str, swap: bool
) -> None:
    assert passive_sides(deal_type, buyer, target, sentence) is swap


@pytest.mark.parametrize(
    ("buyer", "sentence", "bought"),
    [
        ("Millarworld", "Netflix's acquisition of comic book company Millarworld closed.", True),
        ("Pixar , Marvel", "Its acquisitions of Pixar , Marvel and Lucas paid off.", True),
        ("Corvid", "Corvid was acquired by a rival last year.", True),
        ("Brindle", "The acquisition of Corvid by Brindle closed.", False),
        ("Brindle", "Brindle agreed to buy Corvid.", False),
        ("Corvid", "The acquisition of Corvid Mills closed.", True),
        ("Tull", "Tull said the acquisition of Corvid closed.", False),
    ],
)
def test_a_lone_buyer_that_the_sentence_says_is_bought_is_the_target(
    buyer: str, sentence: str, bought: bool
) -> None:
    assert bought_alone(DealType.ACQUISITION, buyer, None, sentence) is bought
    assert not bought_alone(DealType.PARTNERSHIP, buyer, None, sentence)
    assert not bought_alone(DealType.ACQUISITION, buyer, "Tull", sentence)


@pytest.mark.parametrize(
    ("target", "sentence", "unit"),
    [
        ("Pellam Dairy Co", "Marrow agreed to buy the cheese business of Pellam Dairy Co.",
         "cheese business"),
        ("Pellam Dairy Co", "Marrow to buy Pellam Dairy's cheese unit for $210 million",
         "cheese unit"),
        ("Gleason Corp", "Tull will acquire the Alliance Systems division of Gleason Corp.",
         "Alliance Systems division"),
        ("Pellam", "Marrow bought Pellam, a cheese maker, for $210 million.", None),
        ("Pellam", "Marrow bought a 20 pct stake in Pellam.", None),
        ("Japan Fund", "Sterling agreed to buy the assets of Japan Fund.", None),
        ("GenCorp", "GenCorp's aerospace division grew as Halvard bid for GenCorp.", None),
    ],
)  # fmt: skip
def test_a_sale_of_a_unit_names_its_owner_as_the_seller(
    target: str, sentence: str, unit: str | None
) -> None:
    assert unit_seller(DealType.ACQUISITION, target, sentence) == unit
    assert unit_seller(DealType.PARTNERSHIP, target, sentence) is None


@pytest.mark.parametrize(
    ("buyer", "target", "sentence", "turned"),
    [
        ("Orrin", "Kestrel", "Orrin has licensed its drug Relvora to Kestrel in Asia.", True),
        ("Kestrel", "Orrin", "Orrin has licensed its drug Relvora to Kestrel in Asia.", False),
        ("Orrin", "Kestrel", "Kestrel licensed the rights to Relvora from Orrin.", True),
        ("Kestrel", "Orrin", "Kestrel licensed the rights to Relvora from Orrin.", False),
        ("Orrin", "Kestrel", "Orrin and Kestrel signed a licensing deal.", False),
    ],
)
def test_a_licence_given_to_a_company_makes_the_giver_the_licensor(
    buyer: str, target: str, sentence: str, turned: bool
) -> None:
    assert licensor_first(buyer, target, sentence) is turned


@pytest.mark.parametrize(
    ("name", "sentence", "noun"),
    [
        ("Varga", "Tull named Varga as the supplier of seats.", "supplier"),
        ("Kavya", "Lumora picked Kavya, its contract manufacturer, in May.", "manufacturer"),
        ("Kestrel", "Orrin chose Kestrel as its licensee in Japan.", None),
        ("Varga", "Varga supplies seats to Tull.", None),
        (
            "Tansy",
            "Tansy will become the exclusive distributor of Lumora's cameras.",
            "distributor",
        ),
    ],
)
def test_a_role_noun_beside_a_name_gives_its_role(
    name: str, sentence: str, noun: str | None
) -> None:
    supplier = "supplier|manufacturer|maker|distributor"
    assert named_role(name, supplier, sentence) == noun


@pytest.mark.parametrize(
    ("trigger", "target", "subject", "seller"),
    [
        ("sold", "its printing unit", "Pell", "Pell"),
        ("agreed to sell", "its two paper mills", "Pell", "Pell"),
        ("bought", "its printing unit", "Pell", None),
        ("sold", "Orrin Print", "Pell", None),
        ("sold", "its printing unit", None, None),
        ("sold", "its printing unit", "Orrin Media", None),
    ],
)
def test_a_unit_the_subject_sells_makes_the_subject_the_seller(
    trigger: str, target: str, subject: str | None, seller: str | None
) -> None:
    deal = WindowDeal(trigger=trigger, type=DealType.ACQUISITION, buyer="Orrin Media",
                      target=target, seller=None, amount=None, status=None, business=None,
                      location=None, date=None, background=False)  # fmt: skip
    sold = own_unit_sold(deal, subject)
    assert (sold.seller if sold else None) == seller
    if sold:
        assert sold.target is None and sold.business == target.removeprefix("its ")
