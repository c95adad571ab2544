"""Evidence for the relation, not just the names: local checks on each window's deals.

Grounding proves that a name stands in the text. It does not prove that the
name is a party to the deal: "Xiaomi acquires RealMe" is grounded name by name
and false as a relation. These checks run after the model, on each
:class:`~llm_extract.records.slots.WindowDeal`, with plain text rules:

* the **trigger** must stand in the window, and its sentence must use a word
  that can state the deal type (:func:`~llm_extract.text.windows.supports`); when
  the model's trigger is not in the passage, the type's word in the sentence
  that names the parties stands in for it; a deal without such evidence is
  dropped, never returned with an invented type;
* every **party** and the **amount** (and, outside sales, the **products**)
  must stand in the trigger's sentence or the sentences next to it, and not
  only in a sentence that addresses the model (a prompt injection); a value
  that fails is removed;
* a deal whose trigger sentence reads as earlier news is marked
  ``background`` even if the model did not say so;
* the **sides** are turned or moved where the trigger's sentence leaves no
  doubt (a passive agent, "the acquisition of X", "the cheese business of X",
  "licensed ... to X", "X as the supplier"): :mod:`.sides`, each change reported;
* a **partnership** whose trigger goes on "with Kavya to manufacture" is a
  contract-manufacturing deal, the trigger's subject the client and Kavya the
  supplier (:func:`~.sides.made_by_partner`); the new type is reported.

Each removal is reported as a :class:`~llm_extract.grounding.verify.Dropped`, like
any other value without evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..records.slots import SALE_TYPES, DealSlots, WindowDeal
from ..text.phrases import PRICED, stated_price, stated_worth
from ..text.sentences import injected_spans, sentence_index, sentences
from ..text.windows import Window, denial, looks_background, supports, type_word
from .align import Match, align
from .names import (
    looks_counted,
    looks_name,
    looks_person,
    looks_place,
    short_form,
    trimmed,
)
from .sides import (
    MADE_BY_PARTNER,
    NAME,
    OWN_UNIT,
    SWAPPED,
    inside,
    is_subject,
    made_by_partner,
    maker_for_subject,
    orient,
    own_unit_sold,
    passive_sides,
)
from .verify import Dropped

_PARTY_FIELDS = ("buyer", "target", "seller", "amount")

_AUX = r"has|have|had|will|would|is|are|was|were|also|now|recently|formally|officially"
_SUBJECT = re.compile(rf"(?<![\w$&.'’-])({NAME})\s+(?:(?:{_AUX})\s+)*$")
_GUESS = 0.6
_GUESSED = "the model's background flag was a guess and the sentence reads as news: cleared"
"""A flag the model gives with less than ``_GUESS`` probability is a coin toss."""
_DENIED = "the passage denies the deal: its status is the denial"
_CLIENT_IS_SUBJECT = "the trigger's subject is the client and the named maker the supplier"
_NOT_NAMES = {"it", "he", "she", "they", "we", "this", "that", "the", "which", "who",
              "by", "after", "before", "since", "in", "on", "upon", "with", "without", "for",
              "from", "through", "under", "as", "while", "when", "once", "if", "and", "but",
              "also", "then", "instead", "besides", "despite", "following", "to", "of",
              "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
              "january", "february", "march", "april", "may", "june", "july", "august",
              "september", "october", "november", "december"}  # fmt: skip
"""Capitalised words that open a clause without naming its subject ("By purchasing ...",
"said on Monday it will")."""
_NOT_SUBJECT = re.compile(r"(?i:series)\s+[A-Z]\d?")
"""A funding series ("led the Series B round") names the round, not who invests."""


@dataclass(frozen=True)
class _Scope:
    """The window's sentences as offsets into the window text."""

    sentences: list[tuple[int, int]]
    injected: list[tuple[int, int]]

    def near(self, offset: int, reach: int = 1) -> tuple[int, int]:
        """The span of the sentence holding ``offset`` and ``reach`` sentences on each side."""
        index = sentence_index(self.sentences, offset)
        lo = max(0, index - reach)
        hi = min(len(self.sentences) - 1, index + reach)
        return self.sentences[lo][0], self.sentences[hi][1]

    def sentence(self, offset: int) -> tuple[int, int]:
        return self.near(offset, reach=0)

    def clean(self, start: int, end: int) -> bool:
        return not any(s <= start and end <= e for s, e in self.injected)


def _near(value: str, text: str, lo: int, hi: int, scope: _Scope) -> bool:
    """Whether ``value``, or the short form the article uses for it, stands in
    ``text[lo:hi]`` outside injected sentences."""
    if _occurs_in(value, text, lo, hi, scope):
        return True
    short = short_form(value, text)
    return short is not None and _occurs_in(short, text, lo, hi, scope)


