"""The ``llm-extract`` command.

Exit codes: 0 success; 1 the extraction failed (the message names the cause);
2 bad input or usage (missing file, empty, binary or undecodable text, bad
settings). Errors are one line on stderr, never a traceback. The result goes
to stdout as JSON; a one-line cost summary goes to stderr.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text

from ..core.api import extract_deals
from ..core.pipeline import CallReport, Report, check_text
from ..errors import ConfigurationError, InputError, LLMExtractError
from ..records.schemas import ArticleDeals
from ..settings import Settings
from .review import render_review

app = typer.Typer(
    name="llm-extract",
    help="Extract typed, verified deal records from business news.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# markup=False everywhere: messages carry file names, server errors and user input,
# which must print as they are ("[/x].txt", "[redacted]"), never as Rich markup.
_err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

ModelOpt = Annotated[str | None, typer.Option(help="Model name, or a .gguf path.")]
BaseUrlOpt = Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible server URL.")]
SpansOpt = Annotated[
    bool | None,
    typer.Option("--spans/--no-spans", help="Constrain text fields to article spans."),
]
StrategyOpt = Annotated[
    str | None,
    typer.Option(
        help="windows (a record per deal passage), record (one per article) or full schema."
    ),
]
ReasksOpt = Annotated[int | None, typer.Option(help="Re-asks after an invalid answer.")]
TimeoutOpt = Annotated[float | None, typer.Option(help="Seconds per request.")]

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class _Stderr(logging.Handler):
    """Writes to whatever ``sys.stderr`` is when a record comes, not the stream
    of the first command: a program (or a test runner) that invokes the app
    several times swaps stderr between calls."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


