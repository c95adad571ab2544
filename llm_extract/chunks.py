"""Long articles: split on sentence boundaries with overlap, merge what each part found.

A chunk is a slice of the caller's text with its start offset, so anything
found in it maps back to the article by adding ``start``. Chunks end at
sentence ends where they can and repeat the previous chunk's last sentences
(up to ``overlap`` characters), so a deal stated across a boundary is still
seen whole by one of them.

Merging keeps the first chunk's main deal first (news states its main deal
early), merges repeats of a deal (the same parties, sellers aside, by folded
name: the first record wins and later ones fill its empty fields) and merges
companies by name, pooling their aliases.
"""

from __future__ import annotations

from dataclasses import dataclass

from .company_names import fold_name
from .schemas import ArticleDeals, Company, Deal, Role
from .sentences import sentences


@dataclass(frozen=True)
class Chunk:
    start: int
    text: str

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def _pieces(text: str, max_chars: int) -> list[tuple[int, int]]:
    """Sentences, with any sentence longer than ``max_chars`` cut at whitespace."""
    out: list[tuple[int, int]] = []
    for start, end in sentences(text):
        while end - start > max_chars:
            cut = text.rfind(" ", start + 1, start + max_chars)
            cut = cut if cut > start else start + max_chars
            out.append((start, cut))
            start = cut
            while start < end and text[start].isspace():
                start += 1
        if end > start:
            out.append((start, end))
    return out


def split(text: str, max_chars: int, overlap: int) -> list[Chunk]:
    """Chunks of at most ``max_chars`` characters covering all of ``text``."""
    if max_chars <= 0 or overlap < 0 or overlap >= max_chars:
        raise ValueError("need max_chars > overlap >= 0")
    if len(text) <= max_chars:
        return [Chunk(0, text)]
    pieces = _pieces(text, max_chars)
    chunks: list[Chunk] = []
    i = 0
    while i < len(pieces):
        first = i
        start = pieces[i][0]
        while i + 1 < len(pieces) and pieces[i + 1][1] - start <= max_chars:
            i += 1
        end = pieces[i][1]
        chunks.append(Chunk(start, text[start:end]))
        i += 1
        if i >= len(pieces):
            break
        back = i
        while back - 1 > first and pieces[i - 1][1] - pieces[back - 1][0] <= overlap:
            back -= 1
        i = back if back < i else i
    return chunks


def _deal_key(deal: Deal) -> frozenset[str] | tuple[str, str]:
    """Deals between the same companies are one deal, whatever type each record
    gave it; a deal without parties is only its own repeat."""
    names = frozenset(fold_name(p.name) for p in deal.parties if p.role is not Role.SELLER)
    return names or (deal.deal_type.value, deal.trigger or "")


def _combine(first: Deal, later: Deal) -> Deal:
    """``first`` with the fields it left empty taken from a later record of the deal."""
    update: dict[str, object] = {}
    for name in Deal.model_fields:
        mine, theirs = getattr(first, name), getattr(later, name)
        if mine in (None, []) and theirs not in (None, []):
            update[name] = theirs
    known = {fold_name(p.name) for p in first.parties}
    extra = [p for p in later.parties if fold_name(p.name) not in known]
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
    deals: dict[frozenset[str] | tuple[str, str], Deal] = {}
    companies: dict[str, Company] = {}
    for result in results:
        for deal in result.deals:
            found = _deal_key(deal)
            deals[found] = _combine(deals[found], deal) if found in deals else deal
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
    return ArticleDeals(deals=list(deals.values())[:8], companies=list(companies.values())[:12])
