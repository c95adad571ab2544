"""One document's output record and what it cost, for every way of running a batch.

The in-process runner (:mod:`.batch`), its worker processes (:mod:`.workers`),
Ray (:mod:`.ray_run`) and the provider batch APIs (:mod:`.provider_batch`) all
write records through :func:`document_record` or :func:`failure`, and price
them with :func:`price_for`, so their outputs are one format and their
summaries add up the same way.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..backends.base import Backend
from ..backends.cache import CachingBackend, ResponseCache
from ..backends.throttle import ThrottledBackend
from ..core.api import aextract_deals
from ..core.pipeline import CallReport, Report
from ..errors import ConfigurationError
from ..redaction import scrub
from ..settings import EMBEDDED_MODEL, Settings

Prices = dict[str, dict[str, float]]
Say = Callable[[str], None]
_USAGE = ("prompt_tokens", "completion_tokens", "requests", "attempts")
_FREE = {"prompt_per_1k": 0.0, "completion_per_1k": 0.0}
DEFAULT_PRICES: Prices = {
    "gpt-4o-mini": {"prompt_per_1k": 0.00015, "completion_per_1k": 0.0006},
    "gpt-4o": {"prompt_per_1k": 0.0025, "completion_per_1k": 0.01},
    "gpt-4.1-mini": {"prompt_per_1k": 0.0004, "completion_per_1k": 0.0016},
    "gpt-4.1-nano": {"prompt_per_1k": 0.0001, "completion_per_1k": 0.0004},
    EMBEDDED_MODEL: _FREE,
}
"""USD per 1,000 tokens; extend or override with ``prices=`` (CLI: ``--prices file.json``)."""


@dataclass
class BatchSummary:
    """What a batch run did; ``total``: documents it set out to do, ``rejected``: bad lines."""

    total: int = 0
    ok: int = 0
    errors: int = 0
    skipped: int = 0
    rejected: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0
    cost: float = 0.0
    seconds: float = 0.0
    cache_hits: int = 0
    rate_limited: int = 0
    stopped: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, call: CallReport, price: dict[str, float]) -> dict[str, Any]:
        """Account one document's call; its ``usage`` record."""
        usage = usage_of(call, price)
        self.count(usage)
        return usage

    def count(self, usage: dict[str, Any]) -> None:
        """Add one document's ``usage`` record (from :func:`usage_of`) to the totals."""
        self.prompt_tokens += usage["prompt_tokens"]
        self.completion_tokens += usage["completion_tokens"]
        self.requests += usage["requests"]
        self.cost += usage["cost_usd"]

    def spent(self, max_tokens: int | None, max_cost: float | None) -> bool:
        """Whether either budget (None: no limit) is used up, so no new document may start."""
        over_tokens = max_tokens is not None and self.tokens >= max_tokens
        return over_tokens or (max_cost is not None and self.cost >= max_cost)

    def line(self) -> str:
        text = (
            f"done: {self.ok} ok, {self.errors} errors, {self.skipped} skipped, "
            f"{self.rejected} rejected input lines, "
            f"{self.tokens} tokens, ${self.cost:.4f}, {self.seconds:.1f} s"
        )
        return text + (f", stopped: {self.stopped}" if self.stopped else "")


async def document_record(
    record: dict[str, Any],
    read: Callable[[], tuple[Any, date | None]],
    settings: Settings,
    backend: Backend,
    price: dict[str, float],
) -> dict[str, Any]:
    """``record`` (the id) completed as one document's output line: ``ok`` with
    its result, or ``error`` with what failed, reading the text included; its
    ``usage`` whenever a model call ran. ``run_batch`` and ``run_dataset`` both
    write through it, so their records are one format.
    """
    report = Report()
    try:
        text, day = read()
        result = await aextract_deals(
            text, settings=settings, backend=backend, report=report, published=day
        )
        record.update(status="ok", result=result.model_dump(mode="json"))
    except Exception as exc:
        record.update(failure(exc, settings))
    if report.calls:
        record["usage"] = usage_of(report.calls[-1], price)
    return record


def usage_of(call: CallReport, price: dict[str, float]) -> dict[str, Any]:
    """A document's ``usage`` record: its call's tokens, requests, latency and USD."""
    p, c = call.prompt_tokens, call.completion_tokens
    cost = (p * price["prompt_per_1k"] + c * price["completion_per_1k"]) / 1000
    usage: dict[str, Any] = {k: getattr(call, k) for k in _USAGE}
    return usage | {"latency_s": round(call.latency_s, 3), "cost_usd": round(cost, 8)}


def price_for(model: str, embedded: bool, prices: Prices | None) -> dict[str, float] | None:
    """USD per 1,000 tokens for ``model``: the longest matching name in the table
    (:data:`DEFAULT_PRICES` with ``prices`` over it), 0 for local models, None if unknown.

    Raises :class:`ConfigurationError` for an entry without both non-negative prices,
    before any document runs.
    """
    table = DEFAULT_PRICES | (prices or {})
    for name, row in table.items():
        try:
            ok = all(float(row[k]) >= 0 for k in _FREE)
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            raise ConfigurationError(
                f"price for {name!r} needs non-negative prompt_per_1k and completion_per_1k"
            )
    if embedded or model.endswith(".gguf"):
        return _FREE
    names = [name for name in table if model.startswith(name)]
    return {k: float(v) for k, v in table[max(names, key=len)].items()} if names else None


def failure(exc: Exception, settings: Settings) -> dict[str, Any]:
    """The error part of a document's record, the key scrubbed from its message."""
    message = scrub(str(exc), settings.secret)
    return {"status": "error", "error": {"type": type(exc).__name__, "message": message}}


def run_price(model: str, settings: Settings, prices: Prices | None, say: Say) -> dict[str, float]:
    """The model's price per 1,000 tokens; an unknown model's is said once and counts as $0."""
    price = price_for(model, settings.embedded, prices)
    if price is None:
        say(f"no price for model {model!r}: its cost counts as $0 (see --prices)")
    return price or _FREE


def sayer(problems: list[str], log: Callable[[str], None] | None) -> Say:
    """Keeps each input problem for the summary and shows it (default: stderr)."""

    def say(message: str) -> None:
        problems.append(message)
        (log or functools.partial(print, file=sys.stderr, flush=True))(message)

    return say


def in_front(
    throttled: ThrottledBackend, cache: ResponseCache | None, settings: Settings
) -> Backend:
    """The cache outside the throttle, so a hit never waits; keyed by server too."""
    if cache is None:
        return throttled
    scope = f"{settings.base_url or 'embedded'} {settings.response_format}"
    return CachingBackend(throttled, cache, scope=scope)
