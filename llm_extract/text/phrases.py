"""Deals stated in a fixed phrasing, read with no model: "Corvid agreed to buy Brindle".

The embedded model answers "no deals" for many passages that state one, and
now and then gives a plain sentence's sides the wrong way round ("Millarworld"
as the acquirer in "Netflix's acquisition of Millarworld"). Some phrasings
leave no doubt about the type or the direction: a named buyer, a verb of
buying, a named target. :func:`phrase_deals` finds those, one record per
match, as :class:`~llm_extract.records.slots.WindowDeal` objects with the
phrase's verb as trigger, so the pipeline's relation checks judge them like
any answer of the model (:mod:`llm_extract.grounding.relations`).

Each pattern needs two capitalised names around its verb, so a sentence about
"the company" or "new technology" yields nothing: what the patterns cannot
name, the model has to. Names keep their own words; words that open a
sentence without naming anyone ("In 2014 Facebook") are cut off. A sale's
phrase also reads its price ("for 9 mln dlrs"); :func:`stated_worth` reads
the worth any deal's trigger is given ("a licensing deal worth $40 million").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..records.schemas import DealType
from ..records.slots import WindowDeal
from .candidates import MONEY
from .sentences import sentences

_CAP = r"(?:[A-Z0-9][\w&.'’-]*|&)"
_WORD = rf"(?:{_CAP}|(?:corp|inc|ltd)\b\.?)"
"""A name's word after its first: capitalised, or a suffix in lower case ("Acme corp")."""
_GAP = r"(?:[ \t]+|[ \t]*\n[ \t]*)"
_SUFFIX = r"(?:Inc|Corp|Corporation|Co|Cos|Company|Ltd|PLC|Plc|LLC|Group|Associates|Sons)\b\.?"
_AND_NAME = rf"{_CAP}(?:{_GAP}{_WORD}){{0,3}}{_GAP}and{_GAP}(?:{_WORD}{_GAP}){{0,3}}{_SUFFIX}"
_NAME = rf"(?<![\w&.'’-])(?:{_AND_NAME}|{_CAP}(?:{_GAP}(?:of{_GAP}|de{_GAP})?{_WORD}){{0,7}})"
"""At most eight words, each starting a word: the search stays linear in the sentence.
An "and" stays inside a name that a company suffix closes ("Sahlen and Associates Inc",
"Minnesota Mining and Mfg Co"); elsewhere it joins two names ("Orrin and Pell")."""
_A = rf"(?P<a>{_NAME})"
_B = rf"(?P<b>{_NAME})"
_KIND = (
    r"(?:[\w-]+\s+){0,3}?(?:company|firm|maker|carmaker|automaker|startup|start-up|group|"
    r"giant|carrier|airline|bank|rival|unit|subsidiary|developer|provider|operator|supplier)\s+"
)
_WITH_B = rf"with\s+(?:the\s+)?(?:{_KIND})?{_B}"
"""A partner, maybe after what kind of company it is: "with internet company Baidu"."""
_AUX = r"(?:(?:has|have|had|will|would|is|are|was|were|also|now|recently|finally|formally)\s+)*"
_TO = (
    r"(?:(?:agreed|agrees|plans|planned|offered|offers|wants|intends|moved|moves|"
    r"is set|was set|is going|is poised|is expected)\s+)?to\s+"
)
_ITS = r"(?:its|the|a|an)\s+(?:[\w-]+\s+){0,2}?"
_POSS = r"\s*['’]\s*s\s+"
_WHICH = (
    r"(?:which|who)\s+(?:(?:this|last|next)\s+(?:week|month|year)\s+|(?:on\s+)?[A-Z][a-z]+day\s+)?"
)
"""A relative clause on the buyer: "Corvid, which this week agreed to buy Brindle"."""
_SAID_IT = r"\s+said\s+(?:\w+\s+){0,3}?(?:that\s+)?it\s+" + _AUX

_SUBJ = rf"{_A}(?:{_SAID_IT}|\s+{_AUX})"
"""The side that acts, as subject ("Corvid has") or reported ("Corvid said on Monday it")."""

