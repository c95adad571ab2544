"""Tests for llm_extract.evals.runner: the eval report page, its cost block and unscored fields.

Every company and figure here is invented.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from llm_extract.backends.store import Timing
from llm_extract.core.pipeline import CallReport, Report
from llm_extract.evals.scoring import score_docs
from llm_extract.present.eval_report import render_html
from tests.present.test_review import CHROMIUM, chromium

GOLD = [
    {"id": "good", "deals": [{"deal_type": "acquisition", "amount": "$5 million",
                              "parties": [{"name": "Kestrel Foods", "role": "acquirer"}]}]},
    {"id": "bad <b>&", "deals": [{"deal_type": "merger", "amount": "$9 million",
                                  "parties": [{"name": "Orsa", "role": "partner"}]}]},
]  # fmt: skip
PRED = [
    {"id": "good", "deals": [{"deal_type": "acquisition", "amount": {"text": "$5 million"},
                              "parties": [{"name": "Kestrel Foods", "role": "acquirer"}]}]},
    {"id": "bad <b>&", "deals": [{"deal_type": "acquisition", "amount": None,
                                  "parties": [{"name": "<script>x</script>", "role": "target"}]}]},
]  # fmt: skip


def page() -> tuple[str, dict[str, Any]]:
    data = score_docs(GOLD, PRED).to_dict()
    return render_html(data, "eval: <gold>"), data


def test_bars_follow_f1_and_unscored_fields_are_named_not_scored() -> None:
    html, data = page()
    fields = data["fields"]
    assert fields["amount"]["f1"] == pytest.approx(2 / 3)
    assert "width:200px'></span> 0.667" in html  # 300 px is F1 1.0
    idle = [k for k, v in fields.items() if v["tp"] + v["fp"] + v["fn"] == 0]
    assert "status" in idle and "people" in idle
    rows = re.findall(r"<tr><td>([a-z_]+)</td><td><span class=bar", html)
    assert set(rows) == set(fields) - set(idle)  # no 1.000 bar for a field nobody annotated
    assert f"not scored (no gold and no prediction): {', '.join(idle)}" in html


def test_worst_documents_link_to_their_escaped_diffs() -> None:
    html, _ = page()
    links = re.findall(r"<li><a href='#([^']+)'>", html)
    assert links == ["doc1-bad__b__", "doc2-good"]  # worst first, ids made safe anchors
    assert all(f"id='{anchor}'" in html for anchor in links)
    assert "bad &lt;b&gt;&amp;" in html and "<script>x" not in html
    assert "<tr class=hallucination>" in html and "<tr class=omission>" in html
    assert "<title>eval: &lt;gold&gt;</title>" in html


def test_cost_uses_recorded_seconds_and_says_how_many_were_timed() -> None:
    from llm_extract.evals.runner import cost as _cost
    from llm_extract.present.eval_report import cost_line as _cost_line

    report = Report()
    report.calls.append(CallReport(model="m", prompt_version="p@1", prompt_tokens=900,
                                   completion_tokens=100, latency_s=0.001))  # fmt: skip
    timing = Timing()
    for seconds in (20.0, None, 10.0):
        timing.add(seconds)
    cost = _cost(report, timing, documents=2)
    assert cost["seconds_per_document"] == pytest.approx(15.0 * 3 / 2)  # estimated from timed
    assert cost["seconds_basis"] == "2 of 3 answers timed"
    assert cost["tokens_per_document"] == 500
    assert "22.5 s (2 of 3 answers timed)" in _cost_line(cost)
    assert "seconds unknown" in _cost_line(_cost(report, Timing(untimed=3), documents=2))
    live = _cost(report, None, documents=1)  # a live run: the measured latency
    assert live["seconds_per_document"] == 0.001 and "seconds_basis" not in live


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")
def test_report_renders_and_links_work_in_headless_chromium(tmp_path: Path) -> None:
    html, _ = page()
    path = tmp_path / "eval.html"
    path.write_text(html, encoding="utf-8")
    run = chromium(tmp_path / "profile", path, "--dump-dom")
    dom = run.stdout
    assert dom.count('class="bar"') == len(re.findall(r"class=bar", html)) > 0
    for anchor in re.findall(r'href="#([^"]+)"', dom):
        assert f'id="{anchor}"' in dom
    assert "&lt;script&gt;x&lt;/script&gt;" in dom and "<script>x" not in dom
