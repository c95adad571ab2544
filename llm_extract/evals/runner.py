"""Run extraction over a gold set, live or replayed, and report the scores.

This is the glue behind ``llm-extract eval``: it turns gold documents into
predictions (in the gold set's own format, so they can be saved and scored
again elsewhere) and picks a live, recording or replaying backend; the
``eval`` command in :mod:`llm_extract.present.eval_command` shows the result.
Scoring itself lives in :mod:`llm_extract.evals.scoring`.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from ..backends.base import Backend
from ..backends.embedded import model_id
from ..backends.recordings import RecordingBackend, ReplayBackend
from ..backends.store import Timing
from ..core.api import aextract_deals, backend_for
from ..core.pipeline import Report
from ..errors import LLMExtractError
from ..jsonl import read_jsonl
from ..settings import Settings
from .goldsets import load_gold, resolve_text, split_of
from .scoring import Scores, deals_to_utah_slots, score_docs, score_utah

OnDone = Callable[[str, str | None], None]


def recording_path(root: Path, model: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_") or "model"
    return root / f"{slug}.jsonl"


def choose_backend(settings: Settings, mode: str, recording: Path) -> Backend:
    """``live`` (the configured model), ``record`` (live, saving every answer)
    or ``replay`` (answers only from the recording, no model at all)."""
    if mode == "replay":
        return ReplayBackend(recording, model_name(settings))
    live = backend_for(settings)
    return RecordingBackend(live, recording) if mode == "record" else live


def predict(
    docs: Iterable[tuple[str, str, str | None]],
    settings: Settings,
    backend: Backend,
    report: Report,
    progress: OnDone | None = None,
    concurrency: int = 1,
) -> list[dict[str, Any]]:
    """One prediction per (id, text, published) in the gold set's format, in order.

    Up to ``concurrency`` documents are extracted at once (the embedded model's
    slots decode them together). A document whose extraction fails is predicted
    empty and carries its error, so one bad document never stops an eval and
    is still scored.
    """
    return asyncio.run(_predict(list(docs), settings, backend, report, progress, concurrency))


async def _predict(
    docs: list[tuple[str, str, str | None]],
    settings: Settings,
    backend: Backend,
    report: Report,
    progress: OnDone | None,
    concurrency: int,
) -> list[dict[str, Any]]:
    gate = asyncio.Semaphore(max(1, concurrency))
    reports = [Report() for _ in docs]

    async def one(i: int, doc_id: str, text: str, published: str | None) -> dict[str, Any]:
        row: dict[str, Any] = {"id": doc_id, "deals": [], "companies": []}
        async with gate:
            try:
                day = date.fromisoformat(published) if published else None
                result = await aextract_deals(
                    text, settings=settings, backend=backend, report=reports[i], published=day
                )
                row.update(result.model_dump(mode="json"))
                error = None
            except LLMExtractError as exc:
                error = f"{type(exc).__name__}: {exc}"
                row["error"] = error
        if progress:
            progress(doc_id, error)
        return row

    rows = await asyncio.gather(*(one(i, *doc) for i, doc in enumerate(docs)))
    for r in reports:
        report.calls.extend(r.calls)
    return list(rows)


def to_utah(prediction: dict[str, Any]) -> dict[str, Any]:
    """A prediction in the Utah slot format: each slot a list of fillers."""
    return {"id": prediction["id"], **deals_to_utah_slots(prediction)}


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for number, row in read_jsonl(path):
        if not isinstance(row, dict) or "id" not in row:
            raise ValueError(f"{path}:{number}: each line must be an object with an 'id'")
        rows.append(row)
    return rows


def write_jsonl(rows: Iterable[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)


@dataclass(frozen=True)
class EvalArgs:
    gold: Path
    fmt: str = "deals"
    predictions: Path | None = None
    model: str | None = None
    base_url: str | None = None
    replay: bool = False
    record: bool = False
    recording: Path | None = None
    save_predictions: Path | None = None
    against: Path | None = None
    tolerance: float = 0.02
    save_baseline: Path | None = None
    corpus_root: Path = Path("../shared/corpus")
    limit: int | None = None
    fuzzy: bool = False
    threshold: float = 0.8
    as_json: bool = False
    html: Path | None = None
    concurrency: int | None = None
    split: str = "all"
    strategy: str | None = None
    adapter: str | None = None
    spans: bool | None = None
    min_confidence: float | None = None
    second_look: float | None = None
    rest_look: bool | None = None
    phrases: bool | None = None


def documents(args: EvalArgs) -> tuple[list[Any], list[tuple[str, str, str | None]]]:
    """Gold documents for the scorer and (id, text, published) to extract from,
    limited to ``args.split`` (see :func:`~llm_extract.evals.goldsets.split_of`)."""

    def wanted(doc_id: str) -> bool:
        return args.split == "all" or split_of(doc_id) == args.split

    if args.fmt == "utah":
        rows = [r for r in load_jsonl(args.gold) if wanted(f"utah-{r['id']}")][: args.limit]
        return rows, [(str(r["id"]), str(r["text"]), None) for r in rows]
    docs = [d for d in load_gold(args.gold, args.corpus_root) if wanted(d.id)][: args.limit]
    texts = [(d.id, resolve_text(d, args.corpus_root), _day(d.published)) for d in docs]
    return list(docs), texts


def _day(value: object) -> str | None:
    return None if value is None else str(value)


def baseline(data: dict[str, Any]) -> dict[str, Any]:
    """Scores without the per-document diffs: those quote gold and predicted
    values, which for research-licensed corpora must not be committed."""
    docs = {
        doc_id: {k: v for k, v in doc.items() if k != "differences"}
        for doc_id, doc in data.get("documents", {}).items()
    }
    return {**data, "documents": docs}


def cost(report: Report, timing: Timing | None, documents: int) -> dict[str, Any]:
    """Tokens and model seconds per document, from the recording when there is one.

    A replay takes no model time, so its seconds are the recorded run's. When
    some answers were recorded without timings, seconds per document is
    estimated from the timed ones and ``seconds_basis`` says how many those are.
    """
    n = max(documents, 1)
    cost: dict[str, Any] = {
        "documents": documents,
        "seconds_per_document": report.latency_s / n,
        "tokens_per_document": (report.prompt_tokens + report.completion_tokens) / n,
        "model": report.calls[0].model,
        "prompt_version": report.calls[0].prompt_version,
    }
    if timing is not None:
        answers = timing.timed + timing.untimed
        per_answer = timing.per_answer()
        cost["seconds_per_document"] = None if per_answer is None else per_answer * answers / n
        cost["seconds_basis"] = f"{timing.timed} of {answers} answers timed"
    return cost


def model_name(settings: Settings) -> str:
    """The name recordings and replays use: with an adapter, the adapter's identity too."""
    return model_id(settings) if settings.embedded else settings.model_name


