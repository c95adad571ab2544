"""``llm-extract batch``: every article of a JSONL file, resumably, into a JSONL file."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..backends.cache import default_cache_path
from ..errors import ConfigurationError, InputError, LLMExtractError
from ..scale.batch import run_batch
from ..scale.batch_apis import BatchStatus
from ..scale.documents import BatchSummary
from ..scale.provider_batch import run_provider_batch
from ..settings import Settings
from .common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    BaseUrlOpt,
    ModelOpt,
    ReasksOpt,
    SpansOpt,
    StrategyOpt,
    TimeoutOpt,
    err,
    fail,
)

Source = Annotated[Path, typer.Argument(help="Input JSONL: one {id, text} object per line.")]
Out = Annotated[
    Path, typer.Option("-o", "--out", help="Output JSONL; appended to, a re-run resumes it.")
]
Concurrency = Annotated[int, typer.Option(min=1, help="Documents in flight at once.")]
Workers = Annotated[
    int,
    typer.Option(
        min=1,
        help="Worker processes that share --concurrency (needs --base-url); this process "
        "stays the only writer. 2 uses both cores of a 2-CPU machine.",
    ),
]
IdField = Annotated[str, typer.Option("--id-field", help="Field holding the id.")]
TextField = Annotated[str, typer.Option("--text-field", help="Field holding the article text.")]
RetryFailed = Annotated[
    bool,
    typer.Option(
        "--retry-failed",
        help="Also re-run ids whose latest record is an error; keep one record per id.",
    ),
]
MaxTokens = Annotated[
    int | None,
    typer.Option("--max-tokens-total", help="Start no new document past this many tokens."),
]
MaxCost = Annotated[
    float | None, typer.Option("--max-cost", help="Start no new document past this many USD.")
]
CacheOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache", help="Response cache (default ~/.cache/llm_extract/responses.sqlite3)."
    ),
]
NoCache = Annotated[bool, typer.Option("--no-cache", help="No response cache.")]
ProviderBatch = Annotated[
    bool,
    typer.Option(
        "--provider-batch",
        help="Send the requests as OpenAI Batch jobs, or Anthropic Message Batches for "
        "anthropic/ models (half price, within 24 h); a re-run resumes polling them. "
        "State is kept in OUT.provider-batch/.",
    ),
]
PollSeconds = Annotated[
    float, typer.Option("--poll-seconds", min=0, help="With --provider-batch: poll interval.")
]
ReaskVia = Annotated[
    str,
    typer.Option(
        "--reask-via", help="With --provider-batch: re-ask in a follow-up 'batch' or 'live'."
    ),
]
Prices = Annotated[
    Path | None,
    typer.Option(
        "--prices",
        help='JSON {model: {"prompt_per_1k": x, "completion_per_1k": y}} over the defaults.',
    ),
]


@dataclass(frozen=True)
class BatchJob:
    """What one ``batch`` command asks for, once its options are checked."""

    source: Path
    out: Path
    settings: Settings
    concurrency: int
    id_field: str
    text_field: str
    retry_failed: bool
    max_tokens_total: int | None
    max_cost: float | None
    prices: dict[str, dict[str, float]] | None
    cache_path: Path | None
    provider_batch: bool = False
    poll_seconds: float = 60.0
    reask_via: str = "batch"
    workers: int = 1


def batch(
    source: Source,
    out: Out,
    concurrency: Concurrency = 8,
    workers: Workers = 1,
    id_field: IdField = "id",
    text_field: TextField = "text",
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    spans: SpansOpt = None,
    strategy: StrategyOpt = None,
    reasks: ReasksOpt = None,
    timeout: TimeoutOpt = None,
    retry_failed: RetryFailed = False,
    max_tokens_total: MaxTokens = None,
    max_cost: MaxCost = None,
    cache: CacheOpt = None,
    no_cache: NoCache = False,
    prices: Prices = None,
    provider_batch: ProviderBatch = False,
    poll_seconds: PollSeconds = 60.0,
    reask_via: ReaskVia = "batch",
) -> None:
    """Extract the deals of every article in a JSONL file, resumably, into a JSONL file.

    Exit codes: 0 every document ok; 1 some failed or a budget stopped the run;
    2 bad input or settings. Input problems go to stderr with their line numbers.
    """
    if provider_batch and workers > 1:
        fail(EXIT_BAD_INPUT, "--workers runs live requests; --provider-batch sends batch jobs")
    if cache is not None and no_cache:
        fail(EXIT_BAD_INPUT, "give --cache PATH or --no-cache, not both")
    try:
        settings = Settings.resolve(
            model=model, base_url=base_url, spans=spans, strategy=strategy, reasks=reasks,
            timeout=timeout,
        )  # fmt: skip
    except ConfigurationError as exc:
        fail(EXIT_BAD_INPUT, str(exc))
    job = BatchJob(
        source, out, settings, concurrency, id_field, text_field, retry_failed,
        max_tokens_total, max_cost, _read_prices(prices),
        None if no_cache or provider_batch else (cache or default_cache_path()),
        provider_batch, poll_seconds, reask_via, workers,
    )  # fmt: skip
    summary = _provider_run(job) if provider_batch else _run(job)
    if job.cache_path is not None:
        err.print(f"cache: {summary.cache_hits} hit(s) in {job.cache_path}", markup=False)
    if summary.rate_limited:
        err.print(f"rate limited {summary.rate_limited} time(s)", markup=False)
    err.print(summary.line(), markup=False)
    if summary.errors or summary.stopped:
        raise typer.Exit(EXIT_FAILED)


def _read_prices(path: Path | None) -> dict[str, dict[str, float]] | None:
    """The ``--prices`` table, or a one-line error naming what is wrong with it."""
    if path is None:
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        keys = ("prompt_per_1k", "completion_per_1k")
        table = {str(m): {k: float(row[k]) for k in keys} for m, row in raw.items()}
        if any(v < 0 for row in table.values() for v in row.values()):
            raise ValueError("negative price")
    except OSError as exc:
        fail(EXIT_BAD_INPUT, f"cannot read {path}: {exc.strerror or exc}")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        fail(
            EXIT_BAD_INPUT,
            f'{path}: expected {{"model": {{"prompt_per_1k": x, "completion_per_1k": y}}}} '
            f"with non-negative numbers ({type(exc).__name__}: {exc})",
        )
    return table


@contextlib.contextmanager
def _exit_codes(out: Path) -> Iterator[None]:
    """A run's failures as one line and an exit code: 2 bad input or settings, 1 the rest."""
    try:
        yield
    except (InputError, ConfigurationError) as exc:
        fail(EXIT_BAD_INPUT, str(exc))
    except OSError as exc:
        fail(EXIT_BAD_INPUT, f"{exc.filename or out}: {exc.strerror or exc}")
    except LLMExtractError as exc:
        fail(EXIT_FAILED, f"{type(exc).__name__}: {exc}")


