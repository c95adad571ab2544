"""Run extraction over a gold set, live or replayed, and report the scores.

This is the glue behind ``llm-extract eval``: it turns gold documents into
predictions (in the gold set's own format, so they can be saved and scored
again elsewhere), picks a live, recording or replaying backend, and renders
the HTML report. Scoring itself lives in :mod:`llm_extract.evals.scoring`.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from ..backends.base import Backend
from ..backends.embedded import model_id
from ..backends.recordings import RecordingBackend, ReplayBackend, Timing
from ..core.api import aextract_deals, backend_for
from ..core.pipeline import Report
from ..errors import LLMExtractError
from ..settings import Settings
from .baselines import changes, compare
from .goldsets import load_gold, resolve_text, split_of
from .matching import check_solver
from .scoring import Scores, deals_to_utah_slots, invented_deals, score_docs, score_utah

UTAH_SLOTS = ("acquired", "acqbus", "acqloc", "dlramt", "purchaser", "seller", "status")
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
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: not JSON: {exc}") from None
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


_CSS = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2430;max-width:1100px}"
    "table{border-collapse:collapse;margin:12px 0}td,th{padding:4px 10px;border-bottom:1px solid"
    " #e3e6ea;text-align:left}.bar{height:12px;background:#3b7ddd;display:inline-block}"
    ".diff{font-family:ui-monospace,monospace;font-size:12px}.omission{color:#b45309}"
    ".hallucination{color:#b91c1c}.mismatch{color:#6d28d9}h2{margin-top:28px}"
)


def _unscored(fields: dict[str, Any]) -> list[str]:
    """Fields with neither gold nor predicted values: nothing to score, so no P/R/F1."""
    return [k for k, v in fields.items() if not (v.get("tp") or v.get("fp") or v.get("fn"))]


def render_html(scores: dict[str, Any], title: str, worst: int = 10) -> str:
    """A self-contained report: per-field F1 bars and the worst documents with diffs."""
    e = html.escape
    rows = []
    fields = scores.get("fields", {})
    idle = _unscored(fields)
    note = f"<p>not scored (no gold and no prediction): {e(', '.join(idle))}</p>" if idle else ""
    for field, stats in sorted(fields.items()):
        if field in idle:
            continue
        f1 = float(stats.get("f1", 0.0))
        rows.append(
            f"<tr><td>{e(field)}</td><td><span class=bar style='width:{f1 * 300:.0f}px'>"
            f"</span> {f1:.3f}</td><td>{stats.get('precision', 0):.3f}</td>"
            f"<td>{stats.get('recall', 0):.3f}</td><td>{stats.get('tp', 0)}</td>"
            f"<td>{stats.get('fp', 0)}</td><td>{stats.get('fn', 0)}</td></tr>"
        )
    docs = sorted(scores.get("documents", {}).items(), key=lambda kv: kv[1].get("f1", 0.0))
    links, sections = [], []
    for rank, (doc_id, doc) in enumerate(docs[:worst], 1):
        anchor = f"doc{rank}-" + re.sub(r"[^A-Za-z0-9_-]", "_", doc_id)  # ranks keep ids apart
        links.append(f"<li><a href='#{anchor}'>{e(doc_id)}</a> F1 {doc.get('f1', 0):.3f}</li>")
        diffs = "".join(
            f"<tr class={e(d.get('kind', ''))}><td>{e(str(d.get('field')))}</td>"
            f"<td>{e(d.get('kind', ''))}</td><td class=diff>{e(json.dumps(d.get('gold')))}</td>"
            f"<td class=diff>{e(json.dumps(d.get('pred')))}</td></tr>"
            for d in doc.get("differences", [])
        )
        sections.append(
            f"<h3 id='{anchor}'>{e(doc_id)}</h3><table><tr><th>field</th><th>kind</th>"
            f"<th>gold</th><th>predicted</th></tr>{diffs or '<tr><td>no differences'}</table>"
        )
    micro = scores.get("micro", {})
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{e(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{e(title)}</h1>"
        f"<p>micro P {micro.get('precision', 0):.3f} · R {micro.get('recall', 0):.3f} · "
        f"F1 {micro.get('f1', 0):.3f}</p><h2>Per field</h2><table><tr><th>field</th>"
        f"<th>F1</th><th>P</th><th>R</th><th>tp</th><th>fp</th><th>fn</th></tr>"
        f"{''.join(rows)}</table>{note}<h2>Worst documents</h2><ol>{''.join(links)}</ol>"
        f"{''.join(sections)}</body></html>"
    )


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


def _documents(args: EvalArgs) -> tuple[list[Any], list[tuple[str, str, str | None]]]:
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


def _baseline(data: dict[str, Any]) -> dict[str, Any]:
    """Scores without the per-document diffs: those quote gold and predicted
    values, which for research-licensed corpora must not be committed."""
    docs = {
        doc_id: {k: v for k, v in doc.items() if k != "differences"}
        for doc_id, doc in data.get("documents", {}).items()
    }
    return {**data, "documents": docs}


def _cost(report: Report, timing: Timing | None, documents: int) -> dict[str, Any]:
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


def _cost_line(cost: dict[str, Any]) -> str:
    seconds = cost["seconds_per_document"]
    timed = "seconds unknown" if seconds is None else f"{seconds:.1f} s"
    basis = f" ({cost['seconds_basis']})" if "seconds_basis" in cost else ""
    return (
        f"cost per document over {cost['documents']} document(s): "
        f"{cost['tokens_per_document']:,.0f} tokens, {timed}{basis}; model {cost['model']}"
    )


def model_name(settings: Settings) -> str:
    """The name recordings and replays use: with an adapter, the adapter's identity too."""
    return model_id(settings) if settings.embedded else settings.model_name


