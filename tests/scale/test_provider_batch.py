"""Tests for llm_extract.scale.provider_batch against the fake Batch API (a fixture).

The articles are invented (tests/core/pipeline_helpers.ARTICLE with a closing
line per id); the fake answers each request line from the schema it asks for.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from llm_extract import ConfigurationError, ProviderBatchError, Settings, run_provider_batch
from tests.core.pipeline_helpers import ARTICLE, GOOD, INVALID, NO_DEALS
from tests.fake_batch_api import FakeBatchAPI
from tests.fake_server import FakeServer, answer_by_schema
from tests.fake_wire import chat_completion

KEY = "sk-fake-batch"


def article(i: int) -> str:
    return f"{ARTICLE}\nThe companies gave no further detail, note {i}."


def answer_with(bad: set[int] | None = None, failing: set[int] | None = None) -> Any:
    """Good answers; an invalid one for a first ask of the notes in ``bad``; a 500
    for the first ask of the notes in ``failing``."""
    asked: dict[int, int] = {}

    def answer(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        users = [m["content"] for m in body["messages"] if m["role"] == "user"]
        note = next((i for i in range(100) if any(f"note {i}." in u for u in users)), -1)
        first = f"note {note}." in users[-1]  # a re-ask ends on our feedback instead
        asked[note] = asked.get(note, 0) + 1
        if failing and note in failing and asked[note] == 1:
            return 500, {"error": {"message": "server had an error", "type": "server_error"}}
        value = INVALID if bad and note in bad and first else (GOOD if note >= 0 else NO_DEALS)
        return 200, chat_completion(json.dumps(value), n=asked[note], model="gpt-4o-mini-fake")

    return answer


def write_input(path: Path, n: int) -> Path:
    path.write_text("".join(json.dumps({"id": i, "text": article(i)}) + "\n" for i in range(n)))
    return path


@contextmanager
def serving(answer: Any) -> Iterator[tuple[FakeBatchAPI, FakeServer]]:
    """The fake server with the Batch API fake; live requests get the good answer."""
    api = FakeBatchAPI(answer, key=KEY)
    with FakeServer([answer_by_schema({"ArticleDeals": GOOD})], batch=api) as srv:
        yield api, srv


def settings(srv: FakeServer) -> Settings:
    return Settings(base_url=srv.base_url, api_key=KEY, model="gpt-4o-mini", transport_retries=0)


def live(srv: FakeServer) -> int:
    return sum(r.path.endswith("/chat/completions") for r in srv.requests)


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_batch_is_submitted_polled_and_its_answers_validated_and_grounded(tmp_path: Path) -> None:
    statuses: list[str] = []
    with serving(answer_with()) as (api, srv):
        summary = run_provider_batch(
            write_input(tmp_path / "in.jsonl", 3), tmp_path / "out.jsonl", settings=settings(srv),
            poll_seconds=0, on_status=lambda bs: statuses.extend(b.status for b in bs),
        )  # fmt: skip
    assert (summary.total, summary.ok, summary.errors, summary.stopped) == (3, 3, 0, None)
    assert api.counts["batches"] == 1 and api.counts["lines"] == 3 and live(srv) == 0
    assert statuses == ["in_progress", "completed"]
    out = records(tmp_path / "out.jsonl")
    assert sorted(r["id"] for r in out) == [0, 1, 2]
    deal = out[0]["result"]["deals"][0]
    assert deal["deal_type"] == "acquisition"
    roles = {p["name"]: p["role"] for p in deal["parties"]}
    assert roles == {"Norvane Robotics": "acquirer", "Lakeshore Sensors Ltd": "target"}
    assert deal["amount"]["amount"] == 18_000_000 and deal["amount"]["currency"] == "USD"
    assert out[0]["usage"]["requests"] == 1 and out[0]["usage"]["prompt_tokens"] == 11


def test_the_batch_lines_are_the_bodies_a_live_call_sends(tmp_path: Path) -> None:
    with serving(answer_with()) as (_api, srv):
        run_provider_batch(write_input(tmp_path / "in.jsonl", 1), tmp_path / "out.jsonl",
                           settings=settings(srv), poll_seconds=0)  # fmt: skip
    state = tmp_path / "out.jsonl.provider-batch"
    line = json.loads((state / "requests-1-0.jsonl").read_text())
    assert line["method"] == "POST" and line["url"] == "/v1/chat/completions"
    body = line["body"]
    assert body["model"] == "gpt-4o-mini" and body["temperature"] == 0.0 and body["seed"] == 0
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["name"] == "ArticleDeals"
    assert article(0) in body["messages"][-1]["content"]
    assert len(line["custom_id"]) == 64


def test_a_bad_answer_is_re_asked_in_a_follow_up_batch(tmp_path: Path) -> None:
    with serving(answer_with(bad={1})) as (api, srv):
        summary = run_provider_batch(write_input(tmp_path / "in.jsonl", 3), tmp_path / "out.jsonl",
                                     settings=settings(srv), poll_seconds=0)  # fmt: skip
    assert summary.ok == 3 and api.counts["batches"] == 2 and live(srv) == 0
    assert api.counts["lines"] == 4  # three first asks, then the one re-ask
    second = (tmp_path / "out.jsonl.provider-batch" / "requests-2-0.jsonl").read_text()
    assert len(second.splitlines()) == 1 and "note 1." in second
    assert {r["status"] for r in records(tmp_path / "out.jsonl")} == {"ok"}


def test_a_bad_answer_is_re_asked_live_when_asked_to(tmp_path: Path) -> None:
    with serving(answer_with(bad={0, 2})) as (api, srv):
        summary = run_provider_batch(write_input(tmp_path / "in.jsonl", 3), tmp_path / "out.jsonl",
                                     settings=settings(srv), poll_seconds=0,
                                     reask="live")  # fmt: skip
    assert summary.ok == 3 and api.counts["batches"] == 1 and live(srv) == 2


def test_failed_and_unanswered_requests_go_again_in_the_next_round(tmp_path: Path) -> None:
    with serving(answer_with(failing={2})) as (api, srv):
        api.expire_after = 3  # the fourth line is never answered: the batch expires
        summary = run_provider_batch(write_input(tmp_path / "in.jsonl", 4), tmp_path / "out.jsonl",
                                     settings=settings(srv), poll_seconds=0)  # fmt: skip
    assert summary.ok == 4 and api.counts["batches"] == 2
    assert any("expired" in p for p in summary.problems)
    assert any("1 request(s) failed" in p for p in summary.problems)
    assert sorted(r["id"] for r in records(tmp_path / "out.jsonl")) == [0, 1, 2, 3]


def test_documents_still_waiting_after_the_last_round_stay_for_the_next_run(tmp_path: Path) -> None:
    source, out = write_input(tmp_path / "in.jsonl", 2), tmp_path / "out.jsonl"
    with serving(answer_with(bad={1})) as (api, srv):
        first = run_provider_batch(source, out, settings=settings(srv), poll_seconds=0,
                                   max_rounds=1)  # fmt: skip
        assert (first.ok, first.stopped) == (1, "rounds")
        assert [r["id"] for r in records(out)] == [0]
        second = run_provider_batch(source, out, settings=settings(srv), poll_seconds=0)
    assert (second.skipped, second.ok) == (1, 1)
    assert sorted(r["id"] for r in records(out)) == [0, 1]
    assert api.counts["lines"] == 3  # the answers of the first run were not bought again


def test_a_refused_input_file_is_a_typed_error(tmp_path: Path) -> None:
    with serving(answer_with()) as (api, srv):
        api.refuse_input = True
        with pytest.raises(ProviderBatchError, match="line 1 is not valid") as info:
            run_provider_batch(write_input(tmp_path / "in.jsonl", 1), tmp_path / "out.jsonl",
                               settings=settings(srv), poll_seconds=0)  # fmt: skip
    assert info.value.batch_id == "batch_1"


def test_models_without_a_batch_api_here_are_refused(tmp_path: Path) -> None:
    source = write_input(tmp_path / "in.jsonl", 1)
    with pytest.raises(ConfigurationError, match="embedded model has no batch API"):
        run_provider_batch(source, tmp_path / "out.jsonl", settings=Settings())
    other = Settings(model="google/gemini-x", api_key="k")
    with pytest.raises(ConfigurationError, match="neither an OpenAI-compatible nor an Anthropic"):
        run_provider_batch(source, tmp_path / "out.jsonl", settings=other)


def test_the_key_never_reaches_the_state_files(tmp_path: Path) -> None:
    with serving(answer_with(bad={0})) as (_api, srv):
        run_provider_batch(write_input(tmp_path / "in.jsonl", 2), tmp_path / "out.jsonl",
                           settings=settings(srv), poll_seconds=0)  # fmt: skip
    for path in [*(tmp_path / "out.jsonl.provider-batch").iterdir(), tmp_path / "out.jsonl"]:
        assert KEY not in path.read_text(), path


def kill_while_polling(cmd: list[str], env: dict[str, str], api: Any) -> None:
    """Run ``cmd`` with the fake's batches held and kill -9 it after its third poll."""
    api.hold.set()
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while api.counts["polls"] < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert api.counts["polls"] >= 3, "the command never polled its batch"
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _cli(srv: FakeServer, source: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "llm_extract", "batch", str(source), "-o", str(out),
            "--provider-batch", "--poll-seconds", "0.05", "--base-url", srv.base_url,
            "--model", "gpt-4o-mini"]  # fmt: skip


def test_a_killed_command_resumes_polling_its_batch_instead_of_paying_twice(
    tmp_path: Path,
) -> None:
    source, out = write_input(tmp_path / "in.jsonl", 5), tmp_path / "out.jsonl"
    job = tmp_path / "out.jsonl.provider-batch" / "job.json"
    env = {**os.environ, "LLM_EXTRACT_API_KEY": KEY}
    with serving(answer_with()) as (api, srv):
        kill_while_polling(_cli(srv, source, out), env, api)
        assert json.loads(job.read_text())["batches"][0]["batch_id"] == "batch_1"
        api.hold.clear()
        done = subprocess.run(_cli(srv, source, out), env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert api.counts["batches"] == 1 and api.counts["files"] == 1 and api.counts["lines"] == 5
    assert sorted(r["id"] for r in records(out)) == [0, 1, 2, 3, 4]
    assert KEY not in done.stderr
