"""Batch extraction against the scripted fake server: exactly once, resumable, throttled.

Every article is invented; each one reports the same acquisition, so one scripted
DealSlots answer is grounded in all of them whichever worker receives it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from llm_extract.backends.base import ChatRequest, Completion
from llm_extract.backends.throttle import ThrottledBackend
from llm_extract.errors import BackendError
from llm_extract.present.cli import app
from llm_extract.scale.batch import run_batch
from llm_extract.settings import Settings
from tests.fake_server import FakeServer, completion, fake_server, hang, rate_limited, server_error

ROOT = Path(__file__).resolve().parents[2]
ANSWER = json.dumps(
    {
        "buyer": "Acme Holdings",
        "target": "Beta Tools",
        "seller": None,
        "amount": "5 mln dlrs",
        "status": "agreed",
        "business": None,
        "location": None,
        "trigger": "agreed to acquire",
        "deal_type": "acquisition",
    }
)
TOWNS = ["Varrow", "Quillby", "Marsten", "Oldhope", "Tellan", "Brisk Harbour"]


def articles(n: int = 30) -> list[dict[str, Any]]:
    return [
        {
            "id": f"doc-{i:02d}",
            "text": f"Acme Holdings agreed to acquire Beta Tools for 5 mln dlrs. The seller's "
            f"workshop number {i} in {TOWNS[i % len(TOWNS)]} makes brass hinges.",
        }
        for i in range(n)
    ]


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def records(path: Path) -> list[dict[str, Any]]:
    data = path.read_bytes()
    assert data.endswith(b"\n"), "the output must end with a complete line"
    return [json.loads(line) for line in data.splitlines()]


def settings(srv: FakeServer, **changes: Any) -> Settings:
    base = Settings(base_url=srv.base_url, spans=False, strategy="record", model="m")
    return base.with_(**{"transport_retries": 0, "reasks": 0, "timeout": 10.0, **changes})


def test_every_id_exactly_once_and_a_rerun_does_nothing(tmp_path: Path) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", articles())
    out = tmp_path / "out.jsonl"
    seen: list[int] = []
    with fake_server([completion(ANSWER)]) as srv:
        summary = run_batch(
            inp, out, settings=settings(srv), concurrency=8, on_progress=lambda s: seen.append(s.ok)
        )
        rows = records(out)
        assert sorted(r["id"] for r in rows) == [a["id"] for a in articles()]
        assert {r["status"] for r in rows} == {"ok"}
        deal = rows[0]["result"]["deals"][0]
        assert [p["name"] for p in deal["parties"]] == ["Acme Holdings", "Beta Tools"]
        assert rows[0]["usage"]["prompt_tokens"] == 11 and rows[0]["usage"]["requests"] == 1
        assert (summary.ok, summary.errors, summary.skipped, summary.tokens) == (30, 0, 0, 540)
        assert summary.line().startswith(
            "done: 30 ok, 0 errors, 0 skipped, 0 rejected input lines, 540 tokens, $0.0000"
        )
        assert seen[0] == 0 and seen[-1] == 30
        assert len(srv.requests) == 30
        before = out.read_bytes()
        again = run_batch(inp, out, settings=settings(srv))
        assert (again.ok, again.skipped, len(srv.requests)) == (0, 30, 30)
        assert out.read_bytes() == before


def test_failures_are_recorded_and_retry_failed_reruns_only_them(tmp_path: Path) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", articles())
    out = tmp_path / "out.jsonl"
    script = [server_error(500) if i in (2, 12, 22) else completion(ANSWER) for i in range(30)]
    with fake_server(script) as srv:
        first = run_batch(inp, out, settings=settings(srv), concurrency=6)
        rows = records(out)
        failed = {r["id"] for r in rows if r["status"] == "error"}
        assert (first.ok, first.errors, len(failed), len(rows)) == (27, 3, 3, 30)
        error = next(r["error"] for r in rows if r["status"] == "error")
        assert error["type"] == "BackendError" and "500" in error["message"]
        second = run_batch(inp, out, settings=settings(srv), retry_failed=True)
        assert (second.ok, second.errors, second.skipped) == (3, 0, 27)
        assert len(srv.requests) == 33
        numbers = [re.findall(r"workshop number (\d+)", json.dumps(r.body)) for r in srv.requests]
        assert {f"doc-{int(n[0]):02d}" for n in numbers[30:]} == failed
    final = records(out)
    assert sorted(r["id"] for r in final) == [a["id"] for a in articles()]
    assert {r["status"] for r in final} == {"ok"}


def kill_9_after(
    cmd: list[str], env: dict[str, str], out: Path, *, lines: int, log: Path, within: float = 30
) -> None:
    """Start ``cmd`` and SIGKILL it once ``out`` holds ``lines`` lines (``within`` s at most)."""
    with log.open("wb") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.monotonic() + within
            while not out.exists() or out.read_bytes().count(b"\n") < lines:
                assert proc.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, f"no progress within {within} s"
                time.sleep(0.02)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait(timeout=10)


def test_kill_9_mid_run_then_rerun_completes_each_id_once(tmp_path: Path) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", articles())
    out = tmp_path / "out.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLM_EXTRACT_"))}
    env.update(HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "xdg"), PYTHONPATH=str(ROOT))
    with fake_server([hang(0.15, then=completion(ANSWER))]) as srv:
        cmd = [
            sys.executable, "-m", "llm_extract", "batch", str(inp),
            "-o", str(out), "--base-url", srv.base_url, "--model", "m", "--strategy", "record",
            "--no-spans", "--timeout", "10", "--concurrency", "3",
            "--cache", str(tmp_path / "cache.sqlite3"),
        ]  # fmt: skip
        kill_9_after(cmd, env, out, lines=5, log=tmp_path / "err1.txt")
        written = out.read_bytes().count(b"\n")
        assert 5 <= written < 30
        with out.open("ab") as f:  # what a kill during a write would leave
            f.write(b'{"id": "doc-29", "status": "o')
        rerun = subprocess.run(cmd, env=env, capture_output=True, timeout=60)
        assert rerun.returncode == 0, rerun.stderr.decode()
    err_text = rerun.stderr.decode()
    assert "partial last line" in err_text
    assert f"done: {30 - written} ok, 0 errors, {written} skipped" in err_text
    rows = records(out)
    assert sorted(r["id"] for r in rows) == [a["id"] for a in articles()]
    assert {r["status"] for r in rows} == {"ok"}


def test_broken_lines_reported_with_numbers_and_missing_text_is_an_error(tmp_path: Path) -> None:
    good = articles(3)
    lines = [
        json.dumps(good[0]),
        '{"id": "broken", "text": "Acme Holdings agreed',
        json.dumps(good[1]),
        json.dumps({"id": "no-text"}),
        json.dumps({"text": "An article without an id."}),
        "[1, 2, 3]",
        json.dumps(good[0]),
        "",
        json.dumps({"id": 7, "text": 42}),
        json.dumps(good[2]),
    ]
    inp = tmp_path / "in.jsonl"
    inp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    logged: list[str] = []
    with fake_server([completion(ANSWER)]) as srv:
        summary = run_batch(inp, out, settings=settings(srv), log=logged.append)
        assert len(srv.requests) == 3
    logged = [m for m in logged if m.startswith(f"{inp}:")]
    assert [m.split(":")[1] for m in logged] == ["2", "4", "5", "6", "7", "9"]
    assert "broken JSON" in logged[0] and "duplicate" in logged[4]
    by_id = {r["id"]: r for r in records(out)}
    assert set(by_id) == {"doc-00", "doc-01", "doc-02", "no-text", 7}
    assert by_id["no-text"]["error"] == {
        "type": "InputError",
        "message": "line 4: no 'text' string field",
    }
    assert by_id[7]["status"] == "error"
    assert (summary.ok, summary.errors, summary.rejected) == (3, 2, 4)


def test_cli_reports_broken_lines_on_stderr(tmp_path: Path) -> None:
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps(articles(1)[0]) + "\n{not json\n" + '{"id": "t"}\n')
    out = tmp_path / "out.jsonl"
    with fake_server([completion(ANSWER)]) as srv:
        result = CliRunner().invoke(
            app,
            ["batch", str(inp), "-o", str(out), "--base-url", srv.base_url, "--model", "m",
             "--strategy", "record", "--no-spans", "--timeout", "10", "--no-cache"],
        )  # fmt: skip
    assert result.exit_code == 1, result.stderr
    assert f"{inp}:2: broken JSON line" in result.stderr
    assert f"{inp}:3: no 'text' string field" in result.stderr
    assert "done: 1 ok, 1 errors, 0 skipped" in result.stderr.splitlines()[-1]
    assert "Traceback" not in result.stderr


def test_budget_stops_new_documents_and_a_rerun_finishes(tmp_path: Path) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", articles(10))
    out = tmp_path / "out.jsonl"
    prices = {"m": {"prompt_per_1k": 1.0, "completion_per_1k": 1.0}}
    with fake_server([completion(ANSWER)]) as srv:
        tokens = run_batch(inp, out, settings=settings(srv), concurrency=1, max_tokens_total=50)
        assert (tokens.ok, tokens.stopped, len(srv.requests)) == (3, "budget", 3)
        assert tokens.line().endswith("stopped: budget")
        cost = run_batch(
            inp, out, settings=settings(srv), concurrency=1, max_cost=0.05, prices=prices
        )
        assert (cost.ok, cost.skipped, cost.stopped) == (3, 3, "budget")
        assert cost.cost == pytest.approx(0.054)
        rest = run_batch(inp, out, settings=settings(srv), concurrency=4)
        assert (rest.ok, rest.skipped, rest.stopped) == (4, 6, None)
        result = CliRunner().invoke(
            app,
            ["batch", str(inp), "-o", str(tmp_path / "b.jsonl"), "--base-url", srv.base_url,
             "--model", "m", "--strategy", "record", "--no-spans", "--timeout", "10", "--no-cache",
             "--max-tokens-total", "1", "--concurrency", "1"],
        )  # fmt: skip
        assert result.exit_code == 1
        assert result.stderr.strip().splitlines()[-1].endswith("stopped: budget")
    assert sorted(r["id"] for r in records(out)) == [a["id"] for a in articles(10)]


def test_429_with_retry_after_pauses_every_worker(tmp_path: Path) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", articles(10))
    out = tmp_path / "out.jsonl"
    slow = hang(0.3, then=completion(ANSWER))
    with fake_server([rate_limited(1), slow, slow, slow, completion(ANSWER)]) as srv:
        summary = run_batch(inp, out, settings=settings(srv, transport_retries=2), concurrency=4)
        sent = srv.requests
    assert (summary.ok, summary.errors, summary.rate_limited) == (10, 0, 1)
    assert len(sent) == 11
    gate = sent[0].at
    gaps = [r.at - gate for r in sent[4:]]
    assert min(gaps) >= 0.8, gaps  # the three in flight finished at ~0.3 s, then waited too
    retried = [r for r in records(out) if r["usage"]["requests"] == 2]
    assert len(retried) == 1


class _Flaky:
    """A backend that fails with the given statuses, then answers."""

    model = "stub"

    def __init__(self, statuses: list[int | None]) -> None:
        self.statuses = statuses
        self.calls = 0

    def complete(self, request: ChatRequest) -> Completion:
        self.calls += 1
        if self.statuses:
            status = self.statuses.pop(0)
            transient = status is None or status == 429 or status >= 500
            raise BackendError("stub failure", status=status, attempts=1, transient=transient)
        return Completion("{}", "stop", None, 1, 1, "stub")

    async def acomplete(self, request: ChatRequest) -> Completion:
        return self.complete(request)


def test_throttled_backend_retries_transient_errors_within_budget() -> None:
    request = ChatRequest([{"role": "user", "content": "x"}], {}, "X", 10, 0.0, 0)
    quick = Settings(base_url="http://127.0.0.1:9/v1", transport_retries=2, backoff_base=0.01)
    throttled = ThrottledBackend(_Flaky([429, 503]), quick)
    assert throttled.complete(request).requests == 3
    assert throttled.rate_limited == 1 and throttled.not_before > 0
    with pytest.raises(BackendError, match=r"3 tries") as caught:
        ThrottledBackend(_Flaky([500, 500, 500]), quick).complete(request)
    assert caught.value.attempts == 3
    not_transient = _Flaky([400])
    with pytest.raises(BackendError, match="stub failure"):
        ThrottledBackend(not_transient, quick).complete(request)
    assert not_transient.calls == 1
