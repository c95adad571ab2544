"""One article's deal extraction as a job: its units, their runs, one merged result.

:mod:`llm_extract.core.api` drives a job (synchronously or with asyncio): it
runs :attr:`DealsJob.runs`, hands the outcomes to :meth:`DealsJob.settle`,
runs the :meth:`DealsJob.second_looks` and then the :meth:`DealsJob.rest_looks`,
and :meth:`DealsJob.finish` checks, merges and normalizes what came back.
"""

from __future__ import annotations

import os
import time
from datetime import date
from typing import Any

from pydantic import BaseModel

from ..backends.base import Backend
from ..backends.embedded import adapter_path, is_tuned_name
from ..errors import ExtractionError
from ..grounding.align import TextIndex, align
from ..grounding.phrasing import with_phrases
from ..grounding.relations import check_window, orient_record
from ..grounding.verify import Dropped, verify
from ..normalize.merge import main_first, merge
from ..normalize.values import normalize_article
from ..prompts.build import (
    DEAL_SLOTS,
    DEALS,
    WINDOWS,
    WINDOWS_TUNED,
    PromptSpec,
    choose_prompt,
    model_schema,
    prompt_version,
)
from ..records.schemas import ArticleDeals, Company
from ..records.slots import DealSlots, WindowDeal, WindowDeals, WindowDealsAtLeastOne
from ..settings import Settings
from ..text.chunks import split
from ..text.phrases import phrase_deals
from ..text.sentences import sentence_index, sentences
from ..text.windows import DEAL_CUES, Window, find_windows, mentions_deal
from .pipeline import CallReport, Report, Run, check_text

TUNED_SECOND_LOOK = 0.98
"""The shipped adapter's default ``second_look``: the highest threshold of
the train-split sweep (``python bench/second_look.py``) at which no more
Reuters stories without an acquisition are given a deal than at 0.9 (9 of
150; 10 at 0.99, 19 at 0.995); SENTiVENT micro-F1 0.319 at 0.9, 0.359 here."""