def _occurs_in(value: str, text: str, lo: int, hi: int, scope: _Scope) -> bool:
    """Whether ``value`` stands in ``text[lo:hi]`` outside injected sentences."""
    part = text[lo:hi]
    pos = 0
    while (found := align(value, part[pos:])) is not None:
        start, end = lo + pos + found.start, lo + pos + found.end
        if scope.clean(start, end):
            return True
        pos += found.end
    return False


def _stand_in(deal: WindowDeal, text: str, scope: _Scope) -> tuple[WindowDeal, Match | None]:
    """The deal with its type's word from the sentence naming its parties as trigger."""
    for name in (deal.target, deal.buyer):
        found = align(name, text) if name else None
        if found is None or not scope.clean(found.start, found.end):
            continue
        lo, hi = scope.sentence(found.start)
        word = type_word(deal.type, text[lo:hi])
        if word is not None:
            start = lo + word[0]
            trigger = text[start : lo + word[1]]
            return deal.model_copy(update={"trigger": trigger}), Match(start, lo + word[1], "exact")
    return deal, None


def _unnamed(evidence: str, deal: WindowDeal) -> str:
    """``evidence`` with the deal's party names blanked as whole words: "Partners"
    in "Energy Transfer Partners" names the company, it states no partnership;
    a party called "Ac" leaves "Acquisition" whole."""
    for name in (deal.buyer, deal.target, deal.seller):
        if name:
            evidence = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", " ", evidence)
    return evidence


def trigger_subject(sentence: str, trigger_start: int) -> str | None:
    """The name that opens the trigger's clause as its subject, if any:
    "OnePlus" in "... maker OnePlus has decided to outsource production".
    Only a capitalised name followed by nothing but auxiliaries counts."""
    found = _SUBJECT.search(sentence[:trigger_start])
    if found is None or found.group(1).casefold() in _NOT_NAMES:
        return None
    if _NOT_SUBJECT.fullmatch(found.group(1)):
        return None
    return found.group(1)


def check_window(
    deals: list[WindowDeal],
    window: Window,
    where: str,
    sure: dict[str, float] | None = None,
    min_confidence: float = 0.0,
) -> tuple[list[WindowDeal], list[Dropped]]:
    """The deals of one window that keep their evidence, and what was removed.

    ``sure`` maps the window answer's paths ("deals[0].type") to the model's
    confidence; a deal whose type is below ``min_confidence`` is dropped.
    """
    sure = sure or {}
    text = window.text
    scope = _Scope(sentences(text) or [(0, len(text))], injected_spans(text))
    kept: list[WindowDeal] = []
    dropped: list[Dropped] = []
    for i, deal in enumerate(deals):
        path = f"{where}.deals[{i}]"
        p_type = sure.get(f"deals[{i}].type", 1.0)
        if p_type < min_confidence:
            reason = f"type confidence {p_type:.2f} below min_confidence {min_confidence:.2f}"
            dropped.append(Dropped(f"{path}.type", deal.type.value, f"{reason}; deal removed"))
            continue
        anchor = align(deal.trigger, text) if deal.trigger else None
        if anchor is None:
            deal, anchor = _stand_in(deal, text, scope)
        if anchor is None or not scope.clean(anchor.start, anchor.end):
            dropped.append(
                Dropped(path, deal.trigger or "", "no trigger in the passage; deal removed")
            )
            continue
        s_lo, s_hi = scope.sentence(anchor.start)
        if not supports(deal.type, _unnamed(f"{deal.trigger} {text[s_lo:s_hi]}", deal)):
            reason = f"the trigger's sentence does not state a {deal.type.value}; deal removed"
            dropped.append(Dropped(f"{path}.type", deal.type.value, reason))
            continue
        subject = trigger_subject(text[s_lo:s_hi], anchor.start - s_lo)
        if sold := own_unit_sold(deal, subject):
            dropped.append(Dropped(f"{path}.target", deal.target or "", OWN_UNIT))
            deal = sold
        changes, people = _check_parties(deal, text, scope, anchor.start, (path, dropped))
        checked = deal.model_copy(update=changes)
        if fixed := maker_for_subject(checked, text, subject):
            dropped.append(Dropped(f"{path}.buyer", deal.buyer or "", _CLIENT_IS_SUBJECT))
            deal, checked = fixed, fixed
            changes = {}
        if why := _no_relation(checked, people, subject):
            dropped.append(Dropped(path, deal.trigger or "", why))
            continue
        p_background = sure.get(f"deals[{i}].background", 1.0)
        told = _as_told(checked, text, (anchor.end, s_lo, s_hi), p_background, (path, dropped))
        deal = deal.model_copy(update=changes | told)
        deal = orient(deal, text[s_lo:s_hi], (path, dropped))
        if made := made_by_partner(deal, text[anchor.start : s_hi], subject):
            dropped.append(Dropped(f"{path}.type", deal.type.value, MADE_BY_PARTNER))
            deal = made
        if deal.buyer or deal.target:
            kept.append(deal)
    return kept, dropped


