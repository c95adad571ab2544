"""Every model call goes through instructor: one backend for every provider.

``model="anthropic/claude-…"``, ``"google/gemini-…"``, ``"ollama/llama3.2"`` and
the rest pick the provider's own SDK; a bare model name (with a base URL or a
key) is any OpenAI-compatible server; no server at all is the embedded model,
served by :mod:`llm_extract.backends.embedded` on loopback and reached the same way.

What instructor does here: it turns our request schema into each provider's
structured-output request (a JSON schema for OpenAI-compatible servers and
llama.cpp, a forced tool call for Anthropic and Gemini), calls the SDK, and
extracts the answer's JSON. What stays ours, and why:

* **one attempt per call** (``max_retries=0``): the pipeline re-asks with only
  the latest rejected answer (instructor appends every attempt: its #2056),
  and typed refusals, truncation and grounding decide the next step;
* **transport retries** with tenacity, honouring ``Retry-After``, the SDKs'
  own retries switched off so the two never stack;
* the raw answer text, usage and token log-probabilities are read from the
  provider's response, so recordings, caches and confidences work the same for
  every provider; tokens and attempts are counted by instructor's hooks.

The schema travels through one response model whose JSON schema is the
request's (a context variable). The class is made once per distinct schema,
already an instructor ``ResponseSchema``: handed a plain model, instructor
builds a new wrapper class on every call (its ``response_schema``), which
cost more CPU than anything else it does per call; and it caches tool
schemas by class, so one class must never stand for two schemas.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar, cast

import instructor
from instructor.core.exceptions import IncompleteOutputException
from instructor.processing import handle_response_model
from pydantic import RootModel

from ..errors import BackendError, ConfigurationError
from ..prompts.build import schema_digest
from ..redaction import redact_url, scrub
from ..settings import PROVIDERS, Settings
from . import instructor_shims, openai_wire, transport
from .base import Backend, ChatRequest, Completion
from .embedded import RuntimeSpec, model_id, runtime

_SCHEMA: contextvars.ContextVar[tuple[str, dict[str, Any]]] = contextvars.ContextVar("schema")


class Answer(RootModel[Any]):
    """Any JSON value; its schema is the request's. The pipeline validates it."""

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return _SCHEMA.get()[1]


def _answer_model(request: ChatRequest) -> type[Answer]:
    """The response model for ``request``: one class per schema name and content."""
    digest = request.schema_digest or schema_digest(request.schema)
    return _named_answer(request.schema_name, digest)