class DealsJob:
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
            model, default = WindowDeals, window_spec(settings)
        else:
            chunks = split(text, settings.chunk_chars, settings.chunk_overlap)
            self.units = [Window(c.start, c.end, c.text) for c in chunks]
            model, default = (DealSlots, DEAL_SLOTS) if self.strategy == "record" else (
                ArticleDeals, DEALS)  # fmt: skip
            if self.strategy == "record":
                self.units = [u for u in self.units if mentions_deal(u.text)]
        self.settings, self.backend = settings, backend
        self.spec = choose_prompt(prompt, default)
        self.deadline_at = time.monotonic() + settings.deadline  # one for the whole article
        self.runs: list[Run[Any]] = [self._run(u.text, model) for u in self.units]
        self.windows = len(self.units) if self.strategy == "windows" else 0
        self.looks: dict[int, Run[Any]] = {}
        self.identity = (backend.model, prompt_version(self.spec, model))

    def _run(self, text: str, model: type[BaseModel]) -> Run[Any]:
        """A unit's run; a deal window's asks for log-probabilities and skips
        the grounding re-ask (the relation checks judge it instead)."""
        windows = self.strategy == "windows"
        return Run(text, model, self.spec, self.settings, self.backend, logprobs=windows,
                   ground_reask=not windows, deadline_at=self.deadline_at)  # fmt: skip

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

    def second_looks(self, values: list[BaseModel]) -> dict[int, Run[Any]]:
        """A run asking again, for at least one deal, for each window answered
        "no deals" with a probability below ``settings.second_look``.

        The adapter answers "no deals" for many windows that state one, and is
        less sure of it there than where there is none. What the second look
        names still has to pass the relation checks."""
        below = self.settings.second_look
        if below is None:
            below = TUNED_SECOND_LOOK if self.spec == WINDOWS_TUNED else 0.0
        self.looks = {
            i: self._run(self.units[i].text, WindowDealsAtLeastOne)
            for i, value in enumerate(values)
            if isinstance(value, WindowDeals)
            and not value.deals
            and _sure(self.runs[i]).get("deals", 1.0) < below
        }
        return self.looks

    def adopt(self, values: list[BaseModel], outcomes: dict[int, Any]) -> list[BaseModel]:
        """``values`` with each second look's answer in its window's place; a
        second look that failed leaves the window's "no deals", noted."""
        out = list(values)
        for i, outcome in outcomes.items():
            if isinstance(outcome, BaseException):
                note = f"second look failed ({type(outcome).__name__}: {outcome}); no deals taken"
                self.looks[i].report.problems.append(note)
            else:
                out[i] = outcome
        return out

    def rest_looks(self, values: list[BaseModel]) -> list[Run[Any]]:
        """Runs for the deal-word sentences that a window's deals leave uncovered.

        Each uncovered run of sentences becomes a unit of its own (appended to
        :attr:`units` and :attr:`runs`); pass the runs' outcomes to
        :meth:`settle_rest`. A window whose answer has no deals, or a trigger
        that is not in the window, is not looked at again."""
        if self.strategy != "windows" or not self.settings.rest_look:
            return []
        rest: list[Run[Any]] = []
        for i, value in enumerate(list(values)):
            if not isinstance(value, WindowDeals) or not value.deals:
                continue
            for piece in uncovered(self.units[i], [d.trigger for d in value.deals]):
                self.units.append(piece)
                self.runs.append(self._run(piece.text, WindowDeals))
                rest.append(self.runs[-1])
        return rest

    def settle_rest(self, values: list[BaseModel], outcomes: list[Any]) -> list[BaseModel]:
        """``values`` followed by each rest look's value; one that failed is
        a passage without deals, noted in its report."""
        out = list(values)
        for run, outcome in zip(self.runs[len(values) :], outcomes, strict=True):
            if isinstance(outcome, BaseException):
                note = f"rest look failed ({type(outcome).__name__}: {outcome}); no deals taken"
                run.report.problems.append(note)
                out.append(WindowDeals(deals=[]))
            else:
                out.append(outcome)
        return out

    def _article(self, value: BaseModel, unit: Window, index: int) -> ArticleDeals:
        if isinstance(value, WindowDeals):
            deals = [d for d in (w.to_deal() for w in self._checked(value, unit, index)) if d]
            names = dict.fromkeys(p.name for d in deals for p in d.parties)
            return ArticleDeals(deals=deals, companies=[Company(name=n) for n in names])
        if isinstance(value, DealSlots):
            value, swapped = orient_record(value, unit.text, f"chunk[{index}]")
            self.dropped.extend(swapped)
            return value.to_article()
        return ArticleDeals.model_validate(value)

    def _checked(self, value: WindowDeals, unit: Window, index: int) -> list[WindowDeal]:
        """A window's deals that pass the relation checks: the answer's, with the
        window's fixed phrasings applied, then the phrasings' own (the article's
        first windows only: a rest look's passage lies inside one of them)."""
        sure = _sure(self.looks.get(index, self.runs[index]))
        where = f"window[{index}]"
        answer, extra = value.deals, list[WindowDeal]()
        if index < self.windows and self.settings.phrases:
            answer, extra, turned = with_phrases(answer, phrase_deals(unit.text), where)
            self.dropped.extend(turned)
        kept, dropped = check_window(answer, unit, where, sure, self.settings.min_confidence)
        more, dropped_more = check_window(extra, unit, f"{where} phrase")
        self.dropped.extend(dropped + dropped_more)
        return kept + more

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
        """The article's one call record, added to ``report``; nothing without one
        (its evidence is a verify of the whole result, a few per cent of a document)."""
        if report is None:
            return
        call = CallReport(*self.identity, chunks=len(self.runs))
        for i, run in enumerate(self.runs):
            unit = "window" if self.strategy == "windows" else "chunk"
            prefix = f"{unit}[{i}]:" if len(self.runs) > 1 or unit == "window" else ""
            call.absorb(run.report, prefix=prefix)
            if i in self.looks:
                call.absorb(self.looks[i].report, prefix=f"{unit}[{i}] second look:")
        call.dropped.extend(self.dropped)
        if final is not None:
            dump = final.model_dump(mode="json")
            whole = (r.index for r in self.runs if r.text == self.text)
            index = next(whole, None) or TextIndex(self.text)
            call.evidence, _ = verify(dump, model_schema(ArticleDeals), self.text, index)
        report.calls.append(call)

    def abandon(self, report: Report | None) -> None:
        self._record(None, report)


def uncovered(window: Window, triggers: list[str | None]) -> list[Window]:
    """The runs of ``window``'s sentences more than one sentence away from
    every trigger, that use a deal word, as windows of the same article.

    None when a trigger is missing or not in the window: its deal's place is
    unknown, and asking about the whole window again would repeat it."""
    spans = sentences(window.text) or [(0, len(window.text))]
    near: set[int] = set()
    for trigger in triggers:
        found = align(trigger, window.text) if trigger else None
        if found is None:
            return []
        at = sentence_index(spans, found.start)
        near.update(range(at - 1, at + 2))
    runs: list[list[tuple[int, int]]] = []
    for k, span in enumerate(spans):
        if k in near:
            runs.append([])
        elif runs and runs[-1]:
            runs[-1].append(span)
        else:
            runs.append([span])
    out = []
    for run in (r for r in runs if r):
        lo, hi = run[0][0], run[-1][1]
        if DEAL_CUES.search(window.text[lo:hi]):
            out.append(Window(window.start + lo, window.start + hi, window.text[lo:hi]))
    return out


def _sure(run: Run[Any]) -> dict[str, float]:
    """The model's confidence in each value of ``run``'s answer, by path."""
    return {c.path: c.p for c in run.report.confidence}


def window_spec(settings: Settings) -> PromptSpec:
    """The brief the embedded model's adapter was trained on, else the general one.

    The adapter's model is the embedded one with its adapter, or a server whose
    model name carries the adapter's identity (``llm-extract serve`` prints it):
    both must be asked the way the adapter was trained."""
    tuned = (settings.embedded and adapter_path(settings) is not None) or is_tuned_name(
        settings.model_name
    )
    return WINDOWS_TUNED if tuned else WINDOWS
