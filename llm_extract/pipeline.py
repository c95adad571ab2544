"""The extraction loop: prompt → backend → parse/validate → repair/re-ask → ground.

One :class:`Run` holds the state of one extraction and decides, answer by
answer, whether to accept, repair, re-ask or give up. The sync and async
drivers are the only places that call the backend, so the two cannot drift.

Budgets: ``settings.reasks`` re-asks after the first answer, shared by every
cause (invalid JSON, schema errors, truncation, ungrounded values). Values
whose evidence still does not hold after one grounding re-ask are dropped
and listed in the report; nothing half-valid is returned silently.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from .backends import Backend, ChatRequest, Completion
from .errors import (
    AttemptRecord,
    EmptyResponseError,
    ExtractionError,
    InputError,
    RefusalError,
    TruncatedOutputError,
    ValidationFailedError,
)
from .grounding import align, candidate_spans, fold_text
from .parsing import ParseFailure, parse_json
from .prompts import PromptSpec, build_messages, prompt_version, reask_messages, request_schema
from .settings import Settings

T = TypeVar("T", bound=BaseModel)


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
    path: str
    value: str
    reason: str


@dataclass
class CallReport:
    """What one extraction cost and what grounding found."""

    model: str
    prompt_version: str
    attempts: int = 0
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    repairs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    """Pass one to any extract call to learn its cost; reuse it to add calls up."""

    calls: list[CallReport] = field(default_factory=list)

    @property
    def attempts(self) -> int:
        return sum(c.attempts for c in self.calls)

    @property
    def prompt_tokens(self) -> int:
        return sum(c.prompt_tokens for c in self.calls)

    @property
    def completion_tokens(self) -> int:
        return sum(c.completion_tokens for c in self.calls)

    @property
    def latency_s(self) -> float:
        return sum(c.latency_s for c in self.calls)


def check_text(text: object) -> str:
    """Reject input no model should see, with a message a user can act on."""
    if not isinstance(text, str):
        raise InputError(f"text must be str, not {type(text).__name__}")
    if not text.strip():
        raise InputError("the text is empty or only whitespace")
    if "\x00" in text:
        raise InputError("the text contains NUL bytes; it looks binary, not like an article")
    return text


class Run(Generic[T]):
    """State of one extraction: the next request, and the verdict on each answer."""

    def __init__(
        self, text: str, model: type[T], spec: PromptSpec, settings: Settings, backend: Backend
    ) -> None:
        self.text = check_text(text)
        self.model = model
        self.settings = settings
        self.spans = settings.use_spans
        self.schema = request_schema(model, candidate_spans(text) if self.spans else None)
        self.base = build_messages(spec, model, text, spans=self.spans)
        self.messages = self.base
        self.report = CallReport(backend.model, prompt_version(spec, model))
        self.history: list[AttemptRecord] = []
        self.grounding_reasked = False
        self._folded = fold_text(text)
        self._raw_schema = model.model_json_schema()

    def request(self) -> ChatRequest:
        return ChatRequest(
            messages=self.messages,
            schema=self.schema,
            schema_name=self.model.__name__,
            max_tokens=self.settings.max_tokens,
            temperature=self.settings.temperature,
            seed=self.settings.seed,
        )

    def take(self, completion: Completion, seconds: float) -> T | None:
        """Accept the answer (return the value) or prepare a re-ask (return None).

        Raises a typed :class:`ExtractionError` when the budget is spent.
        """
        r = self.report
        r.attempts += 1
        r.requests += completion.requests
        r.prompt_tokens += completion.prompt_tokens
        r.completion_tokens += completion.completion_tokens
        r.latency_s += seconds
        raw = completion.content or ""
        record = AttemptRecord(raw=raw, finish_reason=completion.finish_reason)
        self.history.append(record)
        if completion.refusal or completion.finish_reason == "content_filter":
            record.problems.append(f"refused: {completion.refusal or 'content filter'}")
            raise RefusalError(
                f"the model refused: {completion.refusal or 'content filter'}",
                attempts=self.history,
            )
        value = self._judge(completion, record)
        r.repairs.extend(record.repairs)
        r.problems.extend(record.problems)
        if value is not None:
            return value
        if r.attempts > self.settings.reasks:
            raise self._failure(record)
        grounding = any(p.startswith("not in the article") for p in record.problems)
        self.messages = reask_messages(self.base, raw, record.problems, grounding=grounding)
        return None

    def _judge(self, completion: Completion, record: AttemptRecord) -> T | None:
        raw = completion.content
        if not raw or not raw.strip():
            record.problems.append("empty answer: the server returned no content")
            return None
        if completion.finish_reason == "length":
            record.problems.append(
                f"truncated: the answer hit the {self.settings.max_tokens}-token limit; "
                "answer more briefly"
            )
            return None
        try:
            parsed = parse_json(raw)
        except ParseFailure as exc:
            record.problems.append(f"invalid JSON: {exc}")
            return None
        record.repairs.extend(parsed.repairs)
        try:
            value = self.model.model_validate(parsed.value)
        except ValidationError as exc:
            record.problems.extend(_describe(exc))
            return None
        return self._ground(value, record)

    def _ground(self, value: T, record: AttemptRecord) -> T | None:
        data = value.model_dump(mode="json")
        evidence, missing = self._align_all(data)
        if missing and not self.grounding_reasked and self.report.attempts <= self.settings.reasks:
            self.grounding_reasked = True
            record.problems.extend(f"not in the article: {_dotted(p)} = {t!r}" for p, t in missing)
            return None
        if missing:
            gone: list[Path_] = []
            for path, text in sorted(missing, key=lambda m: _sort_key(m[0]), reverse=True):
                if any(path[: len(g)] == g for g in gone):
                    reason = "removed with its parent"
                else:
                    data, removed = _prune(data, path, self.model)
                    if removed is not None:
                        gone.append(removed)
                    reason = "removed" if removed else "kept because the schema requires it"
                self.report.dropped.append(
                    Dropped(_dotted(path), text, f"not found in the article; {reason}")
                )
            value = self.model.model_validate(data)
            evidence, _ = self._align_all(value.model_dump(mode="json"))
        self.report.evidence = evidence
        return value

    def _align_all(self, data: Any) -> tuple[list[Evidence], list[tuple[Path_, str]]]:
        """Evidence for every grounded string in ``data``, and those not found."""
        evidence: list[Evidence] = []
        missing: list[tuple[Path_, str]] = []
        for path, text in _grounded_strings(data, self._raw_schema):
            match = align(text, self.text, self._folded)
            if match is None:
                missing.append((path, text))
            else:
                quote = self.text[match.start : match.end]
                evidence.append(
                    Evidence(_dotted(path), text, quote, match.start, match.end, match.alignment)
                )
        return evidence, missing

    def _failure(self, record: AttemptRecord) -> ExtractionError:
        n = len(self.history)
        summary = "; ".join(record.problems[:3])
        if record.problems and record.problems[0].startswith("truncated"):
            return TruncatedOutputError(
                f"truncated output after {n} attempt(s): {summary}", attempts=self.history
            )
        if record.problems and record.problems[0].startswith("empty answer"):
            return EmptyResponseError(f"empty answer after {n} attempt(s)", attempts=self.history)
        return ValidationFailedError(
            f"no valid answer after {n} attempt(s): {summary}", attempts=self.history
        )


def run_sync(run: Run[T], backend: Backend) -> T:
    while True:
        started = time.perf_counter()
        completion = backend.complete(run.request())
        value = run.take(completion, time.perf_counter() - started)
        if value is not None:
            return value


async def run_async(run: Run[T], backend: Backend) -> T:
    while True:
        started = time.perf_counter()
        completion = await backend.acomplete(run.request())
        value = run.take(completion, time.perf_counter() - started)
        if value is not None:
            return value


def _describe(exc: ValidationError) -> list[str]:
    return [
        f"schema: {'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}"
        for e in exc.errors(include_url=False)[:20]
    ]


Path_ = tuple[Any, ...]


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "[")


def _sort_key(path: Path_) -> tuple[tuple[int, Any], ...]:
    return tuple((0, p) if isinstance(p, int) else (1, p) for p in path)


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = {
            **defs[node["$ref"].rsplit("/", 1)[-1]],
            **{k: v for k, v in node.items() if k != "$ref"},
        }
    return node


def _grounded_strings(data: Any, schema: dict[str, Any]) -> list[tuple[Path_, str]]:
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
