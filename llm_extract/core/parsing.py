"""Turn a model's raw answer into JSON, with cheap deterministic repairs first.

Repairs, in order, each named in the result so nothing is fixed silently:

``fence``
    the JSON sits inside a Markdown code fence;
``prose``
    text before the first ``{``/``[`` or after the JSON ends;
``trailing_comma``
    a comma right before ``}`` or ``]``;
``truncated``
    the text stops mid-value: it is cut back to the last complete value and
    the open brackets are closed.

A ``truncated`` repair loses data by construction. The pipeline never accepts
it for an answer whose ``finish_reason`` is ``length``; it is for servers
that drop the tail of a body without saying so, and it is reported.

Not json-repair: it repairs more than this (bare words become strings, cut
values are kept, ``{"y"`` becomes ``["y"]``), its log is English sentences, not
names, and empty for trailing commas or leading prose, and it leaves escaped
surrogate pairs (``"\\ud83d\\ude00"``) unjoined.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

_CLOSER = {"{": "}", "[": "]"}


class ParseFailure(ValueError):
    """No JSON could be recovered; the message says what was wrong."""


@dataclass
class Parsed:
    value: Any
    repairs: list[str] = field(default_factory=list)


def parse_json(raw: str) -> Parsed:
    """Parse ``raw`` as JSON, applying the deterministic repairs above if needed."""
    repairs: list[str] = []
    text = raw.strip()
    if not text:
        raise ParseFailure("the answer is empty")
    try:
        return Parsed(json.loads(text))
    except RecursionError:
        raise ParseFailure("the JSON is nested too deeply") from None
    except ValueError:
        pass
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    fence = text.find("```")
    if fence >= 0 and (start < 0 or fence < start):
        body = text[fence + 3 :].split("\n", 1)[1] if "\n" in text[fence:] else ""
        close = body.rfind("```")
        body = body[:close] if close >= 0 else body
        if body.strip():
            text = body.strip()
            repairs.append("fence")
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        raise ParseFailure("the answer contains no JSON object or array")
    if start > 0:
        text = text[start:]
        repairs.append("prose")
    scan = _scan(text)
    if scan.trailing_commas:
        repairs.append("trailing_comma")
    candidate = scan.cleaned
    if scan.end is not None:
        if text[scan.consumed :].strip() and "prose" not in repairs:
            repairs.append("prose")
    elif scan.safe_cut is None:
        raise ParseFailure("the answer stops before any complete value")
    else:
        cut, closers = scan.safe_cut
        candidate = candidate[:cut] + closers
        repairs.append("truncated")
    try:
        return Parsed(json.loads(candidate), repairs)
    except RecursionError:
        raise ParseFailure("the JSON is nested too deeply") from None
    except ValueError as exc:
        done = ", ".join(repairs) or "none"
        raise ParseFailure(f"invalid JSON after repairs ({done}): {exc}") from None


@dataclass
class _Scan:
    cleaned: str
    end: int | None
    consumed: int
    safe_cut: tuple[int, str] | None
    trailing_commas: int


def _scan(text: str) -> _Scan:
    """One string-aware pass: drop trailing commas, find where the top value
    ends, and remember the last point where closing the open brackets would
    give valid JSON."""
    out: list[str] = []
    stack: list[str] = []
    expect_key: list[bool] = []
    safe: tuple[int, str] | None = None
    dropped = 0
    i, n = 0, len(text)

    def mark_safe() -> None:
        nonlocal safe
        safe = (sum(map(len, out)), "".join(_CLOSER[c] for c in reversed(stack)))

    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                break
            is_key = bool(stack) and stack[-1] == "{" and expect_key[-1]
            out.append(text[i : j + 1])
            i = j + 1
            if not is_key:
                if not stack:
                    return _Scan("".join(out), len("".join(out)), i, None, dropped)
                mark_safe()
            continue
        if ch in "{[":
            stack.append(ch)
            expect_key.append(ch == "{")
            out.append(ch)
            mark_safe()
        elif ch in "}]":
            if not stack or _CLOSER[stack[-1]] != ch:
                break
            stack.pop()
            expect_key.pop()
            out.append(ch)
            if not stack:
                return _Scan("".join(out), len("".join(out)), i + 1, None, dropped)
            mark_safe()
        elif ch == ",":
            k = i + 1
            while k < n and text[k] in " \t\r\n":
                k += 1
            if k < n and text[k] in "}]":
                dropped += 1
            else:
                out.append(ch)
                if stack and stack[-1] == "{":
                    expect_key[-1] = True
        elif ch == ":":
            out.append(ch)
            if stack and stack[-1] == "{":
                expect_key[-1] = False
        elif ch in " \t\r\n":
            out.append(ch)
        else:
            j = i
            while j < n and text[j] not in ',:{}[]" \t\r\n':
                j += 1
            out.append(text[i:j])
            i = j
            if not stack:
                return _Scan("".join(out), len("".join(out)), i, None, dropped)
            if j < n:
                mark_safe()
            continue
        i += 1
    return _Scan("".join(out), None, n, safe, dropped)
