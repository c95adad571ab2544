"""Whether a deal's side reads as a company: not a person, not a phrase, not a figure.

The relation checks (:mod:`.relations`) remove a side the model filled with a
person named by a title ("Ashok Gupta, chairman of ..."), with words no one
can look up as a company ("the automaker", "TV deals", a headline's
"Ulterior motives ?"), with a place ("Wentzville, Missouri") or with a figure
("Shr 73 cts vs 58 cts"), and trim words the model copied around a name.
"""

from __future__ import annotations

import functools
import re

import pycountry

_TITLES = (
    r"chairman|chairwoman|chief executive(?: officer)?|ceo|president|vice president|"
    r"founder|co-founder|managing director|chief \w+ officer|cfo|coo|cto|spokesman|"
    r"spokeswoman|spokesperson|analyst|minister|head"
)
_DEAL_NOUNS = {"deal", "deals", "agreement", "agreements", "acquisition", "acquisitions",
               "merger", "mergers", "partnership", "partnerships", "investment",
               "investments", "stake", "stakes", "transaction", "transactions"}  # fmt: skip
"""A side ending in one of these ("TV deals") names a deal, not a company."""


def looks_person(name: str, text: str) -> bool:
    """Whether ``text`` names ``name`` as a person, by a title beside it:
    "Ashok Gupta, chairman of Optiemus Group", "CEO of Lumora, Mei-Ling Chou",
    or, for a surname, "Steve Boland, the bank's head of consumer lending".
    A name the text also gives as a titled person's company is that company:
    "Dell" of "Michael Dell, founder of Dell"."""
    esc = re.escape(name)
    if re.search(rf"\b(?i:{_TITLES})\s+(?:of|at)\s+(?:the\s+)?{esc}\b", text):
        return False
    whose = r"(?:(?:the|its|a)\s+(?:[\w'’]+\s+){0,2}?)?"
    after = rf"\b{esc}\s*,\s*{whose}(?i:{_TITLES})(?:\s+(?:of|at)\b|\s*[,.])"
    org = r"[A-Z][\w&'’-]*(?:[ \t]+[A-Z][\w&'’-]*)*"  # within the sentence: no full stop
    before = rf"\b(?i:{_TITLES})(?:[ \t]+(?:of|at)[ \t]+{org})?[ \t]*,?[ \t]+{esc}\b"
    return re.search(after, text) is not None or re.search(before, text) is not None


_PRONOUNS = {"he", "she", "it", "they", "we", "i", "you", "his", "her", "its", "their", "our"}
_FIGURE = re.compile(
    r"\d[\d,.]*\s*(?:%|pct\b|percent\b|cts\b|dlrs?\b|mln\b|billion\b)|\d{1,3}(?:,\d{3})+", re.I
)


def looks_name(value: str) -> bool:
    """Whether a side reads as a proper name: some capital letter or digit,
    not a pronoun, no figure, no question or exclamation mark, and no deal
    noun closing it. "the automaker", "research and development", "He", a
    results line ("Shr 73 cts vs 58 cts", "Net 1,101,000"), a headline's
    "Ulterior motives ?" and "TV deals" are not parties anyone can look up;
    "eBay" and "3M" are."""
    has_mark = any(c.isupper() or c.isdigit() for c in value)
    plain = value.strip().casefold() not in _PRONOUNS
    words = value.split()
    no_deal = not words or words[-1] not in _DEAL_NOUNS
    clean = not any(c in value for c in "?!")
    return has_mark and plain and no_deal and clean and _FIGURE.search(value) is None


_COUNT = r"(?:\d[\d,.]*|two|three|four|five|six|seven|eight|nine|ten|dozens?\s+of|hundreds\s+of)"


def looks_counted(name: str, text: str) -> bool:
    """Whether ``text`` only ever counts ``name``, a plural: "55 Dreamliners",
    "two Corvettes". What is counted is a product, not a company; a name that
    also stands without a number ("Sears") is kept."""
    if not name.endswith("s") or not name[:1].isupper():
        return False
    esc = re.escape(name)
    every = re.findall(rf"(?<![\w&.'’-]){esc}(?![\w&'’-])", text)
    counted = re.findall(rf"(?i:\b{_COUNT})\s+{esc}(?![\w&'’-])", text)
    return bool(every) and len(counted) == len(every)


