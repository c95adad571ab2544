"""Grounding: offer the model only spans of the source, then verify every value.

Two halves, both working on the caller's exact text:

* :func:`candidate_spans` collects spans a field may be filled from (proper
  names, money amounts, short phrases). With span constraint on, the request
  schema turns each string field into an enum of these, so a small model
  cannot invent a company: grounding by construction.
* :func:`align` finds a value in the text (exact, then case-insensitive, then
  ignoring whitespace, punctuation and hyphenation across line breaks) and
  returns offsets into the original string, whatever the value's source.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

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
_MONEY = re.compile(
    r"(?:(?<!\w)(?:US|C|A|HK|S)?[$£€¥₹]|\b(?:Rs\.?|INR|USD|EUR|GBP)\s?)\d[\d,.]*(?:\s?(?:billion|million|"
    r"thousand|bln|mln|bn|mn|crore|lakh|[bmkBMK])\b)?"
    r"|(?<!\w)(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|half a)"
    r"(?:\s(?:billion|million|thousand|bln|mln|crore|lakh))?"
    r"(?:\s[A-Z][a-z]+)?\s(?:dlrs|dollars|francs|marks|yen|pounds|stg|sterling|rupees|"
    r"euros?|guilders|lire|pesos|kronor|krona|crowns|yuan|won|rand)\b"
    r"|\b(?:undisclosed(?:\s(?:amount|sum|price))?|not disclosed|not been disclosed)\b",
    re.IGNORECASE,
)
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
    money = dict.fromkeys(_squash(m.group(0)) for m in _MONEY.finditer(text))
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


@dataclass(frozen=True)
class Match:
    start: int
    end: int
    alignment: Alignment


def _fold(text: str) -> tuple[str, list[int]]:
    """Casefold, drop hyphenation across line breaks, and collapse every run of
    whitespace or punctuation to one space, remembering each output
    character's offset in ``text``."""
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
        if unicodedata.category(ch).startswith("M"):
            i += 1
            continue
        if ch.isalnum():
            for folded in ch.casefold():
                if folded.isalnum():
                    out.append(folded)
                    where.append(i)
        elif out and out[-1] != " ":
            out.append(" ")
            where.append(i)
        i += 1
    return "".join(out), where


def _bounded(hay: str, needle: str, start: int = 0) -> int:
    """First index of ``needle`` in ``hay`` that does not cut a word in two."""
    pos = hay.find(needle, start)
    while pos >= 0:
        end = pos + len(needle)
        left = pos == 0 or not (hay[pos - 1].isalnum() and needle[0].isalnum())
        right = end == len(hay) or not (hay[end].isalnum() and needle[-1].isalnum())
        if left and right:
            return pos
        pos = hay.find(needle, pos + 1)
    return -1


def align(value: str, text: str, folded: tuple[str, list[int]] | None = None) -> Match | None:
    """Where ``value`` occurs in ``text`` as whole words, or None.

    Offsets index ``text`` itself, whatever tier matched.
    """
    if not value.strip():
        return None
    start = _bounded(text, value)
    if start >= 0:
        return Match(start, start + len(value), "exact")
    lowered, needle_lower = text.casefold(), value.casefold()
    if len(lowered) == len(text) and len(needle_lower) == len(value):
        start = _bounded(lowered, needle_lower)
        if start >= 0:
            return Match(start, start + len(value), "case")
    hay, where = folded if folded is not None else _fold(text)
    folded_value = _fold(value)[0].strip()
    for needle in dict.fromkeys((folded_value, _fold(value.replace("-", ""))[0].strip())):
        pos = _bounded(hay, needle) if needle else -1
        if pos >= 0:
            return Match(where[pos], where[pos + len(needle) - 1] + 1, "fuzzy")
    return None


def fold_text(text: str) -> tuple[str, list[int]]:
    """Precompute the fuzzy index of ``text`` once for many :func:`align` calls."""
    return _fold(text)


# --- Verification: every returned string must stand in the text ------------------


@dataclass(frozen=True)
class Evidence:
    """Where a value stands in the source: ``text[start:end]`` is the quote."""

    path: str
    value: str
    quote: str
    start: int
    end: int
    alignment: str


@dataclass(frozen=True)
class Dropped:
    """A value whose evidence did not hold: removed, or kept and flagged."""

    path: str
    value: str
    reason: str


Path_ = tuple[Any, ...]
Policy = Literal["drop", "flag"]


def align_outside(
    value: str, text: str, folded: tuple[str, list[int]], blocked: list[tuple[int, int]]
) -> Match | None:
    """Like :func:`align`, skipping occurrences inside the ``blocked`` spans
    (sentences that address the model): those are no evidence."""
    match = align(value, text, folded)
    offset = 0
    while match is not None and any(s <= match.start and match.end <= e for s, e in blocked):
        offset = match.end
        rest = align(value, text[offset:])
        match = (
            None if rest is None else Match(offset + rest.start, offset + rest.end, rest.alignment)
        )
    return match


