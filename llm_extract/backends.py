"""Backends: send one chat request with a JSON schema, return one completion.

Two implementations of :class:`Backend`:

* :class:`OpenAIBackend` talks to any OpenAI-compatible server by base URL
  (OpenAI, vLLM, Ollama, llama.cpp's servers) through the ``openai`` client.
  The schema travels in ``response_format``: OpenAI's ``json_schema`` form,
  or ``json_object`` with a ``schema`` key, the form llama-cpp-python's server
  accepts. With ``response_format="auto"`` it tries the first and falls back
  to the second when the server rejects it, remembering the choice.
* :class:`~llm_extract.embedded.EmbeddedBackend` runs the embedded GGUF model
  in-process on llama.cpp's own server code, with the same request body.

Transport failures (429, 5xx, timeouts, dropped connections) are retried
here, with jittered exponential backoff that honours ``Retry-After``; the
SDK's own retries are switched off so the two never stack. Nothing here
parses or validates the answer: that is the pipeline's job.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import openai
import tenacity

from .errors import BackendError
from .redaction import redact_url, scrub
from .settings import Settings

Message = dict[str, str]
log = logging.getLogger("llm_extract")
WAIT_NOTICE = 3.0  # seconds: a retry waiting longer than this is announced


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


def _status(exc: BaseException) -> int | None:
    return exc.status_code if isinstance(exc, openai.APIStatusError) else None


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIConnectionError | openai.APITimeoutError):
        return True
    status = _status(exc)
    return status is not None and (status == 429 or status >= 500)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks us to wait: ``retry-after-ms``, else ``Retry-After``
    as seconds or as an HTTP date. An unreadable header is skipped, not fatal."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if not value:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            pass
        if name == "retry-after":
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                continue
            now = datetime.now(when.tzinfo or UTC)
            return max(0.0, (when - now).total_seconds())
    return None


def _retry_after(exc: BaseException) -> float | None:
    if not isinstance(exc, openai.APIStatusError):
        return None
    return retry_after(exc.response.headers)


def _waiter(settings: Settings) -> Callable[[tenacity.RetryCallState], float]:
    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = _retry_after(exc) if exc else None
        if hinted is not None:
            return min(hinted, settings.backoff_max)
        ceiling = min(settings.backoff_max, settings.backoff_base * 2 ** (state.attempt_number - 1))
        return random.uniform(ceiling / 2, ceiling)

    return wait


def _tell_wait(state: tenacity.RetryCallState) -> None:
    """Say so when a retry waits long enough for a user to wonder."""
    wait = state.next_action.sleep if state.next_action else 0.0
    if wait >= WAIT_NOTICE:
        exc = state.outcome.exception() if state.outcome else None
        status = _status(exc) if exc is not None else None
        why = f"HTTP {status}" if status else type(exc).__name__
        log.warning("waiting %.0f s before retrying (%s)", wait, why)


def _reject_format(exc: BaseException) -> bool:
    """Does this error say the server does not take OpenAI's json_schema form?

    Only a client error counts: a 500 that mentions ``response_format`` is a
    broken server, not a refused form, and must not switch forms for good."""
    status = _status(exc)
    if status not in (400, 404, 415, 422, 501):
        return False
    body = str(getattr(exc, "body", "") or "") + str(exc)
    return "response_format" in body or "json_schema" in body


class OpenAIBackend:
    """Any OpenAI-compatible server, by base URL."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.model = settings.model_name
        self._format = settings.response_format
        self._common: dict[str, Any] = {
            "api_key": settings.api_key or "not-needed",
            "base_url": settings.base_url,
            "timeout": min(settings.timeout, settings.deadline),
            "max_retries": 0,
        }
        self._client = openai.OpenAI(**self._common)
        # An async client belongs to the event loop it first ran on; scripts call
        # asyncio.run() again, threads run their own loops: one client per loop.
        self._aclients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )

    def _aclient(self) -> openai.AsyncOpenAI:
        loop = asyncio.get_running_loop()
        client = self._aclients.get(loop)
        if client is None:
            client = self._aclients[loop] = openai.AsyncOpenAI(**self._common)
        return cast(openai.AsyncOpenAI, client)

    def _kwargs(self, request: ChatRequest) -> dict[str, Any]:
        return openai_body(
            self.model, request, "json_schema" if self._format == "auto" else self._format
        )

    def _retrying(self) -> tenacity.Retrying:
        return tenacity.Retrying(**self._retry_args())

    def _retry_args(self) -> dict[str, Any]:
        return {
            "stop": tenacity.stop_after_attempt(1 + self.settings.transport_retries)
            | tenacity.stop_after_delay(self.settings.deadline),
            "wait": _waiter(self.settings),
            "before_sleep": _tell_wait,
            "retry": tenacity.retry_if_exception(
                lambda exc: _transient(exc) and not self._rejects_format(exc)
            ),
            "reraise": True,
        }

    def _rejects_format(self, exc: BaseException) -> bool:
        return self._format == "auto" and _reject_format(exc)

    def _fallback(self, exc: BaseException) -> bool:
        if self._rejects_format(exc):
            self._format = "json_object"
            return True
        return False

    def complete(self, request: ChatRequest) -> Completion:
        sent = 0

        def once() -> Any:
            nonlocal sent
            sent += 1
            return self._client.chat.completions.create(**self._kwargs(request))

        while True:
            try:
                response = self._retrying()(once)
                return _completion(response, self.model, sent)
            except (openai.OpenAIError, ValueError, RuntimeError) as exc:
                if self._fallback(exc):
                    continue
                raise self._error(exc, sent) from None

    async def acomplete(self, request: ChatRequest) -> Completion:
        sent = 0

        async def once() -> Any:
            nonlocal sent
            sent += 1
            return await self._aclient().chat.completions.create(**self._kwargs(request))

        while True:
            try:
                response: Any = await tenacity.AsyncRetrying(**self._retry_args())(once)
                return _completion(response, self.model, sent)
            except (openai.OpenAIError, ValueError, RuntimeError) as exc:
                if self._fallback(exc):
                    continue
                raise self._error(exc, sent) from None

    def _error(self, exc: BaseException, sent: int) -> BackendError:
        """One typed error for whatever the transport raised: an HTTP status, a
        connection failure, a 200 whose body is not JSON (``ValueError``) or an
        event-loop problem (``RuntimeError``), the key scrubbed from the message."""
        status = _status(exc)
        kind = type(exc).__name__
        where = redact_url(self.settings.base_url) or "api.openai.com"
        detail = scrub(str(exc), self.settings.api_key)[:500]
        if isinstance(exc, ValueError):
            detail = f"the server's answer is not valid JSON ({detail})"
        return BackendError(
            f"{kind} from {where} after {sent} request(s): {detail}",
            status=status,
            attempts=sent,
            transient=_transient(exc),
            retry_after=_retry_after(exc),
        )

    async def aclose(self) -> None:
        """Close the HTTP clients; the async one of the running loop is closed on it."""
        self._client.close()
        client = self._aclients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()