_BUY = r"acquire|buy|purchase|take\s+over|snap\s+up"
_BOUGHT = r"acquired|bought|purchased|took\s+over|snapped\s+up"
SALE_NOUNS = r"acquisition|purchase|takeover|buyout"
"""Nouns that name a sale: "the acquisition of Corvid"."""
_PARTNER = (
    r"partner(?:ed|s|ing)?|team(?:ed|s|ing)?\s+up|join(?:ed|s|ing)?\s+forces|"
    r"collaborat(?:ed|es|ing|e)|ti(?:e|es|ed)\s+up|tying\s+up|"
    r"(?:signed|signs|inked|struck|reached|formed|entered\s+into|announced|has|have|had|"
    r"cut|won|wins|landed|secured|sealed|clinched|renewed|extended)\s+"
    r"(?:a|an|its|their|the)\s+(?:[\w-]+\s+){0,3}?(?:deal|agreement|contract|pact|partnership|"
    r"alliance)"
)
_PARTNERING = r"partnering|teaming\s+up|joining\s+forces|collaborating|tying\s+up"
"""The partner verbs that can open an aside: "Northrop, teaming up with Virgin"."""
_INVEST = r"invest(?:ed|s|ing)?|poured|pumped"

# (type, trigger words, pattern, symmetric): "a" is the buyer side, "b" the target
# side, and <T> stands for the trigger, which every match must use.
# fmt: off
_RULES: list[tuple[DealType, str, str, bool]] = [
    (DealType.ACQUISITION, _BUY, rf"{_SUBJ}{_TO}<T>\s+{_B}", False),
    (DealType.ACQUISITION, _BUY, rf"{_A}{_SAID_IT}<T>\s+{_B}", False),
    (DealType.ACQUISITION, _BOUGHT, rf"{_SUBJ}<T>\s+{_B}", False),
    (DealType.ACQUISITION, _BUY, rf"{_A}\s*,\s*{_WHICH}{_AUX}{_TO}<T>\s+{_B}", False),
    (DealType.ACQUISITION, _BOUGHT, rf"{_A}\s*,\s*{_WHICH}{_AUX}<T>\s+{_B}", False),
    (DealType.ACQUISITION, SALE_NOUNS, rf"{_A}{_POSS}(?:[\w-]+\s+){{0,2}}?<T>\s+of\s+{_B}",
     False),
    (DealType.ACQUISITION, SALE_NOUNS,
     rf"{_SUBJ}(?:completed|announced|closed|finalized)\s+{_ITS}<T>\s+of\s+{_B}", False),
    (DealType.ACQUISITION, SALE_NOUNS, rf"<T>\s+of\s+{_B}\s+by\s+{_A}", False),
    (DealType.ACQUISITION, _BOUGHT,
     rf"{_B}\s+{_AUX}(?:been\s+|be\s+|agreed\s+to\s+be\s+)?<T>\s+by\s+{_A}", False),
    (DealType.STAKE_PURCHASE, "stake",
     rf"{_SUBJ}(?:{_TO})?(?:bought|acquired|took|buy|acquire|take)\s+(?:a|an)\s+"
     rf"(?:[\w.%-]+\s+){{0,3}}?<T>\s+in\s+{_B}", False),
    (DealType.MERGER, r"merged?|merges", rf"{_SUBJ}(?:{_TO})?<T>\s+with\s+{_B}", True),
    (DealType.MERGER, "merger", rf"<T>\s+(?:of|between)\s+{_A}\s+and\s+{_B}", True),
    (DealType.JOINT_VENTURE, r"joint\s+venture",
     rf"{_SUBJ}(?:formed|form|set\s+up|created|established|launched|signed)\s+"
     rf"{_ITS}<T>\s+with\s+{_B}", True),
    (DealType.JOINT_VENTURE, r"joint\s+venture",
     rf"<T>\s+(?:between|of)\s+{_A}\s+and\s+{_B}", True),
    (DealType.PARTNERSHIP, _PARTNER,
     rf"{_SUBJ}(?:{_TO})?(?:continue\s+to\s+)?<T>\s+{_WITH_B}", True),
    (DealType.PARTNERSHIP, _PARTNERING, rf"{_A}\s*,\s*<T>\s+{_WITH_B}", True),
    (DealType.INVESTMENT, _INVEST,
     rf"{_SUBJ}(?:{_TO})?<T>\s+(?:[^.;:]{{0,40}}?\s)?in(?:to)?\s+{_B}", False),
    (DealType.CONTRACT_MANUFACTURING, r"make|build|manufacture|assemble|produce",
     rf"{_SUBJ}(?:hired|picked|chose|selected|contracted|tapped)\s+{_B}\s+to\s+<T>",
     False),
]
# fmt: on
_OWNER = re.compile(r"['’]s$")
_OWNED = re.compile(r"\s*['’]\s*s\b")
"""A possessive closing the target side ("Corvid's", "Corvid 's"): what is bought is
the side's unit, not the side."""
_OWNED_NAME = re.compile(rf"\s*['’]\s*s\s+({_NAME})")
"""For a partner, the owned company is the side: "with FCA 's Chrysler" (tokenised text).
A possessive inside a word stays in the name ("with McDonald's Japan")."""


