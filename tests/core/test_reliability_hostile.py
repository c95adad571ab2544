"""Regression tests for the defects found by probing as an attacker: keys in URLs
and errors, injected text, hostile answers, and no key in any output.

Each test names the defect it pins (issue 13's list); each failed before its fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llm_extract import BackendError, extract, extract_deals
from llm_extract.redaction import redact_url, scrub
from tests.conftest import ROOT
from tests.core.reliability_helpers import ANSWER, TEXT, jsonl_file, run_cli, settings_for
from tests.fake_server import completion, error, fake_server

KEY = "sk-live-" + "Qx7Lm2Vr9Tb4" * 3


# --- 11. keys in URLs and key fragments ---------------------------------------------------


def test_credentials_in_base_urls_are_redacted_everywhere(tmp_path: Path) -> None:
    with fake_server([error(500, "boom")]) as srv:
        host = srv.base_url.split("//", 1)[1]
        for url in (f"http://user:{KEY}@{host}", f"{srv.base_url}?api-key={KEY}"):
            settings = settings_for(url)
            assert KEY not in settings.describe()
            with pytest.raises(BackendError) as info:
                extract_deals(TEXT, settings=settings)
            assert KEY not in str(info.value)
            path = tmp_path / "a.txt"
            path.write_text(TEXT)
            code, out, err = run_cli(["deal", str(path), "--base-url", url, "--strategy", "record"])
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
        result = extract_deals(text, settings=settings_for(srv.base_url, spans=True, reasks=1))
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
        result = extract(text, ArticleDeals, settings=settings_for(srv.base_url, strategy="full"))
    echo = settings_for("http://127.0.0.1:9/v1", strategy="full")
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
    inp = jsonl_file(tmp_path / "in.jsonl", 3)
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
                _, out, err = run_cli(args)
                assert "Traceback" not in err, err
                outputs += [out, err]
    files = [p for p in tmp_path.iterdir() if p.is_file() and p not in (article, inp, gold)]
    assert {p.name for p in files} >= {"page.html", "out.jsonl", "cache.sqlite3", "p.jsonl",
                                       "r.html", "b.json"}  # fmt: skip
    blobs = outputs + [p.read_bytes().decode("utf-8", "replace") for p in files]
    leaks = [f for f in _fragments(KEY) if any(f in blob for blob in blobs)]
    assert leaks == []
