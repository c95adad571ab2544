"""Alignment: where a value stands in the caller's exact text.

:func:`align` tries exact, then case-insensitive, then a folded match that
ignores whitespace, punctuation and hyphenation across line breaks, and
returns offsets into the original string whatever tier matched.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from ..text.sentences import injected_spans

Alignment = Literal["exact", "case", "fuzzy"]


@dataclass(frozen=True)
class Match:
    start: int
    end: int
    alignment: Alignment


_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")
_LINE_HYPHEN = re.compile(r"-(?=[\r\n])[ \t\r\n]*")


def _fold(text: str) -> tuple[str, list[int]]:
    """:func:`fold_unicode`, by regular expressions when ``text`` is ASCII (most news).

    An ASCII text has no combining marks and nothing to compose, so its runs of
    letters and digits fold by ``lower()``, and each gap between them becomes
    one space unless the gap is only hyphenation across a line break. The two
    paths agree on every ASCII text (a property test checks it); this one
    costs a fraction of the per-character walk.
    """
    if not text.isascii():
        return fold_unicode(text)
    out: list[str] = []
    where: list[int] = []
    last = 0
    for word in _ASCII_WORD.finditer(text):
        _gap(text, last, word.start(), out, where)
        out.append(word.group().lower())
        where.extend(range(word.start(), word.end()))
        last = word.end()
    _gap(text, last, len(text), out, where)
    return "".join(out), where


def _gap(text: str, start: int, end: int, out: list[str], where: list[int]) -> None:
    """One space for the non-word characters in ``text[start:end]``, if any remain
    once hyphenation across line breaks is taken out, and if a word came before."""
    if not out or out[-1].endswith(" "):
        return
    at = start
    while at < end:
        hyphen = _LINE_HYPHEN.match(text, at, end)
        if hyphen is None:
            out.append(" ")
            where.append(at)
            return
        at = hyphen.end()


def fold_unicode(text: str) -> tuple[str, list[int]]:
    """The fold of any text, one character cluster at a time.

    Casefold, compose each letter with its combining marks (NFC), drop
    hyphenation across line breaks, and collapse every run of whitespace or
    punctuation to one space, remembering each output character's offset in
    ``text``.

    Composing per cluster makes a precomposed "Café" and a decomposed
    "Cafe\u0301" fold alike; marks that compose with nothing are dropped.
    """
    out: list[str] = []
    where: list[int] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "-\u00ad" and i + 1 < n and text[i + 1] in "\r\n":
            i += 1
            while i < n and text[i] in " \t\r\n":
                i += 1
            continue
        j = _cluster_end(text, i)
        if _is_mark(ch):
            i = j
            continue
        if ch.isalnum():
            for folded in unicodedata.normalize("NFC", text[i:j]).casefold():
                if folded.isalnum():
                    out.append(folded)
                    where.append(i)
        elif out and out[-1] != " ":
            out.append(" ")
            where.append(i)
        i = j
    return "".join(out), where


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch).startswith("M")


def _cluster_end(text: str, i: int) -> int:
    """The end of the character at ``i`` with the combining marks after it."""
    j = i + 1
    while j < len(text) and _is_mark(text[j]):
        j += 1
    return j


def _bounded(hay: str, needle: str, start: int = 0) -> int:
    """First index of ``needle`` in ``hay`` that does not cut a word in two."""
    pos = hay.find(needle, start)
    while pos >= 0:
        end = pos + len(needle)
        left = pos == 0 or not (hay[pos - 1].isalnum() and needle[0].isalnum())
        joined = hay[end].isalnum() or _is_mark(hay[end]) if end < len(hay) else False
        right = not (joined and needle[-1].isalnum())
        if left and right:
            return pos
        pos = hay.find(needle, pos + 1)
    return -1


class TextIndex:
    """One text's case-folded and fuzzy forms, for many :func:`align` calls
    against it, and the sentences that are no evidence; each built on first
    use: most values match exactly, so most articles need neither form."""

    __slots__ = ("_folded", "_injected", "_lowered", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._lowered: str | None = None
        self._folded: tuple[str, list[int]] | None = None
        self._injected: list[tuple[int, int]] | None = None

    @property
    def injected(self) -> list[tuple[int, int]]:
        """:func:`~llm_extract.text.sentences.injected_spans` of the text."""
        if self._injected is None:
            self._injected = injected_spans(self.text)
        return self._injected

    @property
    def lowered(self) -> str:
        if self._lowered is None:
            self._lowered = self.text.casefold()
        return self._lowered

    @property
    def folded(self) -> tuple[str, list[int]]:
        """The folded text, and for each of its characters the offset it came from."""
        if self._folded is None:
            self._folded = _fold(self.text)
        return self._folded


def align(value: str, text: str, index: TextIndex | None = None) -> Match | None:
    """Where ``value`` occurs in ``text`` as whole words, or None.

    Offsets index ``text`` itself, whatever tier matched. ``index`` must be
    ``text``'s own.
    """
    if not value.strip():
        return None
    start = _bounded(text, value)
    if start >= 0:
        return Match(start, start + len(value), "exact")
    index = index if index is not None else TextIndex(text)
    lowered, needle_lower = index.lowered, value.casefold()
    if len(lowered) == len(text) and len(needle_lower) == len(value):
        start = _bounded(lowered, needle_lower)
        if start >= 0:
            return Match(start, start + len(value), "case")
    hay, where = index.folded
    folded_value = _fold(value)[0].strip()
    for needle in dict.fromkeys((folded_value, _fold(value.replace("-", ""))[0].strip())):
        pos = _bounded(hay, needle) if needle else -1
        if pos >= 0:
            end = _cluster_end(text, where[pos + len(needle) - 1])
            return Match(where[pos], end, "fuzzy")
    return None
