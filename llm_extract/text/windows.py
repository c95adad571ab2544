"""Deal windows: the passages of an article that state deals, found before any model call.

A small model asked for one record per article names one deal and invents the
relation when the article holds several. Asked about one passage at a time, it
has less to confuse. :func:`find_windows` cuts the article into consecutive
runs of whole sentences of at most ``max_chars`` characters and keeps the runs
that use a deal word (:data:`DEAL_CUES`); a story shorter than that is one
window. Windows do not overlap, so every deal the model reports belongs to
exactly one window, and the records of a deal stated in two windows are merged
later by party pair.

The same module holds the other local evidence the pipeline checks, all plain
text rules with no model: which words can state which deal type
(:func:`supports`) and the words that mark a deal as background
(:func:`looks_background`). Sentences come from :mod:`llm_extract.text.sentences`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..records.schemas import DealType
from .sentences import fitted, sentences

DEAL_CUES = re.compile(
    r"\b(acqui\w*|buy\w*|bought|purchas\w*|sells?|sold|sale|merg\w*|takeover|take over|"
    r"tender offer|stake|invest\w*|fund\w*|financ\w*|partner\w*|joint venture|alliance|"
    r"agreement|agreed|accord|contract\w*|deal|outsourc\w*|sourcing|supply|supplier|"
    r"manufactur\w* for|licen[cs]\w*|distribut\w*|collaborat\w*|tie-up|tied up|bid)\b",
    re.IGNORECASE,
)

# Words that can state each deal type. A trigger sentence without any of them
# does not support the type the model chose.
_TYPE_WORDS: dict[DealType, str] = {
    DealType.ACQUISITION: r"acqui|buy|bought|purchas|takeover|take over|tender|sale|sell|sold|"
    r"merg|owns|control|bid|offer|deal|transaction",
    DealType.STAKE_PURCHASE: r"stake|pct|percent|%|shares|interest|holding|acqui|buy|bought",
    DealType.MERGER: r"merg|combin|amalgamat",
    DealType.INVESTMENT: r"invest|fund|financ|rais|round|capital|stake|back|inject|loan|ipo|"
    r"debt|bond|spend|equity|commit",
    DealType.JOINT_VENTURE: r"joint venture|\bjv\b|venture",
    DealType.PARTNERSHIP: r"partner|collaborat|alliance|tie-up|tied up|team|agree|deal|"
    r"accord|pact|work with|working with|cooperat|memorandum|contract|order|lease|hire|award|"
    r"jointly|co-develop|co-market",
    DealType.CONTRACT_MANUFACTURING: r"manufactur|make|made|mak|produc|assembl|build|built|"
    r"outsourc|contract|fabricat|partner|hire|award",
    DealType.SOURCING_AGREEMENT: r"sourc|suppl|procur|purchas|order|buy|contract|agreement",
    DealType.LICENSING: r"licen",
    DealType.DISTRIBUTION: r"distribut|resell|dealer|retail|sell|market|sales",
    DealType.OTHER: r".",
}
_TYPE_RE = {t: re.compile(p, re.IGNORECASE) for t, p in _TYPE_WORDS.items()}

_BACKGROUND = re.compile(
    r"\b(earlier|previously|last (?:year|month|week)|in (?:19|20)\d\d|"
    r"(?<!\bit )(?<!\bthey )had (?:also )?"
    r"(?:signed|agreed|partnered|acquired|bought|inked|struck|tied)|already|"
    r"(?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december) (?:this|last) year|this is the (?:\w+ )?(?:second|third|fourth) such|"
    r"^\W*in (?:january|february|march|april|may|june|july|august|september|october|"
    r"november|december)\b)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Window:
    """A run of whole sentences: ``text`` is ``article[start:end]``."""

    start: int
    end: int
    text: str


def find_windows(text: str, max_chars: int = 1200) -> list[Window]:
    """The article's deal windows in order (see the module docstring)."""
    pieces = [p for s, e in sentences(text) for p in fitted(text, s, e, max_chars)]
    runs: list[tuple[int, int]] = []
    for start, end in pieces:
        if runs and end - runs[-1][0] <= max_chars:
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((start, end))
    return [Window(s, e, text[s:e]) for s, e in runs if DEAL_CUES.search(text[s:e])]


def mentions_deal(text: str) -> bool:
    """Whether the text uses any word that deals are reported with.

    Stories that use none of them are answered "no deal" without asking the
    model: a deal cannot be reported without one of these words.
    """
    return DEAL_CUES.search(text) is not None


def supports(deal_type: DealType, evidence: str) -> bool:
    """Whether ``evidence`` (the trigger and its sentence) can state ``deal_type``."""
    return _TYPE_RE[deal_type].search(evidence) is not None


def type_word(deal_type: DealType, sentence: str) -> tuple[int, int] | None:
    """Where ``sentence`` first uses a word that can state ``deal_type``, as a whole word."""
    if deal_type is DealType.OTHER:
        return None
    for m in _TYPE_RE[deal_type].finditer(sentence):
        start, end = m.start(), m.end()
        while start > 0 and sentence[start - 1].isalnum():
            start -= 1
        while end < len(sentence) and sentence[end].isalnum():
            end += 1
        return start, end
    return None


def looks_background(sentence: str) -> bool:
    """Whether a sentence reports its deal as earlier news ("had also signed ... earlier").

    A bare month counts only where it opens the sentence ("In April, ..."):
    "expected to close in June" is the deal's future, not its past; "it had
    agreed" is the news reporting its own deal in reported speech."""
    return _BACKGROUND.search(sentence) is not None


_DENIED = re.compile(
    r"\b(?:denied|denies|deny|denying|dismissed|rejected)\s+(?:a\s+|the\s+|any\s+)?"
    r"(?:[\w-]+\s+){0,2}?(?:reports?|rumou?rs?|speculation|claims?|talks|discussions|negotiations)\b"
    r"|\b(?:denied|denies|deny)\s+(?:that\s+)?(?:it|they)\s+(?:was|were|is|are|had|has|have)\b"
    r"|\b(?:is|was|are|were)\s+not\s+in\s+(?:any\s+)?(?:talks|discussions|negotiations)\b",
    re.IGNORECASE,
)


def denial(sentence: str) -> str | None:
    """The words with which a sentence denies its deal, or None: "denied a
    newspaper report that it was in talks to buy", "is not in talks". A denied
    deal is no deal the article states, but it is news: the caller marks it."""
    found = _DENIED.search(sentence)
    return found.group(0) if found else None


def sentence_at(text: str, offset: int) -> tuple[int, int]:
    """The sentence of ``text`` that holds ``offset`` (or the nearest one before it)."""
    found = (0, len(text))
    for start, end in sentences(text):
        if start > offset:
            break
        found = (start, end)
    return found
