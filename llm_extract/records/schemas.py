"""The typed records this library returns, and the briefs the model reads.

Field descriptions are sent to the model twice: inside the JSON schema of the
request and rendered into the prompt's field guide (a grammar-constrained local
model never sees the schema itself). Write them as you would brief an analyst.

``x-span`` in a field's JSON schema tells the span constraint which kind of
source-text span may fill it (see :mod:`llm_extract.grounding`): ``name`` for
proper names, ``money`` for amounts, ``phrase`` for short noun phrases,
``text`` for any of them. ``x-derived`` marks fields that normalization fills,
so a span-constrained model is not asked for them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def span_field(kind: str) -> dict[str, Any]:
    return {"x-span": kind}


_DERIVED: dict[str, Any] = {"x-derived": True}


class DealType(StrEnum):
    """What kind of transaction or agreement a deal is."""

    ACQUISITION = "acquisition"
    MERGER = "merger"
    STAKE_PURCHASE = "stake_purchase"
    INVESTMENT = "investment"
    JOINT_VENTURE = "joint_venture"
    PARTNERSHIP = "partnership"
    CONTRACT_MANUFACTURING = "contract_manufacturing"
    SOURCING_AGREEMENT = "sourcing_agreement"
    LICENSING = "licensing"
    DISTRIBUTION = "distribution"
    OTHER = "other"


class Role(StrEnum):
    """The part a company plays in one deal."""

    ACQUIRER = "acquirer"
    TARGET = "target"
    SELLER = "seller"
    INVESTOR = "investor"
    CLIENT = "client"
    SUPPLIER = "supplier"
    PARTNER = "partner"


PURCHASER_ROLES = (Role.ACQUIRER, Role.INVESTOR)
"""Who buys: the roles the Utah templates and every purchaser view count as purchaser."""

STRICT = ConfigDict(extra="forbid", use_enum_values=False)


class Money(BaseModel):
    """An amount of money as the article writes it, plus its normalized value."""

    model_config = STRICT

    text: str = Field(
        description=(
            "The amount exactly as written in the article, e.g. '1.2 billion Belgian "
            "francs', '5 mln dlrs' or 'undisclosed'. Copy it, do not convert it."
        ),
        json_schema_extra=span_field("money"),
    )
    amount: float | None = Field(
        default=None,
        description="The amount as a plain number in units of the currency, if stated.",
        json_schema_extra=_DERIVED,
    )
    currency: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 code of the currency, e.g. 'USD', if stated.",
        json_schema_extra=_DERIVED,
    )


class Person(BaseModel):
    """Someone the article names in connection with a deal."""

    model_config = STRICT

    name: str = Field(
        description="The person's full name as written.", json_schema_extra=span_field("name")
    )
    title: str | None = Field(
        default=None,
        description="Their job title as written, e.g. 'chairman' or 'CEO'.",
        json_schema_extra=span_field("phrase"),
    )
    company: str | None = Field(
        default=None,
        description="The company they speak for, named as in the article.",
        json_schema_extra=span_field("name"),
    )


class Party(BaseModel):
    """A company taking part in a deal, and its role in that deal."""

    model_config = STRICT

    name: str = Field(
        description="The company's name exactly as the article writes it.",
        json_schema_extra=span_field("name"),
    )
    role: Role = Field(
        description=(
            "acquirer: buys a company or stake. target: is bought or invested in. "
            "seller: sells the target. investor: puts money in. client: the brand "
            "that orders products or services. supplier: the manufacturer or supplier "
            "that makes or provides them. partner: any party of a partnership, joint "
            "venture or merger."
        )
    )


class Company(BaseModel):
    """A company the article mentions, with what the article says about it."""

    model_config = STRICT

    name: str = Field(
        description="The company's fullest name in the article.",
        json_schema_extra=span_field("name"),
    )
    aliases: list[str] = Field(
        default_factory=list,
        max_length=4,
        description="Other names the article uses for the same company.",
        json_schema_extra=span_field("name"),
    )
    country: str | None = Field(
        default=None,
        description="The country it is from or based in, as written, e.g. 'Chinese'.",
        json_schema_extra=span_field("name"),
    )
    country_code: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{2}$",
        description="ISO 3166-1 alpha-2 code of that country, e.g. 'CN'.",
        json_schema_extra=_DERIVED,
    )
    business: str | None = Field(
        default=None,
        description="What the company does, in the article's words.",
        json_schema_extra=span_field("phrase"),
    )


class Quantity(BaseModel):
    """A volume or count the deal commits to, as written, plus its number."""

    model_config = STRICT

    text: str = Field(
        description="The quantity as written, e.g. 'five million units a year' or '2,000 jobs'.",
        json_schema_extra=span_field("phrase"),
    )
    value: float | None = Field(
        default=None,
        description="The number, e.g. 5000000 or 2000.",
        json_schema_extra=_DERIVED,
    )
    unit: str | None = Field(
        default=None,
        description="What is counted, e.g. 'units a year' or 'jobs'.",
        json_schema_extra=_DERIVED,
    )


class Deal(BaseModel):
    """One transaction or agreement between companies, as the article reports it.

    Acquisitions also fill the classic template slots: purchaser, acquired and
    seller come from the parties' roles; amount, status, acquired_business and
    acquired_location are fields.
    """

    model_config = STRICT

    deal_type: DealType = Field(description="The kind of deal.")
    trigger: str | None = Field(
        default=None,
        description=(
            "The article's words that state the deal, e.g. 'agreed to acquire' or "
            "'signed a sourcing agreement': the evidence for the deal type and roles."
        ),
        json_schema_extra=span_field("phrase"),
    )
    parties: list[Party] = Field(
        max_length=6,
        description="Every company taking part in this deal, each with its role.",
    )
    amount: Money | None = Field(
        default=None,
        description="The price or amount of money involved, or null if none is stated.",
    )
    status: str | None = Field(
        default=None,
        description=(
            "How far along the deal is, in the article's words, e.g. 'agreed', "
            "'completed', 'signed', 'definitive agreement'."
        ),
        json_schema_extra=span_field("phrase"),
    )
    date: str | None = Field(
        default=None,
        description="When the deal was made or announced, as written, e.g. 'In April'.",
        json_schema_extra=span_field("phrase"),
    )
    date_iso: str | None = Field(
        default=None,
        pattern=r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$",
        description="That date in ISO 8601, as precise as the text allows: 2024, 2024-04.",
        json_schema_extra=_DERIVED,
    )
    products: list[str] = Field(
        default_factory=list,
        max_length=6,
        description="Products or services the deal covers, in the article's words.",
        json_schema_extra=span_field("phrase"),
    )
    location: str | None = Field(
        default=None,
        description="Where the deal's work happens, e.g. the factory's town.",
        json_schema_extra=span_field("name"),
    )
    volumes: list[Quantity] = Field(
        default_factory=list,
        max_length=4,
        description="Quantities the deal commits to: units, capacity, jobs.",
    )
    people: list[Person] = Field(
        default_factory=list,
        max_length=6,
        description="People quoted or named about this deal.",
    )
    acquired_business: str | None = Field(
        default=None,
        description="For acquisitions: what the acquired company does.",
        json_schema_extra=span_field("phrase"),
    )
    acquired_location: str | None = Field(
        default=None,
        description="For acquisitions: where the acquired company is based.",
        json_schema_extra=span_field("name"),
    )
    background: bool = Field(
        default=False,
        description=(
            "true if the article mentions this deal only as an earlier or related "
            "deal, false for the deal the article is about."
        ),
    )

    def names_with(self, role: Role) -> list[str]:
        """Names of the parties that play ``role``, in article order."""
        return [p.name for p in self.parties if p.role is role]

    @property
    def purchaser(self) -> list[str]:
        return [name for role in PURCHASER_ROLES for name in self.names_with(role)]

    @property
    def acquired(self) -> list[str]:
        return self.names_with(Role.TARGET)

    @property
    def seller(self) -> list[str]:
        return self.names_with(Role.SELLER)


class ArticleDeals(BaseModel):
    """Everything an article says about deals: the main deal first."""

    model_config = STRICT

    deals: list[Deal] = Field(
        max_length=8,
        description=(
            "Every deal the article reports, the one it is mainly about first, then "
            "earlier or related deals it mentions. Empty if it reports none."
        ),
    )
    companies: list[Company] = Field(
        default_factory=list,
        max_length=12,
        description="Every company that takes part in a deal.",
    )

    @property
    def main_deal(self) -> Deal | None:
        return self.deals[0] if self.deals else None
