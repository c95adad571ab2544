"""Batch under faults: random server errors and a kill -9, and still exactly once."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

from tests.fake_server import completion, fake_server, hang, server_error
from tests.scale.test_batch import ANSWER, ROOT, articles, kill_9_after, records, write_jsonl


def test_ten_percent_failures_and_kill_9_leave_every_id_exactly_once(tmp_path: Path) -> None:
    rng = random.Random(7)
    ok = hang(0.1, then=completion(ANSWER))
    script = [server_error(500) if rng.random() < 0.1 else ok for _ in range(80)]
    inp = write_jsonl(tmp_path / "in.jsonl", articles(40))
    out = tmp_path / "out.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLM_EXTRACT_"))}
    env.update(HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "xdg"), PYTHONPATH=str(ROOT))
    with fake_server(script) as srv:
        cmd = [
            sys.executable, "-m", "llm_extract", "batch", str(inp),
            "-o", str(out), "--base-url", srv.base_url, "--model", "m", "--strategy", "record",
            "--no-spans", "--timeout", "10", "--concurrency", "4", "--reasks", "0", "--no-cache",
        ]  # fmt: skip
        env["LLM_EXTRACT_TRANSPORT_RETRIES"] = "0"
        kill_9_after(cmd, env, out, lines=8, log=tmp_path / "err1.txt")
        assert out.read_bytes().count(b"\n") < 40, "killed before the end"
        rerun = subprocess.run(cmd, env=env, capture_output=True, timeout=90)
    assert rerun.returncode in (0, 1), rerun.stderr.decode()
    rows = records(out)
    ids = [r["id"] for r in rows]
    assert sorted(ids) == sorted(a["id"] for a in articles(40)), "every id exactly once"
    statuses = [r["status"] for r in rows]
    assert set(statuses) == {"ok", "error"}, "some calls failed and were recorded as failures"
    for row in rows:
        if row["status"] == "error":
            assert row["error"]["type"] and row["error"]["message"]
    assert all(line.endswith("}") for line in out.read_text().splitlines())
    json.loads(out.read_text().splitlines()[-1])