@lru_cache(maxsize=256)
def _named_answer(name: str, digest: str) -> type[Answer]:
    """:class:`Answer` under the schema's name (instructor names the tool and the
    json_schema after the class, and Anthropic's forced tool choice must match
    the tool's name), made a ``ResponseSchema`` here once rather than by
    instructor on every call. ``digest`` keys the class to one schema."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "Answer"
    bases = (Answer, instructor.ResponseSchema)
    return cast(type[Answer], type(safe, bases, {"__module__": __name__}))


@dataclass(frozen=True)
class Route:
    """How one provider is reached: its instructor mode and its SDK client."""

    provider: str
    model: str
    mode: instructor.Mode


_MODES: dict[str, instructor.Mode] = {
    "openai": instructor.Mode.JSON_SCHEMA,
    "ollama": instructor.Mode.JSON_SCHEMA,
    "anthropic": instructor.Mode.TOOLS,
    "google": instructor.Mode.TOOLS,
    "gemini": instructor.Mode.TOOLS,
}
_BATCH_PROVIDERS = {
    "openai": instructor.Provider.OPENAI,
    "anthropic": instructor.Provider.ANTHROPIC,
}
_FORMAT_MODES = {
    "json_schema": instructor.Mode.JSON_SCHEMA,
    "json_object": instructor.Mode.JSON,
    "prompt": instructor.Mode.MD_JSON,
}


def route(settings: Settings) -> Route:
    """The provider a model string names: ``provider/model``, else OpenAI-compatible."""
    name = settings.model_name
    provider, _, rest = name.partition("/")
    if rest and provider in _MODES:
        return Route(provider, rest, _MODES[provider])
    if rest and provider in PROVIDERS:
        return Route(provider, rest, instructor.Mode.TOOLS)
    return Route("openai", name, instructor.Mode.JSON_SCHEMA)


def _sdk(route_: Route, settings: Settings, base_url: str | None, key: str | None,
         aio: bool) -> Any:  # fmt: skip
    """The provider's own SDK client, with its retries off and our timeout."""
    timeout = min(settings.timeout, settings.deadline)
    if route_.provider in ("openai", "ollama"):
        import openai

        default = "http://localhost:11434/v1" if route_.provider == "ollama" else None
        kind = openai.AsyncOpenAI if aio else openai.OpenAI
        return kind(api_key=key or "not-needed", base_url=base_url or default,
                    timeout=timeout, max_retries=0)  # fmt: skip
    if route_.provider == "anthropic":
        anthropic = _optional("anthropic", "anthropic")
        kind = anthropic.AsyncAnthropic if aio else anthropic.Anthropic
        return kind(api_key=key, base_url=base_url, timeout=timeout, max_retries=0)
    if route_.provider in ("google", "gemini"):
        genai = _optional("google.genai", "google")
        options = genai.types.HttpOptions(base_url=base_url, timeout=int(timeout * 1000),
                                          retry_options=None)  # fmt: skip
        return genai.Client(api_key=key, http_options=options)
    raise ConfigurationError(f"no client for provider {route_.provider!r}")