_NAMED_TYPES = {"merger": DealType.MERGER, "joint venture": DealType.JOINT_VENTURE}
_NAMED_TYPE = re.compile(r"\b(?:merger|joint\s+venture)\b", re.IGNORECASE)
"""An agreement whose own words name a type with no direction: "signed a merger
agreement with". A licence has one (who licenses to whom), which "with" does not give."""

PRICED = frozenset({DealType.ACQUISITION, DealType.STAKE_PURCHASE, DealType.INVESTMENT})
"""Deal types with a price: what :func:`stated_price` is read for."""
_ABOUT = r"(?:about|around|nearly|roughly|some|up\s+to|an?\s+estimated|approximately)\s+"
_ABBREVIATED = r"\.(?=\w)|(?:(?<=\b[A-Z])|(?<=\bInc)|(?<=\bCorp)|(?<=\bCo)|(?<=\bLtd))\."
"""A full stop that ends no sentence: inside a word, or after "U.S", "Inc", "Corp"."""
_FOR = re.compile(
    rf"(?:(?!\band\b)[^.;:]|{_ABBREVIATED}){{0,80}}?\bfor\s+(?:{_ABOUT})?(?:an?\s+)?"
    rf"(?P<money>{MONEY.pattern})",
    re.IGNORECASE,
)
"""Where a sale's price follows its target: "bought Corvid, a flour miller, for 9 mln
dlrs", "by U.S. group Brannock Inc. for 1.2 billion pounds" (an abbreviation's full
stop ends no sentence); not across an "and", which may start the next deal."""
_PER_SHARE = re.compile(r"\s*(?:in\s+)?(?:cash\s+)?(?:per|a|each)\s+(?:common\s+)?share", re.I)

_ASIDE = re.compile(r",\s+(?:an?|the)\s+(?:[\w-]+\s+){0,2}?$")
"""A deal named in an aside describes what a company already is: "CFM, a joint
venture of GE and Safran, makes engines" is background, not news."""

_COMPILED = [
    (kind, re.compile(pattern.replace("<T>", f"(?P<t>{words})")), re.compile(words), symmetric)
    for kind, words, pattern, symmetric in _RULES
]
_ANY_TRIGGER = re.compile("|".join(f"(?:{words})" for _, words, _, _ in _RULES))
"""Most sentences use no trigger word: they are passed over with one search."""

_OPENERS = {
    "in", "on", "at", "after", "before", "since", "by", "for", "with", "as", "when", "while",
    "the", "a", "an", "and", "but", "or", "so", "then", "also", "meanwhile", "last", "this",
    "that", "earlier", "later", "now", "yesterday", "today", "shares", "analysts", "under",
    "if", "once", "though", "although", "because", "during", "between", "of", "to", "from",
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "monday", "tuesday", "wednesday", "thursday",
    "friday", "saturday", "sunday", "it", "he", "she", "they", "we", "its", "their", "his",
}  # fmt: skip
"""Capitalised words that open a sentence or clause without being part of a name. Like
the relation checks' words that open a clause without naming its subject, but not the
same set: each was measured with its own, and joining them changes the holdout figures."""


@dataclass(frozen=True)
class PhraseDeal:
    """One fixed-phrase match: the record, where its trigger stands in the text, and
    whether its type has no direction (a merger, a partnership: either side first)."""

    deal: WindowDeal
    start: int
    end: int
    symmetric: bool


_BASED = re.compile(r"[\w.'’-]+-based$")
_SEAT = re.compile(rf"^(.*?\b{_SUFFIX})\s+of\s+[A-Z].*$")
"""A company's seat after its suffix: "Westway Funding Corp of Armonk"."""


