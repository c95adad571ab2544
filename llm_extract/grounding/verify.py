"""Verification: every returned string must stand in the text, or be dropped or flagged."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from .align import Match, TextIndex, align


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
    value: str, text: str, index: TextIndex, blocked: list[tuple[int, int]]
) -> Match | None:
    """Like :func:`align`, skipping occurrences inside the ``blocked`` spans
    (sentences that address the model): those are no evidence."""
    match = align(value, text, index)
    offset = 0
    while match is not None and any(s <= match.start and match.end <= e for s, e in blocked):
        offset = match.end
        rest = align(value, text[offset:])
        match = (
            None if rest is None else Match(offset + rest.start, offset + rest.end, rest.alignment)
        )
    return match


def verify(
    data: Any, schema: dict[str, Any], text: str, index: TextIndex
) -> tuple[list[Evidence], list[tuple[Path_, str]]]:
    """Evidence for every grounded string of ``data`` (a JSON-ready dump that
    follows ``schema``), and the (path, value) pairs that were not found.

    A value that stands only in a sentence addressing the model (a prompt
    injection, see :func:`~llm_extract.text.sentences.injected_spans`) is not found.
    """
    evidence: list[Evidence] = []
    missing: list[tuple[Path_, str]] = []
    blocked = index.injected
    for path, value in grounded_strings(data, schema):
        match = align_outside(value, text, index, blocked)
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
        if not isinstance(value, (str, dict, list)):
            return  # null, numbers, booleans: nothing to look for
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
