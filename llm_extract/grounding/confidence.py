"""Per-field confidence from the model's own token log-probabilities.

llama.cpp and OpenAI-compatible servers return the log-probability of every
answer token. A value's confidence is the probability of its least likely
token: a name the model was sure of scores near 1 even when it is long, and a
coin-flip between two candidates shows in the token where they part. The
probabilities are the model's, before any grammar masked its choices, so a
value the grammar forced scores low: exactly the doubt worth reporting.

:func:`confidences` maps each scalar of a JSON answer, and each empty list
(``"deals": []`` is the model's "no deals", worth a second look when unsure),
by its dotted path, to that probability. It needs the answer's text to be the
tokens' concatenation; when it is not (a repaired answer, a server that drops
logprobs), it returns nothing rather than guess.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from .verify import dotted

Token = Sequence[object]  # (text, logprob) pairs, as tuples or JSON lists


@dataclass(frozen=True)
class Confidence:
    """How sure the model was of one value: ``p`` is the least likely token's probability."""

    path: str
    value: str
    p: float


def _spans(text: str) -> list[tuple[tuple[object, ...], int, int]]:
    """(path, start, end) of every scalar value in the JSON ``text``."""
    out: list[tuple[tuple[object, ...], int, int]] = []
    decoder = json.JSONDecoder()

    def skip(i: int) -> int:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i

    def value(i: int, path: tuple[object, ...]) -> int:
        i = skip(i)
        if text[i] == "{":
            i = skip(i + 1)
            while text[i] != "}":
                key, i = decoder.raw_decode(text, i)
                i = skip(skip(i) + 1)  # the colon
                i = skip(value(i, (*path, key)))
                i = skip(i + 1) if text[i] == "," else i
            return i + 1
        if text[i] == "[":
            start, (i, n) = i, (skip(i + 1), 0)
            if text[i] == "]":  # an empty list is a choice too: "no deals"
                out.append((path, start, i + 1))
            while text[i] != "]":
                i = skip(value(i, (*path, n)))
                n += 1
                i = skip(i + 1) if text[i] == "," else i
            return i + 1
        _, end = decoder.raw_decode(text, i)
        out.append((path, i, end))
        return end

    value(0, ())
    return out


def confidences(content: str, tokens: Sequence[Token] | None) -> list[Confidence]:
    """The confidence of every scalar and empty list in ``content`` (see the module docstring)."""
    if not tokens or "".join(str(t[0]) for t in tokens) != content:
        return []
    try:
        spans = _spans(content)
    except (ValueError, IndexError):
        return []
    edges, pos = [], 0
    for text, _ in tokens:
        edges.append((pos, pos + len(str(text))))
        pos += len(str(text))
    out = []
    for path, start, end in spans:
        lps = [
            float(str(lp))
            for (s, e), (_, lp) in zip(edges, tokens, strict=True)
            if s < end and e > start
        ]
        if lps:
            raw = content[start:end]
            shown = raw[1:-1] if raw.startswith('"') else raw
            out.append(Confidence(dotted(path), shown, math.exp(min(lps))))
    return out
