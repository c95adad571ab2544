"""What a model call is: a :class:`ChatRequest` in, a :class:`Completion` out.

The :class:`Backend` protocol is all the pipeline knows of a model. The one
implementation that talks to models is :class:`~llm_extract.backends.providers.InstructorBackend`
(every provider instructor reaches, the embedded model included); the
wrappers (recording, replay, cache, the batch rate gate) and scripted test
backends implement the same two methods. Nothing here parses or validates an
answer: that is the pipeline's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

Message = dict[str, str]


@dataclass(frozen=True)
class ChatRequest:
    """One request. ``logprobs`` asks for each answer token's log-probability,
    which the pipeline turns into per-field confidences."""

    messages: list[Message]
    schema: dict[str, Any]
    schema_name: str
    max_tokens: int
    temperature: float
    seed: int
    logprobs: bool = False
    schema_digest: str | None = None
    """:func:`~llm_extract.prompts.build.schema_digest` of ``schema``, when the
    caller has it already (a schema built once per model); ``None`` has the
    backend compute it. It is derived from ``schema``, so it is not part of
    the request's identity."""


@dataclass(frozen=True)
class Completion:
    """One answer. ``content`` is None when the server sent no choice or text."""

    content: str | None
    finish_reason: str | None
    refusal: str | None
    prompt_tokens: int
    completion_tokens: int
    model: str
    requests: int = 1
    tokens: list[tuple[str, float]] | None = None  # (text, logprob) per answer token


class Backend(Protocol):
    model: str

    def complete(self, request: ChatRequest) -> Completion: ...

    async def acomplete(self, request: ChatRequest) -> Completion: ...
