"""Regression tests for the defects found by probing as a user.

Each test names the defect it pins (issue 13's list); each failed before its fix.
The defects found by probing as an attacker are in test_reliability_hostile.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from email.utils import formatdate
from pathlib import Path

import pytest

from llm_extract import (
    BackendError,
    ConfigurationError,
    InputError,
    OutputInUseError,
    Settings,
    aextract_deals,
    extract_deals,
)
from llm_extract.backends.transport import retry_after
from llm_extract.present.common import read_text
from llm_extract.scale.batch import run_batch
from llm_extract.scale.documents import price_for
from llm_extract.scale.files import exclusive
from tests.core.reliability_helpers import ANSWER, TEXT, jsonl_file, run_cli, settings_for
from tests.fake_server import completion, error, fake_server, hang, not_json, rate_limited

# --- 1. the cached backend and event loops ------------------------------------------------


def test_asyncio_run_twice_and_from_threads_with_the_same_settings() -> None:
    with fake_server([completion(ANSWER)]) as srv:
        settings = settings_for(srv.base_url)
        for _ in range(2):
            result = asyncio.run(aextract_deals(TEXT, settings=settings))
            assert result.main_deal is not None
        failures: list[BaseException] = []

        def worker() -> None:
            try:
                for _ in range(3):
                    asyncio.run(aextract_deals(TEXT, settings=settings))
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert failures == []


# --- 3-6. batch: concurrent runs, prices, exit codes ---------------------------------------


def test_a_second_batch_run_on_the_same_output_refuses(tmp_path: Path) -> None:
    inp, out = jsonl_file(tmp_path / "in.jsonl", 3), tmp_path / "out.jsonl"
    with fake_server([completion(ANSWER)]) as srv, exclusive(out):
        with pytest.raises(OutputInUseError, match="another llm-extract batch run"):
            run_batch(inp, out, settings=settings_for(srv.base_url))
        code, _, err = run_cli(["batch", str(inp), "-o", str(out), "--base-url", srv.base_url,
                                "--model", "m", "--no-cache"])  # fmt: skip
        assert code == 2 and "another llm-extract batch run" in err
        assert srv.requests == []
    assert not out.exists() or out.read_text() == ""


def test_retry_failed_compacts_while_holding_the_lock(tmp_path: Path) -> None:
    inp, out = jsonl_file(tmp_path / "in.jsonl", 4), tmp_path / "out.jsonl"
    with fake_server([error(500), completion(ANSWER)]) as srv:
        first = run_batch(inp, out, settings=settings_for(srv.base_url), concurrency=1)
        assert first.errors == 1
        second = run_batch(inp, out, settings=settings_for(srv.base_url), retry_failed=True)
    assert second.ok == 1
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["id"] for r in lines) == [0, 1, 2, 3] and {r["status"] for r in lines} == {"ok"}
    with exclusive(out):  # released: a later run can take it
        pass


def test_a_price_table_entry_without_prices_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="needs non-negative"):
        price_for("m", False, {"m": {"prompt_per_1k": 1.0}})
    assert price_for("other", False, {"m": {"prompt_per_1k": 1, "completion_per_1k": 2}}) is None
    inp, out = jsonl_file(tmp_path / "in.jsonl", 2), tmp_path / "out.jsonl"
    with fake_server([completion(ANSWER)]) as srv:
        with pytest.raises(ConfigurationError):
            run_batch(inp, out, settings=settings_for(srv.base_url), prices={"m": {}})
        assert srv.requests == []


@pytest.mark.parametrize(
    "content",
    [b"", '{"id": 1, "text": "Acme agreed to buy Beta."}\n'.encode("utf-16"), b"{broken\n[1]\n"],
    ids=["empty", "utf16", "broken"],
)
def test_batch_with_no_usable_line_exits_2_and_counts_rejections(
    tmp_path: Path, content: bytes
) -> None:
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_bytes(content)
    code, _, err = run_cli(["batch", str(inp), "-o", str(out), "--base-url",
                            "http://127.0.0.1:9/v1", "--no-cache"])  # fmt: skip
    assert code == 2 and "no usable input lines" in err and "Traceback" not in err


def test_the_batch_summary_counts_rejected_lines(tmp_path: Path) -> None:
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text(json.dumps({"id": 1, "text": TEXT}) + "\n{broken\n")
    with fake_server([completion(ANSWER)]) as srv:
        summary = run_batch(inp, out, settings=settings_for(srv.base_url), log=lambda m: None)
    assert (summary.ok, summary.rejected) == (1, 1)
    assert "1 rejected input lines" in summary.line()


def test_eval_exits_1_when_every_document_failed(tmp_path: Path) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id": "d1", "text": TEXT, "deals": []}) + "\n")
    with fake_server([error(401, "bad key")]) as srv:
        code, _, err = run_cli(["eval", str(gold), "--base-url", srv.base_url, "--model", "m",
                                "--strategy", "record"])  # fmt: skip
    assert code == 1 and "failed for all 1 documents" in err


# --- 7. input that hangs or eats memory ----------------------------------------------------


def test_reads_are_bounded_and_only_from_regular_files(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(InputError, match="not a regular file"):
        read_text("/dev/zero")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        read_text(str(fifo))  # would block forever if opened
    big = tmp_path / "big.txt"
    big.write_bytes(b"deal " * 30_000)
    with pytest.raises(InputError, match="more than max_chars"):
        read_text(str(big), max_chars=1000)
    assert time.monotonic() - started < 5


def test_stdin_of_zeros_is_refused_without_reading_it_all() -> None:
    code, _, err = run_cli(["deal", "-"], stdin=b"\x00" * 50_000_000)
    assert code == 2 and ("binary" in err or "max_chars" in err)


def test_batch_refuses_devices_and_stdin_naming_the_reason(tmp_path: Path) -> None:
    inp = jsonl_file(tmp_path / "in.jsonl", 1)
    for args, needle in (
        ([str(inp), "-o", "/dev/full"], "not a regular file"),
        (["-", "-o", str(tmp_path / "o.jsonl")], "not standard input"),
        ([str(tmp_path), "-o", str(tmp_path / "o.jsonl")], "is a directory"),
        (["/dev/zero", "-o", str(tmp_path / "o.jsonl")], "not a regular file"),
    ):
        code, _, err = run_cli(
            ["batch", *args, "--base-url", "http://127.0.0.1:9/v1", "--no-cache"]
        )
        assert code == 2 and needle in err, (args, err)


# --- 8. rich markup in messages ----------------------------------------------------------


@pytest.mark.parametrize("name", ["[/x].txt", "report[bold].txt", "[redacted].txt"])
def test_file_names_with_brackets_print_as_they_are(tmp_path: Path, name: str) -> None:
    code, _, err = run_cli(["deal", str(tmp_path / name)])
    assert code == 2 and name in err and "Traceback" not in err


def test_published_with_markup_and_server_errors_with_markup(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text(TEXT)
    code, _, err = run_cli(["deal", str(path), "--published", "[/]"])
    assert code == 2 and "[/]" in err
    with fake_server([error(400, "bad [/bold] request [redacted]")]) as srv:
        code, _, err = run_cli(
            ["deal", str(path), "--base-url", srv.base_url, "--strategy", "record"]
        )
    assert code == 1 and "[/bold]" in err and "[redacted]" in err and "Traceback" not in err


# --- 9. transport edge cases -------------------------------------------------------------


def test_a_200_that_is_not_json_is_a_typed_error() -> None:
    with fake_server([not_json()]) as srv, pytest.raises(BackendError, match="not valid JSON"):
        extract_deals(TEXT, settings=settings_for(srv.base_url))


@pytest.mark.parametrize(
    ("url", "needle"),
    [("http://[::1", "not a valid URL"), ("localhost:8080/v1", "http:// or https://"),
     ("http://", "no host")],
)  # fmt: skip
def test_malformed_base_urls_are_configuration_errors(
    tmp_path: Path, url: str, needle: str
) -> None:
    with pytest.raises(ConfigurationError, match=needle):
        Settings(base_url=url)
    path = tmp_path / "a.txt"
    path.write_text(TEXT)
    code, _, err = run_cli(["deal", str(path), "--base-url", url])
    assert code == 2 and needle in err and "Traceback" not in err


# --- 10. --html is checked before the model call ----------------------------------------


def test_html_into_a_missing_directory_fails_before_any_request(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text(TEXT)
    with fake_server([completion(ANSWER)]) as srv:
        code, out, err = run_cli(["deal", str(path), "--base-url", srv.base_url,
                                  "--strategy", "record", "--html",
                                  str(tmp_path / "no" / "page.html")])  # fmt: skip
        assert srv.requests == []
    assert code == 2 and "no directory" in err and out == ""


# --- 14. waiting ---------------------------------------------------------------------------


def test_retry_after_as_an_http_date_is_honoured() -> None:
    soon = formatdate(time.time() + 2, usegmt=True)
    assert 0.5 < (retry_after({"retry-after": soon}) or 0) <= 2.5
    assert retry_after({"retry-after-ms": "soon", "retry-after": "3"}) == 3.0
    assert retry_after({"retry-after": "whenever"}) is None
    with fake_server(
        [rate_limited(formatdate(time.time() + 2, usegmt=True)), completion(ANSWER)]
    ) as srv:
        started = time.monotonic()
        extract_deals(TEXT, settings=settings_for(srv.base_url, transport_retries=1))
        assert time.monotonic() - started >= 1.0


def test_a_hanging_server_gives_up_at_the_deadline(caplog: pytest.LogCaptureFixture) -> None:
    with fake_server([hang(10)]) as srv:
        settings = settings_for(srv.base_url, timeout=1.0, deadline=2.5, transport_retries=10,
                                backoff_base=0.1, backoff_max=0.2)  # fmt: skip
        started = time.monotonic()
        with pytest.raises(BackendError):
            extract_deals(TEXT, settings=settings)
        assert time.monotonic() - started < 5


def test_a_long_wait_is_announced(caplog: pytest.LogCaptureFixture) -> None:
    with (
        fake_server([rate_limited(3.2), completion(ANSWER)]) as srv,
        caplog.at_level(logging.WARNING, logger="llm_extract"),
    ):
        extract_deals(TEXT, settings=settings_for(srv.base_url, transport_retries=1))
    assert any("waiting 3 s before retrying (HTTP 429)" in r.getMessage() for r in caplog.records)
