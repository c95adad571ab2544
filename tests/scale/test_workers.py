"""Batch runs in worker processes, against the scripted fake server: the same output as
one process, exactly once, a killed worker replaced, a 429 seen by every worker.

The articles and the one scripted answer are ``test_batch``'s (invented text).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from llm_extract.errors import ConfigurationError
from llm_extract.present.cli import app
from llm_extract.scale.batch import run_batch
from llm_extract.scale.documents import BatchSummary
from llm_extract.scale.workers import ClockPause, shares
from llm_extract.settings import Settings
from tests.fake_server import completion, fake_server, hang, rate_limited
from tests.scale.test_batch import ANSWER, articles, records, settings, write_jsonl

_SPAWN = multiprocessing.get_context("spawn")


def workers_alive() -> list[Any]:
    return [p for p in multiprocessing.active_children() if p.name.startswith("llm-extract-")]


def comparable(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Records by id, without the one field that differs between runs (latency)."""
    out = {}
    for r in rows:
        usage = {k: v for k, v in r.get("usage", {}).items() if k != "latency_s"}
        out[r["id"]] = {**r, "usage": usage}
    return out


def test_two_workers_write_what_one_process_writes_each_id_once(tmp_path: Path) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", articles(30))
    seen: set[int] = set()

    def watch(s: BatchSummary) -> None:
        seen.update(p.pid for p in workers_alive())

    with fake_server([hang(0.05, then=completion(ANSWER))]) as srv:
        one = run_batch(inp, tmp_path / "one.jsonl", settings=settings(srv), concurrency=4)
        two = run_batch(
            inp, tmp_path / "two.jsonl", settings=settings(srv), concurrency=4, workers=2,
            on_progress=watch,
        )  # fmt: skip
        again = run_batch(inp, tmp_path / "two.jsonl", settings=settings(srv), workers=2)
        assert len(srv.requests) == 60
    assert (two.total, two.ok, two.errors, two.stopped) == (30, 30, 0, None)
    assert (two.requests, two.tokens) == (one.requests, one.tokens)
    assert len(seen) == 2
    assert (again.total, again.skipped) == (0, 30)
    rows = records(tmp_path / "two.jsonl")
    assert sorted(r["id"] for r in rows) == [a["id"] for a in articles(30)]
    assert comparable(rows) == comparable(records(tmp_path / "one.jsonl"))
    assert workers_alive() == []


def test_a_killed_worker_costs_its_documents_an_error_record_and_is_replaced(
    tmp_path: Path,
) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", articles(30))
    out = tmp_path / "out.jsonl"
    killed: list[int] = []

    def kill_one(s: BatchSummary) -> None:
        if s.ok >= 6 and not killed:
            victim = workers_alive()[0]
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    with fake_server([hang(0.2, then=completion(ANSWER))]) as srv:
        summary = run_batch(
            inp, out, settings=settings(srv), concurrency=6, workers=2, on_progress=kill_one
        )
        rows = records(out)
        lost = [r for r in rows if r["status"] == "error"]
        assert killed and lost
        assert {r["error"]["type"] for r in lost} == {"WorkerError"}
        assert f"exited with code -{int(signal.SIGKILL)}" in lost[0]["error"]["message"]
        assert (summary.ok, summary.errors, summary.stopped) == (30 - len(lost), len(lost), None)
        assert sorted(r["id"] for r in rows) == [a["id"] for a in articles(30)]
        retry = run_batch(inp, out, settings=settings(srv), workers=2, retry_failed=True)
    assert (retry.total, retry.ok) == (len(lost), len(lost))
    rows = records(out)
    assert sorted(r["id"] for r in rows) == [a["id"] for a in articles(30)]
    assert {r["status"] for r in rows} == {"ok"}


def test_workers_that_die_before_a_document_stop_the_run_and_lose_nothing(
    tmp_path: Path,
) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", articles(12))
    out = tmp_path / "out.jsonl"
    hidden = tmp_path / "hidden.jsonl"

    def hide_input(s: BatchSummary) -> None:  # called once before the workers start
        if inp.exists():
            inp.rename(hidden)

    with fake_server([completion(ANSWER)]) as srv:
        summary = run_batch(
            inp, out, settings=settings(srv), concurrency=4, workers=2, on_progress=hide_input
        )
        assert summary.stopped is not None and "exited with code 1" in summary.stopped
        assert (summary.ok, summary.errors) == (0, 4)
        assert len(srv.requests) == 0
        hidden.rename(inp)
        rest = run_batch(inp, out, settings=settings(srv), workers=2, retry_failed=True)
    assert (rest.ok, rest.stopped) == (12, None)
    assert sorted(r["id"] for r in records(out)) == [a["id"] for a in articles(12)]


