"""The public functions. Each builds its settings once and runs the pipeline.

Every function takes the same keyword options: ``model``, ``base_url``,
``api_key`` and any other :class:`~llm_extract.settings.Settings` field, or a
ready ``settings`` object; ``report`` collects what each call cost.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import date
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel

from ..backends.base import Backend
from ..backends.embedded import adapter_path, is_tuned_name
from ..backends.providers import make_backend
from ..errors import ExtractionError, NoDealFound
from ..grounding.align import fold_text
from ..grounding.relations import check_window, orient_record
from ..grounding.verify import Dropped, verify
from ..normalize.merge import main_first, merge
from ..normalize.values import normalize_article
from ..prompts.build import (
    DEAL_SLOTS,
    DEALS,
    GENERIC,
    WINDOWS,
    WINDOWS_TUNED,
    PromptSpec,
    custom_prompt,
    model_schema,
    prompt_version,
)
from ..records.schemas import ArticleDeals, Company, Deal
from ..records.slots import DealSlots, WindowDeals
from ..settings import Settings
from ..text.chunks import split
from ..text.windows import Window, find_windows, mentions_deal
from .pipeline import CallReport, Report, Run, check_text, run_async, run_sync

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
    """One article's deal extraction: a run per unit, then one merged result.

    The units follow ``settings.use_strategy``: deal windows (each a
    :class:`WindowDeals` record, checked for relation evidence; a value that
    does not stand in its window is dropped without the grounding re-ask the
    other strategies spend, since the relation checks repair or drop it
    locally and re-asking about one passage doubles its cost), chunks with a
    flat :class:`DealSlots` record, or chunks with the full schema. Whatever
    the units, the caller's report gets ONE call record for the article: costs
    summed over units, evidence computed on the final result against the whole
    text (so paths and offsets match what is returned).
    """

    def __init__(
        self,
        text: str,
        settings: Settings,
        backend: Backend,
        prompt: str | os.PathLike[str] | None,
        published: date | None,
    ) -> None:
        self.text = check_text(text, settings.max_chars)
        self.published = published
        self.strategy = settings.use_strategy
        self.dropped: list[Dropped] = []
        model: type[BaseModel]
        if self.strategy == "windows":
            self.units = find_windows(text, settings.window_chars)
            model, default = WindowDeals, _window_spec(settings)
        else:
            chunks = split(text, settings.chunk_chars, settings.chunk_overlap)
            self.units = [Window(c.start, c.end, c.text) for c in chunks]
            model, default = (DealSlots, DEAL_SLOTS) if self.strategy == "record" else (
                ArticleDeals, DEALS)  # fmt: skip
            if self.strategy == "record":
                self.units = [u for u in self.units if mentions_deal(u.text)]
        spec = _spec(prompt, default)
        windows = self.strategy == "windows"
        at = time.monotonic() + settings.deadline  # one deadline for the whole article
        self.runs: list[Run[Any]] = [
            Run(
                u.text,
                model,
                spec,
                settings,
                backend,
                logprobs=windows,
                ground_reask=not windows,
                deadline_at=at,
            )
            for u in self.units
        ]
        self.min_confidence = settings.min_confidence
        self.identity = (backend.model, prompt_version(spec, model))

    @property
    def skip(self) -> bool:
        return not self.runs

    @property
    def tolerates(self) -> bool:
        """Whether one unit's unusable answer may cost only that unit's deals."""
        return self.strategy == "windows"

    def settle(self, outcomes: list[Any]) -> list[BaseModel]:
        """Each unit's value; a deal window whose answer stayed unusable (cut
        off, invalid, refused) counts as a passage without deals, noted in the
        report, so one looping window does not lose the article's other deals.
        Any other failure, or every unit failing, is raised."""
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        tolerated = self.tolerates and len(failures) < len(outcomes)
        for outcome in failures:
            if not (tolerated and isinstance(outcome, ExtractionError)):
                raise outcome
        values: list[BaseModel] = []
        for i, outcome in enumerate(outcomes):
            if isinstance(outcome, BaseException):
                note = f"no usable answer ({type(outcome).__name__}: {outcome}); no deals taken"
                self.runs[i].report.problems.append(note)
                values.append(WindowDeals(deals=[]))
            else:
                values.append(outcome)
        return values

    def _article(self, value: BaseModel, unit: Window, index: int) -> ArticleDeals:
        if isinstance(value, WindowDeals):
            sure = {c.path: c.p for c in self.runs[index].report.confidence}
            kept, dropped = check_window(
                value.deals, unit, f"window[{index}]", sure, self.min_confidence
            )
            self.dropped.extend(dropped)
            deals = [d for d in (w.to_deal() for w in kept) if d is not None]
            names = dict.fromkeys(p.name for d in deals for p in d.parties)
            return ArticleDeals(deals=deals, companies=[Company(name=n) for n in names])
        if isinstance(value, DealSlots):
            value, swapped = orient_record(value, unit.text, f"chunk[{index}]")
            self.dropped.extend(swapped)
            return value.to_article()
        return ArticleDeals.model_validate(value)

    def finish(self, values: list[BaseModel], report: Report | None) -> ArticleDeals:
        pairs = zip(values, self.units, strict=True)
        results = [self._article(v, u, i) for i, (v, u) in enumerate(pairs)]
        merged = merge(results)  # also folds repeats within one unit's answer
        if self.strategy == "windows":
            merged = main_first(merged)
        final = normalize_article(merged, self.published)
        self._record(final, report)
        return final

    def _record(self, final: ArticleDeals | None, report: Report | None) -> None:
        call = CallReport(*self.identity, chunks=len(self.runs))
        for i, run in enumerate(self.runs):
            unit = "window" if self.strategy == "windows" else "chunk"
            prefix = f"{unit}[{i}]:" if len(self.runs) > 1 or unit == "window" else ""
            call.absorb(run.report, prefix=prefix)
        call.dropped.extend(self.dropped)
        if final is not None:
            dump = final.model_dump(mode="json")
            call.evidence, _ = verify(
                dump, model_schema(ArticleDeals), self.text, fold_text(self.text)
            )
        if report is not None:
            report.calls.append(call)

    def abandon(self, report: Report | None) -> None:
        self._record(None, report)


def _window_spec(settings: Settings) -> PromptSpec:
    """The brief the embedded model's adapter was trained on, else the general one.

    The adapter's model is the embedded one with its adapter, or a server whose
    model name carries the adapter's identity (``llm-extract serve`` prints it):
    both must be asked the way the adapter was trained."""
    tuned = (settings.embedded and adapter_path(settings) is not None) or is_tuned_name(
        settings.model_name
    )
    return WINDOWS_TUNED if tuned else WINDOWS


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
        outcomes: list[Any] = []
        for run in job.runs:
            try:
                outcomes.append(run_sync(run, be))
            except ExtractionError as exc:
                if not job.tolerates:
                    raise
                outcomes.append(exc)
        values = job.settle(outcomes)
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
        values = job.settle(await _run_all(job, be))
    except BaseException:
        job.abandon(report)
        raise
    return job.finish(values, report)


async def _run_all(job: _DealsJob, backend: Backend) -> list[Any]:
    """Every unit's value or tolerated failure, run concurrently in one task group.

    A failure the job cannot absorb (an auth error, a spent deadline, an
    unusable chunk of a one-record article) cancels the sibling units at
    once, so they stop spending tokens on an article that is already lost.
    """

    async def one(run: Run[Any]) -> Any:
        try:
            return await run_async(run, backend)
        except ExtractionError as exc:
            if not job.tolerates:
                raise
            return exc

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(run)) for run in job.runs]
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
