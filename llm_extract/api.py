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

from .backends import Backend
from .chunks import merge, split
from .errors import InputError, NoDealFound
from .grounding import fold_text, verify
from .normalize import normalize_article
from .pipeline import CallReport, Report, Run, check_text, run_async, run_sync
from .prompts import DEAL_SLOTS, DEALS, GENERIC, PromptSpec, custom_prompt, model_schema
from .providers import make_backend
from .schemas import ArticleDeals, Deal
from .settings import Settings
from .slots import DealSlots, mentions_deal

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


class _DealsJob:
    """One article's deal extraction: a run per chunk, then one merged result.

    Whatever the chunking, the caller's report gets ONE call record for the
    article: costs summed over chunks, evidence computed on the final result
    against the whole text (so paths and offsets match what is returned).
    """

    def __init__(
        self,
        text: str,
        settings: Settings,
        backend: Backend,
        prompt: str | os.PathLike[str] | None,
        published: date | None,
    ) -> None:
        self.text = check_text(text)
        if len(text) > settings.max_chars:
            raise InputError(
                f"the text has {len(text):,} characters, more than max_chars="
                f"{settings.max_chars:,}; split it, or raise max_chars if it is one article"
            )
        self.published = published
        self.chunks = split(text, settings.chunk_chars, settings.chunk_overlap)
        model: type[BaseModel] = DealSlots if settings.use_compact else ArticleDeals
        spec = _spec(prompt, DEAL_SLOTS if settings.use_compact else DEALS)
        if settings.use_compact:
            self.chunks = [c for c in self.chunks if mentions_deal(c.text)] or self.chunks[:1]
            self.skip = not mentions_deal(self.chunks[0].text)
        else:
            self.skip = False
        self.runs: list[Run[Any]] = [
            Run(c.text, model, spec, settings, backend) for c in self.chunks
        ]

    def finish(self, values: list[BaseModel], report: Report | None) -> ArticleDeals:
        results = [
            v.to_article() if isinstance(v, DealSlots) else ArticleDeals.model_validate(v)
            for v in values
        ]
        merged = results[0] if len(results) == 1 else merge(results)
        final = normalize_article(merged, self.published)
        self._record(final, report)
        return final

    def _record(self, final: ArticleDeals | None, report: Report | None) -> None:
        first = self.runs[0].report
        call = CallReport(first.model, first.prompt_version, chunks=len(self.runs))
        for i, run in enumerate(self.runs):
            call.absorb(run.report, prefix=f"chunk[{i}]:" if len(self.runs) > 1 else "")
        if final is not None:
            dump = final.model_dump(mode="json")
            call.evidence, _ = verify(
                dump, model_schema(ArticleDeals), self.text, fold_text(self.text)
            )
        if report is not None:
            report.calls.append(call)

    def abandon(self, report: Report | None) -> None:
        self._record(None, report)


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
    job = _DealsJob(text, resolved, be, prompt, published)
    if job.skip:
        return job.finish([], report)
    try:
        values = [run_sync(run, be) for run in job.runs]
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
    job = _DealsJob(text, resolved, be, prompt, published)
    if job.skip:
        return job.finish([], report)
    try:
        values = list(await asyncio.gather(*(run_async(run, be) for run in job.runs)))
    except BaseException:
        job.abandon(report)
        raise
    return job.finish(values, report)


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