def _settings(args: EvalArgs) -> Settings:
    return Settings.resolve(
        model=args.model, base_url=args.base_url, strategy=args.strategy, adapter=args.adapter,
        spans=args.spans, min_confidence=args.min_confidence, second_look=args.second_look,
        rest_look=args.rest_look, phrases=args.phrases,
    )  # fmt: skip


def extract(
    args: EvalArgs, texts: list[tuple[str, str, str | None]], err: Console
) -> tuple[list[dict[str, Any]], Report, Backend]:
    """Predictions for ``texts`` from the live, recording or replaying backend."""
    settings = _settings(args)
    mode = "replay" if args.replay else "record" if args.record else "live"
    path = args.recording or recording_path(Path("evals/recordings"), model_name(settings))
    backend = choose_backend(settings, mode, path)
    report = Report()
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("extracting", total=len(texts))
        width = args.concurrency or (settings.slots if settings.embedded else 8)
        found = predict(texts, settings, backend, report, lambda i, e: bar.advance(task), width)
    for p in [p for p in found if "error" in p][:5]:
        err.print(f"{p['id']}: {p['error']}", markup=False)
    return found, report, backend


def score(args: EvalArgs, gold: list[Any], preds: list[dict[str, Any]]) -> Scores:
    if args.fmt == "utah":
        return score_utah(gold, preds)
    return score_docs(
        gold, preds, mode="fuzzy" if args.fuzzy else "exact", threshold=args.threshold
    )


def check(args: EvalArgs) -> str | None:
    if args.fmt not in ("deals", "utah"):
        return f"--format must be deals or utah, not {args.fmt!r}"
    if args.replay and args.record:
        return "--replay and --record exclude each other"
    if args.split not in ("all", "train", "holdout"):
        return f"--split must be all, train or holdout, not {args.split!r}"
    return None
