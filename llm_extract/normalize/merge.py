"""Merging what each chunk of a long article found.

The first chunk's main deal stays first (news states its main deal early);
repeats of a deal (the same parties, sellers aside) merge, the first record
winning and later ones filling its empty fields; companies merge by name,
pooling their aliases. Parties are compared as companies, not strings: the
names of the article's parties are grouped by
:func:`~llm_extract.normalize.company_names.group_company_names`, so "Ford
takes over Lucid" repeats "Ford Motor Co. takes over Lucid Motors Inc.".

One exception to "the first record wins": a generic record (a partnership, or
``other``) gives way to a later record of the same parties with a specific
non-sale type. "Partnership" is what an article says of any tie between two
companies ("it inked similar partnerships with Xiaomi"); "signed a sourcing
agreement with" says which kind, and its roles (client and supplier) are the
ones an analyst needs. Sales and mergers never replace a partnership this way:
a sale is a different claim, not a narrower one. And a generic record left
with one side is dropped when another deal already names that side.
"""

from __future__ import annotations

from ..records.schemas import ArticleDeals, Company, Deal, DealType, Role
from .company_names import fold_name, group_company_names

_GENERIC = frozenset({DealType.PARTNERSHIP, DealType.OTHER})
_NARROWER = frozenset(
    {
        DealType.JOINT_VENTURE,
        DealType.CONTRACT_MANUFACTURING,
        DealType.SOURCING_AGREEMENT,
        DealType.LICENSING,
        DealType.DISTRIBUTION,
    }
)


_SALES = frozenset(
    {DealType.ACQUISITION, DealType.STAKE_PURCHASE, DealType.MERGER, DealType.INVESTMENT}
)
"""Deal types in which a company, or a share of it, changes hands."""

Same = dict[str, str]
"""Folded party name -> the folded first name of its company's group."""


def _companies(results: list[ArticleDeals]) -> Same:
    names = [p.name for r in results for d in r.deals for p in d.parties]
    return {fold_name(n): fold_name(g[0]) for g in group_company_names(names) for n in g}


def _deal_key(deal: Deal, same: Same) -> tuple[bool, frozenset[str]] | tuple[str, str]:
    """Deals between the same companies are one deal, whatever type each record
    gave it within its kind: a sale (a share of a company changes hands) or an
    agreement. "Sentra took a stake in Oakline" and "Sentra and Oakline agreed to
    form a joint venture" are two deals. A deal without parties is only its own
    repeat."""
    names = frozenset(_company(p.name, same) for p in deal.parties if p.role is not Role.SELLER)
    if not names:
        return deal.deal_type.value, deal.trigger or ""
    return deal.deal_type in _SALES, names


def _company(name: str, same: Same) -> str:
    return same.get(fold_name(name), fold_name(name))


def _combine(first: Deal, later: Deal, same: Same) -> Deal:
    """``first`` with the fields it left empty taken from a later record of the deal
    (or the later record first, when it names the kind of a generic ``first``)."""
    if first.deal_type in _GENERIC and later.deal_type in _NARROWER:
        first, later = later, first
    update: dict[str, object] = {}
    for name in Deal.model_fields:
        mine, theirs = getattr(first, name), getattr(later, name)
        if mine in (None, []) and theirs not in (None, []):
            update[name] = theirs
    known = {_company(p.name, same) for p in first.parties}
    extra = [p for p in later.parties if _company(p.name, same) not in known]
    if extra:
        update["parties"] = [*first.parties, *extra][:6]
    if first.background and not later.background:
        update["background"] = False
    return first.model_copy(update=update)


def main_first(result: ArticleDeals) -> ArticleDeals:
    """The deals reordered so that the article's own deals come before background ones."""
    ordered = sorted(result.deals, key=lambda d: d.background)
    return result.model_copy(update={"deals": ordered})


def merge(results: list[ArticleDeals]) -> ArticleDeals:
    """One article result from the chunks' results, in chunk order."""
    deals: dict[tuple[bool, frozenset[str]] | tuple[str, str], Deal] = {}
    companies: dict[str, Company] = {}
    same = _companies(results)
    for result in results:
        for deal in result.deals:
            found = _deal_key(deal, same)
            deals[found] = _combine(deals[found], deal, same) if found in deals else deal
        for company in result.companies:
            key = company.name.casefold()
            if key not in companies:
                companies[key] = company
                continue
            known = companies[key]
            aliases = list(dict.fromkeys([*known.aliases, *company.aliases]))
            filled = {
                field: getattr(known, field) or getattr(company, field)
                for field in ("country", "country_code", "business")
            }
            companies[key] = known.model_copy(update={"aliases": aliases[:4], **filled})
    kept = _without_lone_generics(list(deals.values()), same)
    return ArticleDeals(deals=kept[:8], companies=list(companies.values())[:12])


def _without_lone_generics(deals: list[Deal], same: Same) -> list[Deal]:
    """The deals less one-sided generic records whose party another deal names.

    "This partnership lets Optiemus ..." with its other side lost is the
    article speaking again of a deal it already stated; kept, it would be a
    second, emptier record of that deal."""
    named = [{_company(p.name, same) for p in d.parties} for d in deals]

    def lone_repeat(i: int, deal: Deal) -> bool:
        if deal.deal_type not in _GENERIC or len(named[i]) != 1:
            return False
        return any(named[i] < other for j, other in enumerate(named) if j != i)

    return [d for i, d in enumerate(deals) if not lone_repeat(i, d)]
