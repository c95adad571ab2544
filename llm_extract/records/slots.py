"""Compact records: the forms a small model can fill.

Nested lists of deals and parties make a 270M-parameter model loop until the
token limit; flat records with two party slots do not. Two forms:

* :class:`WindowDeals`, the default for small models: the deals one passage
  (a :class:`~llm_extract.text.windows.Window`) states, each a flat
  :class:`WindowDeal` whose ``buyer`` and ``target`` take their roles from the
  deal type. The embedded model's task adapter is trained on this form.
* :class:`DealSlots`, one record per article (the earlier approach, kept for
  the ablation and for callers who ask for it).

Both map onto :class:`~llm_extract.records.schemas.ArticleDeals`.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from .schemas import STRICT, ArticleDeals, Company, Deal, DealType, Money, Party, Role, span_field

_FIRST_PARTY: dict[DealType, Role] = {
    DealType.ACQUISITION: Role.ACQUIRER,
    DealType.STAKE_PURCHASE: Role.ACQUIRER,
    DealType.INVESTMENT: Role.INVESTOR,
    DealType.CONTRACT_MANUFACTURING: Role.CLIENT,
    DealType.SOURCING_AGREEMENT: Role.CLIENT,
    DealType.LICENSING: Role.CLIENT,
    DealType.DISTRIBUTION: Role.CLIENT,
}
_SECOND_PARTY: dict[DealType, Role] = {
    DealType.ACQUISITION: Role.TARGET,
    DealType.STAKE_PURCHASE: Role.TARGET,
    DealType.INVESTMENT: Role.TARGET,
    DealType.CONTRACT_MANUFACTURING: Role.SUPPLIER,
    DealType.SOURCING_AGREEMENT: Role.SUPPLIER,
    DealType.LICENSING: Role.SUPPLIER,
    DealType.DISTRIBUTION: Role.SUPPLIER,
}


class DealSlots(BaseModel):
    """The main deal as a flat template: the form a small model can fill.

    Nested lists of deals and parties make a 270M-parameter model loop until
    the token limit; one flat record with two party slots does not. The
    pipeline maps it onto :class:`ArticleDeals` with :meth:`to_article`.
    """

    model_config = STRICT

    buyer: str | None = Field(
        description=(
            "The company that buys, invests, or orders the products: the acquirer, "
            "investor or client brand. For a merger or partnership, the first partner."
        ),
        json_schema_extra=span_field("name"),
    )
    target: str | None = Field(
        description=(
            "The company that is bought or invested in, or that makes or supplies the "
            "products. For a merger or partnership, the other partner."
        ),
        json_schema_extra=span_field("name"),
    )
    seller: str | None = Field(
        description="The company that sells the target, if any.",
        json_schema_extra=span_field("name"),
    )
    amount: str | None = Field(
        description="The price or amount exactly as written, e.g. '5 mln dlrs' or 'undisclosed'.",
        json_schema_extra=span_field("money"),
    )
    status: str | None = Field(
        description="How far along the deal is, in the article's words, e.g. 'agreed'.",
        json_schema_extra=span_field("phrase"),
    )
    business: str | None = Field(
        description="What the target does, or the products the deal covers.",
        json_schema_extra=span_field("phrase"),
    )
    location: str | None = Field(
        description="Where the target is based or where the work happens.",
        json_schema_extra=span_field("name"),
    )
    trigger: str | None = Field(
        description="The article's words that state the deal, e.g. 'agreed to acquire'.",
        json_schema_extra=span_field("phrase"),
    )
    deal_type: DealType = Field(
        description="The kind of deal: decide it last, from what the article says happened."
    )

    def to_article(self) -> ArticleDeals:
        """One deal with roles chosen by its type; no deal if :func:`parties_of` finds none."""
        parties = parties_of(self.deal_type, self.buyer, self.target, self.seller)
        if not parties:
            return ArticleDeals(deals=[], companies=[])
        acquisition = self.deal_type in SALE_TYPES
        deal = Deal(
            deal_type=self.deal_type,
            trigger=self.trigger,
            parties=parties,
            amount=Money(text=self.amount) if self.amount else None,
            status=self.status,
            products=[] if acquisition or not self.business else [self.business],
            location=None if acquisition else self.location,
            acquired_business=self.business if acquisition else None,
            acquired_location=self.location if acquisition else None,
        )
        names = dict.fromkeys(p.name for p in parties)
        return ArticleDeals(deals=[deal], companies=[Company(name=n) for n in names])


SALE_TYPES = frozenset({DealType.ACQUISITION, DealType.STAKE_PURCHASE})
"""Deal types in which something is sold: the ones with a target business and a seller."""


def name_words(name: str) -> list[str]:
    """A company name's words, case-folded, without punctuation: what the name checks compare."""
    return re.findall(r"[\w&]+", name.casefold())


