"""Secrets never reach committed files, error messages, reports or review pages."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from llm_extract import BackendError, Report, Settings, extract_deals
from llm_extract.present.review import render_review
from tests.conftest import ROOT
from tests.fake_server import completion, error, fake_server

KEY = "sk-proj-" + "Zq8" * 12
KEYLIKE = re.compile(
    r"sk-[A-Za-z0-9_-]{20,}|authorization['\"]?\s*[:=]\s*\[?['\"]?bearer\s+[A-Za-z0-9._-]{8,}",
    re.IGNORECASE,
)
SCANNED = ("cassettes", "evals", "tests", "llm_extract/prompts/templates", "llm_extract/examples")


def _tracked() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", *SCANNED], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / line for line in out.splitlines() if line]


def test_no_key_like_strings_or_auth_headers_in_committed_files() -> None:
    files = _tracked()
    assert any(p.parts[-2] == "cassettes" or "cassettes" in p.parts for p in files)
    offenders = []
    for path in files:
        if path.name == Path(__file__).name:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders += [
            f"{path.relative_to(ROOT)}: {m.group(0)[:24]}" for m in KEYLIKE.finditer(text)
        ]
    assert offenders == []


def test_cassettes_carry_no_request_bodies_or_auth_headers() -> None:
    for path in (ROOT / "cassettes").glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        assert "canonical_sha256" in text
        assert "authorization" not in text.lower()
        assert '"messages"' not in text, f"{path.name} stores a request body"


def test_key_stays_out_of_errors_reports_and_pages(tmp_path: Path) -> None:
    text = "Acme Corp agreed to buy Beta Inc for 5 mln dlrs."
    settings = Settings(api_key=KEY, transport_retries=0, reasks=0, spans=False, strategy="record")
    with fake_server([error(401, body={"error": {"message": f"bad key {KEY}"}})]) as srv:
        with pytest.raises(BackendError) as info:
            extract_deals(text, settings=settings.with_(base_url=srv.base_url))
        assert srv.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in str(info.value) and KEY[:12] not in repr(info.value)

    answer = ('{"buyer": "Acme Corp", "target": "Beta Inc", "seller": null, "amount": null, '
              '"status": null, "business": null, "location": null, "trigger": null, '
              '"deal_type": "acquisition"}')  # fmt: skip
    report = Report()
    with fake_server([completion(answer)]) as srv:
        result = extract_deals(text, settings=settings.with_(base_url=srv.base_url), report=report)
    page = render_review(text, result, report.calls[0])
    dumped = str([c.to_dict() for c in report.calls]) + page + repr(settings)
    assert KEY not in dumped
