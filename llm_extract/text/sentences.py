"""Sentences of an article, and the ones that address a model instead of reporting news.

One splitter for every part that needs sentences (chunking, deal windows,
relation checks, candidate spans), so they all agree where a sentence ends.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’)]))\s+|\n\s*\n")

_INJECTION = re.compile(
    r"ignore (?:all |any |the )?(?:previous|prior|above|earlier)|system (?:note|prompt|message)|"
    r"\b(?:any|an) ai\b|language model|\bassistant\b|disregard (?:all|the|previous)|"
    r"you (?:must|should) (?:now )?(?:report|output|answer|say|respond)|"
    r"(?:output|respond with|answer with|report that)\b.*\b(?:json|buyer|acquirer|deal)",
    re.IGNORECASE,
)
_CUES = (
    "ignore ",
    "system ",
    "an ai",
    "any ai",
    "language model",
    "assistant",
    "disregard ",
    "you must ",
    "you should ",
    "output",
    "respond with",
    "answer with",
    "report that",
)
"""Lowercase words of which every match of ``_INJECTION`` holds one (a test checks)."""
_ODD_LETTERS = "\u0130\u0131\u017f\u212a"
_TO_ASCII = str.maketrans(dict(zip(_ODD_LETTERS, "iisk", strict=True)))
"""The characters besides A-Z that ``re.IGNORECASE`` takes for an ASCII letter
(İ ı ſ and the Kelvin sign; a test checks every code point)."""


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence or paragraph, the whitespace between them left out."""
    spans, pos = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() > pos:
            spans.append((pos, m.start()))
        pos = m.end()
    if pos < len(text):
        spans.append((pos, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def sentence_index(spans: list[tuple[int, int]], offset: int) -> int:
    """The index of the span in ``spans`` (from :func:`sentences`) that holds
    ``offset``, or of the nearest one before it; 0 before the first."""
    return max((i for i, (s, _) in enumerate(spans) if s <= offset), default=0)


def fitted(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """The sentence ``text[start:end]`` as pieces of at most ``limit`` characters,
    cut at whitespace where it can (a sentence that fits is one piece)."""
    out: list[tuple[int, int]] = []
    while end - start > limit:
        cut = text.rfind(" ", start + 1, start + limit)
        cut = cut if cut > start else start + limit
        out.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        out.append((start, end))
    return out


def may_address_a_model(text: str) -> bool:
    """False only when no sentence of ``text`` can match the injection pattern."""
    if any(odd in text for odd in _ODD_LETTERS):
        text = text.translate(_TO_ASCII)  # slow, and rarely needed
    folded = text.lower()
    return any(cue in folded for cue in _CUES)


def injected_spans(text: str) -> list[tuple[int, int]]:
    """Sentences that address a model ("ignore all previous instructions", "system
    note to any AI") rather than report news: their names are never evidence.

    Most texts have none, and a look for the pattern's literal words in the
    lowercased text says so: the pattern itself, case-blind, costs about 0.1
    µs a character, a few words' ``in`` next to nothing. With a word present,
    one search of the whole text decides: a match inside a sentence is a match
    in the text too, since sentences are cut at whitespace. Property tests check
    both shortcuts against the sentence walk.
    """
    if not may_address_a_model(text) or _INJECTION.search(text) is None:
        return []
    return [(s, e) for s, e in sentences(text) if _INJECTION.search(text[s:e])]
