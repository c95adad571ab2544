"""A JSONL file of articles through a provider's batch API, at half price.

OpenAI's Batch API serves OpenAI-compatible models, Anthropic's Message
Batches ``anthropic/…`` models (:mod:`.batch_apis`).

Each round, every document not yet written runs through the usual pipeline
(:func:`~llm_extract.core.api.extract_deals`) against the answers downloaded
so far. A document whose every request has an answer is finished as a live
one is (parsed, validated, re-asked, grounded, normalized) and written; a
request without an answer is written into the round's batch input file
instead, and the document waits. The files are uploaded and submitted as
batches, polled until they end, and their answers kept by request hash. The
next round runs the waiting documents again: answers that need a re-ask make
new requests, which go into the next round's batch (``reask="batch"``) or,
once one batch has come back, straight to the live API (``reask="live"``).

Kept on disk beside the output (``state_dir``, default ``OUT.provider-batch/``):

* ``answers.jsonl``: every answer downloaded, by request hash, so nothing paid
  for is asked again, by this run or a later one;
* ``job.json``: the round's batches, written before each is created and once
  it exists, so a stopped command resumes polling them instead of paying twice;
* ``requests-<round>-<part>.jsonl``: what each batch was sent (the prompts and
  article text; never the API key).

Output as :func:`~llm_extract.scale.batch.run_batch`'s (one record per id, exactly
once, resumable), costed at the batch price (half the live one), live re-asks too.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import openai

from ..backends.base import ChatRequest, Completion
from ..backends.providers import InstructorBackend, route
from ..backends.recordings import RecordingFile
from ..backends.store import StoredBackend
from ..core.api import extract_deals
from ..core.pipeline import Report
from ..errors import ConfigurationError, ExtractionError
from ..redaction import scrub
from ..settings import Settings
from .batch import plan
from .batch_apis import AnthropicBatches, BatchAPI, OnStatus, OpenAIBatches
from .documents import BatchSummary, Prices, Say, failure, price_for
from .files import Item, append, exclusive, read_document

BATCH_PRICE = 0.5
"""The batch API's price as a share of the live one (both providers')."""


class _Pending(ExtractionError):
    """A request whose answer is not in yet: its document waits for the batch."""


class _InputFiles:
    """A round's batch input files, one request per line, split at the API's limits."""

    def __init__(self, state: Path, round_: int, api: BatchAPI) -> None:
        self.state, self.round, self.api = state, round_, api
        self.paths: list[Path] = []
        self.keys: set[str] = set()
        self._file: Any = None
        self._lines = self._bytes = 0

    def add(self, key: str, body: dict[str, Any]) -> None:
        if key in self.keys:
            return
        line = self.api.line(key, body)
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
        full = self._lines >= self.api.max_requests
        if self._file is None or full or self._bytes + len(data) > self.api.max_bytes:
            self._next()
        self._file.write(data)
        self._lines, self._bytes = self._lines + 1, self._bytes + len(data)
        self.keys.add(key)

    def _next(self) -> None:
        self.close()
        path = self.state / f"requests-{self.round}-{len(self.paths)}.jsonl"
        self.paths.append(path)
        self._file, self._lines, self._bytes = path.open("wb"), 0, 0

    def close(self) -> list[Path]:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
        return self.paths


class _Collector:
    """The backend behind a round's answers: it files each request, answering none."""

    def __init__(self, live: InstructorBackend, key: Callable[[ChatRequest], str]) -> None:
        self.live, self.key, self.model = live, key, live.model
        self.asked = 0
        self.files: _InputFiles | None = None

    def complete(self, request: ChatRequest) -> Completion:
        assert self.files is not None
        self.files.add(self.key(request), self.live.batch_body(request))
        self.asked += 1
        raise _Pending("the answer is pending in a provider batch", attempts=[])

    async def acomplete(self, request: ChatRequest) -> Completion:
        return self.complete(request)


class _Round:
    """One pass over the waiting documents: each finishes and is written, or waits."""

    def __init__(self, settings: Settings, fd: int, args: dict[str, Any], price: dict[str, float]):
        self.settings, self.fd, self.args, self.price = settings, fd, args, price
        self.summary = BatchSummary()

    def run(
        self, source: Path, todo: list[Item], backend: StoredBackend, collector: _Collector
    ) -> list[Item]:
        waiting: list[Item] = []
        lines: list[str] = []
        with source.open("rb") as f:
            for item in todo:
                asked = collector.asked
                record, report = self._one(f, item, backend)
                if collector.asked > asked:
                    waiting.append(item)
                    continue
                self.summary.ok += record["status"] == "ok"
                self.summary.errors += record["status"] != "ok"
                if report.calls:
                    record["usage"] = self.summary.add(report.calls[-1], self.price)
                lines.append(json.dumps(record, ensure_ascii=False) + "\n")
                if len(lines) >= 256:
                    self._write(lines)
        self._write(lines)
        return waiting

    def _one(self, f: Any, item: Item, backend: StoredBackend) -> tuple[dict[str, Any], Report]:
        report = Report()
        record: dict[str, Any] = {self.args["id_field"]: item.ident}
        try:
            text, day = read_document(f, item, self.args["text_field"])
            result = extract_deals(
                text, settings=self.settings, backend=backend, report=report, published=day
            )
            record.update(status="ok", result=result.model_dump(mode="json"))
        except _Pending:
            pass
        except Exception as exc:
            record.update(failure(exc, self.settings))
        return record, report

    def _write(self, lines: list[str]) -> None:
        if lines:
            append(self.fd, "".join(lines).encode("utf-8"))
            lines.clear()


