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
    return _Scanner(text).run()


class _Scanner:
    """The state of :func:`_scan`: each step reads one token at ``i`` and
    returns where the next starts, or None when the scan stops there."""

    def __init__(self, text: str) -> None:
        self.text, self.n = text, len(text)
        self.out: list[str] = []
        self.stack: list[str] = []
        self.expect_key: list[bool] = []
        self.safe: tuple[int, str] | None = None
        self.dropped = 0
        self.done: _Scan | None = None

    def run(self) -> _Scan:
        i: int | None = 0
        while i is not None and i < self.n and self.done is None:
            i = self._step(i)
        return self.done or _Scan("".join(self.out), None, self.n, self.safe, self.dropped)

    def _mark_safe(self) -> None:
        closers = "".join(_CLOSER[c] for c in reversed(self.stack))
        self.safe = (sum(map(len, self.out)), closers)

    def _finish(self, consumed: int) -> None:
        cleaned = "".join(self.out)
        self.done = _Scan(cleaned, len(cleaned), consumed, None, self.dropped)

    def _in_object(self) -> bool:
        return bool(self.stack) and self.stack[-1] == "{"

    def _step(self, i: int) -> int | None:
        ch = self.text[i]
        if ch == '"':
            return self._string(i)
        if ch in "{[":
            self.stack.append(ch)
            self.expect_key.append(ch == "{")
            self.out.append(ch)
            self._mark_safe()
        elif ch in "}]":
            if not self.stack or _CLOSER[self.stack[-1]] != ch:
                return None
            self.stack.pop()
            self.expect_key.pop()
            self.out.append(ch)
            if not self.stack:
                self._finish(i + 1)
            else:
                self._mark_safe()
        elif ch == ",":
            self._comma(i)
        elif ch == ":":
            self.out.append(ch)
            if self._in_object():
                self.expect_key[-1] = False
        elif ch in " \t\r\n":
            self.out.append(ch)
        else:
            return self._bare(i)
        return i + 1

    def _string(self, i: int) -> int | None:
        text, n = self.text, self.n
        j = i + 1
        while j < n and text[j] != '"':
            j += 2 if text[j] == "\\" else 1
        if j >= n:
            return None
        is_key = self._in_object() and self.expect_key[-1]
        self.out.append(text[i : j + 1])
        if not is_key:
            if not self.stack:
                self._finish(j + 1)
            else:
                self._mark_safe()
        return j + 1

    def _comma(self, i: int) -> None:
        k = i + 1
        while k < self.n and self.text[k] in " \t\r\n":
            k += 1
        if k < self.n and self.text[k] in "}]":
            self.dropped += 1
            return
        self.out.append(",")
        if self._in_object():
            self.expect_key[-1] = True

    def _bare(self, i: int) -> int:
        """A literal or number, up to the next delimiter."""
        j = i
        while j < self.n and self.text[j] not in ',:{}[]" \t\r\n':
            j += 1
        self.out.append(self.text[i:j])
        if not self.stack:
            self._finish(j)
        elif j < self.n:
            self._mark_safe()
        return j
