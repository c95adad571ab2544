"""Ray Data runs with batch's guarantees, on a 2-CPU local Ray against the fake server.

The actors are other processes; they reach the fake server (in this process)
by URL. Faults are injected by the server's script (500s, 429s, dropped and
reset connections) and by SIGKILL: of an extraction actor mid-run here, and
of the whole driver in ``test_driver_killed_mid_run``. Every article is
invented and reports one acquisition, so the one scripted answer is grounded
in each of them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")

from llm_extract.errors import InputError  # noqa: E402
from llm_extract.scale.distributed import run_dataset  # noqa: E402
from tests.fake_server import (  # noqa: E402
    FakeServer,
    completion,
    drop,
    fake_server,
    hang,
    rate_limited,
    reset,
    server_error,
)
from tests.scale.test_batch import (  # noqa: E402
    ANSWER,
    ROOT,
    articles,
    kill_9_after,
    records,
    write_jsonl,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*"),
    pytest.mark.usefixtures("local_ray"),
]
OPTIONS = {"api_key": "x", "spans": False, "strategy": "record", "model": "m",
           "transport_retries": 3, "reasks": 0, "timeout": 10.0, "backoff_base": 0.01}  # fmt: skip
TOKENS = 11 + 7  # what the fake server's completion reports per request


def run(srv: FakeServer, out: Path, docs: list[dict[str, Any]], **kwargs: Any) -> Any:
    options = {"batch_size": 16, "per_actor_concurrency": 4, **OPTIONS, **kwargs}
    return run_dataset(ray.data.from_items(docs), out, base_url=srv.base_url, **options)


def ids_once(out: Path) -> list[str]:
    """The output's ids, sorted, after checking that none is written twice."""
    ids = [r["id"] for r in records(out)]
    assert len(ids) == len(set(ids)), "an id was written twice"
    return sorted(ids)


