"""The compact main-deal template: the form a small model can fill.

Nested lists of deals and parties make a 270M-parameter model loop until the
token limit; one flat record with two party slots does not. The pipeline maps
it onto :class:`~llm_extract.schemas.ArticleDeals` with
:meth:`DealSlots.to_article`, choosing the parties' roles by the deal type.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from .schemas import _STRICT, ArticleDeals, Company, Deal, DealType, Money, Party, Role, _span

_DEAL_CUES = re.compile(
    r"\b(acqui\w*|buy\w*|bought|purchas\w*|sells?|sold|sale|merg\w*|takeover|take over|"
    r"tender offer|stake|invest\w*|fund\w*|financ\w*|partner\w*|joint venture|alliance|"
    r"agreement|agreed|accord|contract\w*|deal|outsourc\w*|sourcing|supply|supplier|"
    r"manufactur\w* for|licen[cs]\w*|distribut\w*|collaborat\w*|tie-up|bid)\b",
    re.IGNORECASE,
)


def mentions_deal(text: str) -> bool:
    """Whether the text uses any word that deals are reported with.

    The compact template always names a buyer and a target, so a small model
    given a story without a deal still fills them. Stories that use none of
    these words are answered "no deal" without asking the model: cheaper, and
    it removes the clearest false positives. Recall is unaffected in practice,
    since a deal cannot be reported without one of them.
    """
    return _DEAL_CUES.search(text) is not None


_FIRST_PARTY = {
    DealType.ACQUISITION: Role.ACQUIRER,
    DealType.STAKE_PURCHASE: Role.ACQUIRER,
    DealType.INVESTMENT: Role.INVESTOR,
    DealType.CONTRACT_MANUFACTURING: Role.CLIENT,
    DealType.SOURCING_AGREEMENT: Role.CLIENT,
    DealType.LICENSING: Role.CLIENT,
    DealType.DISTRIBUTION: Role.CLIENT,
}
_SECOND_PARTY = {
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

    model_config = _STRICT

    buyer: str | None = Field(
        description=(
            "The company that buys, invests, or orders the products: the acquirer, "
            "investor or client brand. For a merger or partnership, the first partner."
        ),
        json_schema_extra=_span("name"),
    )
    target: str | None = Field(
        description=(
            "The company that is bought or invested in, or that makes or supplies the "
            "products. For a merger or partnership, the other partner."
        ),
        json_schema_extra=_span("name"),
    )
    seller: str | None = Field(
        description="The company that sells the target, if any.",
        json_schema_extra=_span("name"),
    )
    amount: str | None = Field(
        description="The price or amount exactly as written, e.g. '5 mln dlrs' or 'undisclosed'.",
        json_schema_extra=_span("money"),
    )
    status: str | None = Field(
        description="How far along the deal is, in the article's words, e.g. 'agreed'.",
        json_schema_extra=_span("phrase"),
    )
    business: str | None = Field(
        description="What the target does, or the products the deal covers.",
        json_schema_extra=_span("phrase"),
    )
    location: str | None = Field(
        description="Where the target is based or where the work happens.",
        json_schema_extra=_span("name"),
    )
    trigger: str | None = Field(
        description="The article's words that state the deal, e.g. 'agreed to acquire'.",
        json_schema_extra=_span("phrase"),
    )
    deal_type: DealType = Field(
        description="The kind of deal: decide it last, from what the article says happened."
    )

    def to_article(self) -> ArticleDeals:
        """One deal with roles chosen by its type; no deal if no party is named."""
        if not self.buyer and not self.target:
            return ArticleDeals(deals=[], companies=[])
        first = _FIRST_PARTY.get(self.deal_type, Role.PARTNER)
        second = _SECOND_PARTY.get(self.deal_type, Role.PARTNER)
        parties = [
            Party(name=n, role=r) for n, r in ((self.buyer, first), (self.target, second)) if n
        ]
        if self.seller and self.seller not in (self.buyer, self.target):
            parties.append(Party(name=self.seller, role=Role.SELLER))
        acquisition = self.deal_type in (DealType.ACQUISITION, DealType.STAKE_PURCHASE)
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