def _provider_run(job: BatchJob) -> BatchSummary:
    """The batch through the provider's batch API, its status on stderr at each poll."""

    def on_status(batches: list[BatchStatus]) -> None:
        for b in batches:
            done = f" {b.done}/{b.total} done, {b.failed} failed" if b.total else ""
            err.print(f"{b.id}: {b.status}{done}", markup=False)

    if job.reask_via not in ("batch", "live"):
        fail(EXIT_BAD_INPUT, "--reask-via must be 'batch' or 'live'")
    with _exit_codes(job.out):
        return run_provider_batch(
            job.source, job.out, id_field=job.id_field, text_field=job.text_field,
            settings=job.settings, reask=cast(Any, job.reask_via), poll_seconds=job.poll_seconds,
            prices=job.prices, on_status=on_status,
            log=lambda message: err.print(message, markup=False),
        )  # fmt: skip


def _run(job: BatchJob) -> BatchSummary:
    """Run the batch with a progress bar on a terminal; errors become exit codes."""
    progress = Progress(
        TextColumn("batch"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[stats]}"), TimeElapsedColumn(),
        console=err, disable=not err.is_terminal,
    )  # fmt: skip
    task = progress.add_task("batch", total=None, stats="")

    def on_progress(s: BatchSummary) -> None:
        done = s.ok + s.errors
        rate = done / s.seconds if s.seconds > 0 else 0.0
        stats = f"{rate:.1f} docs/s · {s.tokens} tokens · {s.errors} errors"
        progress.update(task, total=s.total, completed=done, stats=stats)

    with _exit_codes(job.out), progress if err.is_terminal else contextlib.nullcontext():
        return run_batch(
            job.source, job.out, id_field=job.id_field, text_field=job.text_field,
            concurrency=job.concurrency, settings=job.settings, retry_failed=job.retry_failed,
            max_tokens_total=job.max_tokens_total, max_cost=job.max_cost, prices=job.prices,
            cache_path=job.cache_path, on_progress=on_progress, workers=job.workers,
            log=lambda message: err.print(message, markup=False),
        )  # fmt: skip