def test_new_workers_that_keep_dying_at_start_stop_the_run(tmp_path: Path) -> None:
    """The input vanishes mid-run: the worker that has it open goes on, and every new
    one dies opening it. The run stops after three such deaths instead of spawning
    without end, and a re-run with the input back completes."""
    inp = write_jsonl(tmp_path / "in.jsonl", articles(40))
    out = tmp_path / "out.jsonl"
    hidden = tmp_path / "hidden.jsonl"
    started: set[int] = set()

    def break_set_up(s: BatchSummary) -> None:
        started.update(p.pid for p in workers_alive())
        if s.ok >= 6 and inp.exists():
            inp.rename(hidden)
            os.kill(workers_alive()[0].pid, signal.SIGKILL)

    slow = [hang(8.0, then=completion(ANSWER))]  # the survivor is still busy at the end
    with fake_server([hang(0.2, then=completion(ANSWER))] * 12 + slow) as srv:
        summary = run_batch(
            inp, out, settings=settings(srv), concurrency=6, workers=2, on_progress=break_set_up
        )
        assert summary.stopped is not None
        assert "3 new worker processes in a row exited" in summary.stopped
        assert len(started) <= 5
        written = records(out)
        assert summary.total > len(written)
        assert workers_alive() == []
    hidden.rename(inp)
    with fake_server([completion(ANSWER)]) as srv:
        rest = run_batch(inp, out, settings=settings(srv), workers=2, retry_failed=True)
    assert rest.stopped is None
    rows = records(out)
    assert sorted(r["id"] for r in rows) == [a["id"] for a in articles(40)]
    assert {r["status"] for r in rows} == {"ok"}


def test_a_budget_stops_handing_out_documents(tmp_path: Path) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", articles(20))
    out = tmp_path / "out.jsonl"
    with fake_server([hang(0.05, then=completion(ANSWER))]) as srv:
        summary = run_batch(
            inp, out, settings=settings(srv), concurrency=2, workers=2, max_tokens_total=50
        )
    assert summary.stopped == "budget"
    assert 3 <= summary.ok <= 4  # 18 tokens each: the third reaches 50, one more may be in flight
    assert len(records(out)) == summary.ok


def test_a_429_in_one_worker_pauses_the_other(tmp_path: Path) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", articles(24))
    out = tmp_path / "out.jsonl"
    slow = hang(0.5, then=completion(ANSWER))
    # the answers after the 429 take 0.05 s, so a worker not paused sends through the window
    script = [slow, slow, slow, slow, rate_limited(1), hang(0.05, then=completion(ANSWER))]
    with fake_server(script) as srv:
        summary = run_batch(
            inp, out, settings=settings(srv, transport_retries=2), concurrency=4, workers=2
        )
        sent = srv.requests
    assert (summary.ok, summary.errors, summary.rate_limited) == (24, 0, 1)
    gate = sent[4].at
    during = [round(r.at - gate, 2) for r in sent if 0.1 < r.at - gate < 0.9]
    # At most the other three slots' requests already on their way when the 429 came
    # (none on a quiet machine); without a shared pause the other worker sends 5 or more.
    assert len(during) <= 3, during


def test_the_cache_is_shared_by_the_workers(tmp_path: Path) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", articles(10))
    cache = tmp_path / "cache.sqlite3"
    with fake_server([completion(ANSWER)]) as srv:
        first = run_batch(inp, tmp_path / "a.jsonl", settings=settings(srv), cache_path=cache,
                          workers=2)  # fmt: skip
        second = run_batch(inp, tmp_path / "b.jsonl", settings=settings(srv), cache_path=cache,
                           workers=2)  # fmt: skip
        assert len(srv.requests) == 10
    assert (first.cache_hits, second.cache_hits, second.ok, second.tokens) == (0, 10, 10, 0)


def test_a_killed_worker_keeps_the_cache_hits_it_reported(tmp_path: Path) -> None:
    cache = tmp_path / "cache.sqlite3"
    inp = write_jsonl(tmp_path / "in.jsonl", articles(30))
    hits_when_killed: list[int] = []

    def kill_one(s: BatchSummary) -> None:
        if s.ok >= 6 and not hits_when_killed:
            os.kill(workers_alive()[0].pid, signal.SIGKILL)
            hits_when_killed.append(s.cache_hits)

    with fake_server([hang(0.2, then=completion(ANSWER))]) as srv:
        warm = write_jsonl(tmp_path / "warm.jsonl", articles(10))
        run_batch(warm, tmp_path / "warm-out.jsonl", settings=settings(srv), cache_path=cache)
        summary = run_batch(
            inp, tmp_path / "out.jsonl", settings=settings(srv), concurrency=6, workers=2,
            cache_path=cache, on_progress=kill_one,
        )  # fmt: skip
    cached = {a["id"] for a in articles(10)}
    ok = [r for r in records(tmp_path / "out.jsonl") if r["status"] == "ok"]
    assert hits_when_killed[0] >= 1  # reported with each line, not only at the end
    assert sum(r["id"] in cached for r in ok) <= summary.cache_hits <= 10


