"""Recorded model outputs: replay an extraction with no model and no network.

A recording is a JSONL file of model answers keyed by the SHA-256 of the
canonical request (model, messages, schema and sampling parameters). It stores
the answer and its token counts, never the request itself, so recordings over
research-licensed articles hold no article text beyond the short spans the
model answered with.

:class:`RecordingBackend` wraps a real backend and appends each answer;
:class:`ReplayBackend` answers from a recording and raises
:class:`StaleRecordingError` for any request it has not seen, so a prompt,
schema or model change shows up as a stale recording, never as a silent
live call.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .backends import Backend, ChatRequest, Completion
from .errors import ConfigurationError, LLMExtractError


class StaleRecordingError(LLMExtractError):
    """The replayed request is not in the recording: re-record it."""

    def __init__(self, message: str, *, request_hash: str) -> None:
        super().__init__(message)
        self.request_hash = request_hash


def request_hash(model: str, request: ChatRequest) -> str:
    body = {"model": model, **asdict(request)}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load(path: Path) -> dict[str, Completion]:
    """All answers in a recording; later lines win. Broken lines are an error."""
    answers: dict[str, Completion] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return answers
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            answers[row["request_sha256"]] = Completion(**row["completion"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"{path}:{number}: not a recording line: {exc}") from None
    return answers


class RecordingBackend:
    """Answers from the recording when it can, else asks ``inner`` and appends.

    So a recording run that was stopped resumes where it left off: answers
    already recorded are not asked for again.
    """

    def __init__(self, inner: Backend, path: Path) -> None:
        self.inner = inner
        self.model = inner.model
        self.path = path
        self._known = load(path)

    def _recorded(self, request: ChatRequest) -> Completion | None:
        return self._known.get(request_hash(self.model, request))

    def _keep(self, request: ChatRequest, completion: Completion) -> Completion:
        key = request_hash(self.model, request)
        if key not in self._known:
            self._known[key] = completion
            self.path.parent.mkdir(parents=True, exist_ok=True)
            row: dict[str, Any] = {"request_sha256": key, "completion": asdict(completion)}
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                f.flush()
                os.fsync(f.fileno())
        return completion

    def complete(self, request: ChatRequest) -> Completion:
        recorded = self._recorded(request)
        return recorded or self._keep(request, self.inner.complete(request))

    async def acomplete(self, request: ChatRequest) -> Completion:
        recorded = self._recorded(request)
        return recorded or self._keep(request, await self.inner.acomplete(request))


class ReplayBackend:
    """Answers only from a recording made with the same model name."""

    def __init__(self, path: Path, model: str) -> None:
        self.path = path
        self.model = model
        self._answers = load(path)
        if not self._answers:
            raise ConfigurationError(f"no recording at {path}: record it first")

    def complete(self, request: ChatRequest) -> Completion:
        key = request_hash(self.model, request)
        found = self._answers.get(key)
        if found is None:
            raise StaleRecordingError(
                f"request {key[:12]} is not in {self.path}: the prompt, schema, settings or "
                "article changed since it was recorded; re-record with --record",
                request_hash=key,
            )
        return found

    async def acomplete(self, request: ChatRequest) -> Completion:
        return self.complete(request)
