"""The response cache: what it stores, what it never stores, and that hits cost nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_extract.backends.base import ChatRequest, Completion
from llm_extract.backends.cache import CachingBackend, ResponseCache, cacheable, default_cache_path
from llm_extract.backends.store import request_hash
from llm_extract.errors import ConfigurationError
from llm_extract.present.cli import app
from llm_extract.prompts.build import schema_digest
from llm_extract.scale.batch import run_batch
from llm_extract.settings import Settings
from tests.fake_server import completion, fake_server
from tests.scale.test_batch import ANSWER, articles, records, write_jsonl

SECRET = "sk-cachetest-" + "9f8e7d6c5b4a39281706"  # built at run time, see test_secrets


def request(text: str = "Acme Holdings agreed to acquire Beta Tools.") -> ChatRequest:
    return ChatRequest(
        messages=[{"role": "system", "content": "brief"}, {"role": "user", "content": text}],
        schema={"type": "object"},
        schema_name="DealSlots",
        max_tokens=64,
        temperature=0.0,
        seed=0,
    )


def answer(content: str | None = '{"buyer": "Acme Holdings"}', **changes: object) -> Completion:
    fields: dict[str, object] = {
        "content": content,
        "finish_reason": "stop",
        "refusal": None,
        "prompt_tokens": 30,
        "completion_tokens": 12,
        "model": "m",
    }
    fields.update(changes)
    return Completion(**fields)  # type: ignore[arg-type]


class Counting:
    """An inner backend that answers from a list and counts its calls."""

    model = "m"

    def __init__(self, *answers: Completion) -> None:
        self.answers = list(answers)
        self.calls = 0
        self._lock = threading.Lock()

    def complete(self, request: ChatRequest) -> Completion:
        with self._lock:
            self.calls += 1
            return self.answers[min(self.calls, len(self.answers)) - 1]

    async def acomplete(self, request: ChatRequest) -> Completion:
        await asyncio.sleep(0)
        return self.complete(request)


def test_round_trip_persists_across_connections(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "cache.sqlite3"
    with ResponseCache(path) as cache:
        assert cache.get("k") is None
        assert cache.put("k", answer())
        assert cache.get("k") == answer()
        assert (cache.hits, cache.misses, len(cache)) == (1, 1, 1)
    with ResponseCache(path) as again:
        assert again.get("k") == answer()
        mode = again._db.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"


@pytest.mark.parametrize(
    "bad",
    [
        answer(finish_reason="length"),
        answer(None, refusal="I can't help with that."),
        answer(None),
        answer("   "),
        answer(finish_reason="content_filter"),
    ],
)
def test_truncated_refused_and_empty_answers_are_never_stored(
    tmp_path: Path, bad: Completion
) -> None:
    assert not cacheable(bad)
    inner = Counting(bad)
    with ResponseCache(tmp_path / "c.sqlite3") as cache:
        backend = CachingBackend(inner, cache)
        backend.complete(request())
        backend.complete(request())
        assert inner.calls == 2 and len(cache) == 0


def test_a_hit_makes_no_call_and_costs_nothing(tmp_path: Path) -> None:
    inner = Counting(answer())
    with ResponseCache(tmp_path / "c.sqlite3") as cache:
        backend = CachingBackend(inner, cache)
        first = backend.complete(request())
        assert first.requests == 1 and first.prompt_tokens == 30
        hit = backend.complete(request())
        assert (hit.requests, hit.prompt_tokens, hit.completion_tokens) == (0, 0, 0)
        assert hit.content == first.content and inner.calls == 1
        assert (backend.hits, backend.misses, cache.saved_tokens) == (1, 1, 42)
        other = backend.complete(request("Gamma Foods bought Delta Farms."))
        assert other.requests == 1 and inner.calls == 2
        key = request_hash("m", request())
        assert cache.get(key) is not None


def test_the_schema_digest_a_caller_passes_is_not_part_of_the_key() -> None:
    plain = request()
    told = dataclasses.replace(plain, schema_digest=schema_digest(plain.schema))
    assert request_hash("m", told) == request_hash("m", plain)
    assert request_hash("m", dataclasses.replace(plain, schema={"type": "array"})) != (
        request_hash("m", plain)
    )


def test_concurrent_asyncio_and_thread_use(tmp_path: Path) -> None:
    inner = Counting(answer())
    with ResponseCache(tmp_path / "c.sqlite3") as cache:
        backend = CachingBackend(inner, cache)

        async def many() -> list[Completion]:
            asks = [backend.acomplete(request(f"Story {i % 10}.")) for i in range(100)]
            return list(await asyncio.gather(*asks))

        assert all(c.content for c in asyncio.run(many()))
        threads = [
            threading.Thread(target=backend.complete, args=(request(f"Story {i}."),))
            for i in range(20)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        assert len(cache) == 20
        assert cache.errors == 0


def test_unusable_cache_file_is_a_configuration_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(ConfigurationError, match="cannot open response cache"):
        ResponseCache(junk)
    with pytest.raises(ConfigurationError):
        ResponseCache(tmp_path)  # a directory


def test_second_batch_run_makes_zero_requests_and_stores_no_secret_or_text(
    tmp_path: Path,
) -> None:
    rows = articles()
    inp = write_jsonl(tmp_path / "in.jsonl", rows)
    db = tmp_path / "cache" / "responses.sqlite3"
    with fake_server([completion(ANSWER)]) as srv:
        config = Settings(
            base_url=srv.base_url, api_key=SECRET, spans=False, strategy="record", model="m"
        ).with_(transport_retries=0, reasks=0, timeout=10.0)
        first = run_batch(inp, tmp_path / "a.jsonl", settings=config, cache_path=db)
        assert (first.ok, first.requests, first.cache_hits) == (30, 30, 0)
        assert len(srv.requests) == 30
        assert srv.requests[0].headers["authorization"] == f"Bearer {SECRET}"
        second = run_batch(inp, tmp_path / "b.jsonl", settings=config, cache_path=db)
        assert len(srv.requests) == 30, "a cached batch must not call the model"
    assert (second.ok, second.requests, second.tokens, second.cache_hits) == (30, 0, 0, 30)
    assert second.cost == 0.0
    assert all(r["usage"]["requests"] == 0 for r in records(tmp_path / "b.jsonl"))
    strip = [{k: v for k, v in r.items() if k != "usage"} for r in records(tmp_path / "a.jsonl")]
    again = [{k: v for k, v in r.items() if k != "usage"} for r in records(tmp_path / "b.jsonl")]
    assert sorted(strip, key=str) == sorted(again, key=str)
    stored = b"".join(p.read_bytes() for p in db.parent.iterdir())
    assert SECRET.encode() not in stored and b"sk-cachetest" not in stored
    for row in rows:
        assert row["text"].encode() not in stored
        assert row["text"].split(". ", 1)[1].encode() not in stored  # the unique sentence
    with sqlite3.connect(db) as conn:
        columns = [c[1] for c in conn.execute("PRAGMA table_info(responses)")]
        assert columns == [
            "key",
            "content",
            "finish_reason",
            "prompt_tokens",
            "completion_tokens",
            "model",
            "created",
        ]
        assert conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 30


def test_cli_cache_default_location_and_no_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    for name in ("OPENAI_API_KEY", "LLM_EXTRACT_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert default_cache_path() == tmp_path / "xdg" / "llm_extract" / "responses.sqlite3"
    inp = write_jsonl(tmp_path / "in.jsonl", articles(4))
    runner = CliRunner()
    with fake_server([completion(ANSWER)]) as srv:
        common = ["--base-url", srv.base_url, "--model", "m", "--strategy", "record", "--no-spans"]
        common += ["--timeout", "10"]
        one = runner.invoke(app, ["batch", str(inp), "-o", str(tmp_path / "1.jsonl"), *common])
        assert one.exit_code == 0, one.stderr
        assert default_cache_path().is_file()
        two = runner.invoke(app, ["batch", str(inp), "-o", str(tmp_path / "2.jsonl"), *common])
        assert two.exit_code == 0 and "cache: 4 hit(s)" in two.stderr
        assert len(srv.requests) == 4
        off = ["batch", str(inp), "-o", str(tmp_path / "3.jsonl"), "--no-cache", *common]
        three = runner.invoke(app, off)
        assert three.exit_code == 0 and len(srv.requests) == 8
        both = runner.invoke(app, [*off, "--cache", str(tmp_path / "x.sqlite3")])
        assert both.exit_code == 2 and "not both" in both.stderr
    lines = [json.loads(x) for x in (tmp_path / "2.jsonl").read_text().splitlines()]
    assert len(lines) == 4


async def test_a_locked_database_does_not_stall_the_event_loop(tmp_path: Path) -> None:
    """Another process holding the write lock blocks only this request, in its
    worker thread, never the loop that serves every other request."""
    path = tmp_path / "c.sqlite3"
    cache = ResponseCache(path)
    backend = CachingBackend(Counting(answer()), cache)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    threading.Timer(0.6, lambda: other.execute("COMMIT")).start()
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    await backend.acomplete(request())
    ticker.cancel()
    other.close()
    assert cache.stores == 1
    assert ticks >= 20, f"the loop ran only {ticks} times while the cache waited"


def test_two_servers_with_one_model_name_do_not_share_answers(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite3")
    first = Counting(answer('{"buyer": "Acme Holdings"}'))
    second = Counting(answer('{"buyer": "Beta Tools"}'))
    a = CachingBackend(first, cache, scope="http://gpu-a:8000/v1 auto")
    b = CachingBackend(second, cache, scope="http://gpu-b:8000/v1 auto")
    assert a.complete(request()).content == '{"buyer": "Acme Holdings"}'
    assert b.complete(request()).content == '{"buyer": "Beta Tools"}'
    assert (first.calls, second.calls) == (1, 1)
    again = CachingBackend(Counting(), cache, scope="http://gpu-a:8000/v1 auto")
    assert again.complete(request()).content == '{"buyer": "Acme Holdings"}'
