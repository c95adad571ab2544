"""The public functions. Each builds its settings once and runs the pipeline.

Every function takes the same keyword options: ``model``, ``base_url``,
``api_key`` and any other :class:`~llm_extract.settings.Settings` field, or a
ready ``settings`` object; ``report`` collects what each call cost.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel

from .backends import Backend, make_backend
from .errors import NoDealFound
from .pipeline import Report, Run, run_async, run_sync
from .prompts import DEAL_SLOTS, DEALS, GENERIC, PromptSpec, custom_prompt
from .schemas import ArticleDeals, Deal
from .settings import Settings
from .slots import DealSlots

T = TypeVar("T", bound=BaseModel)


@lru_cache(maxsize=8)
def _backend_for(settings: Settings) -> Backend:
    return make_backend(settings)


def _setup(
    settings: Settings | None, backend: Backend | None, options: dict[str, Any]
) -> tuple[Settings, Backend]:
    resolved = settings.with_(**options) if settings else Settings.resolve(**options)
    return resolved, backend or _backend_for(resolved)


def _spec(prompt: str | os.PathLike[str] | None, default: PromptSpec) -> PromptSpec:
    return default if prompt is None else custom_prompt(prompt)


def _finish(run: Run[Any], report: Report | None) -> None:
    if report is not None:
        report.calls.append(run.report)


def extract(
    text: str,
    schema: type[T],
    *,
    prompt: str | os.PathLike[str] | None = None,
    settings: Settings | None = None,
    backend: Backend | None = None,
    report: Report | None = None,
    **options: Any,
) -> T:
    """Fill ``schema`` (any Pydantic model) from ``text``.

    ``prompt`` is a path to your own Jinja2 system template; it receives
    ``schema_name``, ``field_guide`` and ``spans``.
    """
    resolved, be = _setup(settings, backend, options)
    run = Run(text, schema, _spec(prompt, GENERIC), resolved, be)
    try:
        return run_sync(run, be)
    finally:
        _finish(run, report)


async def aextract(
    text: str,
    schema: type[T],
    *,
    prompt: str | os.PathLike[str] | None = None,
    settings: Settings | None = None,
    backend: Backend | None = None,
    report: Report | None = None,
    **options: Any,
) -> T:
    """Async twin of :func:`extract`."""
    resolved, be = _setup(settings, backend, options)
    run = Run(text, schema, _spec(prompt, GENERIC), resolved, be)
    try:
        return await run_async(run, be)
    finally:
        _finish(run, report)


def extract_deals(
    text: str,
    *,
    prompt: str | os.PathLike[str] | None = None,
    settings: Settings | None = None,
    backend: Backend | None = None,
    report: Report | None = None,
    **options: Any,
) -> ArticleDeals:
    """Every deal in the article, the main one first, and the companies in them.

    An article without deals gives an empty result, not an error.
    """
    resolved, be = _setup(settings, backend, options)
    if resolved.use_compact:
        slots = Run(text, DealSlots, _spec(prompt, DEAL_SLOTS), resolved, be)
        try:
            return run_sync(slots, be).to_article()
        finally:
            _finish(slots, report)
    run = Run(text, ArticleDeals, _spec(prompt, DEALS), resolved, be)
    try:
        return run_sync(run, be)
    finally:
        _finish(run, report)


async def aextract_deals(
    text: str,
    *,
    prompt: str | os.PathLike[str] | None = None,
    settings: Settings | None = None,
    backend: Backend | None = None,
    report: Report | None = None,
    **options: Any,
) -> ArticleDeals:
    """Async twin of :func:`extract_deals`."""
    resolved, be = _setup(settings, backend, options)
    if resolved.use_compact:
        slots = Run(text, DealSlots, _spec(prompt, DEAL_SLOTS), resolved, be)
        try:
            return (await run_async(slots, be)).to_article()
        finally:
            _finish(slots, report)
    run = Run(text, ArticleDeals, _spec(prompt, DEALS), resolved, be)
    try:
        return await run_async(run, be)
    finally:
        _finish(run, report)


def main_deal(result: ArticleDeals) -> Deal:
    """The article's main deal, or :class:`NoDealFound` carrying the result."""
    if result.main_deal is None:
        raise NoDealFound("the article reports no deal", result=result)
    return result.main_deal


def extract_deal(text: str, **kwargs: Any) -> Deal:
    """The article's main deal. Raises :class:`NoDealFound` when there is none.

    Takes the same keyword options as :func:`extract_deals`.
    """
    return main_deal(extract_deals(text, **kwargs))


async def aextract_deal(text: str, **kwargs: Any) -> Deal:
    """Async twin of :func:`extract_deal`."""
    return main_deal(await aextract_deals(text, **kwargs))