def verify(
    data: Any, schema: dict[str, Any], text: str, folded: tuple[str, list[int]]
) -> tuple[list[Evidence], list[tuple[Path_, str]]]:
    """Evidence for every grounded string of ``data`` (a JSON-ready dump that
    follows ``schema``), and the (path, value) pairs that were not found.

    A value that stands only in a sentence addressing the model (a prompt
    injection, see :func:`~llm_extract.sentences.injected_spans`) is not found.
    """
    evidence: list[Evidence] = []
    missing: list[tuple[Path_, str]] = []
    blocked = injected_spans(text)
    for path, value in grounded_strings(data, schema):
        match = align_outside(value, text, folded, blocked)
        if match is None:
            missing.append((path, value))
        else:
            quote = text[match.start : match.end]
            evidence.append(
                Evidence(dotted(path), value, quote, match.start, match.end, match.alignment)
            )
    return evidence, missing


def settle(
    data: Any, missing: list[tuple[Path_, str]], model: type[BaseModel], policy: Policy
) -> tuple[Any, list[Dropped]]:
    """Apply ``policy`` to values without evidence; return the data and the record.

    ``drop`` removes each at the shallowest cost that keeps ``data`` valid for
    ``model``; a value the schema cannot lose stays and is recorded as kept.
    ``flag`` keeps every value and records it. Either way nothing is silent.
    """
    record: list[Dropped] = []
    gone: list[Path_] = []
    for path, value in sorted(missing, key=lambda m: _sort_key(m[0]), reverse=True):
        if policy == "flag":
            reason = "flagged: not found in the article; kept"
        elif any(path[: len(g)] == g for g in gone):
            reason = "not found in the article; removed with its parent"
        else:
            data, removed = _prune(data, path, model)
            if removed is not None:
                gone.append(removed)
            outcome = "removed" if removed else "kept because the schema requires it"
            reason = f"not found in the article; {outcome}"
        record.append(Dropped(dotted(path), value, reason))
    return data, record


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _sort_key(path: Path_) -> tuple[tuple[int, Any], ...]:
    return tuple((0, p) if isinstance(p, int) else (1, p) for p in path)


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = {
            **defs[node["$ref"].rsplit("/", 1)[-1]],
            **{k: v for k, v in node.items() if k != "$ref"},
        }
    return node


def grounded_strings(data: Any, schema: dict[str, Any]) -> list[tuple[Path_, str]]:
    """Every string value that must stand in the source: free strings, not
    enums, not fields marked ``x-derived`` or ``x-ground: false``."""
    defs = schema.get("$defs", {})
    found: list[tuple[Path_, str]] = []

    def walk(value: Any, node: dict[str, Any], path: Path_, checked: bool) -> None:
        node = _resolve(node, defs)
        if node.get("x-derived") or node.get("x-ground") is False:
            return
        if "anyOf" in node:
            for option in node["anyOf"]:
                option = _resolve(option, defs)
                if _fits(value, option):
                    walk(
                        value,
                        {**option, **{k: v for k, v in node.items() if k.startswith("x-")}},
                        path,
                        checked,
                    )
                    return
            return
        if isinstance(value, dict):
            props = node.get("properties", {})
            extra = node.get("additionalProperties")
            for key, sub in value.items():
                if key in props:
                    walk(sub, props[key], (*path, key), checked)
                elif isinstance(extra, dict):
                    walk(sub, extra, (*path, key), checked)
        elif isinstance(value, list):
            items = {
                **node.get("items", {}),
                **{k: v for k, v in node.items() if k.startswith("x-")},
            }
            for i, item in enumerate(value):
                walk(item, items, (*path, i), checked)
        elif isinstance(value, str) and not any(k in node for k in ("enum", "const", "format")):
            found.append((path, value))

    walk(data, schema, (), True)
    return found


def _fits(value: Any, node: dict[str, Any]) -> bool:
    kind = node.get("type")
    if value is None:
        return kind == "null"
    if isinstance(value, dict):
        return kind == "object" or "properties" in node
    if isinstance(value, list):
        return kind == "array"
    if isinstance(value, str):
        return kind == "string" or "enum" in node or "const" in node
    return kind not in ("null", "object", "array", "string")


def _prune(data: Any, path: Path_, model: type[BaseModel]) -> tuple[Any, Path_ | None]:
    """Remove the failing value at the shallowest cost that keeps ``data`` valid:
    drop the list item, null the field or delete the dict key, climbing to the
    parent if the schema allows none of these."""
    for depth in range(len(path), 0, -1):
        for mutation in ("null", "delete"):
            trial = copy.deepcopy(data)
            parent = trial
            for part in path[: depth - 1]:
                parent = parent[part]
            key = path[depth - 1]
            if isinstance(parent, list) or mutation == "delete":
                del parent[key]
            else:
                parent[key] = None
            try:
                model.model_validate(trial)
            except ValidationError:
                continue
            return trial, path[:depth]
    return data, None


def drop_derived(data: Any, schema: dict[str, Any]) -> Any:
    """``data`` without the values of derived fields (``x-derived``): those come
    from normalization alone, never from a model's answer."""
    defs = schema.get("$defs", {})

    def walk(value: Any, node: dict[str, Any]) -> Any:
        node = _resolve(node, defs)
        for option in node.get("anyOf", []):
            option = _resolve(option, defs)
            if _fits(value, option) and option.get("type") != "null":
                return walk(value, option)
        if isinstance(value, dict):
            props = node.get("properties", {})
            return {
                k: walk(v, props[k]) if k in props else v
                for k, v in value.items()
                if not (k in props and _resolve(props[k], defs).get("x-derived"))
            }
        if isinstance(value, list):
            return [walk(v, node.get("items", {})) for v in value]
        return value

    return walk(data, schema)