def _extend(until: Any) -> None:
    ClockPause(until).extend(3600.0)


def test_a_pause_told_in_one_process_is_seen_in_another() -> None:
    import asyncio

    until = _SPAWN.Value("d", 0.0)
    assert asyncio.run(ClockPause(until).left()) == 0.0
    before = time.monotonic()
    child = _SPAWN.Process(target=_extend, args=(until,))
    child.start()
    child.join(60)
    left = asyncio.run(ClockPause(until).left())
    assert 3600.0 - (time.monotonic() - before) <= left <= 3600.0  # on any machine's speed


@given(st.integers(1, 4096), st.integers(1, 64))
def test_shares_split_the_concurrency_evenly_and_never_give_zero(c: int, n: int) -> None:
    parts = shares(c, n)
    assert sum(parts) == c and len(parts) == min(c, n)
    assert min(parts) >= 1 and max(parts) - min(parts) <= 1


def test_set_ups_workers_cannot_run_are_refused_before_anything_starts(tmp_path: Path) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", articles(2))
    out = tmp_path / "out.jsonl"
    remote = Settings(base_url="http://127.0.0.1:9/v1", model="m")

    class Unpicklable:
        model = "m"

    cases: list[tuple[dict[str, Any], str]] = [
        ({"settings": remote, "workers": 0}, "at least 1"),
        ({"settings": remote, "workers": 2, "backend": Unpicklable()}, "backend object"),
        ({"settings": Settings(), "workers": 2}, "model server"),
    ]
    for options, message in cases:
        with pytest.raises(ConfigurationError, match=message):
            run_batch(inp, out, **options)
    assert not out.exists()
    result = CliRunner().invoke(
        app, ["batch", str(inp), "-o", str(out), "--workers", "2", "--provider-batch"]
    )
    assert result.exit_code == 2 and "--workers" in result.stderr


def test_cli_runs_two_workers(tmp_path: Path) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", articles(8))
    out = tmp_path / "out.jsonl"
    with fake_server([completion(ANSWER)]) as srv:
        result = CliRunner().invoke(
            app,
            ["batch", str(inp), "-o", str(out), "--base-url", srv.base_url, "--model", "m",
             "--strategy", "record", "--no-spans", "--no-cache", "--workers", "2"],
        )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "done: 8 ok, 0 errors" in result.stderr
    assert sorted(r["id"] for r in records(out)) == [a["id"] for a in articles(8)]


class _Exited:
    """A worker process that has already exited with ``exitcode``."""

    def __init__(self, exitcode: int) -> None:
        self.exitcode = exitcode

    def join(self) -> None:
        return None

    def is_alive(self) -> bool:
        return False


def test_a_finished_document_counts_for_the_run_after_its_worker_died() -> None:
    """Worker 0 finished documents and was killed; worker 1 is alive with nothing
    finished yet. A replacement dying at start is then one failed start of three,
    not the end of the run: the rule that stops at once is for runs where no
    worker ever finished a document."""
    from multiprocessing.connection import Pipe

    from llm_extract.scale.workers import FAILED_STARTS, Pool, PoolOptions, WorkerJob, _Worker

    job = WorkerJob("in.jsonl", Settings.resolve(env={}), "id", "text", {}, None)
    pool = Pool(job, BatchSummary(), PoolOptions(6, 2, None, None, None, time.monotonic()))
    here, there = Pipe()
    there.send((0, 0, "ok", None, '{"id": "a"}\n', False, 0))
    busy = _Worker(process=None, conn=Pipe()[0], slots=3, number=1)
    first = _Worker(process=_Exited(-9), conn=here, slots=3, number=0)
    first.held[0] = None  # type: ignore[assignment]  # the document it finished
    pool.workers = [first, busy]
    spawned: list[_Worker] = []

    def start(slots: int) -> _Worker:
        spawned.append(
            _Worker(process=_Exited(1), conn=Pipe()[0], slots=slots, number=len(spawned) + 2)
        )
        return spawned[-1]

    pool._start = start  # type: ignore[method-assign]
    lines: list[str] = []
    pool._drain(first, lines)
    for _ in range(FAILED_STARTS):
        assert pool.summary.stopped is None
        pool._lost(pool.workers[-1], lines)
    assert (
        pool.summary.stopped is not None
        and "3 new worker processes in a row" in pool.summary.stopped
    )
    assert len(spawned) == FAILED_STARTS and busy in pool.workers
