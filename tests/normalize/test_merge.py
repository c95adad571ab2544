"""Merging repeats of a deal: llm_extract.normalize.merge."""

from __future__ import annotations

from llm_extract.normalize.merge import merge
from llm_extract.records.schemas import ArticleDeals, Deal, DealType, Party, Role


def _deal(kind: DealType, *sides: tuple[str, Role], trigger: str, background: bool) -> Deal:
    parties = [Party(name=n, role=r) for n, r in sides]
    return Deal(deal_type=kind, parties=parties, trigger=trigger, background=background)


GENERIC = _deal(
    DealType.PARTNERSHIP,
    ("Quillon", Role.PARTNER),
    ("Harrowgate", Role.PARTNER),
    trigger="partnerships",
    background=False,
)
SOURCING = _deal(
    DealType.SOURCING_AGREEMENT,
    ("Harrowgate", Role.CLIENT),
    ("Quillon", Role.SUPPLIER),
    trigger="signed a sourcing agreement",
    background=True,
)


def test_a_later_specific_record_of_a_generic_partnership_gives_the_deal_its_kind() -> None:
    merged = merge([ArticleDeals(deals=[GENERIC]), ArticleDeals(deals=[SOURCING])])
    (deal,) = merged.deals
    assert deal.deal_type is DealType.SOURCING_AGREEMENT
    assert deal.trigger == "signed a sourcing agreement"
    assert [(p.name, p.role) for p in deal.parties] == [
        ("Harrowgate", Role.CLIENT),
        ("Quillon", Role.SUPPLIER),
    ]
    assert deal.background is False  # one record read it as the article's own news


def test_the_specific_record_also_wins_when_it_comes_first() -> None:
    (deal,) = merge([ArticleDeals(deals=[SOURCING, GENERIC])]).deals
    assert deal.deal_type is DealType.SOURCING_AGREEMENT and deal.trigger.startswith("signed")


def test_a_sale_and_an_agreement_of_the_same_companies_are_two_deals() -> None:
    sale = _deal(
        DealType.STAKE_PURCHASE,
        ("Harrowgate", Role.ACQUIRER),
        ("Quillon", Role.TARGET),
        trigger="took a stake",
        background=False,
    )
    venture = _deal(
        DealType.JOINT_VENTURE,
        ("Quillon", Role.PARTNER),
        ("Harrowgate", Role.PARTNER),
        trigger="form a joint venture",
        background=False,
    )
    merged = merge([ArticleDeals(deals=[GENERIC, sale]), ArticleDeals(deals=[venture, sale])])
    assert [(d.deal_type, d.trigger) for d in merged.deals] == [
        (DealType.JOINT_VENTURE, "form a joint venture"),
        (DealType.STAKE_PURCHASE, "took a stake"),
    ]


def test_a_one_sided_partnership_of_a_company_another_deal_names_is_dropped() -> None:
    lone = _deal(DealType.PARTNERSHIP, ("Quillon", Role.PARTNER), trigger="this partnership",
                 background=False)  # fmt: skip
    merged = merge([ArticleDeals(deals=[SOURCING]), ArticleDeals(deals=[lone])])
    assert [d.deal_type for d in merged.deals] == [DealType.SOURCING_AGREEMENT]


def test_a_one_sided_record_stays_when_no_other_deal_names_its_party() -> None:
    lone = _deal(DealType.PARTNERSHIP, ("Ostrava Mills", Role.PARTNER), trigger="partnered",
                 background=False)  # fmt: skip
    sale = _deal(DealType.ACQUISITION, ("Quillon", Role.ACQUIRER), trigger="bought",
                 background=False)  # fmt: skip
    merged = merge([ArticleDeals(deals=[SOURCING, lone, sale])])
    assert [d.trigger for d in merged.deals] == [
        "signed a sourcing agreement",
        "partnered",
        "bought",
    ]


def test_a_deal_restated_with_short_names_is_one_deal() -> None:
    """Parties compare as companies: "Harlow" restates "Harlow Motor Co."."""
    full = _deal(
        DealType.ACQUISITION,
        ("Harlow Motor Co.", Role.ACQUIRER),
        ("Pennick Motors Inc.", Role.TARGET),
        trigger="takeover",
        background=False,
    )
    short = _deal(
        DealType.ACQUISITION,
        ("Harlow", Role.ACQUIRER),
        ("Pennick", Role.TARGET),
        trigger="sale",
        background=False,
    )
    (deal,) = merge([ArticleDeals(deals=[full]), ArticleDeals(deals=[short])]).deals
    assert [p.name for p in deal.parties] == ["Harlow Motor Co.", "Pennick Motors Inc."]
    assert deal.trigger == "takeover"


def test_companies_that_only_share_a_first_word_stay_apart() -> None:
    one = _deal(
        DealType.PARTNERSHIP,
        ("Zentara Electronics", Role.PARTNER),
        ("Quillon", Role.PARTNER),
        trigger="partnered",
        background=False,
    )
    other = _deal(
        DealType.PARTNERSHIP,
        ("Zentara Group", Role.PARTNER),
        ("Quillon", Role.PARTNER),
        trigger="agreement",
        background=False,
    )
    assert len(merge([ArticleDeals(deals=[one, other])]).deals) == 2
