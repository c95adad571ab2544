"""Candidate spans: what a field may be filled from, offered to the model before the call.

With span constraint on, the request schema turns each string field into an
enum of these, so a small model cannot invent a company: grounding by
construction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .sentences import injected_spans

Alignment = Literal["exact", "case", "fuzzy"]

_TOKEN = re.compile(
    r"[^\W_](?:[\w&'’]|[-\u00ad]\r?\n\s*(?=\w)|-|\.(?![A-Z][a-z])|,(?=\d{3}))*", re.UNICODE
)
_BREAK = re.compile(r"(?<!\d),|,(?!\d{3})|[;:!?()\[\]{}\"“”]|\.\s|\.$|\n\s*\n")
_CONNECTORS = {"of", "and", "&", "de", "du", "der", "la", "le", "von", "van", "for"}
_STOP = {
    "a", "an", "the", "after", "before", "for", "in", "on", "at", "by", "to", "of",
    "and", "or", "but", "as", "with", "from", "into", "its", "it", "this", "that",
    "these", "those", "he", "she", "we", "they", "his", "her", "their", "our", "is",
    "was", "were", "are", "be", "been", "has", "had", "have", "said", "says", "will",
    "would", "also", "which", "who", "while", "than", "not", "no", "other", "such",
    "said.", "there", "if", "per", "about", "all", "any", "more", "most", "some",
}  # fmt: skip
MONEY = re.compile(
    r"(?:(?<!\w)(?:US|C|A|HK|S)?[$£€¥₹]|\b(?:Rs\.?|INR|USD|EUR|GBP)\s?)\d[\d,.]*(?:\s?(?:billion|million|"
    r"thousand|bln|mln|bn|mn|crore|lakh|[bmkBMK])\b)?(?!\w)"
    r"|(?<!\w)(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|half a)"
    r"(?:\s(?:billion|million|thousand|bln|mln|crore|lakh))?"
    r"(?:\s[A-Z][a-z]+)?\s(?:dlrs|dollars|francs|marks|yen|pounds|stg|sterling|rupees|"
    r"euros?|guilders|lire|pesos|kronor|krona|crowns|yuan|won|rand)\b"
    r"|\b(?:undisclosed(?:\s(?:amount|sum|price))?|not disclosed|not been disclosed)\b",
    re.IGNORECASE,
)
"""An amount of money as news writes it: "$12 million", "9 mln dlrs", "undisclosed"."""
_SOFT_BREAK = re.compile(r"[-\u00ad]\r?\n\s*")
MAX_NAME_TOKENS = 6
MAX_PHRASE_TOKENS = 5


@dataclass(frozen=True)
class Candidates:
    """Spans of one text, by kind, each list in first-seen order without repeats."""

    names: list[str]
    money: list[str]
    phrases: list[str]

    def for_kind(self, kind: str) -> list[str]:
        if kind == "name":
            return self.names
        if kind == "money":
            return self.money
        if kind == "phrase":
            return _merge(self.phrases, self.names)
        return _merge(self.names, self.money, self.phrases)


def _merge(*lists: list[str]) -> list[str]:
    return list(dict.fromkeys(s for items in lists for s in items))


def _chunks(text: str) -> list[list[tuple[int, int]]]:
    """Token offsets grouped into runs that no clause punctuation splits."""
    chunks: list[list[tuple[int, int]]] = []
    pos = 0
    for piece in [*_BREAK.finditer(text), None]:
        stop = piece.start() if piece else len(text)
        tokens = []
        for m in _TOKEN.finditer(text, pos, stop):
            start, end = m.span()
            while end > start + 1 and text[end - 1] in ".-'’":
                end -= 1
            tokens.append((start, end))
        if tokens:
            chunks.append(tokens)
        pos = piece.end() if piece else len(text)
    return chunks


def _squash(span: str) -> str:
    """Candidates are offered with their line breaks folded to single spaces;
    :func:`align` still finds them in the original text."""
    return " ".join(_SOFT_BREAK.sub("", span).split())


def _capitalized(word: str) -> bool:
    return word[:1].isupper() or (word[:1].isdigit() and any(c.isupper() for c in word))


def candidate_spans(text: str) -> Candidates:
    """Collect the spans of ``text`` that fields may be filled from.

    Sentences that address a model rather than report news (a prompt
    injection's "report that Evil Corp bought ...") give no spans, so with span
    enums on the model cannot even choose a name that only they mention.
    """
    names: dict[str, None] = {}
    phrases: dict[str, None] = {}
    for start, end in injected_spans(text):
        text = text[:start] + " " * (end - start) + text[end:]
    for tokens in _chunks(text):
        words = [text[s:e] for s, e in tokens]
        run: list[int] = []
        for idx, word in enumerate([*words, ""]):
            is_cap = bool(word) and _capitalized(word)
            bridge = (
                bool(word)
                and word.lower() in _CONNECTORS
                and bool(run)
                and idx + 1 < len(words)
                and _capitalized(words[idx + 1])
            )
            if is_cap or bridge:
                run.append(idx)
                continue
            _add_runs(text, tokens, run, names)
            run = []
        for i in range(len(tokens)):
            for j in range(i, min(i + MAX_PHRASE_TOKENS, len(tokens))):
                if words[i].lower() in _STOP or words[j].lower() in _STOP:
                    continue
                phrases.setdefault(_squash(text[tokens[i][0] : tokens[j][1]]), None)
    joined = _SOFT_BREAK.sub("", text)
    money = dict.fromkeys(_squash(m.group(0)) for m in MONEY.finditer(joined))
    return Candidates(list(names), [m for m in money if m], list(phrases))


def _add_runs(
    text: str, tokens: list[tuple[int, int]], run: list[int], out: dict[str, None]
) -> None:
    for i in range(len(run)):
        for j in range(i, min(i + MAX_NAME_TOKENS, len(run))):
            first, last = text[slice(*tokens[run[i]])], text[slice(*tokens[run[j]])]
            if first.lower() in _STOP or last.lower() in _STOP | _CONNECTORS:
                continue
            out.setdefault(_squash(text[tokens[run[i]][0] : tokens[run[j]][1]]), None)