@app.callback()
def _main() -> None:
    """Extract typed, verified deal records from business news."""
    log = logging.getLogger("llm_extract")
    if not log.handlers:  # the library only logs; the command shows waits on stderr
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("llm-extract: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.WARNING)


def _fail(code: int, message: str) -> NoReturn:
    _err.print(Text.assemble(("error:", "bold red"), " ", message))
    raise typer.Exit(code)


def read_text(source: str, max_chars: int = 2_000_000) -> str:
    """Read an article from a path or ``-`` (stdin) as UTF-8 text.

    Reads at most what ``max_chars`` characters can take in UTF-8 (4 bytes
    each, plus a margin), so ``/dev/zero`` or an endless pipe cannot fill
    memory, and refuses what is not a regular file (a FIFO or a device would
    block or never end). Raises :class:`InputError` with a one-line reason for
    anything that is not usable text, so the CLI can map it to exit code 2.
    """
    limit = max_chars * 4 + 4096
    if source == "-":
        data, where = sys.stdin.buffer.read(limit + 1), "standard input"
    else:
        data, where = _read_file(Path(source), limit), source
    if len(data) > limit:
        raise InputError(f"{where}: more than max_chars={max_chars:,} characters; split it")
    if b"\x00" in data:
        raise InputError(f"{where}: looks binary (contains NUL bytes), not a text article")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{where}: not valid UTF-8 (byte {exc.start}); convert it, e.g. with iconv"
        ) from None
    try:
        return check_text(text)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def _read_file(path: Path, limit: int) -> bytes:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a text file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file (a pipe or device); save the text to a file")
    try:
        with path.open("rb") as handle:
            return handle.read(limit + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def writable(path: Path) -> None:
    """Raise :class:`InputError` unless ``path`` can be written, before any model call."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a directory")
    if not parent.is_dir():
        raise InputError(f"cannot write {path}: no directory {parent}")
    if not os.access(path if path.exists() else parent, os.W_OK):
        raise InputError(f"cannot write {path}: permission denied")


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"--published must be a date like 2024-05-31, not {value!r}") from None


@app.command()
def deal(
    source: Annotated[str, typer.Argument(help="Article file, or - for standard input.")],
    all_deals: Annotated[
        bool, typer.Option("--all", help="Every deal and company, not only the main deal.")
    ] = False,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="One compact JSON object with the result and its report."),
    ] = False,
    spans: SpansOpt = None,
    strategy: StrategyOpt = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write a review page to this file.")
    ] = None,
    published: Annotated[
        str | None,
        typer.Option(help="Publication date, YYYY-MM-DD, to resolve dates like 'last year'."),
    ] = None,
    ungrounded: Annotated[
        str | None, typer.Option(help="drop (default) or flag values not found in the text.")
    ] = None,
    reasks: ReasksOpt = None,
    timeout: TimeoutOpt = None,
) -> None:
    """Extract the main deal (or --all deals) from an article and print JSON."""
    try:
        settings = Settings.resolve(
            model=model, base_url=base_url, spans=spans, strategy=strategy, reasks=reasks,
            timeout=timeout, ungrounded=ungrounded,
        )  # fmt: skip
        text = read_text(source, settings.max_chars)
        day = _date(published)
        if html is not None:
            writable(html)
    except (InputError, ConfigurationError) as exc:
        _fail(EXIT_BAD_INPUT, str(exc))
    report = Report()
    try:
        result = extract_deals(text, settings=settings, report=report, published=day)
    except (InputError, ConfigurationError) as exc:
        _fail(EXIT_BAD_INPUT, str(exc))
    except LLMExtractError as exc:
        _fail(EXIT_FAILED, f"{type(exc).__name__}: {exc}")
    found = all_deals or result.main_deal is not None
    if found:
        _print_result(result, report, all_deals, as_json)
    _err.print(_summary(settings, report.calls[-1]))
    if html is not None:
        page = render_review(text, result, report.calls[-1], title=f"llm_extract: {source}")
        try:
            html.write_text(page, encoding="utf-8")
        except OSError as exc:
            _fail(EXIT_BAD_INPUT, f"cannot write {html}: {exc.strerror or exc}")
    if not found:
        _fail(EXIT_FAILED, f"no deal found in {source} (use --all to print the empty result)")


def _print_result(result: ArticleDeals, report: Report, all_deals: bool, as_json: bool) -> None:
    main = result.main_deal
    payload: Any = (main if main is not None and not all_deals else result).model_dump(mode="json")
    if as_json:
        envelope = {"result": payload, "report": [c.to_dict() for c in report.calls]}
        sys.stdout.write(json.dumps(envelope, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def _summary(settings: Settings, call: CallReport) -> str:
    return (
        f"{settings.describe()} · {call.prompt_version} · {call.attempts} attempt(s) · "
        f"{call.prompt_tokens}+{call.completion_tokens} tokens · {call.latency_s:.1f}s · "
        f"{len(call.evidence)} grounded, {len(call.dropped)} dropped"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    api_key: Annotated[
        str | None,
        typer.Option(envvar="LLM_EXTRACT_SERVE_API_KEY", help="Key clients must send."),
    ] = None,
    slots: Annotated[int | None, typer.Option(min=1, help="Requests decoded at once.")] = None,
) -> None:
    """Serve the embedded model over HTTP (llama.cpp's OpenAI-compatible server) until stopped."""
    import contextlib
    import signal
    import threading

    from ..backends.embedded import RuntimeSpec, runtime

    if not api_key and host not in ("127.0.0.1", "localhost", "::1"):
        _fail(EXIT_BAD_INPUT, f"refusing to serve on {host} without --api-key")
    try:
        spec = RuntimeSpec.from_settings(Settings.resolve(slots=slots))
        rt = runtime(RuntimeSpec(**{**spec.__dict__, "host": host, "port": port,
                                    "api_key": api_key or ""}))  # fmt: skip
    except LLMExtractError as exc:
        _fail(EXIT_BAD_INPUT, str(exc))
    _err.print(f"serving the embedded model at {rt.address}/v1 (Ctrl-C stops)", markup=False)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()


@app.command("eval")
def eval_(
    gold: Annotated[Path, typer.Argument(help="Gold set JSONL (our format, or --format utah).")],
    fmt: Annotated[str, typer.Option("--format", help="deals (default) or utah.")] = "deals",
    predictions: Annotated[
        Path | None, typer.Option(help="Score these predictions instead of extracting.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model to extract with.")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="Server URL.")] = None,
    replay: Annotated[bool, typer.Option(help="Answer from the recording: no model.")] = False,
    record: Annotated[bool, typer.Option(help="Extract live and record every answer.")] = False,
    recording: Annotated[
        Path | None, typer.Option(help="Recording file (default evals/recordings/<model>.jsonl).")
    ] = None,
    save_predictions: Annotated[Path | None, typer.Option(help="Write predictions here.")] = None,
    against: Annotated[
        Path | None, typer.Option(help="Baseline scores: exit 1 if any field's F1 drops.")
    ] = None,
    tolerance: Annotated[float, typer.Option(help="Allowed F1 drop per field.")] = 0.02,
    save_baseline: Annotated[Path | None, typer.Option(help="Write the scores here.")] = None,
    corpus_root: Annotated[Path, typer.Option(help="Where text_ref paths point.")] = Path(
        "../shared/corpus"
    ),
    limit: Annotated[int | None, typer.Option(help="Only the first N documents.")] = None,
    fuzzy: Annotated[bool, typer.Option(help="Fuzzy name matching (token-set).")] = False,
    threshold: Annotated[float, typer.Option(help="Fuzzy similarity threshold.")] = 0.8,
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores as JSON.")] = False,
    html: Annotated[Path | None, typer.Option("--html", help="Write an HTML report.")] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Documents at once (default: the embedded model's slots, or 8)."),
    ] = None,
    split: Annotated[
        str, typer.Option(help="all, train or holdout: the part of the dev set to score.")
    ] = "all",
    strategy: StrategyOpt = None,
    adapter: Annotated[
        str | None, typer.Option(help="Embedded model's LoRA adapter: a .gguf path or none.")
    ] = None,
    spans: SpansOpt = None,
    min_confidence: Annotated[
        float | None, typer.Option(help="Drop deals whose type confidence is lower.")
    ] = None,
) -> None:
    """Score extraction against a gold set; the last line is micro_f1=<value>."""
    from ..evals import runner as eval_runner

    code = eval_runner.run(
        eval_runner.EvalArgs(
            gold=gold, fmt=fmt, predictions=predictions, model=model, base_url=base_url,
            replay=replay, record=record, recording=recording, save_predictions=save_predictions,
            against=against, tolerance=tolerance, save_baseline=save_baseline,
            corpus_root=corpus_root, limit=limit, fuzzy=fuzzy, threshold=threshold,
            as_json=as_json, html=html, concurrency=concurrency, split=split,
            strategy=strategy, adapter=adapter, spans=spans, min_confidence=min_confidence,
        ),
        _err,
    )  # fmt: skip
    if code:
        raise typer.Exit(code)


@app.command()
def convert(
    corpus: Annotated[str, typer.Argument(help="utah, sentivent, fire or reuters-no-deal.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Gold JSONL to write.")],
    corpus_root: Annotated[Path, typer.Option(help="The shared corpus folder.")] = Path(
        "../shared/corpus"
    ),
) -> None:
    """Convert a corpus in ../shared/corpus into our gold-set format.

    The output embeds research-licensed article text: write it outside the
    repository.
    """
    from ..evals import converters, goldsets

    sources = {
        "utah": lambda: converters.from_utah(corpus_root / "utah_acquisitions/dev.jsonl"),
        "sentivent": lambda: converters.from_sentivent(
            corpus_root / "sentivent/docs.jsonl", corpus_root / "sentivent/deal_events.jsonl"
        ),
        "fire": lambda: converters.from_fire(corpus_root / "fire/deal_subset_dev.jsonl"),
        "reuters-no-deal": lambda: converters.from_reuters_no_deal(
            corpus_root / "reuters21578/non_acq.jsonl.gz"
        ),
    }
    if corpus not in sources:
        _fail(EXIT_BAD_INPUT, f"corpus must be one of {', '.join(sources)}, not {corpus!r}")
    try:
        docs = sources[corpus]()
        goldsets.write_gold(docs, out)
    except (OSError, ValueError) as exc:
        _fail(EXIT_BAD_INPUT, str(exc))
    _err.print(f"{len(docs)} documents written to {out}", markup=False)


@app.command("batch")
def batch_(
    source: Annotated[Path, typer.Argument(help="Input JSONL: one {id, text} object per line.")],
    out: Annotated[
        Path, typer.Option("-o", "--out", help="Output JSONL; appended to, a re-run resumes it.")
    ],
    concurrency: Annotated[int, typer.Option(min=1, help="Documents in flight at once.")] = 8,
    id_field: Annotated[str, typer.Option("--id-field", help="Field holding the id.")] = "id",
    text_field: Annotated[
        str, typer.Option("--text-field", help="Field holding the article text.")
    ] = "text",
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    spans: SpansOpt = None,
    strategy: StrategyOpt = None,
    reasks: ReasksOpt = None,
    timeout: TimeoutOpt = None,
    retry_failed: Annotated[
        bool,
        typer.Option(
            "--retry-failed",
            help="Also re-run ids whose latest record is an error; keep one record per id.",
        ),
    ] = False,
    max_tokens_total: Annotated[
        int | None,
        typer.Option("--max-tokens-total", help="Start no new document past this many tokens."),
    ] = None,
    max_cost: Annotated[
        float | None, typer.Option("--max-cost", help="Start no new document past this many USD.")
    ] = None,
    cache: Annotated[
        Path | None,
        typer.Option(
            "--cache", help="Response cache (default ~/.cache/llm_extract/responses.sqlite3)."
        ),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="No response cache.")] = False,
    prices: Annotated[
        Path | None,
        typer.Option(
            "--prices",
            help='JSON {model: {"prompt_per_1k": x, "completion_per_1k": y}} over the defaults.',
        ),
    ] = None,
) -> None:
    """Extract the deals of every article in a JSONL file, resumably, into a JSONL file.

    Exit codes: 0 every document ok; 1 some failed or a budget stopped the run;
    2 bad input or settings. Input problems go to stderr with their line numbers.
    """
    import contextlib

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..backends.cache import default_cache_path
    from ..scale.batch import BatchSummary, run_batch

    if cache is not None and no_cache:
        _fail(EXIT_BAD_INPUT, "give --cache PATH or --no-cache, not both")
    table: dict[str, dict[str, float]] | None = None
    try:
        settings = Settings.resolve(
            model=model, base_url=base_url, spans=spans, strategy=strategy, reasks=reasks,
            timeout=timeout,
        )  # fmt: skip
        if prices is not None:
            raw = json.loads(prices.read_text(encoding="utf-8"))
            keys = ("prompt_per_1k", "completion_per_1k")
            table = {str(m): {k: float(row[k]) for k in keys} for m, row in raw.items()}
            if any(v < 0 for row in table.values() for v in row.values()):
                raise ValueError("negative price")
    except ConfigurationError as exc:
        _fail(EXIT_BAD_INPUT, str(exc))
    except OSError as exc:
        _fail(EXIT_BAD_INPUT, f"cannot read {prices}: {exc.strerror or exc}")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        _fail(
            EXIT_BAD_INPUT,
            f'{prices}: expected {{"model": {{"prompt_per_1k": x, "completion_per_1k": y}}}} '
            f"with non-negative numbers ({type(exc).__name__}: {exc})",
        )
    cache_path = None if no_cache else (cache or default_cache_path())
    progress = Progress(
        TextColumn("batch"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[stats]}"), TimeElapsedColumn(),
        console=_err, disable=not _err.is_terminal,
    )  # fmt: skip
    task = progress.add_task("batch", total=None, stats="")

    def on_progress(s: BatchSummary) -> None:
        done = s.ok + s.errors
        rate = done / s.seconds if s.seconds > 0 else 0.0
        stats = f"{rate:.1f} docs/s · {s.tokens} tokens · {s.errors} errors"
        progress.update(task, total=s.total, completed=done, stats=stats)

    try:
        with progress if _err.is_terminal else contextlib.nullcontext():
            summary = run_batch(
                source, out, id_field=id_field, text_field=text_field, concurrency=concurrency,
                settings=settings, retry_failed=retry_failed, max_tokens_total=max_tokens_total,
                max_cost=max_cost, prices=table, cache_path=cache_path, on_progress=on_progress,
                log=lambda message: _err.print(message, markup=False),
            )  # fmt: skip
    except (InputError, ConfigurationError) as exc:
        _fail(EXIT_BAD_INPUT, str(exc))
    except OSError as exc:
        _fail(EXIT_BAD_INPUT, f"{exc.filename or out}: {exc.strerror or exc}")
    except LLMExtractError as exc:
        _fail(EXIT_FAILED, f"{type(exc).__name__}: {exc}")
    if cache_path is not None:
        _err.print(f"cache: {summary.cache_hits} hit(s) in {cache_path}", markup=False)
    if summary.rate_limited:
        _err.print(f"rate limited {summary.rate_limited} time(s)", markup=False)
    _err.print(summary.line(), markup=False)
    if summary.errors or summary.stopped:
        raise typer.Exit(EXIT_FAILED)
