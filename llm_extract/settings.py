"""One settings object: explicit arguments, then environment variables, then defaults.

It is built once at the API boundary (:meth:`Settings.resolve`) and passed
down; nothing deeper reads the environment.

Backend choice follows from it: a base URL or an API key means an
OpenAI-compatible server; neither means the embedded local model.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from pydantic import SecretStr

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
    None means 0.9 for the shipped adapter (tuned on the dev sets' train
    split) and 0 for any other model, whose probabilities mean something else.
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
        """Merge explicit arguments (None means unset) over the environment and defaults."""
        env = os.environ if env is None else env
        known = {f.name for f in fields(cls)}
        unknown = set(explicit) - known
        if unknown:
            raise ConfigurationError(f"unknown settings: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {k: v for k, v in explicit.items() if v is not None}
        from_env = {
            "model": env.get("LLM_EXTRACT_MODEL"),
            "base_url": env.get("LLM_EXTRACT_BASE_URL") or env.get("OPENAI_BASE_URL"),
            "api_key": env.get("LLM_EXTRACT_API_KEY") or env.get("OPENAI_API_KEY"),
            "model_path": env.get("LLM_EXTRACT_MODEL_PATH"),
            "adapter": env.get("LLM_EXTRACT_ADAPTER"),
        }
        provider = str(values.get("model") or from_env["model"] or "").partition("/")[0]
        if provider in PROVIDERS and provider != "openai":
            # OpenAI's variables are not this provider's: its SDK reads its own
            # (ANTHROPIC_API_KEY, GOOGLE_API_KEY), and an OpenAI key must not
            # travel to another company's servers.
            from_env["base_url"] = env.get("LLM_EXTRACT_BASE_URL")
            from_env["api_key"] = env.get("LLM_EXTRACT_API_KEY")
        for name, value in from_env.items():
            if value and name not in values:
                values[name] = value
        numbers: dict[str, type[float] | type[int]] = {
            "timeout": float,
            "deadline": float,
            "transport_retries": int,
            "reasks": int,
            "max_tokens": int,
            "slots": int,
            "second_look": float,
        }
        for name, kind in numbers.items():
            raw = env.get(f"LLM_EXTRACT_{name.upper()}")
            if raw and name not in values:
                try:
                    values[name] = kind(raw)
                except ValueError:
                    raise ConfigurationError(
                        f"LLM_EXTRACT_{name.upper()} must be a {kind.__name__}, not {raw!r}"
                    ) from None
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)
