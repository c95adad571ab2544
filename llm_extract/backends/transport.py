"""The wire, provider by provider: retries, errors, usage and the raw answer.

Every SDK raises its own exceptions and answers in its own shape; the pipeline
wants one kind of each. This module knows the three families we claim (OpenAI
and compatible servers, Anthropic Messages, Gemini) and reads the rest by
their common attributes:

* :func:`status`, :func:`transient` and :func:`hinted_wait` classify a
  failure (429 and 5xx, timeouts and dropped connections are transient;
  ``Retry-After`` is honoured in seconds, milliseconds or as an HTTP date);
* :func:`retrying` is the tenacity policy: ``transport_retries`` tries, the
  document's ``deadline``, jittered exponential backoff, a notice on long
  waits;
* :func:`counting_hooks` counts requests and tokens through instructor's hooks;
* :func:`read` takes the answer text, finish reason, refusal and token
  log-probabilities out of a raw response of any of the three families.
"""

from __future__ import annotations

import email.utils
import inspect
import json
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import tenacity
from instructor.core.hooks import Hooks
from openai.types.chat import ChatCompletion
from pydantic import RootModel

from ..settings import Settings
from .base import Completion

log = logging.getLogger("llm_extract")
WAIT_NOTICE = 3.0  # seconds: a retry waiting longer than this is announced

_CONNECTION = ("APIConnectionError", "APITimeoutError", "ConnectError", "ReadTimeout",
               "ConnectTimeout", "RemoteProtocolError", "ReadError", "WriteTimeout",
               "PoolTimeout", "TimeoutException")  # fmt: skip