def _settings(args: EvalArgs) -> Settings:
    return Settings.resolve(
        model=args.model, base_url=args.base_url, strategy=args.strategy, adapter=args.adapter,
        spans=args.spans, min_confidence=args.min_confidence,
    )  # fmt: skip


def _extract(
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


def _score(args: EvalArgs, gold: list[Any], preds: list[dict[str, Any]]) -> Scores:
    if args.fmt == "utah":
        return score_utah(gold, preds)
    return score_docs(
        gold, preds, mode="fuzzy" if args.fuzzy else "exact", threshold=args.threshold
    )


def _print_table(scores: Scores, data: dict[str, Any], out: Console) -> None:
    table = Table("field", "P", "R", "F1", "tp", "fp", "fn", "omit", "halluc", "mismatch")
    idle = _unscored(data["fields"])
    for row in scores.table_rows():
        if row[0] not in idle:
            table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row))
    out.print(table)
    if idle:
        out.print(f"not scored (no gold and no prediction): {', '.join(idle)}", markup=False)
    if invented := data.get("invented"):
        out.print(
            f"documents without gold deals that got a deal: {invented['with_deal']} of "
            f"{invented['documents']} ({invented['rate']:.1%})",
            markup=False,
        )
    if cost := data.get("cost"):
        out.print(_cost_line(cost), markup=False)


def _against(args: EvalArgs, data: dict[str, Any], out: Console, err: Console) -> int | None:
    """Compare with the baseline: the regression gate and the bootstrap intervals.
    Returns 1 on regression, 0 if none, None if the baseline cannot be read."""
    assert args.against is not None
    try:
        baseline = json.loads(args.against.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        err.print(f"error: cannot read baseline {args.against}: {exc}", markup=False)
        return None
    if not args.as_json:
        for change in changes(data, baseline):
            if abs(change.delta) > 1e-9:
                out.print(f"change: {change.line()}", markup=False)
    regressions = compare(data, baseline, args.tolerance)
    for line in regressions:
        (err if args.as_json else out).print(f"regression: {line}", markup=False)
    return 1 if regressions else 0


def _check(args: EvalArgs) -> str | None:
    if args.fmt not in ("deals", "utah"):
        return f"--format must be deals or utah, not {args.fmt!r}"
    if args.replay and args.record:
        return "--replay and --record exclude each other"
    if args.split not in ("all", "train", "holdout"):
        return f"--split must be all, train or holdout, not {args.split!r}"
    return None


def run(args: EvalArgs, err: Console) -> int:
    """The eval command. Returns the exit code: 0, 1 on regression, 2 on bad input.

    With ``--json`` stdout is exactly one JSON document; everything else goes
    to stderr.
    """
    if problem := _check(args):
        err.print(f"error: {problem}", markup=False)
        return 2
    stale = failed = 0
    report, backend = Report(), None
    try:
        check_solver()  # scoring needs scipy: say so before a long extraction, not after
        gold, texts = _documents(args)
        if args.predictions is not None:
            preds = load_jsonl(args.predictions)
        else:
            found, report, backend = _extract(args, texts, err)
            preds = [to_utah(p) for p in found] if args.fmt == "utah" else found
            stale = sum("StaleRecordingError" in p.get("error", "") for p in found)
            failed = sum("error" in p for p in found)
        if args.save_predictions:
            write_jsonl(preds, args.save_predictions)
    except (OSError, ValueError, LLMExtractError) as exc:
        err.print(f"error: {exc}", markup=False)
        return 2
    scores = _score(args, gold, preds)
    data = scores.to_dict()
    if args.fmt == "deals":
        data["invented"] = invented_deals(gold, preds)
    if report.calls:
        timing = backend.timing if isinstance(backend, RecordingBackend | ReplayBackend) else None
        data["cost"] = _cost(report, timing, len(texts))
    if args.save_baseline:
        args.save_baseline.parent.mkdir(parents=True, exist_ok=True)
        args.save_baseline.write_text(json.dumps(_baseline(data), indent=1, sort_keys=True) + "\n")
    if args.html:
        args.html.write_text(render_html(data, f"eval: {args.gold.name}"), encoding="utf-8")
    out = Console(highlight=False, soft_wrap=True, markup=False)
    if args.as_json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        _print_table(scores, data, out)
    code = 0
    if args.against:
        gate = _against(args, data, out, err)
        if gate is None:
            return 2
        code = gate
    if stale:
        err.print(f"stale: {stale} document(s) are not in the recording; re-record with --record")
        code = 1
    if texts and failed == len(texts):
        err.print(f"error: extraction failed for all {failed} documents", markup=False)
        code = 1
    if not args.as_json:
        print(f"micro_f1={scores.micro_f1:.4f}")
    return code
