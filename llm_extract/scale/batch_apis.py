"""The providers' batch endpoints, behind one small interface for :mod:`.provider_batch`.

Two are here: OpenAI's Batch API (an uploaded JSONL file per batch, polled
until ``completed``, its answers in an output and an error file) and
Anthropic's Message Batches (the requests in the create call, polled until
``ended``, the answers streamed from the batch's results). Each class keeps
the round's batches in ``job.json`` (:class:`BatchAPI`), so a stopped command
resumes polling instead of paying twice, and turns every answer into our
:class:`~llm_extract.backends.base.Completion`, read as a live answer is read.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai

from ..backends.base import Completion
from ..backends.recordings import RecordingFile
from ..backends.transport import answer_of_body, answer_of_message
from ..errors import ProviderBatchError
from .documents import Say


@dataclass(frozen=True)
class BatchStatus:
    """One batch at one poll, whichever provider runs it: what progress shows."""

    id: str
    status: str
    done: int
    failed: int
    total: int


OnStatus = Callable[[list[BatchStatus]], None]


class BatchAPI:
    """A provider's batches for one run's state directory (``job.json`` in it).

    Subclasses say how a request line looks in the round's input file
    (:meth:`line`, within :attr:`max_requests` and :attr:`max_bytes`), and
    create, poll and collect batches."""

    max_requests = 50_000
    max_bytes = 190_000_000
    ended: frozenset[str] = frozenset()
    """The statuses a batch no longer leaves."""

    def __init__(self, state: Path, client: Any, say: Say) -> None:
        self.path, self.client, self.say = state / "job.json", client, say

    def line(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

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
        """Create one batch per input file, saving each step before the next."""
        job: dict[str, Any] = {"round": round_, "batches": [{"file": p.name} for p in paths]}
        self.save(job)
        return self.ensure(job)

    def ensure(self, job: dict[str, Any]) -> dict[str, Any]:
        """Every batch of ``job`` created exactly once, adopting one a stopped run made."""
        raise NotImplementedError

    def statuses(self, job: dict[str, Any]) -> list[BatchStatus]:
        raise NotImplementedError

    def wait(self, job: dict[str, Any], poll_seconds: float, on_status: OnStatus | None) -> None:
        """Poll the job's batches until each has ended."""
        while True:
            now = self.statuses(job)
            if on_status is not None:
                on_status(now)
            if all(s.status in self.ended for s in now):
                return
            time.sleep(poll_seconds)

    def collect(self, job: dict[str, Any], store: RecordingFile, model: str) -> int:
        """Keep every answer of the ended batches; a failed request is asked next round."""
        kept, failed = 0, [0]
        for entry in job["batches"]:
            for chunk in _chunks(self.answers(entry["batch_id"], model, failed), 1000):
                kept += store.keep_all(chunk)
        if failed[0]:
            self.say(f"{failed[0]} request(s) failed in the batch; they are asked again next round")
        job["collected"] = True
        self.save(job)
        return kept

    def answers(
        self, batch_id: str, model: str, failed: list[int]
    ) -> Iterator[tuple[str, Completion, None]]:
        """The batch's answers by request hash, streamed; failures counted in ``failed``."""
        raise NotImplementedError

    def _file(self, entry: dict[str, Any]) -> Path:
        return self.path.parent / str(entry["file"])


