"""A fixed phrasing's evidence, applied to a window's answer.

:func:`~llm_extract.text.phrases.phrase_deals` reads the deals some sentences
state with no doubt about type or direction ("Netflix's acquisition of
Millarworld"). :func:`with_phrases` holds them against the model's answer for
the same window before the relation checks of :mod:`.relations` run: the
phrase corrects the direction of the deal it restates, completes a one-sided
record, or stands as a deal the answer left out. Every change is reported as
a :class:`~llm_extract.grounding.verify.Dropped`, like the relation checks'.
"""

from __future__ import annotations

from ..records.slots import WindowDeal
from ..text.phrases import PhraseDeal
from .sides import is_subject
from .verify import Dropped

_TURNED = "a fixed phrasing in the passage names the sides the other way round: sides swapped"
_COMPLETED = "a fixed phrasing in the passage names both sides: the one-sided record completed"


def with_phrases(
    answer: list[WindowDeal], phrases: list[PhraseDeal], where: str
) -> tuple[list[WindowDeal], list[WindowDeal], list[Dropped]]:
    """The model's deals with the phrases' evidence applied, and the phrases' own deals.

    A phrase (:func:`~llm_extract.text.phrases.phrase_deals`) whose two sides a
    deal of the same type already names is that deal: the phrase gives its
    direction ("Netflix's acquisition of Millarworld" makes Millarworld the
    target). A deal of the same type with one side, a side of the phrase, is
    the phrase's deal half read, and the phrase completes it. Any other
    phrase is a deal the answer left out, returned second, to be checked like
    the answer. Changes are reported under ``where``."""
    deals = list(answer)
    extra: list[WindowDeal] = []
    notes: list[Dropped] = []
    for phrase in phrases:
        p = phrase.deal
        hit = _same_pair(deals, p)
        if hit is not None:
            i, turned = hit
            if turned and deals[i].type is p.type and not phrase.symmetric:
                d = deals[i]
                notes.append(Dropped(f"{where}.deals[{i}].buyer", d.buyer or "", _TURNED))
                deals[i] = d.model_copy(update={"buyer": d.target, "target": d.buyer})
            if deals[i].amount is None and p.amount and deals[i].type is p.type:
                deals[i] = deals[i].model_copy(update={"amount": p.amount})
            continue
        half = next((i for i, d in enumerate(deals) if _half_of(d, p)), None)
        if half is not None:
            notes.append(Dropped(f"{where}.deals[{half}]", deals[half].trigger or "", _COMPLETED))
            deals[half] = _completed(deals[half], p)
        elif not any(_names_pair(d, p) for d in extra):
            extra.append(p)
    return deals, extra, notes


def _sides(deal: WindowDeal) -> list[str]:
    return [n for n in (deal.buyer, deal.target) if n]


def _names_pair(deal: WindowDeal, phrase: WindowDeal) -> bool:
    want = [n for n in (phrase.buyer, phrase.target) if n]
    return all(any(_same_side(w, n) for n in _sides(deal)) for w in want)


def _same_pair(deals: list[WindowDeal], phrase: WindowDeal) -> tuple[int, bool] | None:
    """The first deal naming both of the phrase's sides, and whether the other way round."""
    for i, deal in enumerate(deals):
        if deal.buyer and deal.target and _names_pair(deal, phrase):
            turned = _same_side(deal.buyer, phrase.target or "") and _same_side(
                deal.target, phrase.buyer or ""
            )
            return i, turned
    return None


def _half_of(deal: WindowDeal, phrase: WindowDeal) -> bool:
    sides = _sides(deal)
    return (
        deal.type is phrase.type
        and len(sides) == 1
        and any(_same_side(sides[0], n) for n in (phrase.buyer or "", phrase.target or ""))
    )


def _completed(half: WindowDeal, phrase: WindowDeal) -> WindowDeal:
    """The half record with the phrase's two sides and trigger, keeping its own
    spelling of the side it named and everything else it said (amount, seller,
    status, ...); the phrase's amount only where it gave none."""
    named = _sides(half)[0]
    side = "buyer" if _same_side(named, phrase.buyer or "") else "target"
    update: dict[str, object] = {"trigger": phrase.trigger, "buyer": phrase.buyer,
                                 "target": phrase.target, side: named}  # fmt: skip
    if half.amount is None:
        update["amount"] = phrase.amount
    return half.model_copy(update=update)


def _same_side(a: str, b: str) -> bool:
    """The same company, or one name closing the other ("Chinese RealMe", "RealMe")."""
    return is_subject(a, b) or is_subject(b, a)
