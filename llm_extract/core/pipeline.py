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

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from ..backends.base import Backend, ChatRequest, Completion
from ..errors import (
    AttemptRecord,
    DeadlineExceededError,
    EmptyResponseError,
    ExtractionError,
    InputError,
    RefusalError,
    TruncatedOutputError,
    ValidationFailedError,
)
from ..grounding.align import TextIndex
from ..grounding.confidence import Confidence, confidences
from ..grounding.verify import Dropped, Evidence, dotted, drop_derived, settle, verify
from ..prompts.build import (
    PromptSpec,
    build_messages,
    model_schema,
    prompt_version,
    reask_messages,
    request_schema,
    request_schema_digest,
)
from ..settings import Settings
from ..text.candidates import candidate_spans
from .parsing import ParseFailure, parse_json

T = TypeVar("T", bound=BaseModel)


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
    confidence: list[Confidence] = field(default_factory=list)
    chunks: int = 1

    def absorb(self, other: CallReport, prefix: str = "") -> None:
        """Add another run's costs and findings to this record (chunked articles)."""
        self.attempts += other.attempts
        self.requests += other.requests
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.latency_s += other.latency_s
        self.repairs.extend(other.repairs)
        self.problems.extend(prefix + p for p in other.problems)
        self.dropped.extend(replace(d, path=prefix + d.path) for d in other.dropped)
        self.confidence.extend(replace(c, path=prefix + c.path) for c in other.confidence)

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


def check_text(text: object, max_chars: int | None = None) -> str:
    """Reject input no model should see, with a message a user can act on.

    ``max_chars`` (the settings' limit) keeps a runaway input, such as a whole
    dump passed as one article, from becoming thousands of paid requests.
    """
    if not isinstance(text, str):
        raise InputError(f"text must be str, not {type(text).__name__}")
    if max_chars is not None and len(text) > max_chars:
        raise InputError(
            f"the text has {len(text):,} characters, more than max_chars="
            f"{max_chars:,}; split it, or raise max_chars if it is one article"
        )
    if not text.strip():
        raise InputError("the text is empty or only whitespace")
    if "\x00" in text:
        raise InputError("the text contains NUL bytes; it looks binary, not like an article")
    return text


class Run(Generic[T]):
    """State of one extraction: the next request, and the verdict on each answer."""

    def __init__(
        self,
        text: str,
        model: type[T],
        spec: PromptSpec,
        settings: Settings,
        backend: Backend,
        *,
        logprobs: bool = False,
        ground_reask: bool = True,
        deadline_at: float | None = None,
    ) -> None:
        self.text = check_text(text, settings.max_chars)
        self.logprobs = logprobs
        self.deadline_at = deadline_at or time.monotonic() + settings.deadline
        self.model = model
        self.settings = settings
        self.spans = settings.use_spans
        candidates = candidate_spans(text) if self.spans else None
        self.schema = request_schema(model, candidates)
        self.schema_digest = request_schema_digest(model, candidates)
        self.base = build_messages(spec, model, text, spans=self.spans)
        self.messages = self.base
        self.report = CallReport(backend.model, prompt_version(spec, model))
        self.history: list[AttemptRecord] = []
        self.grounding_reasked = not ground_reask
        self.index = TextIndex(text)
        """What aligning values needs of the text, built once on demand; later
        checks of the same text reuse it."""
        self._raw_schema = model_schema(model)

    def request(self) -> ChatRequest:
        return ChatRequest(
            messages=self.messages,
            schema=self.schema,
            schema_name=self.model.__name__,
            max_tokens=self.settings.max_tokens,
            temperature=self.settings.temperature,
            seed=self.settings.seed,
            logprobs=self.logprobs,
            schema_digest=self.schema_digest,
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
            record.kind = "refused"
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
        grounding = record.kind == "ungrounded"
        self.messages = reask_messages(self.base, raw, record.problems, grounding=grounding)
        return None

    def _judge(self, completion: Completion, record: AttemptRecord) -> T | None:
        raw = completion.content
        if not raw or not raw.strip():
            record.kind = "empty"
            record.problems.append("empty answer: the server returned no content")
            return None
        if completion.finish_reason == "length":
            record.kind = "truncated"
            record.problems.append(
                f"truncated: the answer hit the {self.settings.max_tokens}-token limit; "
                "answer more briefly"
            )
            return None
        try:
            parsed = parse_json(raw)
        except ParseFailure as exc:
            record.kind = "invalid_json"
            record.problems.append(f"invalid JSON: {exc}")
            return None
        record.repairs.extend(parsed.repairs)
        try:
            value = self.model.model_validate(drop_derived(parsed.value, self._raw_schema))
        except ValidationError as exc:
            record.kind = "invalid"
            record.problems.extend(_describe(exc))
            return None
        grounded = self._ground(value, record)
        if grounded is not None and not parsed.repairs:
            self.report.confidence = confidences(raw, completion.tokens)
        return grounded

    def _ground(self, value: T, record: AttemptRecord) -> T | None:
        data = value.model_dump(mode="json")
        evidence, missing = verify(data, self._raw_schema, self.text, self.index)
        if missing and not self.grounding_reasked and self.report.attempts <= self.settings.reasks:
            self.grounding_reasked = True
            record.kind = "ungrounded"
            record.problems.extend(f"not in the article: {dotted(p)} = {t!r}" for p, t in missing)
            return None
        if missing:
            data, record_ = settle(data, missing, self.model, self.settings.ungrounded)
            self.report.dropped.extend(record_)
            value = self.model.model_validate(data)
            evidence, _ = verify(data, self._raw_schema, self.text, self.index)
        self.report.evidence = evidence
        return value

    def _failure(self, record: AttemptRecord) -> ExtractionError:
        n = len(self.history)
        summary = "; ".join(record.problems[:3])
        if record.kind == "truncated":
            return TruncatedOutputError(
                f"truncated output after {n} attempt(s): {summary}", attempts=self.history
            )
        if record.kind == "empty":
            return EmptyResponseError(f"empty answer after {n} attempt(s)", attempts=self.history)
        return ValidationFailedError(
            f"no valid answer after {n} attempt(s): {summary}", attempts=self.history
        )


def _in_time(run: Run[Any]) -> None:
    if time.monotonic() > run.deadline_at:
        raise DeadlineExceededError(
            f"gave up: the extraction took longer than deadline={run.settings.deadline:g} s "
            f"({run.report.attempts} answer(s) so far)",
            status=None,
            attempts=run.report.requests,
            transient=True,
        )


def run_sync(run: Run[T], backend: Backend) -> T:
    while True:
        _in_time(run)
        started = time.perf_counter()
        completion = backend.complete(run.request())
        value = run.take(completion, time.perf_counter() - started)
        if value is not None:
            return value


async def run_async(run: Run[T], backend: Backend) -> T:
    while True:
        _in_time(run)
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