def openai_body(model: str, request: ChatRequest, fmt: str) -> dict[str, Any]:
    """The chat-completion body for ``request``, with the schema sent in form ``fmt``:
    OpenAI's ``json_schema``, llama-cpp-python's ``json_object`` + ``schema``, or
    ``prompt`` (the schema appended to the last message, for servers with neither)."""
    body: dict[str, Any] = {
        "model": model,
        "messages": request.messages,
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        "seed": request.seed,
    }
    if request.logprobs:
        body["logprobs"] = True
    if fmt == "json_schema":
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": request.schema_name, "schema": request.schema},
        }
    elif fmt == "json_object":
        body["response_format"] = {"type": "json_object", "schema": request.schema}
    else:
        note = "Answer with JSON that matches this JSON schema:\n" + json.dumps(request.schema)
        body["messages"] = [*request.messages[:-1], _append(request.messages[-1], note)]
    return body


def _append(message: Message, note: str) -> Message:
    return {**message, "content": f"{message['content']}\n\n{note}"}


def _completion(response: Any, model: str, sent: int) -> Completion:
    usage = getattr(response, "usage", None)
    prompt_tokens = getattr(usage, "prompt_tokens", 0) or 0
    completion_tokens = getattr(usage, "completion_tokens", 0) or 0
    choices = getattr(response, "choices", None) or []
    if not choices:
        return Completion(None, None, None, prompt_tokens, completion_tokens, model, sent)
    choice = choices[0]
    message = choice.message
    content = message.content
    tool_calls = getattr(message, "tool_calls", None)
    if content is None and tool_calls:
        content = tool_calls[0].function.arguments
    logprobs = getattr(getattr(choice, "logprobs", None), "content", None)
    return Completion(
        content=content,
        finish_reason=choice.finish_reason,
        refusal=getattr(message, "refusal", None),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        model=getattr(response, "model", None) or model,
        requests=sent,
        tokens=[(t.token, float(t.logprob)) for t in logprobs] if logprobs else None,
    )