def same_company(a: str, b: str) -> bool:
    """One company: equal names, or one name's words opening the other's
    ("Kavya" of "Kavya Electronics"), as an article shortens a name it gave."""
    x, y = name_words(a), name_words(b)
    short, long = sorted((x, y), key=len)
    return bool(short) and long[: len(short)] == short


def parties_of(
    deal_type: DealType, buyer: str | None, target: str | None, seller: str | None
) -> list[Party]:
    """The parties of a flat record, with roles chosen by the deal type.

    Empty when no party is named, or when the two sides name one company: a
    company does not buy, merge with or make products for itself, so such a
    record states no relation (a small model copies one name into both slots
    when it cannot tell the sides apart). A seller is a party only where
    something is sold: an acquisition or a stake. A name with no letter or digit
    (" ", "-") names no one."""
    buyer, target, seller = (n if n and name_words(n) else None for n in (buyer, target, seller))
    if buyer and target and same_company(buyer, target):
        return []
    first = _FIRST_PARTY.get(deal_type, Role.PARTNER)
    second = _SECOND_PARTY.get(deal_type, Role.PARTNER)
    parties = [Party(name=n, role=r) for n, r in ((buyer, first), (target, second)) if n]
    repeats = seller is not None and any(same_company(seller, p.name) for p in parties)
    if seller and parties and deal_type in SALE_TYPES and not repeats:
        parties.append(Party(name=seller, role=Role.SELLER))
    return parties


class WindowDeal(BaseModel):
    """One deal a passage states, as a flat record; roles follow from ``type``."""

    model_config = STRICT

    trigger: str | None = Field(
        description=(
            "The passage's words that state this deal, e.g. 'agreed to acquire', "
            "'will manufacture', 'signed a licensing agreement'."
        ),
        json_schema_extra=span_field("phrase"),
    )
    type: DealType = Field(description="The kind of deal the trigger states.")
    buyer: str | None = Field(
        description=(
            "Who buys, invests, or orders the work: the acquirer, the investor, the brand "
            "that has products made, sourced, licensed or distributed. For a merger, "
            "joint venture or partnership, the first partner."
        ),
        json_schema_extra=span_field("name"),
    )
    target: str | None = Field(
        description=(
            "Who is bought or invested in, or who makes, supplies, licenses or distributes "
            "for the buyer. For a merger, joint venture or partnership, the other partner."
        ),
        json_schema_extra=span_field("name"),
    )
    seller: str | None = Field(
        description="Who sells the target, if anyone.", json_schema_extra=span_field("name")
    )
    amount: str | None = Field(
        description="The price or amount exactly as written, e.g. '5 mln dlrs', 'undisclosed'.",
        json_schema_extra=span_field("money"),
    )
    status: str | None = Field(
        description="How far along the deal is, in the passage's words, e.g. 'agreed'.",
        json_schema_extra=span_field("phrase"),
    )
    business: str | None = Field(
        description="What the target does, or the products the deal covers.",
        json_schema_extra=span_field("phrase"),
    )
    location: str | None = Field(
        description="Where the target is based, or where the deal's work happens.",
        json_schema_extra=span_field("name"),
    )
    date: str | None = Field(
        description="When the deal was made, as written, e.g. 'In April this year'.",
        json_schema_extra=span_field("phrase"),
    )
    background: bool = Field(
        description="true if the passage mentions this deal as earlier or related news."
    )

    def to_deal(self) -> Deal | None:
        """The deal with roles chosen by its type; None if :func:`parties_of` finds none."""
        parties = parties_of(self.type, self.buyer, self.target, self.seller)
        if not parties:
            return None
        acquisition = self.type in SALE_TYPES
        return Deal(
            deal_type=self.type,
            trigger=self.trigger,
            parties=parties,
            amount=Money(text=self.amount) if self.amount else None,
            status=self.status,
            date=self.date,
            products=[] if acquisition or not self.business else [self.business],
            location=None if acquisition else self.location,
            acquired_business=self.business if acquisition else None,
            acquired_location=self.location if acquisition else None,
            background=self.background,
        )


class WindowDeals(BaseModel):
    """Every deal one passage states; empty if it states none."""

    model_config = STRICT

    deals: list[WindowDeal] = Field(
        max_length=3,
        description="The deals the passage states, in the order it states them.",
    )


class WindowDealsAtLeastOne(WindowDeals):
    """The second look's form: the same record, but the list may not be empty.

    Asked only of a window the model answered "no deals" without being sure
    (see ``Settings.second_look``); what it then names still has to pass the
    relation checks, which drop a deal the window's words do not state."""

    deals: list[WindowDeal] = Field(
        min_length=1,
        max_length=3,
        description="The deals the passage states, in the order it states them.",
    )
