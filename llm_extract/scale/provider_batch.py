"""A JSONL file of articles through a provider's batch API (OpenAI Batch), at half price.

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

import hashlib
import itertools
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import openai

from ..backends.base import ChatRequest, Completion
from ..backends.providers import InstructorBackend
from ..backends.recordings import RecordingFile
from ..backends.store import StoredBackend
from ..backends.transport import answer_of_body
from ..core.api import extract_deals
from ..core.pipeline import Report
from ..errors import ConfigurationError, ExtractionError, ProviderBatchError
from ..redaction import scrub
from ..settings import Settings
from .batch import BatchSummary, Prices, Say, failure, plan, price_for
from .files import Item, append, exclusive, read_document

ENDPOINT: Literal["/v1/chat/completions"] = "/v1/chat/completions"
MAX_REQUESTS = 50_000
"""Requests per batch input file (OpenAI's limit)."""
MAX_BYTES = 190_000_000
"""Bytes per batch input file (OpenAI's limit is 200 MB)."""
BATCH_PRICE = 0.5
"""The batch API's price as a share of the live one."""
_ENDED = frozenset({"completed", "failed", "expired", "cancelled"})
OnStatus = Callable[[list[Any]], None]


class _Pending(ExtractionError):
    """A request whose answer is not in yet: its document waits for the batch."""


class _InputFiles:
    """A round's batch input files, one request per line, split at OpenAI's limits."""

    def __init__(self, state: Path, round_: int) -> None:
        self.state, self.round = state, round_
        self.paths: list[Path] = []
        self.keys: set[str] = set()
        self._file: Any = None
        self._lines = self._bytes = 0

    def add(self, key: str, body: dict[str, Any]) -> None:
        if key in self.keys:
            return
        line = {"custom_id": key, "method": "POST", "url": ENDPOINT, "body": body}
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
        if self._file is None or self._lines >= MAX_REQUESTS or self._bytes + len(data) > MAX_BYTES:
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


class _Jobs:
    """The round's batches: on disk in ``job.json`` and at the provider."""

    def __init__(self, state: Path, client: openai.OpenAI, say: Say) -> None:
        self.path, self.client, self.say = state / "job.json", client, say

    def load(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return {"round": 0, "batches": []}

    def save(self, job: dict[str, Any]) -> None:
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(job, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def submit(self, round_: int, paths: list[Path]) -> dict[str, Any]:
        """Upload and create one batch per file, saving each step before the next."""
        job: dict[str, Any] = {"round": round_, "batches": [{"file": p.name} for p in paths]}
        self.save(job)
        return self.ensure(job)

    def ensure(self, job: dict[str, Any]) -> dict[str, Any]:
        """Every batch of ``job`` created once: an entry with an uploaded file but no
        batch id (a run stopped in between) adopts the provider's batch for that file."""
        for entry in job["batches"]:
            if entry.get("batch_id"):
                continue
            if not entry.get("input_file_id"):
                with (self.path.parent / entry["file"]).open("rb") as f:
                    entry["input_file_id"] = self.client.files.create(file=f, purpose="batch").id
                self.save(job)
            else:
                entry["batch_id"] = self._find(entry["input_file_id"])
            if not entry.get("batch_id"):
                entry["batch_id"] = self._create(entry)
            self.save(job)
        return job

    def _find(self, input_file_id: str) -> str | None:
        for batch in self.client.batches.list(limit=100):
            if batch.input_file_id == input_file_id:
                return str(batch.id)
        return None

    def _create(self, entry: dict[str, Any]) -> str:
        """One create, never retried blindly: a retry after a lost answer would pay twice."""
        once = self.client.with_options(max_retries=0)
        digest = hashlib.sha256((self.path.parent / entry["file"]).read_bytes()).hexdigest()
        try:
            batch = once.batches.create(
                input_file_id=entry["input_file_id"], endpoint=ENDPOINT, completion_window="24h",
                metadata={"llm_extract_file": entry["file"], "sha256": digest[:32]},
            )  # fmt: skip
        except openai.APIError as exc:
            found = self._find(entry["input_file_id"])
            if found is None:
                why = f"creating the batch for {entry['file']} failed: {exc}"
                raise ProviderBatchError(why) from exc
            return found
        return str(batch.id)

    def wait(
        self, job: dict[str, Any], poll_seconds: float, on_status: OnStatus | None
    ) -> list[Any]:
        """Poll the job's batches until each has ended; the last status of each."""
        while True:
            batches = [self.client.batches.retrieve(e["batch_id"]) for e in job["batches"]]
            if on_status is not None:
                on_status(batches)
            if all(b.status in _ENDED for b in batches):
                return batches
            time.sleep(poll_seconds)

    def collect(
        self, job: dict[str, Any], batches: list[Any], store: RecordingFile, model: str
    ) -> int:
        """Keep every answer of the ended batches; a failed request is asked next round."""
        kept = failed = 0
        for batch in batches:
            if batch.status == "failed" and not batch.output_file_id:
                errors = [e.message for e in (batch.errors.data if batch.errors else []) or []]
                why = "; ".join(map(str, errors)) or "no reason given"
                raise ProviderBatchError(f"batch {batch.id} failed: {why}", batch_id=batch.id)
            if batch.status in ("expired", "cancelled"):
                self.say(f"batch {batch.id} {batch.status}; its unanswered requests go again")
            for file_id in (batch.output_file_id, batch.error_file_id):
                if file_id:
                    tally = [0]
                    for chunk in _chunks(self._answers(file_id, model, tally), 1000):
                        kept += store.keep_all(chunk)
                    failed += tally[0]
        if failed:
            self.say(f"{failed} request(s) failed in the batch; they are asked again next round")
        job["collected"] = True
        self.save(job)
        return kept

    def _answers(
        self, file_id: str, model: str, failed: list[int]
    ) -> Iterator[tuple[str, Completion, None]]:
        """The answers of a batch output (or error) file, streamed; failures counted."""
        with self.client.files.with_streaming_response.content(file_id) as response:
            for line in response.iter_lines():
                if not line.strip():
                    continue
                row = json.loads(line)
                reply = row.get("response") or {}
                if row.get("error") or reply.get("status_code") != 200:
                    failed[0] += 1
                    continue
                yield str(row["custom_id"]), answer_of_body(reply["body"], model), None


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while chunk := list(itertools.islice(items, size)):
        yield chunk


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
    """:func:`~llm_extract.scale.batch.run_batch` through OpenAI's Batch API (module doc).

    At most ``max_rounds`` batches are submitted in turn (the first one, then
    re-asks); documents still waiting after them stay unwritten, for the next
    run (``summary.stopped == "rounds"``). ``on_status`` gets the provider's
    batch objects at every poll. Raises :class:`ConfigurationError` for a model
    with no batch API here (the embedded one, or not OpenAI-compatible).
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
        client = openai.OpenAI(
            base_url=resolved.base_url, api_key=resolved.secret, timeout=resolved.timeout,
            max_retries=resolved.transport_retries,
        )  # fmt: skip
        jobs = _Jobs(state, client, lambda m: say(scrub(m, resolved.secret)))
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
        self, settings: Settings, live: InstructorBackend, jobs: _Jobs, store: RecordingFile
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
            self.collector.files = _InputFiles(self.jobs.path.parent, round_)
            backend = self.live_answers if reask == "live" and self.came_back else self.answers
            todo = one.run(source, todo, backend, self.collector)
            paths = self.collector.files.close()
            if not todo or round_ == first + max_rounds:
                break
            self._finish(self.jobs.submit(round_, paths), poll_seconds, on_status)
        return todo

    def _finish(self, job: dict[str, Any], poll_seconds: float, on_status: OnStatus | None) -> None:
        batches = self.jobs.wait(job, poll_seconds, on_status)
        self.jobs.collect(job, batches, self.store, self.live.model)
        self.came_back += 1