def _clean(name: str) -> str | None:
    """The name without sentence-opening words, figures alone, where it is based
    ("Miami-based"), the seat after its suffix ("of Armonk") or a closing full stop."""
    words = name.split()  # also joins a name broken across lines
    while words and (
        words[0].casefold() in _OPENERS or words[0].strip(".,").isdigit() or _BASED.match(words[0])
    ):
        words = words[1:]
    while words and (words[-1] == "&" or words[-1].casefold() in _OPENERS):
        words = words[:-1]
    if not words:
        return None
    out = " ".join(words)
    out = seat.group(1) if (seat := _SEAT.match(out)) else out
    out = out[:-1] if out.endswith(".") and not re.search(r"\b(?:Inc|Co|Corp|Ltd)\.$", out) else out
    return out if any(c.isalpha() for c in out) else None


def phrase_deals(text: str) -> list[PhraseDeal]:
    """Every deal ``text`` states in one of the fixed phrasings, in text order.

    One match per sentence and pattern; a sentence that two patterns read
    differently gives both, and the relation checks and the merge decide."""
    found: list[PhraseDeal] = []
    for lo, hi in sentences(text) or [(0, len(text))]:
        sentence = text[lo:hi]
        if _ANY_TRIGGER.search(sentence) is None:
            continue
        for deal_type, pattern, trigger_words, symmetric in _COMPILED:
            if trigger_words.search(sentence) is None:
                continue
            m = pattern.search(sentence)
            if m is None:
                continue
            target_name = m.group("b")
            owned = _OWNED_NAME.match(sentence, m.end("b")) if symmetric else None
            if owned is not None:
                target_name = owned.group(1)  # "with FCA 's Chrysler": the partner is Chrysler
            elif _OWNER.search(target_name) or _OWNED.match(sentence, m.end("b")):
                continue  # "bought Corvid's flour unit": Corvid sells, the unit is bought
            buyer, target = _clean(m.group("a")), _clean(target_name)
            if buyer is None or target is None or buyer.casefold() == target.casefold():
                continue
            trigger = m.group("t")
            named = _NAMED_TYPE.search(trigger) if deal_type is DealType.PARTNERSHIP else None
            kind = _NAMED_TYPES[" ".join(named.group(0).casefold().split())] if named else deal_type
            amount = _amount(kind, sentence, m) if kind in PRICED else None
            aside = _ASIDE.search(sentence, 0, m.start("t")) is not None
            deal = WindowDeal(trigger=trigger, type=kind, buyer=buyer, target=target,
                              seller=None, amount=amount, status=None, business=None,
                              location=None, date=None, background=aside)  # fmt: skip
            found.append(PhraseDeal(deal, lo + m.start("t"), lo + m.end("t"), symmetric))
    found.sort(key=lambda p: p.start)
    return found


def _amount(kind: DealType, sentence: str, m: re.Match[str]) -> str | None:
    """The price the phrase's own sentence gives: money after "for" beyond the target,
    or, for an investment, money between the verb and its "in" ("invested 40 mln
    dlrs in Corvid"); None when the sentence gives none there or prices a share."""
    if kind is DealType.INVESTMENT and m.start("b") > m.end("t"):
        between = MONEY.search(sentence, m.end("t"), m.start("b"))
        if between is not None:
            return between.group(0)
    return _price(_FOR, sentence, m.end("b"), len(sentence))


def _price(pattern: re.Pattern[str], text: str, start: int, end: int) -> str | None:
    """The money ``pattern`` reads at ``start`` (its ``money`` group), unless it
    prices a share: "for 52 dlrs a share" is not what the deal is worth."""
    found = pattern.match(text, start, end)
    if found is None or _PER_SHARE.match(text, found.end("money")):
        return None
    return found.group("money")


_WORTH = re.compile(
    rf"\s*(?:[\w-]+\s+){{0,3}}?(?:,\s*)?(?:worth|valued\s+at)\s+(?:{_ABOUT})?(?P<money>{MONEY.pattern})",
    re.IGNORECASE,
)


def stated_worth(text: str, start: int, end: int) -> str | None:
    """The money ``text[start:end]`` says a deal is worth, right after its trigger:
    "a licensing deal worth up to $40 million", "the takeover, valued at 2 bln dlrs";
    None when it says no worth there, or prices a share."""
    return _price(_WORTH, text, start, end)


def stated_price(text: str, start: int, end: int) -> str | None:
    """The price ``text[start:end]`` gives a sale right after its trigger: "agreed to
    be acquired by Brannock Group Inc for 1.2 billion pounds"; None when it gives
    none there, or prices a share ("for 310 pence a share")."""
    return _price(_FOR, text, start, end)