def _as_told(
    deal: WindowDeal,
    text: str,
    at: tuple[int, int, int],
    p_background: float,
    out: tuple[str, list[Dropped]],
) -> dict[str, object]:
    """What the trigger's sentence says of the deal's news: whether it is earlier
    news (``background``), whether it is denied (``status``), and what it is worth
    (``amount``, when the model gave none). ``at`` is the trigger's end and the
    sentence's span; changes the model did not make are appended to ``out``."""
    path, dropped = out
    end, lo, hi = at
    sentence = text[lo:hi]
    told: dict[str, object] = {}
    earlier = looks_background(sentence)
    if not deal.background and earlier:
        told["background"] = True
    elif deal.background and not earlier and p_background < _GUESS:
        dropped.append(Dropped(f"{path}.background", "true", _GUESSED))
        told["background"] = False
    if (denied := denial(sentence)) and deal.status != denied:
        dropped.append(Dropped(f"{path}.status", deal.status or "", _DENIED))
        told["status"] = denied
    if deal.amount is None:
        price = stated_price(text, end, hi) if deal.type in PRICED else None
        if worth := price or stated_worth(text, end, hi):
            told["amount"] = worth
    return told


def _check_parties(
    deal: WindowDeal, text: str, scope: _Scope, at: int, out: tuple[str, list[Dropped]]
) -> tuple[dict[str, object], list[str]]:
    """Removals for the parties, amount and (outside sales) products not near the
    trigger at ``at``, and for parties that name a person or no name. A party
    the trigger's sentences call by its short form ("Orrin signed" for Orrin
    Pharma Ltd, :func:`~.names.short_form`) is near.

    Returns the field changes and the fields that named a person; each removal
    is appended to the dropped list of ``out`` under its path.
    """
    path, dropped = out
    lo, hi = scope.near(at)
    changes: dict[str, object] = {}
    people: list[str] = []
    fields = _PARTY_FIELDS if deal.type in SALE_TYPES else (*_PARTY_FIELDS, "business")
    for field in fields:
        value = getattr(deal, field)
        if value and field not in ("amount", "business"):
            bare, trims = trimmed(value)
            dropped += [Dropped(f"{path}.{field}", value, why) for why in trims]
            if trims:
                changes[field] = value = bare
        if value and not _near(value, text, lo, hi, scope):
            changes[field] = None
            reason = "not in the sentences that state the deal; removed"
            dropped.append(Dropped(f"{path}.{field}", value, reason))
        elif value and field in ("amount", "business"):
            continue
        elif value and looks_person(value, text):
            changes[field] = None
            people.append(field)
            dropped.append(Dropped(f"{path}.{field}", value, "a person, not a company"))
        elif value and not looks_name(value):
            changes[field] = None
            dropped.append(Dropped(f"{path}.{field}", value, "not a name; removed"))
        elif value and looks_place(value):
            changes[field] = None
            dropped.append(Dropped(f"{path}.{field}", value, "a place, not a company"))
        elif value and looks_counted(value, text):
            changes[field] = None
            dropped.append(Dropped(f"{path}.{field}", value, "a counted product; removed"))
    return changes, people


def _no_relation(deal: WindowDeal, people: list[str], subject: str | None) -> str | None:
    """Why the deal states no relation between its parties, or None.

    A deal that lost a side to a person, or that names two sides but not its
    trigger's ``subject`` ("OnePlus has decided to outsource" given as a deal
    of Optiemus and RealMe), is removed rather than kept half right."""
    sides = {f: getattr(deal, f) for f in ("buyer", "target")}
    if people and len([v for v in sides.values() if v]) < 2:
        return "a side was a person, so no relation between companies is left; deal removed"
    named = [n for n in sides.values() if n]
    if len(named) < 2:
        return None  # a lone side the checks left: nothing to judge the relation by
    parties = [n for n in (*named, deal.seller) if n]
    if subject and not any(is_subject(subject, n) or inside(subject, n) for n in parties):
        return f"the trigger's subject {subject!r} is not one of its parties; deal removed"
    return None


def orient_record(record: DealSlots, text: str, where: str) -> tuple[DealSlots, list[Dropped]]:
    """A one-record answer with its sides checked by :func:`passive_sides`
    in the first sentence that names both of them."""
    buyer, target = record.buyer, record.target
    if not buyer or not target:
        return record, []
    for lo, hi in sentences(text) or [(0, len(text))]:
        sentence = text[lo:hi]
        if align(buyer, sentence) is None or align(target, sentence) is None:
            continue
        if not passive_sides(record.deal_type, buyer, target, sentence):
            return record, []
        swapped = record.model_copy(update={"buyer": target, "target": buyer})
        return swapped, [Dropped(f"{where}.buyer", buyer, SWAPPED)]
    return record, []