def actor_pids(name: str = "RunWorker") -> list[int]:
    """The processes whose command line (Ray's process title) names ``name``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if name.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def kill_the_actors_when(srv: FakeServer, arrived: int, killed: list[int]) -> None:
    """SIGKILL every extraction actor once request ``arrived`` is at the server."""
    deadline = time.monotonic() + 120
    while len(srv.requests) < arrived and time.monotonic() < deadline:
        time.sleep(0.005)
    for pid in actor_pids():
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)


def test_faults_and_a_killed_actor_still_write_every_id_once(tmp_path: Path) -> None:
    docs, out = articles(300), tmp_path / "out.jsonl"
    faults = {10: server_error(500), 25: rate_limited(0.2), 40: drop(), 60: reset(),
              80: server_error(503), 150: rate_limited(0.1)}  # fmt: skip
    held = hang(1.5, then=completion(ANSWER))  # its sender dies while the server holds it
    script = [held if i == 100 else faults.get(i, completion(ANSWER)) for i in range(200)]
    killed: list[int] = []
    with fake_server(script) as srv:
        killer = threading.Thread(target=kill_the_actors_when, args=(srv, 101, killed))
        killer.start()
        summary = run(srv, out, docs)
        killer.join()
        sent = len(srv.requests)
    assert len(killed) == 2, "both extraction actors were killed"
    assert ids_once(out) == sorted(d["id"] for d in docs)
    assert {r["status"] for r in records(out)} == {"ok"}
    assert (summary.ok, summary.errors, summary.total) == (300, 0, 300)
    assert sent > 300 + len(faults), "the killed actors' batches were sent again"
    assert summary.requests >= 300 and summary.tokens == 300 * TOKENS


def test_a_429_pauses_every_actor_not_only_the_one_that_got_it(tmp_path: Path) -> None:
    slow = hang(0.05, then=completion(ANSWER))  # both actors busy when the 429 comes
    with fake_server([slow] * 30 + [rate_limited(1.0), slow]) as srv:
        summary = run(srv, tmp_path / "out.jsonl", articles(120), batch_size=8,
                      per_actor_concurrency=2)  # fmt: skip
        sent = srv.requests
    assert (summary.ok, summary.rate_limited) == (120, 1)
    limited = sent[30].at
    after = [r.at - limited for r in sent[31:]]
    slipped = [g for g in after if g < 0.15]  # sent before the other actor heard of it
    assert len(slipped) <= 4, slipped
    assert not [g for g in after if 0.15 <= g < 0.9], after


def test_an_unchanged_rerun_makes_no_call_and_the_cache_serves_a_fresh_output(
    tmp_path: Path,
) -> None:
    docs, out, cache = articles(40), tmp_path / "out.jsonl", tmp_path / "cache.sqlite3"
    with fake_server([completion(ANSWER)]) as srv:
        first = run(srv, out, docs, cache_path=cache)
        assert (first.ok, len(srv.take_requests())) == (40, 40)
        again = run(srv, out, docs, cache_path=cache)
        assert (again.ok, again.skipped, again.total, len(srv.take_requests())) == (0, 40, 0, 0)
        fresh = run(srv, tmp_path / "fresh.jsonl", docs, cache_path=cache)
        assert (fresh.ok, fresh.cache_hits, len(srv.take_requests())) == (40, 40, 0)
    assert ids_once(out) == ids_once(tmp_path / "fresh.jsonl")


def test_a_token_budget_stops_within_one_batch_and_a_rerun_finishes(tmp_path: Path) -> None:
    docs, out, cap = articles(80), tmp_path / "out.jsonl", 200
    with fake_server([completion(ANSWER)]) as srv:
        first = run(srv, out, docs, batch_size=8, per_actor_concurrency=2, max_tokens_total=cap)
        assert first.stopped == "budget"
        assert cap <= first.tokens < cap + 8 * TOKENS, first.tokens
        assert len(records(out)) == first.ok == len(srv.take_requests())
        rest = run(srv, out, docs)
        assert (rest.ok, rest.skipped, rest.stopped) == (80 - first.ok, first.ok, None)
    assert ids_once(out) == sorted(d["id"] for d in docs)


def test_failures_are_records_and_retry_failed_leaves_one_per_id(tmp_path: Path) -> None:
    docs, out = articles(20), tmp_path / "out.jsonl"
    script = [server_error(500)] * 3 + [completion(ANSWER)]
    with fake_server(script) as srv:
        first = run(srv, out, docs, transport_retries=0)
        assert (first.ok, first.errors) == (17, 3)
        errors = [r for r in records(out) if r["status"] == "error"]
        assert {r["error"]["type"] for r in errors} == {"BackendError"}
        again = run(srv, out, docs, retry_failed=True)
        assert (again.ok, again.skipped) == (3, 17)
    assert ids_once(out) == sorted(d["id"] for d in docs)
    assert {r["status"] for r in records(out)} == {"ok"}


def test_bad_rows_are_reported_and_a_dataset_without_columns_is_refused(tmp_path: Path) -> None:
    good = articles(3)
    docs = [*good, {"id": None, "text": "x"}, {"id": "doc-00", "text": good[0]["text"]},
            {"id": "no-text", "text": None}]  # fmt: skip
    out = tmp_path / "out.jsonl"
    said: list[str] = []
    with fake_server([completion(ANSWER)]) as srv:
        summary = run(srv, out, docs, log=said.append)
        with pytest.raises(InputError, match="'text'"):
            run_dataset(ray.data.from_items([{"id": "a", "body": "b"}]), out, **OPTIONS)
    assert (summary.ok, summary.errors, summary.rejected) == (3, 1, 1)
    assert any("came back twice" in line for line in said)
    by_id = {r["id"]: r for r in records(out)}
    assert set(by_id) == {"doc-00", "doc-01", "doc-02", "no-text"}
    assert "string field" in by_id["no-text"]["error"]["message"]


def test_driver_killed_mid_run_restarts_and_writes_2000_ids_once(tmp_path: Path) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", articles(2000))
    out, cache = tmp_path / "out.jsonl", tmp_path / "cache.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLM_EXTRACT_"))}
    env.update(PYTHONPATH=str(ROOT), RAY_ADDRESS="")
    with fake_server([completion(ANSWER)], keep=10) as srv:
        cmd = [sys.executable, "-m", "tests.scale.ray_driver", str(inp), str(out), srv.base_url,
               str(cache)]  # fmt: skip
        kill_9_after(cmd, env, out, lines=300, log=tmp_path / "first.txt", within=240)
        written = out.read_bytes().count(b"\n")
        assert 300 <= written < 2000
        with out.open("ab") as f:  # what a kill during a write leaves
            f.write(b'{"id": "doc-1999", "status": "o')
        served_before = srv.stats()["served"]
        rerun = subprocess.run(cmd, env=env, capture_output=True, timeout=600)
        assert rerun.returncode == 0, rerun.stderr.decode()[-3000:]
        second = json.loads(rerun.stdout.decode().strip().splitlines()[-1])
        assert second["skipped"] == written and second["ok"] == 2000 - written
        assert srv.stats()["served"] + second["cache_hits"] >= 2000 - written
        unchanged = subprocess.run(cmd, env=env, capture_output=True, timeout=600)
        assert unchanged.returncode == 0, unchanged.stderr.decode()[-3000:]
        third = json.loads(unchanged.stdout.decode().strip().splitlines()[-1])
        assert (third["skipped"], third["ok"], srv.stats()["served"]) == (2000, 0, 0)
    assert served_before >= written
    assert ids_once(out) == sorted(d["id"] for d in articles(2000))
