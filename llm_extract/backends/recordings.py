"""Recorded model outputs: replay an extraction with no model and no network.

A recording is a JSONL file of model answers keyed by the SHA-256 of the
canonical request (model, messages, schema and sampling parameters). It stores
the answer and its token counts, never the request itself, so recordings over
research-licensed articles hold no article text beyond the short spans the
model answered with. Each line also keeps how many seconds the live answer
took (``seconds``), so a replayed eval reports the recorded run's speed
instead of the replay's; lines recorded before timings existed have none,
and :class:`Timing` counts them rather than pretend they took no time.

:class:`RecordingBackend` wraps a real backend and appends each answer;
:class:`ReplayBackend` answers from a recording and raises
:class:`StaleRecordingError` for any request it has not seen, so a prompt,
schema or model change shows up as a stale recording, never as a silent
live call.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError, LLMExtractError
from .base import Backend, ChatRequest, Completion


class StaleRecordingError(LLMExtractError):
    """The replayed request is not in the recording: re-record it."""

    def __init__(self, message: str, *, request_hash: str) -> None:
        super().__init__(message)
        self.request_hash = request_hash


def request_hash(model: str, request: ChatRequest) -> str:
    body = {"model": model, **asdict(request)}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass
class Timing:
    """Model seconds behind the answers a recording backend gave, live or recorded."""

    seconds: float = 0.0
    timed: int = 0
    untimed: int = 0

    def add(self, seconds: float | None) -> None:
        if seconds is None:
            self.untimed += 1
        else:
            self.seconds += seconds
            self.timed += 1

    def per_answer(self) -> float | None:
        return self.seconds / self.timed if self.timed else None


_Answer = tuple[Completion, float | None]


def load(path: Path, *, mend: bool = False) -> dict[str, _Answer]:
    """All answers in a recording with their seconds; later lines win.

    A broken line is an error, except a last line with no newline: that is an
    append cut short by a kill, so it is skipped. With ``mend`` the file is made
    to end on a whole line (the torn tail cut off, a missing final newline
    added), so the next append starts on a line of its own.
    """
    answers: dict[str, _Answer] = {}
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return answers
    lines = data.decode("utf-8", errors="replace").split("\n")
    torn = False
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            seconds = row.get("seconds")
            answers[row["request_sha256"]] = (
                Completion(**row["completion"]),
                None if seconds is None else float(seconds),
            )
        except (ValueError, KeyError, TypeError) as exc:
            if number < len(lines):
                raise ConfigurationError(f"{path}:{number}: not a recording line: {exc}") from None
            torn = True
    if mend and data and not data.endswith(b"\n"):
        with path.open("r+b") as handle:
            if torn:
                handle.truncate(data.rfind(b"\n") + 1)
            else:
                handle.seek(0, os.SEEK_END)
                handle.write(b"\n")
    return answers


class RecordingBackend:
    """Answers from the recording when it can, else asks ``inner`` and appends.

    So a recording run that was stopped resumes where it left off: answers
    already recorded are not asked for again. ``timing`` covers both kinds.
    """

    def __init__(self, inner: Backend, path: Path) -> None:
        self.inner = inner
        self.model = inner.model
        self.path = path
        self.timing = Timing()
        self._known = load(path, mend=True)
        self._writing = threading.Lock()

    def _recorded(self, request: ChatRequest) -> Completion | None:
        found = self._known.get(request_hash(self.model, request))
        if found is None:
            return None
        self.timing.add(found[1])
        return found[0]

    def _keep(self, request: ChatRequest, completion: Completion, seconds: float) -> Completion:
        key = request_hash(self.model, request)
        self.timing.add(seconds)
        with self._writing:
            if key in self._known:
                return completion
            self._known[key] = (completion, seconds)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            row: dict[str, Any] = {
                "request_sha256": key,
                "completion": asdict(completion),
                "seconds": round(seconds, 3),
            }
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                f.flush()
                os.fsync(f.fileno())
        return completion

    def complete(self, request: ChatRequest) -> Completion:
        recorded = self._recorded(request)
        if recorded is not None:
            return recorded
        started = time.perf_counter()
        completion = self.inner.complete(request)
        return self._keep(request, completion, time.perf_counter() - started)

    async def acomplete(self, request: ChatRequest) -> Completion:
        recorded = self._recorded(request)
        if recorded is not None:
            return recorded
        started = time.perf_counter()
        completion = await self.inner.acomplete(request)
        seconds = time.perf_counter() - started
        return await asyncio.to_thread(self._keep, request, completion, seconds)


class ReplayBackend:
    """Answers only from a recording made with the same model name."""

    def __init__(self, path: Path, model: str) -> None:
        self.path = path
        self.model = model
        self.timing = Timing()
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
        self.timing.add(found[1])
        return found[0]

    async def acomplete(self, request: ChatRequest) -> Completion:
        return self.complete(request)