def _optional(module: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigurationError(
            f"model provider {extra!r} needs its SDK: pip install 'llm-extract[{extra}]'"
        ) from None


def _client(route_: Route, sdk: Any, mode: instructor.Mode, aio: bool) -> Any:
    instructor_shims.install()
    if route_.provider in ("openai", "ollama"):
        wrap = openai_wire.asent_as_is if aio else openai_wire.sent_as_is
        create = instructor.patch(create=wrap(sdk), mode=mode)
        kind = instructor.AsyncInstructor if aio else instructor.Instructor
        return kind(client=sdk, create=create, mode=mode, provider=instructor.Provider.OPENAI)
    if route_.provider == "anthropic":
        return instructor.from_anthropic(sdk, mode=mode)
    # instructor types these by Literal[True]/Literal[False] overloads: one call each
    if route_.provider in ("google", "gemini"):
        if aio:
            return instructor.from_genai(sdk, mode=mode, use_async=True)
        return instructor.from_genai(sdk, mode=mode, use_async=False)
    name = f"{route_.provider}/{route_.model}"
    if aio:
        return instructor.from_provider(name, async_client=True)
    return instructor.from_provider(name, async_client=False)


class InstructorBackend:
    """Any provider instructor reaches, one attempt per call (see the module docstring)."""

    _rejects: ClassVar[tuple[int, ...]] = (400, 404, 415, 422, 501)

    def __init__(self, settings: Settings, base_url: str | None = None, key: str | None = None):
        self.settings = settings
        self.route = route(settings)
        self.model = self.route.model if self.route.provider != "openai" else settings.model_name
        self._base_url = base_url if base_url is not None else settings.base_url
        self._key = key if key is not None else settings.secret
        self._format = settings.response_format
        if self.route.provider != "openai" and self._format != "auto":
            raise ConfigurationError("response_format applies to OpenAI-compatible servers only")
        self.served_names = True
        self.in_flight: int | None = None
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self._sync: Any = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )

    # -- clients ------------------------------------------------------------------------

    def _mode(self) -> instructor.Mode:
        if self.route.provider != "openai":
            return self.route.mode
        return _FORMAT_MODES["json_schema" if self._format == "auto" else self._format]

    def _sync_client(self) -> Any:
        if self._sync is None or self._sync[0] != self._mode():
            sdk = _sdk(self.route, self.settings, self._base_url, self._key, aio=False)
            self._sync = (self._mode(), _client(self.route, sdk, self._mode(), aio=False))
        return self._sync[1]

    def _async_client(self) -> Any:
        """One async client per event loop: an SDK client belongs to the loop it ran on."""
        loop = asyncio.get_running_loop()
        found = self._async.get(loop)
        if found is None or found[0] != self._mode():
            sdk = _sdk(self.route, self.settings, self._base_url, self._key, aio=True)
            found = self._async[loop] = (self._mode(), _client(self.route, sdk, self._mode(), True))
        return found[1]

    def _gate(self) -> asyncio.Semaphore | None:
        """At most ``in_flight`` requests out at once on this loop, if set: a server
        with that many slots queues the rest, and a queued request's wait would
        count against its timeout."""
        if self.in_flight is None:
            return None
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Semaphore(self.in_flight)
        return gate

    # -- one request ----------------------------------------------------------------------

    def _kwargs(self, request: ChatRequest, hooks: Any) -> dict[str, Any]:
        """One call's arguments. Anthropic's SDK 2.x has no sampling
        parameters in its signature, so temperature rides in the body there;
        Gemini calls the assistant "model"."""
        messages = request.messages
        if self.route.provider in ("google", "gemini"):
            messages = [{**m, "role": "model"} if m["role"] == "assistant" else m for m in messages]
        kwargs: dict[str, Any] = {
            "model": self.route.model,
            "messages": messages,
            "response_model": _answer_model(request),
            "max_retries": 0,
            "hooks": hooks,
            "max_tokens": request.max_tokens,
        }
        if self.route.provider == "anthropic":
            kwargs["extra_body"] = {"temperature": request.temperature}
        else:
            kwargs["temperature"] = request.temperature
        if self.route.provider in ("openai", "ollama"):
            kwargs["seed"] = request.seed
            if request.logprobs:
                kwargs["logprobs"] = True
            if self._mode() is instructor.Mode.JSON:  # llama-cpp-python's dialect
                kwargs["extra_body"] = {
                    "response_format": {"type": "json_object", "schema": request.schema}
                }
        return kwargs

    def check_batchable(self) -> None:
        """Raise :class:`ConfigurationError` unless a batch API here can serve this model:
        OpenAI's Batch API (OpenAI-compatible models) or Anthropic's Message Batches."""
        if self.route.provider not in _BATCH_PROVIDERS:
            raise ConfigurationError(
                f"provider batches use OpenAI's Batch API or Anthropic's Message Batches; "
                f"{self.settings.model_name!r} is neither an OpenAI-compatible nor an "
                "Anthropic model"
            )

    def batch_body(self, request: ChatRequest) -> dict[str, Any]:
        """The body a live call sends for ``request``, shaped by instructor as it is
        live: chat completions for OpenAI's Batch API, Messages for Anthropic's."""
        self.check_batchable()
        kwargs = self._kwargs(request, None)
        response_model = kwargs.pop("response_model")
        for name in ("max_retries", "hooks"):
            kwargs.pop(name)
        token = _SCHEMA.set((request.schema_name, request.schema))
        try:
            provider = _BATCH_PROVIDERS[self.route.provider]
            _, body = handle_response_model(
                response_model, mode=self._mode(), provider=provider, **kwargs
            )
        finally:
            _SCHEMA.reset(token)
        return {**body, **body.pop("extra_body", {})}

    def complete(self, request: ChatRequest) -> Completion:
        tally = transport.Tally()
        while True:
            try:
                retry = transport.retrying(self.settings, self._rejected)
                return retry(self._once, request, tally)
            except Exception as exc:
                if self._fall_back(exc):
                    continue
                raise self._error(exc, tally) from None

    async def acomplete(self, request: ChatRequest) -> Completion:
        tally = transport.Tally()
        while True:
            try:
                retry = transport.aretrying(self.settings, self._rejected)
                return cast(Completion, await retry(self._aonce, request, tally))
            except Exception as exc:
                if self._fall_back(exc):
                    continue
                raise self._error(exc, tally) from None

    def _once(self, request: ChatRequest, tally: transport.Tally) -> Completion:
        hooks = transport.counting_hooks(tally)
        token = _SCHEMA.set((request.schema_name, request.schema))
        try:
            value, raw = self._sync_client().create_with_completion(**self._kwargs(request, hooks))
        except Exception as exc:
            return self._answer_of_failure(exc, tally)
        finally:
            _SCHEMA.reset(token)
        return transport.answer(raw, value, self._named(raw), tally)

    async def _aonce(self, request: ChatRequest, tally: transport.Tally) -> Completion:
        hooks = transport.counting_hooks(tally)
        token = _SCHEMA.set((request.schema_name, request.schema))
        try:
            client = self._async_client()
            async with self._gate() or contextlib.nullcontext():
                value, raw = await client.create_with_completion(**self._kwargs(request, hooks))
        except Exception as exc:
            return self._answer_of_failure(exc, tally)
        finally:
            _SCHEMA.reset(token)
        return transport.answer(raw, value, self._named(raw), tally)

    def _named(self, raw: Any) -> str:
        """The model that answered: the server's name for it, unless ours is the
        identity that matters (the embedded model and its adapter)."""
        served = getattr(raw, "model", None)
        return served if self.served_names and isinstance(served, str) and served else self.model

    def _answer_of_failure(self, exc: Exception, tally: transport.Tally) -> Completion:
        """The model's answer behind an instructor failure (not JSON, truncated,
        refused, empty), for the pipeline to judge; a transport error is raised."""
        cause = transport.unwrap(exc)
        raw = getattr(cause, "last_completion", None) or getattr(exc, "last_completion", None)
        if raw is None and transport.status(cause) is None:
            raw = tally.last
        if raw is not None or isinstance(cause, IncompleteOutputException):
            return transport.answer(raw, None, self.model, tally)
        raise cause

    # -- errors and the json_schema fallback ----------------------------------------------

    def _rejected(self, exc: BaseException) -> bool:
        """A 4xx that says the server does not take OpenAI's json_schema form."""
        if self._format != "auto" or self.route.provider != "openai":
            return False
        status = transport.status(exc)
        if status not in self._rejects:
            return False
        body = str(getattr(exc, "body", "") or "") + str(exc)
        return "response_format" in body or "json_schema" in body

    def _fall_back(self, exc: BaseException) -> bool:
        if self._format == "auto" and self._rejected(transport.unwrap(exc)):
            self._format = "json_object"
            return True
        return False

    def _error(self, exc: BaseException, tally: transport.Tally) -> BackendError:
        cause = transport.unwrap(exc)
        where = redact_url(self._base_url) or self.route.provider
        detail = scrub(str(cause), self._key)[:500]
        if isinstance(cause, ValueError):
            detail = f"the server's answer is not valid JSON ({detail})"
        sent = max(tally.requests, 1)
        return BackendError(
            f"{type(cause).__name__} from {where} after {sent} request(s): {detail}",
            status=transport.status(cause),
            attempts=sent,
            transient=transport.transient(cause),
            retry_after=transport.hinted_wait(cause),
        )

    async def aclose(self) -> None:
        """Close this loop's async client (the SDK needs its loop running to close)."""
        found = self._async.pop(asyncio.get_running_loop(), None)
        close = getattr(getattr(found[1], "client", None), "close", None) if found else None
        if close is not None:
            result = close()
            if asyncio.iscoroutine(result):
                await result


def make_backend(settings: Settings) -> Backend:
    """The backend for ``settings``: the embedded model on loopback, or any provider."""
    if settings.embedded:
        rt = runtime(RuntimeSpec.from_settings(settings))
        local = settings.with_(model=model_id(settings), response_format="json_schema")
        backend = InstructorBackend(local, base_url=f"{rt.address}/v1", key=rt.api_key)
        backend.served_names = False
        backend.in_flight = settings.slots
        return backend
    return InstructorBackend(settings)


Factory = Callable[[Settings], Backend]