def run_provider_batch(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    id_field: str = "id",
    text_field: str = "text",
    settings: Settings | None = None,
    reask: Literal["batch", "live"] = "batch",
    max_rounds: int = 4,
    poll_seconds: float = 60.0,
    state_dir: str | os.PathLike[str] | None = None,
    prices: Prices | None = None,
    on_status: OnStatus | None = None,
    log: Callable[[str], None] | None = None,
) -> BatchSummary:
    """:func:`~llm_extract.scale.batch.run_batch` through the provider's batch API
    (module doc): OpenAI's Batch API, or Anthropic's Message Batches for an
    ``anthropic/…`` model.

    At most ``max_rounds`` batches are submitted in turn (the first one, then
    re-asks); documents still waiting after them stay unwritten, for the next
    run (``summary.stopped == "rounds"``). ``on_status`` gets a
    :class:`~llm_extract.scale.batch_apis.BatchStatus` per batch at every poll.
    Raises :class:`ConfigurationError` for a model with no batch API here (the
    embedded one, or one neither OpenAI-compatible nor Anthropic's).
    """
    source, out = Path(input_path), Path(output_path)
    resolved, live = _checked(settings, reask, max_rounds, poll_seconds)
    state = Path(state_dir) if state_dir else out.with_name(out.name + ".provider-batch")
    args = {"id_field": id_field, "text_field": text_field, "retry_failed": False}
    out.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(out):
        planned = plan(source, out, args, log)
        summary, say, todo = planned.summary, planned.say, planned.todo
        state.mkdir(parents=True, exist_ok=True)
        jobs = _batch_api(resolved, state, lambda m: say(scrub(m, resolved.secret)))
        price = price_for(live.model, False, prices) or {"prompt_per_1k": 0, "completion_per_1k": 0}
        rounds = _Rounds(resolved, live, jobs, RecordingFile(state / "answers.jsonl", mend=True))
        started = time.monotonic()
        fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            one = _Round(resolved, fd, args, {k: v * BATCH_PRICE for k, v in price.items()})
            one.summary = summary
            left = rounds.run(source, todo, one, reask, max_rounds, poll_seconds, on_status)
        finally:
            os.close(fd)
        if left:
            summary.stopped = "rounds"
            say(f"{len(left)} document(s) still wait for answers after {max_rounds} round(s); "
                "run again to go on")  # fmt: skip
    summary.seconds = time.monotonic() - started
    return summary


def _batch_api(settings: Settings, state: Path, say: Say) -> BatchAPI:
    """The batch endpoints of the model's provider, with the SDK's own retries."""
    timeout, retries = settings.timeout, settings.transport_retries
    if route(settings).provider == "anthropic":
        import anthropic

        client: Any = anthropic.Anthropic(
            api_key=settings.secret, base_url=settings.base_url, timeout=timeout,
            max_retries=retries,
        )  # fmt: skip
        return AnthropicBatches(state, client, say)
    client = openai.OpenAI(
        base_url=settings.base_url, api_key=settings.secret, timeout=timeout, max_retries=retries
    )
    return OpenAIBatches(state, client, say)


def _checked(
    settings: Settings | None, reask: str, max_rounds: int, poll_seconds: float
) -> tuple[Settings, InstructorBackend]:
    """The run's settings and live backend, or :class:`ConfigurationError` before any upload."""
    resolved = settings or Settings.resolve()
    if resolved.embedded:
        raise ConfigurationError("the embedded model has no batch API: use run_batch")
    if reask not in ("batch", "live") or max_rounds < 1 or not poll_seconds >= 0:
        raise ConfigurationError("need reask 'batch' or 'live', max_rounds >= 1, poll_seconds >= 0")
    live = InstructorBackend(resolved)
    live.check_batchable()
    return resolved, live


class _Rounds:
    """The rounds of one run: resume the saved job, then pass, submit, wait, collect."""

    def __init__(
        self, settings: Settings, live: InstructorBackend, jobs: BatchAPI, store: RecordingFile
    ):
        self.live, self.jobs, self.store = live, jobs, store
        self.collector = _Collector(live, lambda r: self.answers.key(r))
        self.answers = StoredBackend(self.collector, store, model=live.model)
        self.live_answers = StoredBackend(live, store, model=live.model)
        self.came_back = 0

    def run(
        self, source: Path, todo: list[Item], one: _Round, reask: str, max_rounds: int,
        poll_seconds: float, on_status: OnStatus | None,
    ) -> list[Item]:  # fmt: skip
        job = self.jobs.load()
        if job["batches"] and not job.get("collected"):
            self._finish(self.jobs.ensure(job), poll_seconds, on_status)
        first = int(job["round"]) + 1
        for round_ in range(first, first + max_rounds + 1):
            self.collector.files = _InputFiles(self.jobs.path.parent, round_, self.jobs)
            backend = self.live_answers if reask == "live" and self.came_back else self.answers
            todo = one.run(source, todo, backend, self.collector)
            paths = self.collector.files.close()
            if not todo or round_ == first + max_rounds:
                break
            self._finish(self.jobs.submit(round_, paths), poll_seconds, on_status)
        return todo

    def _finish(self, job: dict[str, Any], poll_seconds: float, on_status: OnStatus | None) -> None:
        self.jobs.wait(job, poll_seconds, on_status)
        self.jobs.collect(job, self.store, self.live.model)
        self.came_back += 1
