"""The ``llm-extract`` command.

Exit codes: 0 success; 1 the extraction failed (the message names the cause);
2 bad input or usage (missing file, empty, binary or undecodable text, bad
settings). Errors are one line on stderr, never a traceback. The result goes
to stdout as JSON; a one-line cost summary goes to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..core.api import extract_deals
from ..core.pipeline import CallReport, Report
from ..errors import ConfigurationError, InputError, LLMExtractError
from ..records.schemas import ArticleDeals
from ..settings import Settings
from .batch_command import batch
from .common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    BaseUrlOpt,
    ModelOpt,
    PhrasesOpt,
    ReasksOpt,
    RestLookOpt,
    SecondLookOpt,
    SpansOpt,
    StrategyOpt,
    TimeoutOpt,
    err,
    fail,
    published_date,
    read_text,
    writable,
)
from .review import render_review

app = typer.Typer(
    name="llm-extract",
    help="Extract typed, verified deal records from business news.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
    second_look: SecondLookOpt = None,
    rest_look: RestLookOpt = None,
    phrases: PhrasesOpt = None,
) -> None:
    """Extract the main deal (or --all deals) from an article and print JSON."""
    try:
        settings = Settings.resolve(
            model=model, base_url=base_url, spans=spans, strategy=strategy, reasks=reasks,
            timeout=timeout, ungrounded=ungrounded, second_look=second_look,
            rest_look=rest_look, phrases=phrases,
        )  # fmt: skip
        text = read_text(source, settings.max_chars)
        day = published_date(published)
        if html is not None:
            writable(html)
    except (InputError, ConfigurationError) as exc:
        fail(EXIT_BAD_INPUT, str(exc))
    report = Report()
    try:
        result = extract_deals(text, settings=settings, report=report, published=day)
    except (InputError, ConfigurationError) as exc:
        fail(EXIT_BAD_INPUT, str(exc))
    except LLMExtractError as exc:
        fail(EXIT_FAILED, f"{type(exc).__name__}: {exc}")
    found = all_deals or result.main_deal is not None
    if found:
        _print_result(result, report, all_deals, as_json)
    err.print(_summary(settings, report.calls[-1]))
    if html is not None:
        page = render_review(text, result, report.calls[-1], title=f"llm_extract: {source}")
        try:
            html.write_text(page, encoding="utf-8")
        except OSError as exc:
            fail(EXIT_BAD_INPUT, f"cannot write {html}: {exc.strerror or exc}")
    if not found:
        fail(EXIT_FAILED, f"no deal found in {source} (use --all to print the empty result)")


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

    from ..backends.embedded import RuntimeSpec, model_id, runtime

    if not api_key and host not in ("127.0.0.1", "localhost", "::1"):
        fail(EXIT_BAD_INPUT, f"refusing to serve on {host} without --api-key")
    try:
        spec = RuntimeSpec.from_settings(Settings.resolve(slots=slots))
        rt = runtime(RuntimeSpec(**{**spec.__dict__, "host": host, "port": port,
                                    "api_key": api_key or ""}))  # fmt: skip
    except LLMExtractError as exc:
        fail(EXIT_BAD_INPUT, str(exc))
    name = model_id(Settings.resolve())
    err.print(
        f"serving the embedded model at {rt.address}/v1 as {name} (Ctrl-C stops)", markup=False
    )
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
    second_look: SecondLookOpt = None,
    rest_look: RestLookOpt = None,
    phrases: PhrasesOpt = None,
) -> None:
    """Score extraction against a gold set; the last line is micro_f1=<value>."""
    from ..evals.runner import EvalArgs
    from .eval_command import run_and_exit

    run_and_exit(EvalArgs(
        gold=gold, fmt=fmt, predictions=predictions, model=model, base_url=base_url,
        replay=replay, record=record, recording=recording, save_predictions=save_predictions,
        against=against, tolerance=tolerance, save_baseline=save_baseline,
        corpus_root=corpus_root, limit=limit, fuzzy=fuzzy, threshold=threshold,
        as_json=as_json, html=html, concurrency=concurrency, split=split,
        strategy=strategy, adapter=adapter, spans=spans, min_confidence=min_confidence,
        second_look=second_look, rest_look=rest_look, phrases=phrases,
    ), err)  # fmt: skip


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
        fail(EXIT_BAD_INPUT, f"corpus must be one of {', '.join(sources)}, not {corpus!r}")
    try:
        docs = sources[corpus]()
        goldsets.write_gold(docs, out)
    except (OSError, ValueError) as exc:
        fail(EXIT_BAD_INPUT, str(exc))
    err.print(f"{len(docs)} documents written to {out}", markup=False)


app.command("batch")(batch)