class OpenAIBatches(BatchAPI):
    """OpenAI's Batch API: upload the file, create the batch, poll, download."""

    ENDPOINT = "/v1/chat/completions"
    ended = frozenset({"completed", "failed", "expired", "cancelled"})

    def line(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"custom_id": key, "method": "POST", "url": self.ENDPOINT, "body": body}

    def ensure(self, job: dict[str, Any]) -> dict[str, Any]:
        """An entry with an uploaded file but no batch id (a run stopped in between)
        adopts the provider's batch for that file."""
        for entry in job["batches"]:
            if entry.get("batch_id"):
                continue
            if not entry.get("input_file_id"):
                with self._file(entry).open("rb") as f:
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
        digest = hashlib.sha256(self._file(entry).read_bytes()).hexdigest()
        try:
            batch = once.batches.create(
                input_file_id=entry["input_file_id"], endpoint=self.ENDPOINT,
                completion_window="24h",
                metadata={"llm_extract_file": entry["file"], "sha256": digest[:32]},
            )  # fmt: skip
        except openai.APIError as exc:
            found = self._find(entry["input_file_id"])
            if found is None:
                why = f"creating the batch for {entry['file']} failed: {exc}"
                raise ProviderBatchError(why) from exc
            return found
        return str(batch.id)

    def statuses(self, job: dict[str, Any]) -> list[BatchStatus]:
        out = []
        for entry in job["batches"]:
            b = self.client.batches.retrieve(entry["batch_id"])
            c = b.request_counts
            done, failed, total = (c.completed, c.failed, c.total) if c else (0, 0, 0)
            out.append(BatchStatus(str(b.id), str(b.status), done, failed, total))
        return out

    def answers(
        self, batch_id: str, model: str, failed: list[int]
    ) -> Iterator[tuple[str, Completion, None]]:
        batch = self.client.batches.retrieve(batch_id)
        if batch.status == "failed" and not batch.output_file_id:
            errors = [e.message for e in (batch.errors.data if batch.errors else []) or []]
            why = "; ".join(map(str, errors)) or "no reason given"
            raise ProviderBatchError(f"batch {batch.id} failed: {why}", batch_id=batch.id)
        if batch.status in ("expired", "cancelled"):
            self.say(f"batch {batch.id} {batch.status}; its unanswered requests go again")
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                yield from self._lines(file_id, model, failed)

    def _lines(
        self, file_id: str, model: str, failed: list[int]
    ) -> Iterator[tuple[str, Completion, None]]:
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


class AnthropicBatches(BatchAPI):
    """Anthropic's Message Batches: the requests go in the create call itself.

    Its batches carry no metadata, so a run stopped between create and save
    finds its batch again by time and size: the newest batch created after
    ``creating_at`` (less a minute of clock skew) with as many requests as the
    file, that no other entry holds. A smaller ``max_bytes`` than Anthropic's
    256 MB keeps one create call's body small in memory."""

    max_requests = 100_000
    max_bytes = 64_000_000
    ended = frozenset({"ended"})

    def line(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"custom_id": key, "params": body}

    def ensure(self, job: dict[str, Any]) -> dict[str, Any]:
        taken = {e["batch_id"] for e in job["batches"] if e.get("batch_id")}
        for entry in job["batches"]:
            if entry.get("batch_id"):
                continue
            requests = [json.loads(line) for line in self._file(entry).open(encoding="utf-8")]
            if entry.get("creating_at"):
                entry["batch_id"] = self._find(entry, len(requests), taken)
            if not entry.get("batch_id"):
                entry["creating_at"] = time.time()
                self.save(job)
                entry["batch_id"] = self._create(entry, requests, taken)
            taken.add(entry["batch_id"])
            self.save(job)
        return job

    def _find(self, entry: dict[str, Any], size: int, taken: set[str]) -> str | None:
        since = float(entry["creating_at"]) - 60
        for batch in self.client.messages.batches.list(limit=100):
            c = batch.request_counts
            total = c.processing + c.succeeded + c.errored + c.canceled + c.expired
            made = batch.created_at.timestamp()
            if made >= since and total == size and batch.id not in taken:
                return str(batch.id)
        return None

    def _create(self, entry: dict[str, Any], requests: list[Any], taken: set[str]) -> str:
        """One create, never retried blindly (as :meth:`OpenAIBatches._create`)."""
        once = self.client.with_options(max_retries=0)
        try:
            return str(once.messages.batches.create(requests=requests).id)
        except Exception as exc:
            try:
                found = self._find(entry, len(requests), taken)
            except Exception:  # the listing fails as the create did: nothing to adopt
                found = None
            if found is None:
                why = f"creating the batch for {entry['file']} failed: {exc}"
                raise ProviderBatchError(why) from exc
            return found

    def statuses(self, job: dict[str, Any]) -> list[BatchStatus]:
        out = []
        for entry in job["batches"]:
            b = self.client.messages.batches.retrieve(entry["batch_id"])
            c = b.request_counts
            failed = c.errored + c.canceled + c.expired
            total = c.processing + c.succeeded + failed
            out.append(BatchStatus(str(b.id), str(b.processing_status), total - c.processing,
                                   failed, total))  # fmt: skip
        return out

    def answers(
        self, batch_id: str, model: str, failed: list[int]
    ) -> Iterator[tuple[str, Completion, None]]:
        for row in self.client.messages.batches.results(batch_id):
            result = row.result
            if result.type != "succeeded":
                failed[0] += 1
                continue
            yield str(row.custom_id), answer_of_message(result.message.model_dump(), model), None


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while chunk := list(itertools.islice(items, size)):
        yield chunk