@dataclass
class Tally:
    """What one request cost, across its transport retries."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    last: Any = None


def unwrap(exc: BaseException) -> BaseException:
    """The SDK's own exception inside instructor's wrapper, if any."""
    seen = 0
    while type(exc).__name__ == "InstructorRetryException" and exc.__cause__ and seen < 5:
        exc, seen = exc.__cause__, seen + 1
    return exc


def status(exc: BaseException | None) -> int | None:
    """The HTTP status of a provider error, whatever its SDK."""
    if exc is None:
        return None
    for name in ("status_code", "code", "status"):
        value = getattr(exc, name, None)
        if isinstance(value, int) and 100 <= value < 600:
            return value
    return None


def transient(exc: BaseException) -> bool:
    """Worth trying again: 429, 5xx, timeouts, refused or dropped connections."""
    code = status(exc)
    if code is not None:
        return code == 429 or code >= 500
    return any(c.__name__ in _CONNECTION for c in type(exc).__mro__)


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


def hinted_wait(exc: BaseException) -> float | None:
    headers = getattr(getattr(exc, "response", None), "headers", None)
    return retry_after(headers) if isinstance(headers, Mapping) else None


def backoff(settings: Settings, failures: int, hinted: float | None = None) -> float:
    """Seconds to wait after the ``failures``-th failure in a row: the server's
    ``Retry-After`` when it gave one, else jittered exponential backoff, both
    capped at ``settings.backoff_max``. The one formula every retry uses."""
    if hinted is not None:
        return min(hinted, settings.backoff_max)
    ceiling = min(settings.backoff_max, settings.backoff_base * 2 ** (failures - 1))
    return random.uniform(ceiling / 2, ceiling)


def _waiter(settings: Settings) -> Callable[[tenacity.RetryCallState], float]:
    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return backoff(settings, state.attempt_number, hinted_wait(exc) if exc else None)

    return wait


def _tell_wait(state: tenacity.RetryCallState) -> None:
    """Say so when a retry waits long enough for a user to wonder."""
    wait = state.next_action.sleep if state.next_action else 0.0
    if wait >= WAIT_NOTICE:
        exc = state.outcome.exception() if state.outcome else None
        code = status(exc)
        why = f"HTTP {code}" if code else type(exc).__name__
        log.warning("waiting %.0f s before retrying (%s)", wait, why)


def _policy(settings: Settings, skip: Callable[[BaseException], bool]) -> dict[str, Any]:
    return {
        "stop": tenacity.stop_after_attempt(1 + settings.transport_retries)
        | tenacity.stop_after_delay(settings.deadline),
        "wait": _waiter(settings),
        "before_sleep": _tell_wait,
        "retry": tenacity.retry_if_exception(lambda e: transient(unwrap(e)) and not skip(e)),
        "reraise": True,
    }


def retrying(settings: Settings, skip: Callable[[BaseException], bool]) -> tenacity.Retrying:
    """The transport retry policy; ``skip`` names failures never to retry."""
    return tenacity.Retrying(**_policy(settings, skip))


def aretrying(settings: Settings, skip: Callable[[BaseException], bool]) -> tenacity.AsyncRetrying:
    return tenacity.AsyncRetrying(**_policy(settings, skip))


def _takes_anything(*_: Any, **__: Any) -> None:
    """The signature of a handler that takes any arguments."""


_ANYTHING = inspect.signature(_takes_anything)


def counting_hooks(tally: Tally) -> Hooks:
    """instructor hooks that add each request and its usage to ``tally``.

    The latest raw response is kept too: some of instructor's parse failures
    (Gemini's "return a function call") carry no completion of their own.
    instructor asks ``inspect.signature`` of a handler on every event with
    keyword arguments; the request handler carries its signature ready-made
    (``__signature__``), since building it was about 1% of a document's CPU."""
    hooks = Hooks()

    def sent(*_: Any, **__: Any) -> None:
        tally.requests += 1
        tally.last = None

    sent.__signature__ = _ANYTHING  # type: ignore[attr-defined]

    def answered(response: Any) -> None:
        tally.last = response
        p, c = usage(response)
        tally.prompt_tokens += p
        tally.completion_tokens += c

    hooks.on("completion:kwargs", sent)
    hooks.on("completion:response", answered)
    return hooks


def usage(raw: Any) -> tuple[int, int]:
    """(prompt, completion) tokens of a raw response of any family."""
    u = getattr(raw, "usage", None)
    if u is not None:
        p = getattr(u, "prompt_tokens", None) or getattr(u, "input_tokens", None) or 0
        c = getattr(u, "completion_tokens", None) or getattr(u, "output_tokens", None) or 0
        return int(p), int(c)
    m = getattr(raw, "usage_metadata", None)
    if m is not None:
        p = getattr(m, "prompt_token_count", None) or 0
        c = getattr(m, "candidates_token_count", None) or 0
        return int(p), int(c)
    return 0, 0


Read = tuple[str | None, str | None, str | None, list[tuple[str, float]] | None]
_FINISH = {"max_tokens": "length", "MAX_TOKENS": "length", "end_turn": "stop",
           "tool_use": "stop", "STOP": "stop", "stop_sequence": "stop", "refusal": "content_filter",
           "SAFETY": "content_filter", "RECITATION": "content_filter"}  # fmt: skip


def read(raw: Any) -> Read:
    """(content, finish_reason, refusal, tokens) of a raw response; Nones when absent."""
    if raw is None:
        return None, None, None, None
    if hasattr(raw, "choices"):  # OpenAI and compatible servers
        if not raw.choices:
            return None, None, None, None
        choice = raw.choices[0]
        message = choice.message
        content = message.content
        calls = getattr(message, "tool_calls", None)
        if content is None and calls:
            content = calls[0].function.arguments
        logprobs = getattr(getattr(choice, "logprobs", None), "content", None)
        tokens = [(t.token, float(t.logprob)) for t in logprobs] if logprobs else None
        return content, choice.finish_reason, getattr(message, "refusal", None), tokens
    if hasattr(raw, "stop_reason"):  # Anthropic Messages
        parts = [b for b in raw.content or [] if getattr(b, "type", None) == "tool_use"]
        texts = [b.text for b in raw.content or [] if getattr(b, "type", None) == "text"]
        content = json.dumps(parts[0].input) if parts else ("".join(texts) or None)
        finish = _FINISH.get(str(raw.stop_reason), raw.stop_reason)
        refusal = ("".join(texts) or "refused") if finish == "content_filter" else None
        return content, finish, refusal, None
    return _read_gemini(raw)


def _read_gemini(raw: Any) -> Read:
    candidates = getattr(raw, "candidates", None) or []
    if not candidates:
        return None, None, None, None
    candidate = candidates[0]
    finish = getattr(candidate.finish_reason, "name", candidate.finish_reason)
    finish = _FINISH.get(str(finish), str(finish).lower() if finish else None)
    parts = getattr(candidate.content, "parts", None) or []
    for part in parts:
        call = getattr(part, "function_call", None)
        if call is not None:
            return json.dumps(dict(call.args or {})), finish, None, None
    text = "".join(p.text for p in parts if getattr(p, "text", None)) or None
    return text, finish, "refused" if finish == "content_filter" else None, None


def answer(raw: Any, value: Any, model: str, tally: Tally) -> Completion:
    """Our :class:`Completion` from a provider's raw response (or None)."""
    content, finish, refusal, tokens = read(raw)
    if content is None and value is not None:
        content = json.dumps(value.root if isinstance(value, RootModel) else value)
    return Completion(
        content=content,
        finish_reason=finish,
        refusal=refusal,
        prompt_tokens=tally.prompt_tokens,
        completion_tokens=tally.completion_tokens,
        model=model,
        requests=tally.requests,
        tokens=tokens,
    )


def answer_of_body(body: dict[str, Any], model: str) -> Completion:
    """Our :class:`Completion` from a chat-completions body a server wrote (an
    OpenAI Batch output line), read as a live answer is read."""
    return _answer_of_raw(ChatCompletion.model_validate(body), model)


def answer_of_message(body: dict[str, Any], model: str) -> Completion:
    """Our :class:`Completion` from an Anthropic Messages body (a Message Batches
    result), read as a live answer is read."""
    from anthropic.types import Message

    return _answer_of_raw(Message.model_validate(body), model)


def _answer_of_raw(raw: Any, model: str) -> Completion:
    """One request's answer from a raw response a batch returned, with its usage."""
    prompt, completion = usage(raw)
    tally = Tally(requests=1, prompt_tokens=prompt, completion_tokens=completion)
    return answer(raw, None, raw.model or model, tally)