_OPENER = re.compile(
    r"^(?:Separately|Additionally|Similarly|Finally|Initially|Previously|Recently|Currently|"
    r"Subsequently|Consequently|Accordingly|Notably|Ultimately|Meanwhile|However|Also|"
    r"Elsewhere|Still|Instead|Then|Earlier|Later|Now|Yesterday|Today|And|But|Moreover|"
    r"Besides|Further|Furthermore),\s+(?=\S)"
)


def without_opener(name: str) -> str | None:
    """``name`` without a clause opener the model copied with it ("Separately,
    Pell Retail" is Pell Retail), or None when it has none."""
    found = _OPENER.match(name)
    return name[found.end() :] if found else None


_ASIDE = re.compile(
    r"\s*,\s*(?=(?:through|via|which|who|whose|a|an|the|its|their|formerly|now|part|one|"
    r"including|based|owned|headquartered|known|itself|also)\b)"
)
"""A comma and a word that opens an aside: a relative pronoun, an article, a participle."""


def without_aside(name: str) -> str | None:
    """``name`` cut before an aside the model copied with it, or None when it has
    none: "Kinder Morgan KMI, through its subsidiary Kinder Morgan Canada Limited,"
    is Kinder Morgan KMI. A comma before a capital stays in the name ("Early,
    Cole & Co"), and so does a list ("Pixar, Marvel, and Lucasfilm", "Finlays
    confectionery, tobacco and newsagent business"): only an aside's opening
    word (which, through, a, its, based, ...) ends the name."""
    found = _ASIDE.search(name)
    head = name[: found.start()].strip() if found else ""
    return head if head and any(c.isalpha() for c in head) else None


def trimmed(name: str) -> tuple[str, list[str]]:
    """``name`` without the clause opener before it and the aside after it that the
    model copied with it, and the reason for each trim, for the dropped list."""
    reasons = []
    if bare := without_opener(name):
        name, reasons = bare, ["a clause opener; trimmed"]
    if head := without_aside(name):
        name, reasons = head, [*reasons, "an aside after the name; trimmed"]
    return name, reasons


_REGION_COUNTRIES = ("US", "CA", "AU", "IN", "CN", "DE", "BR", "MX")


@functools.cache
def _regions() -> frozenset[str]:
    """Casefolded names of countries and of the states or provinces of the
    countries whose towns news writes as "Town, State"."""
    names = {c.name for c in pycountry.countries}
    names |= {getattr(c, "common_name", c.name) for c in pycountry.countries}
    names |= {s.name for s in pycountry.subdivisions if s.country_code in _REGION_COUNTRIES}
    return frozenset(n.casefold() for n in names)


def looks_place(name: str) -> bool:
    """Whether ``name`` is a town and its state or country, the way news writes a
    place: "Wentzville, Missouri", "Pune, India". No company is named so."""
    head, comma, tail = name.rpartition(",")
    return bool(comma and head.strip()) and tail.strip().casefold() in _regions()


_GENERIC = {
    "american", "british", "chinese", "german", "french", "japanese", "indian", "european",
    "general", "united", "national", "international", "first", "new", "global", "royal",
    "standard", "great", "north", "south", "east", "west", "western", "eastern", "central",
    "pacific", "atlantic", "bank", "the", "air", "china", "us", "u.s.",
}  # fmt: skip
"""First words that many companies share, or that stand alone as other words."""


def short_form(name: str, text: str) -> str | None:
    """The first word of ``name`` when ``text`` uses it alone for this company only,
    or None: "Orrin" for Orrin Pharma Ltd, where the article goes on "Orrin
    signed". Not when another name in the text opens with the same word
    ("Sentra Bank" beside "Sentra Energy"), nor for words many companies share
    ("General", "American")."""
    words = name.split()
    if len(words) < 2 or len(words[0]) < 3 or not words[0][0].isupper():
        return None
    short = words[0]
    if short.casefold() in _GENERIC:
        return None
    runs = re.findall(rf"(?<![\w&.'’-]){re.escape(short)}(?:[ \t]+[A-Z][\w&'’-]*)*", text)
    longer = {" ".join(r.split()) for r in runs} - {short}
    return short if all(name.startswith(r) for r in longer) else None
