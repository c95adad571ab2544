"""run_provider_batch with an ``anthropic/…`` model, against the fake Message Batches API.

The fake (tests/fake_message_batches.py) is a fixture; the articles are our
own (tests/core/pipeline_helpers.ARTICLE with a closing line per id).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from llm_extract import BatchStatus, ProviderBatchError, Settings, run_provider_batch
from tests.core.pipeline_helpers import GOOD, INVALID
from tests.fake_message_batches import FakeMessageBatches, message
from tests.fake_server import FakeServer, answer_by_schema
from tests.scale.test_provider_batch import kill_while_polling, records, write_input

KEY = "sk-ant-fake-batch"
MODEL = "anthropic/claude-fake"


def answer_with(bad: set[int] | None = None, failing: set[int] | None = None) -> Any:
    """Good answers; an invalid one for the first ask of the notes in ``bad``; an
    errored request for the first ask of the notes in ``failing``."""
    asked: dict[int, int] = {}

    def answer(params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        users = [m["content"] for m in params["messages"] if m["role"] == "user"]
        text = [u if isinstance(u, str) else json.dumps(u) for u in users]
        note = next((i for i in range(100) if any(f"note {i}." in u for u in text)), -1)
        first = f"note {note}." in text[-1]
        asked[note] = asked.get(note, 0) + 1
        if failing and note in failing and asked[note] == 1:
            return 529, {}
        value = INVALID if bad and note in bad and first else GOOD
        return 200, message(value, params["tools"][0]["name"], asked[note], "claude-fake")

    return answer


@contextmanager
def serving(answer: Any) -> Iterator[tuple[FakeMessageBatches, FakeServer]]:
    api = FakeMessageBatches(answer, key=KEY)
    with FakeServer([answer_by_schema({"ArticleDeals": GOOD})], batch=api) as srv:
        yield api, srv


def settings(srv: FakeServer) -> Settings:
    return Settings(base_url=srv.root_url, api_key=KEY, model=MODEL, transport_retries=0)


def live(srv: FakeServer) -> int:
    return sum(r.path == "/v1/messages" for r in srv.requests)


def test_a_message_batch_is_submitted_polled_and_its_answers_grounded(tmp_path: Path) -> None:
    seen: list[BatchStatus] = []
    with serving(answer_with()) as (api, srv):
        summary = run_provider_batch(write_input(tmp_path / "in.jsonl", 3), tmp_path / "out.jsonl",
                                     settings=settings(srv), poll_seconds=0,
                                     on_status=seen.extend)  # fmt: skip
    assert (summary.total, summary.ok, summary.errors, summary.stopped) == (3, 3, 0, None)
    assert api.counts["batches"] == 1 and api.counts["lines"] == 3 and live(srv) == 0
    assert [(s.status, s.done, s.total) for s in seen] == [("in_progress", 0, 3), ("ended", 3, 3)]
    out = records(tmp_path / "out.jsonl")
    assert sorted(r["id"] for r in out) == [0, 1, 2]
    deal = out[0]["result"]["deals"][0]
    roles = {p["name"]: p["role"] for p in deal["parties"]}
    assert roles == {"Norvane Robotics": "acquirer", "Lakeshore Sensors Ltd": "target"}
    assert out[0]["usage"]["prompt_tokens"] == 11 and out[0]["usage"]["completion_tokens"] == 7


def test_each_request_is_the_messages_body_a_live_call_sends(tmp_path: Path) -> None:
    with serving(answer_with()) as (api, srv):
        run_provider_batch(write_input(tmp_path / "in.jsonl", 1), tmp_path / "out.jsonl",
                           settings=settings(srv), poll_seconds=0)  # fmt: skip
    [request] = api.batches["msgbatch_1"]["requests"]
    line = json.loads((tmp_path / "out.jsonl.provider-batch" / "requests-1-0.jsonl").read_text())
    assert line == request and len(request["custom_id"]) == 64
    params = request["params"]
    assert params["model"] == "claude-fake" and params["temperature"] == 0.0
    assert params["tool_choice"]["type"] == "tool" and params["tools"][0]["name"] == "ArticleDeals"
    assert isinstance(params["system"], list) and "seed" not in params


def test_a_bad_answer_is_re_asked_in_a_second_batch_or_live(tmp_path: Path) -> None:
    with serving(answer_with(bad={1})) as (api, srv):
        summary = run_provider_batch(write_input(tmp_path / "in.jsonl", 3), tmp_path / "a.jsonl",
                                     settings=settings(srv), poll_seconds=0)  # fmt: skip
    assert summary.ok == 3 and api.counts["batches"] == 2 and api.counts["lines"] == 4
    with serving(answer_with(bad={0, 2})) as (api, srv):
        summary = run_provider_batch(write_input(tmp_path / "in.jsonl", 3), tmp_path / "b.jsonl",
                                     settings=settings(srv), poll_seconds=0,
                                     reask="live")  # fmt: skip
    assert summary.ok == 3 and api.counts["batches"] == 1 and live(srv) == 2


def test_errored_and_expired_requests_go_again_in_the_next_round(tmp_path: Path) -> None:
    with serving(answer_with(failing={0})) as (api, srv):
        api.expire_after = 3
        summary = run_provider_batch(write_input(tmp_path / "in.jsonl", 4), tmp_path / "out.jsonl",
                                     settings=settings(srv), poll_seconds=0)  # fmt: skip
        second = api.batches["msgbatch_2"]["requests"]
    assert summary.ok == 4 and api.counts["batches"] == 2 and len(second) == 2
    assert any("2 request(s) failed" in p for p in summary.problems)
    assert sorted(r["id"] for r in records(tmp_path / "out.jsonl")) == [0, 1, 2, 3]


def test_a_lost_create_answer_adopts_the_batch_instead_of_paying_twice(tmp_path: Path) -> None:
    with serving(answer_with()) as (api, srv):
        api.lose_create_answer = True
        summary = run_provider_batch(write_input(tmp_path / "in.jsonl", 2), tmp_path / "out.jsonl",
                                     settings=settings(srv), poll_seconds=0)  # fmt: skip
    assert summary.ok == 2 and api.counts["batches"] == 1


def test_a_create_that_made_nothing_is_a_typed_error(tmp_path: Path) -> None:
    with serving(answer_with()) as (api, srv):
        api.key = "another key"  # every call is refused, the create among them
        with pytest.raises(ProviderBatchError, match="creating the batch"):
            run_provider_batch(write_input(tmp_path / "in.jsonl", 1), tmp_path / "out.jsonl",
                               settings=settings(srv), poll_seconds=0)  # fmt: skip
    assert api.counts["batches"] == 0


def _cli(srv: FakeServer, source: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "llm_extract", "batch", str(source), "-o", str(out),
            "--provider-batch", "--poll-seconds", "0.05", "--base-url", srv.root_url,
            "--model", MODEL]  # fmt: skip


@pytest.mark.parametrize("saved", [True, False], ids=["polling", "before-the-id-was-saved"])
def test_a_killed_command_resumes_its_message_batch(tmp_path: Path, saved: bool) -> None:
    """Killed while polling; or, with the saved batch id taken out of job.json,
    as if killed between the create call and its save: either way one batch."""
    source, out = write_input(tmp_path / "in.jsonl", 4), tmp_path / "out.jsonl"
    job = tmp_path / "out.jsonl.provider-batch" / "job.json"
    env = {**os.environ, "LLM_EXTRACT_API_KEY": KEY}
    with serving(answer_with()) as (api, srv):
        kill_while_polling(_cli(srv, source, out), env, api)
        state = json.loads(job.read_text())
        assert state["batches"][0]["batch_id"] == "msgbatch_1"
        if not saved:
            del state["batches"][0]["batch_id"]
            job.write_text(json.dumps(state))
        api.hold.clear()
        done = subprocess.run(_cli(srv, source, out), env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert api.counts["batches"] == 1 and api.counts["lines"] == 4
    assert sorted(r["id"] for r in records(out)) == [0, 1, 2, 3]
    assert "msgbatch_1: ended 4/4 done" in done.stderr and KEY not in done.stderr
    for path in [*job.parent.iterdir(), out]:
        assert KEY not in path.read_text(), path
