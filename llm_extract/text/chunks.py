"""Long articles: split on sentence boundaries with overlap.

A chunk is a slice of the caller's text with its start offset, so anything
found in it maps back to the article by adding ``start``. Chunks end at
sentence ends where they can and repeat the previous chunk's last sentences
(up to ``overlap`` characters), so a deal stated across a boundary is still
seen whole by one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .sentences import fitted, sentences


@dataclass(frozen=True)
class Chunk:
    start: int
    text: str

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def _pieces(text: str, max_chars: int) -> list[tuple[int, int]]:
    """Sentences, with any sentence longer than ``max_chars`` cut at whitespace."""
    return [p for s, e in sentences(text) for p in fitted(text, s, e, max_chars)]


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
