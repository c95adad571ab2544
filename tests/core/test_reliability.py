"""Regression tests for the defects found by probing as a user and as an attacker.

Each test names the defect it pins (issue 13's list); each failed before its fix.
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
from typing import Any

import pytest
from typer.testing import CliRunner

from llm_extract import (
    BackendError,
    ConfigurationError,
    InputError,
    OutputInUseError,
    Settings,
    aextract_deals,
    extract,
    extract_deals,
)
from llm_extract.backends.transport import retry_after
from llm_extract.present.cli import app
from llm_extract.present.common import read_text
from llm_extract.redaction import redact_url, scrub
from llm_extract.scale.batch import price_for, run_batch
from llm_extract.scale.files import exclusive
from tests.conftest import ROOT
from tests.fake_server import completion, error, fake_server, hang, not_json, rate_limited

TEXT = "Acme Corp agreed to buy Beta Inc for 5 mln dlrs."
ANSWER = json.dumps(
    {"buyer": "Acme Corp", "target": "Beta Inc", "seller": None, "amount": "5 mln dlrs",
     "status": "agreed", "business": None, "location": None, "trigger": "agreed to buy",
     "deal_type": "acquisition"}
)  # fmt: skip
KEY = "sk-live-" + "Qx7Lm2Vr9Tb4" * 3


def _settings(base_url: str, **changes: Any) -> Settings:
    options: dict[str, Any] = {"base_url": base_url, "api_key": "k", "model": "m",
                               "strategy": "record", "spans": False, "transport_retries": 0,
                               "reasks": 0, "timeout": 10.0}  # fmt: skip
    return Settings(**(options | changes))


def _cli(args: list[str], stdin: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args, input=stdin)
    return result.exit_code, result.stdout, result.stderr


# --- 1. the cached backend and event loops ------------------------------------------------


def test_asyncio_run_twice_and_from_threads_with_the_same_settings() -> None:
    with fake_server([completion(ANSWER)]) as srv:
        settings = _settings(srv.base_url)
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


def _jsonl(path: Path, n: int) -> Path:
    path.write_text("".join(json.dumps({"id": i, "text": TEXT}) + "\n" for i in range(n)))
    return path


def test_a_second_batch_run_on_the_same_output_refuses(tmp_path: Path) -> None:
    inp, out = _jsonl(tmp_path / "in.jsonl", 3), tmp_path / "out.jsonl"
    with fake_server([completion(ANSWER)]) as srv, exclusive(out):
        with pytest.raises(OutputInUseError, match="another llm-extract batch run"):
            run_batch(inp, out, settings=_settings(srv.base_url))
        code, _, err = _cli(["batch", str(inp), "-o", str(out), "--base-url", srv.base_url,
                             "--model", "m", "--no-cache"])  # fmt: skip
        assert code == 2 and "another llm-extract batch run" in err
        assert srv.requests == []
    assert not out.exists() or out.read_text() == ""


def test_retry_failed_compacts_while_holding_the_lock(tmp_path: Path) -> None:
    inp, out = _jsonl(tmp_path / "in.jsonl", 4), tmp_path / "out.jsonl"
    with fake_server([error(500), completion(ANSWER)]) as srv:
        first = run_batch(inp, out, settings=_settings(srv.base_url), concurrency=1)
        assert first.errors == 1
        second = run_batch(inp, out, settings=_settings(srv.base_url), retry_failed=True)
    assert second.ok == 1
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["id"] for r in lines) == [0, 1, 2, 3] and {r["status"] for r in lines} == {"ok"}
    with exclusive(out):  # released: a later run can take it
        pass


def test_a_price_table_entry_without_prices_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="needs non-negative"):
        price_for("m", False, {"m": {"prompt_per_1k": 1.0}})
    assert price_for("other", False, {"m": {"prompt_per_1k": 1, "completion_per_1k": 2}}) is None
    inp, out = _jsonl(tmp_path / "in.jsonl", 2), tmp_path / "out.jsonl"
    with fake_server([completion(ANSWER)]) as srv:
        with pytest.raises(ConfigurationError):
            run_batch(inp, out, settings=_settings(srv.base_url), prices={"m": {}})
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
    code, _, err = _cli(["batch", str(inp), "-o", str(out), "--base-url", "http://127.0.0.1:9/v1",
                         "--no-cache"])  # fmt: skip
    assert code == 2 and "no usable input lines" in err and "Traceback" not in err


def test_the_batch_summary_counts_rejected_lines(tmp_path: Path) -> None:
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text(json.dumps({"id": 1, "text": TEXT}) + "\n{broken\n")
    with fake_server([completion(ANSWER)]) as srv:
        summary = run_batch(inp, out, settings=_settings(srv.base_url), log=lambda m: None)
    assert (summary.ok, summary.rejected) == (1, 1)
    assert "1 rejected input lines" in summary.line()


def test_eval_exits_1_when_every_document_failed(tmp_path: Path) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id": "d1", "text": TEXT, "deals": []}) + "\n")
    with fake_server([error(401, "bad key")]) as srv:
        code, _, err = _cli(["eval", str(gold), "--base-url", srv.base_url, "--model", "m",
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
    code, _, err = _cli(["deal", "-"], stdin=b"\x00" * 50_000_000)
    assert code == 2 and ("binary" in err or "max_chars" in err)


def test_batch_refuses_devices_and_stdin_naming_the_reason(tmp_path: Path) -> None:
    inp = _jsonl(tmp_path / "in.jsonl", 1)
    for args, needle in (
        ([str(inp), "-o", "/dev/full"], "not a regular file"),
        (["-", "-o", str(tmp_path / "o.jsonl")], "not standard input"),
        ([str(tmp_path), "-o", str(tmp_path / "o.jsonl")], "is a directory"),
        (["/dev/zero", "-o", str(tmp_path / "o.jsonl")], "not a regular file"),
    ):
        code, _, err = _cli(["batch", *args, "--base-url", "http://127.0.0.1:9/v1", "--no-cache"])
        assert code == 2 and needle in err, (args, err)


# --- 8. rich markup in messages ----------------------------------------------------------


@pytest.mark.parametrize("name", ["[/x].txt", "report[bold].txt", "[redacted].txt"])
def test_file_names_with_brackets_print_as_they_are(tmp_path: Path, name: str) -> None:
    code, _, err = _cli(["deal", str(tmp_path / name)])
    assert code == 2 and name in err and "Traceback" not in err


def test_published_with_markup_and_server_errors_with_markup(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text(TEXT)
    code, _, err = _cli(["deal", str(path), "--published", "[/]"])
    assert code == 2 and "[/]" in err
    with fake_server([error(400, "bad [/bold] request [redacted]")]) as srv:
        code, _, err = _cli(["deal", str(path), "--base-url", srv.base_url, "--strategy", "record"])
    assert code == 1 and "[/bold]" in err and "[redacted]" in err and "Traceback" not in err


# --- 9. transport edge cases -------------------------------------------------------------


def test_a_200_that_is_not_json_is_a_typed_error() -> None:
    with fake_server([not_json()]) as srv, pytest.raises(BackendError, match="not valid JSON"):
        extract_deals(TEXT, settings=_settings(srv.base_url))


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
    code, _, err = _cli(["deal", str(path), "--base-url", url])
    assert code == 2 and needle in err and "Traceback" not in err


# --- 10. --html is checked before the model call ----------------------------------------


def test_html_into_a_missing_directory_fails_before_any_request(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text(TEXT)
    with fake_server([completion(ANSWER)]) as srv:
        code, out, err = _cli(["deal", str(path), "--base-url", srv.base_url, "--strategy",
                               "record", "--html", str(tmp_path / "no" / "page.html")])  # fmt: skip
        assert srv.requests == []
    assert code == 2 and "no directory" in err and out == ""


# --- 11. keys in URLs and key fragments ---------------------------------------------------


def test_credentials_in_base_urls_are_redacted_everywhere(tmp_path: Path) -> None:
    with fake_server([error(500, "boom")]) as srv:
        host = srv.base_url.split("//", 1)[1]
        for url in (f"http://user:{KEY}@{host}", f"{srv.base_url}?api-key={KEY}"):
            settings = _settings(url)
            assert KEY not in settings.describe()
            with pytest.raises(BackendError) as info:
                extract_deals(TEXT, settings=settings)
            assert KEY not in str(info.value)
            path = tmp_path / "a.txt"
            path.write_text(TEXT)
            code, out, err = _cli(["deal", str(path), "--base-url", url, "--strategy", "record"])
            assert code == 1 and KEY not in out + err and KEY[8:20] not in out + err
    assert (
        redact_url(f"https://u:{KEY}@h/v1?key={KEY}&x=1")
        == "https://[redacted]@h/v1?key=[redacted]&x=1"
    )


def test_scrub_removes_any_long_fragment_of_the_key() -> None:
    suffix = KEY[len("sk-live-") :]
    message = f"server says: key ...{suffix[:14]}... and {suffix[-13:]} rejected"
    cleaned = scrub(message, KEY)
    assert suffix[:14] not in cleaned and suffix[-13:] not in cleaned
    assert "rejected" in cleaned and scrub("short abc", KEY) == "short abc"


# --- 12. prompt injection ------------------------------------------------------------------


def test_a_name_only_an_injected_sentence_mentions_is_not_kept() -> None:
    text = (ROOT / "llm_extract" / "examples" / "injection.txt").read_text()
    hostile = json.dumps(
        {"buyer": "Zenith Dynamics", "target": "Orchard Logistics", "seller": None,
         "amount": "9 billion dlrs", "status": None, "business": None, "location": None,
         "trigger": "bought", "deal_type": "acquisition"}
    )  # fmt: skip
    with fake_server([completion(hostile)]) as srv:
        result = extract_deals(text, settings=_settings(srv.base_url, spans=True, reasks=1))
        schema = srv.requests[0].response_format["json_schema"]["schema"]
    spans = json.dumps(schema.get("$defs", {}))
    assert "Zenith" not in spans and "9 billion" not in spans
    names = {p.name for d in result.deals for p in d.parties}
    assert "Zenith Dynamics" not in names
    assert all(d.amount is None or "9 billion" not in d.amount.text for d in result.deals)


# --- 13. derived fields come from normalization only -------------------------------------


def test_derived_fields_the_model_fills_are_replaced_by_normalization() -> None:
    from llm_extract import ArticleDeals

    hostile = {
        "deals": [{"deal_type": "acquisition", "trigger": "agreed to buy",
                   "parties": [{"name": "Acme Corp", "role": "acquirer"}],
                   "amount": {"text": "an undisclosed sum", "amount": 9e9, "currency": "Evil Corp"},
                   "date": "agreed", "date_iso": "Pinecrest Instruments Inc"}],
        "companies": [{"name": "Acme Corp", "country": "agreed", "country_code": "Evil"}],
    }  # fmt: skip
    text = "Acme Corp agreed to buy Beta Inc for an undisclosed sum."
    with fake_server([completion(json.dumps(hostile))]) as srv:
        result = extract(text, ArticleDeals, settings=_settings(srv.base_url, strategy="full"))
    echo = _settings("http://127.0.0.1:9/v1", strategy="full")
    deal = extract_deals(text, settings=echo, backend=_Echo(hostile))
    for r in (result, deal):
        d = r.deals[0]
        assert d.amount is not None and d.amount.amount is None and d.amount.currency is None
        assert d.date_iso is None and r.companies[0].country_code is None


class _Echo:
    """A scripted backend answering one fixed JSON (a test fixture)."""

    model = "m"

    def __init__(self, answer: dict[str, Any]) -> None:
        from llm_extract.backends.base import Completion

        self._done = Completion(json.dumps(answer), "stop", None, 1, 1, "m")

    def complete(self, request: Any) -> Any:
        return self._done

    async def acomplete(self, request: Any) -> Any:
        return self._done


def test_derived_field_formats_are_validated() -> None:
    from pydantic import ValidationError

    from llm_extract import Company, Money

    for bad in ({"currency": "Evil Corp"}, {"currency": "usd"}):
        with pytest.raises(ValidationError):
            Money(text="5 mln dlrs", **bad)
    with pytest.raises(ValidationError):
        Company(name="Acme", country_code="Evil")


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
        extract_deals(TEXT, settings=_settings(srv.base_url, transport_retries=1))
        assert time.monotonic() - started >= 1.0


def test_a_hanging_server_gives_up_at_the_deadline(caplog: pytest.LogCaptureFixture) -> None:
    with fake_server([hang(10)]) as srv:
        settings = _settings(srv.base_url, timeout=1.0, deadline=2.5, transport_retries=10,
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
        extract_deals(TEXT, settings=_settings(srv.base_url, transport_retries=1))
    assert any("waiting 3 s before retrying (HTTP 429)" in r.getMessage() for r in caplog.records)


# --- the output check: no key or key fragment anywhere --------------------------------------


def _fragments(key: str) -> list[str]:
    return [key[i : i + 12] for i in range(len(key) - 11)]


def test_no_output_of_any_command_holds_the_key_or_a_fragment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fake_server import unauthorized_echoing

    monkeypatch.setenv("LLM_EXTRACT_API_KEY", KEY)
    article = tmp_path / "a.txt"
    article.write_text(TEXT)
    inp = _jsonl(tmp_path / "in.jsonl", 3)
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id": "d1", "text": TEXT, "deals": []}) + "\n")
    outputs: list[str] = []
    steps = [completion(ANSWER), unauthorized_echoing(KEY), completion(ANSWER)]
    with fake_server(steps) as srv:
        host = srv.base_url.split("//", 1)[1]
        for base in (srv.base_url, f"http://user:{KEY}@{host}", f"{srv.base_url}?api-key={KEY}"):
            common = ["--base-url", base, "--model", "m", "--strategy", "record"]
            runs = [
                ["deal", str(article), "--json", "--html", str(tmp_path / "page.html"), *common],
                ["batch", str(inp), "-o", str(tmp_path / "out.jsonl"), "--cache",
                 str(tmp_path / "cache.sqlite3"), *common],
                ["eval", str(gold), "--save-predictions", str(tmp_path / "p.jsonl"), "--html",
                 str(tmp_path / "r.html"), "--save-baseline", str(tmp_path / "b.json"), *common],
                ["eval", str(gold), "--json", *common],
            ]  # fmt: skip
            for args in runs:
                _, out, err = _cli(args)
                assert "Traceback" not in err, err
                outputs += [out, err]
    files = [p for p in tmp_path.iterdir() if p.is_file() and p not in (article, inp, gold)]
    assert {p.name for p in files} >= {"page.html", "out.jsonl", "cache.sqlite3", "p.jsonl",
                                       "r.html", "b.json"}  # fmt: skip
    blobs = outputs + [p.read_bytes().decode("utf-8", "replace") for p in files]
    leaks = [f for f in _fragments(KEY) if any(f in blob for blob in blobs)]
    assert leaks == []
