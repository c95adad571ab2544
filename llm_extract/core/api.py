"""The public functions. Each builds its settings once and runs the pipeline.

Every function takes the same keyword options: ``model``, ``base_url``,
``api_key`` and any other :class:`~llm_extract.settings.Settings` field, or a
ready ``settings`` object; ``report`` collects what each call cost.
"""

from __future__ import annotations

import asyncio
import os
from datetime import date
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel

from ..backends.base import Backend
from ..backends.embedded import adapter_path
from ..backends.providers import make_backend
from ..errors import ExtractionError, NoDealFound
from ..prompts.build import GENERIC, choose_prompt
from ..records.schemas import ArticleDeals, Deal
from ..settings import Settings
from .deals_job import DealsJob
from .pipeline import Report, Run, run_async, run_sync

T = TypeVar("T", bound=BaseModel)


@lru_cache(maxsize=8)
def backend_for(settings: Settings) -> Backend:
    return make_backend(settings)


def _setup(
    settings: Settings | None, backend: Backend | None, options: dict[str, Any]
) -> tuple[Settings, Backend]:
    resolved = settings.with_(**options) if settings else Settings.resolve(**options)
    return _untuned(resolved), backend or backend_for(resolved)


def _untuned(settings: Settings) -> Settings:
    """The one-record strategy when the embedded model runs without its adapter.

    Deal windows are what the adapter was trained for. The bare 270M model
    loops inside a window's strings until the token limit, and span enums over
    a window's nested schema make llama.cpp's grammar too slow to answer in
    time; one flat record under span enums is what it can fill."""
    if settings.strategy is None and settings.embedded and adapter_path(settings) is None:
        return settings.with_(strategy="record")
    return settings


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
    run = Run(text, schema, choose_prompt(prompt, GENERIC), resolved, be)
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
    run = Run(text, schema, choose_prompt(prompt, GENERIC), resolved, be)
    try:
        return await run_async(run, be)
    finally:
        _finish(run, report)


def extract_deals(
    text: str,
    *,
    published: date | None = None,
    prompt: str | os.PathLike[str] | None = None,
    settings: Settings | None = None,
    backend: Backend | None = None,
    report: Report | None = None,
    **options: Any,
) -> ArticleDeals:
    """Every deal in the article, the main one first, and the companies in them.

    An article without deals gives an empty result, not an error. Articles
    longer than ``settings.chunk_chars`` are split and their parts merged.
    ``published`` resolves relative dates such as "in April this year".
    """
    resolved, be = _setup(settings, backend, options)
    job = DealsJob(text, resolved, be, prompt, published)
    if job.skip:
        return job.finish([], report)
    try:
        values = job.settle(_run_each(job.runs, be, tolerate=job.tolerates))
        looks = job.second_looks(values)
        answers = _run_each(list(looks.values()), be, tolerate=True)
        values = job.adopt(values, dict(zip(looks, answers, strict=True)))
        rest = job.rest_looks(values)
        values = job.settle_rest(values, _run_each(rest, be, tolerate=True))
    except BaseException:
        job.abandon(report)
        raise
    return job.finish(values, report)


async def aextract_deals(
    text: str,
    *,
    published: date | None = None,
    prompt: str | os.PathLike[str] | None = None,
    settings: Settings | None = None,
    backend: Backend | None = None,
    report: Report | None = None,
    **options: Any,
) -> ArticleDeals:
    """Async twin of :func:`extract_deals`; the chunks of a long article run concurrently."""
    resolved, be = _setup(settings, backend, options)
    job = DealsJob(text, resolved, be, prompt, published)
    if job.skip:
        return job.finish([], report)
    try:
        values = job.settle(await _run_all(job.runs, be, tolerate=job.tolerates))
        looks = job.second_looks(values)
        answers = await _run_all(list(looks.values()), be, tolerate=True)
        values = job.adopt(values, dict(zip(looks, answers, strict=True)))
        rest = job.rest_looks(values)
        values = job.settle_rest(values, await _run_all(rest, be, tolerate=True))
    except BaseException:
        job.abandon(report)
        raise
    return job.finish(values, report)


def _run_each(runs: list[Run[Any]], backend: Backend, *, tolerate: bool) -> list[Any]:
    """Each run's value in turn; an :class:`ExtractionError` is kept as its
    outcome when ``tolerate``, else raised."""
    outcomes: list[Any] = []
    for run in runs:
        try:
            outcomes.append(run_sync(run, backend))
        except ExtractionError as exc:
            if not tolerate:
                raise
            outcomes.append(exc)
    return outcomes


async def _run_all(runs: list[Run[Any]], backend: Backend, *, tolerate: bool) -> list[Any]:
    """Each run's value or tolerated failure, run concurrently in one task group.

    A failure the job cannot absorb (an auth error, a spent deadline, an
    unusable chunk of a one-record article) cancels the sibling units at
    once, so they stop spending tokens on an article that is already lost.
    """

    async def one(run: Run[Any]) -> Any:
        try:
            return await run_async(run, backend)
        except ExtractionError as exc:
            if not tolerate:
                raise
            return exc

    if len(runs) == 1:
        return [await one(runs[0])]  # nothing to cancel: no task group, no task
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(run)) for run in runs]
    except BaseExceptionGroup as group_error:
        raise group_error.exceptions[0] from None
    return [t.result() for t in tasks]


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
