"""One settings object: explicit arguments, then environment variables, then defaults.

It is built once at the API boundary (:meth:`Settings.resolve`) and passed
down; nothing deeper reads the environment.

Backend choice follows from it: a base URL or an API key means an
OpenAI-compatible server; neither means the embedded local model.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

from .errors import ConfigurationError
from .redaction import check_url, redact_url

ResponseFormat = Literal["auto", "json_schema", "json_object", "prompt"]
_FORMATS: tuple[str, ...] = ("auto", "json_schema", "json_object", "prompt")
Strategy = Literal["windows", "record", "full"]
_STRATEGIES: tuple[str, ...] = ("windows", "record", "full")

EMBEDDED_MODEL = "gemma-3-270m-q4_k_m"
DEFAULT_REMOTE_MODEL = "gpt-4o-mini"


PROVIDERS = frozenset(
    {"openai", "ollama", "anthropic", "google", "gemini", "mistral", "cohere", "groq",
     "fireworks", "bedrock", "vertexai", "deepseek", "xai", "openrouter", "together",
     "litellm", "cerebras"}
)  # fmt: skip
"""``provider/model`` prefixes that name a provider reached through instructor."""


@dataclass(frozen=True)
class Settings:
    """How to reach the model and how hard to try.

    ``spans`` constrains string fields to spans of the source text (an enum in
    the schema): None means on for the embedded model, off elsewhere.
    ``strategy`` is how deal extraction asks: ``windows`` (one small record
    per deal-stating passage, then merged and checked), ``record`` (one flat
    main-deal record per article) or ``full`` (the whole multi-deal schema at
    once); None means windows for the embedded model, full elsewhere.
    ``adapter`` is the embedded model's LoRA task adapter: None for the one
    this package ships (when the packaged model runs), "none" for no adapter,
    or a path to a GGUF adapter file.
    ``ungrounded`` says what happens to a value whose evidence does not hold
    after one grounding re-ask: "drop" removes it, "flag" keeps it; both list
    it in the report.
    ``min_confidence`` drops a window's deal whose type the model gave with a
    lower token probability (see :mod:`llm_extract.grounding.confidence`).
    ``second_look`` asks a deal window again, for at least one deal, when the
    model answered "no deals" with a probability below it (0 never does);
    None means 0.98 for the shipped adapter (tuned on the dev sets' train
    split) and 0 for any other model, whose probabilities mean something else.
    ``rest_look`` asks again about the deal-word sentences of a window that
    its answer's deals leave uncovered: a small model names one deal per
    passage, and a window can state two.
    ``phrases`` adds the deals a window states in a fixed phrasing ("Corvid
    agreed to buy Brindle") that the model's answer leaves out, and takes
    their direction where the model gave the same pair the other way round
    (:mod:`llm_extract.text.phrases`).
    ``slots`` is how many requests the embedded model decodes together
    (llama.cpp's parallel slots); ``n_threads`` its CPU threads, None for all
    cores.
    ``response_format`` "auto" sends OpenAI's ``json_schema`` and falls back
    to ``json_object`` with a ``schema`` (llama.cpp's form) when refused.
    """

    model: str | None = None
    base_url: str | None = None
    api_key: SecretStr | str | None = field(default=None, repr=False)
    timeout: float = 60.0
    deadline: float = 180.0
    transport_retries: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    reasks: int = 2
    temperature: float = 0.0
    max_tokens: int = 1536
    seed: int = 0
    response_format: ResponseFormat = "auto"
    spans: bool | None = None
    strategy: Strategy | None = None
    adapter: str | None = None
    window_chars: int = 700
    min_confidence: float = 0.0
    second_look: float | None = None
    rest_look: bool = True
    phrases: bool = True
    ungrounded: Literal["drop", "flag"] = "drop"
    model_path: str | None = None
    n_ctx: int = 8192
    n_threads: int | None = None
    slots: int = 2
    chunk_chars: int = 6000
    max_chars: int = 2_000_000
    chunk_overlap: int = 400

    def __post_init__(self) -> None:
        if isinstance(self.api_key, str):
            object.__setattr__(self, "api_key", SecretStr(self.api_key))
        if self.response_format not in _FORMATS:
            raise ConfigurationError(
                f"response_format must be one of {', '.join(_FORMATS)}, "
                f"not {self.response_format!r}"
            )
        if self.base_url is not None and (problem := check_url(self.base_url)):
            raise ConfigurationError(problem)
        if self.strategy is not None and self.strategy not in _STRATEGIES:
            raise ConfigurationError(
                f"strategy must be one of {', '.join(_STRATEGIES)}, not {self.strategy!r}"
            )
        if self.window_chars < 200:
            raise ConfigurationError("window_chars must be at least 200")
        if self.ungrounded not in ("drop", "flag"):
            raise ConfigurationError(
                f"ungrounded must be 'drop' or 'flag', not {self.ungrounded!r}"
            )
        if not 0 <= self.chunk_overlap < self.chunk_chars:
            raise ConfigurationError("need 0 <= chunk_overlap < chunk_chars")
        if self.second_look is not None and not 0 <= self.second_look <= 1:
            raise ConfigurationError("second_look must be a probability between 0 and 1")
        if self.slots < 1:
            raise ConfigurationError("slots must be at least 1")
        for name in ("transport_retries", "reasks", "max_tokens"):
            if getattr(self, name) < 0:
                raise ConfigurationError(f"{name} must not be negative")
        for name in ("timeout", "backoff_max", "deadline"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigurationError(f"{name} must be a positive number of seconds")
        if not (math.isfinite(self.backoff_base) and self.backoff_base >= 0):
            raise ConfigurationError("backoff_base must be a non-negative number of seconds")

    @property
    def secret(self) -> str | None:
        """The API key itself, for the one place that sends it.

        It is held as a :class:`~pydantic.SecretStr` (given as a plain string,
        it is wrapped), so ``repr``, ``dataclasses.asdict``, pickled copies and
        anything else that prints the settings show ``**********``."""
        key = self.api_key
        return key.get_secret_value() if isinstance(key, SecretStr) else key

    @property
    def embedded(self) -> bool:
        """True when no server is configured and the local model runs in-process.

        A model named ``provider/model`` (``anthropic/…``) is never embedded: its
        SDK finds its own key in its own environment variable."""
        if self.model and self.model.partition("/")[0] in PROVIDERS:
            return False
        return self.base_url is None and self.api_key is None

    @property
    def model_name(self) -> str:
        if self.model:
            return self.model
        return EMBEDDED_MODEL if self.embedded else DEFAULT_REMOTE_MODEL

    @property
    def use_spans(self) -> bool:
        """Span enums by default only for the embedded model's one-shot strategies:
        its windows adapter copies names itself, and enums cannot hold every
        span it needs ("Atlantic City, New Jersey")."""
        if self.spans is not None:
            return self.spans
        return self.embedded and self.use_strategy != "windows"

    @property
    def use_strategy(self) -> Strategy:
        if self.strategy is not None:
            return self.strategy
        return "windows" if self.embedded else "full"

    def describe(self) -> str:
        """Where requests go, safe to print: never includes the key."""
        where = "embedded llama.cpp" if self.embedded else (self.base_url or "api.openai.com")
        where = redact_url(where) or where
        return f"{self.model_name} @ {where}"

    @classmethod
    def resolve(cls, env: Mapping[str, str] | None = None, **explicit: Any) -> Settings:
        """Merge explicit arguments (None means unset) over the environment and defaults.

        ``env`` replaces ``os.environ`` (tests, or a caller's own mapping). The
        variables are ``LLM_EXTRACT_<SETTING>`` for the names in
        :class:`_Variables`, with ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` below
        them; an empty value counts as unset."""
        env = os.environ if env is None else env
        known = {f.name for f in fields(cls)}
        unknown = set(explicit) - known
        if unknown:
            raise ConfigurationError(f"unknown settings: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {k: v for k, v in explicit.items() if v is not None}
        ours = _read(_Variables, env, values)
        provider = str(values.get("model") or ours.get("model") or "").partition("/")[0]
        # OpenAI's variables are not another provider's: its SDK reads its own
        # (ANTHROPIC_API_KEY, GOOGLE_API_KEY), and an OpenAI key must not
        # travel to another company's servers.
        openai = (
            {} if provider in PROVIDERS and provider != "openai" else _read(_OpenAI, env, values)
        )
        for name, value in {**openai, **ours}.items():
            values.setdefault(name, value)
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        """These settings with ``changes``; the same object when there are none
        (it is frozen, and re-validating it was about 1% of a document's CPU)."""
        return replace(self, **changes) if changes else self


class _Variables(BaseSettings):
    """The settings the environment may give, as ``LLM_EXTRACT_<NAME>``.

    pydantic-settings finds and types them; :func:`_read` turns its
    validation error into a :class:`ConfigurationError` that names the
    variable. No ``.env`` file or secrets directory is read: only the
    mapping :meth:`Settings.resolve` was given."""

    model_config = SettingsConfigDict(env_prefix="LLM_EXTRACT_", env_ignore_empty=True)

    model: str | None = None
    base_url: str | None = None
    api_key: SecretStr | None = None
    model_path: str | None = None
    adapter: str | None = None
    timeout: float | None = None
    deadline: float | None = None
    transport_retries: int | None = None
    reasks: int | None = None
    max_tokens: int | None = None
    slots: int | None = None
    second_look: float | None = None
    rest_look: bool | None = None
    phrases: bool | None = None


class _OpenAI(BaseSettings):
    """OpenAI's own variables, below ours: ``OPENAI_BASE_URL``, ``OPENAI_API_KEY``."""

    model_config = SettingsConfigDict(env_prefix="OPENAI_", env_ignore_empty=True)

    base_url: str | None = None
    api_key: SecretStr | None = None


class _Mapping(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping, not ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._env = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(
            self._env, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


def _read(
    variables: type[BaseSettings], env: Mapping[str, str], given: Iterable[str]
) -> dict[str, Any]:
    """The settings ``variables`` finds in ``env``, typed; unset ones left out.

    A setting ``given`` explicitly is not read, so a bad variable under an
    explicit argument is no error. Only the variables under the class's
    prefix reach pydantic-settings, and its answer for them is kept: every
    public call resolves, and parsing costs about 100 times a lookup."""
    prefix = str(variables.model_config.get("env_prefix", "")).upper()
    hidden = {f"{prefix}{name}".upper() for name in given}
    ours = tuple(
        sorted(
            (key, value)
            for key, value in env.items()
            if key.upper().startswith(prefix) and key.upper() not in hidden
        )
    )
    return dict(_parse(variables, ours))


@functools.lru_cache(maxsize=32)
def _parse(
    variables: type[BaseSettings], env: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, Any], ...]:
    """``variables`` read from ``env`` alone, as (setting, value) pairs.

    pydantic-settings takes its sources from the class, so a subclass whose
    one source is the mapping keeps ``os.environ``, ``.env`` files and
    secrets directories out. Building it costs about 1.5 ms, hence the cache."""

    def only_env(cls: type[BaseSettings], /, settings_cls: type[BaseSettings], **_: Any) -> Any:
        return (_Mapping(settings_cls, dict(env)),)

    given = type(
        variables.__name__, (variables,), {"settings_customise_sources": classmethod(only_env)}
    )
    try:
        found = given()
    except ValidationError as error:
        problem = error.errors()[0]
        name = f"{variables.model_config.get('env_prefix', '')}{problem['loc'][0]}".upper()
        kind = {"int_parsing": "whole number", "float_parsing": "number"}.get(problem["type"])
        shown = f"a {kind}, not {problem['input']!r}" if kind else "valid"
        raise ConfigurationError(f"{name} must be {shown}") from None
    return tuple(found.model_dump(exclude_none=True, round_trip=True).items())
