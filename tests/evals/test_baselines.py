"""Tests for llm_extract.evals.baselines: the regression gate against a committed baseline."""

from __future__ import annotations

import json

from llm_extract.evals.baselines import changes, compare
from llm_extract.evals.scoring import UTAH_SLOTS, score_utah
from tests.evals.test_scoring import UTAH_GOLD


def test_compare_flags_drops_beyond_tolerance_and_names_documents() -> None:
    gold = [UTAH_GOLD, UTAH_GOLD | {"id": "102"}]
    perfect = [{"id": r["id"]} | {s: [[f[0]] for f in r[s]] for s in UTAH_SLOTS} for r in gold]
    baseline = score_utah(gold, perfect).to_dict()
    worse = [perfect[0], perfect[1] | {"dlramt": [["15 mln dlrs"]]}]
    assert score_utah(gold, worse).worst_docs(1)[0].doc_id == "102"
    current = json.loads(json.dumps(score_utah(gold, worse).to_dict()))
    lines = compare(current, baseline, tolerance=0.1)
    assert any(line.startswith("dlramt: F1 1.000 -> 0.500") for line in lines)
    assert any("doc 102" in line and "dlramt" in line and "worse" in line for line in lines)
    assert not any("doc 101" in line for line in lines)
    assert not any(line.startswith("micro") for line in lines)  # micro dropped < 0.1
    assert compare(current, baseline, tolerance=0.6) == []
    assert compare(baseline, current, tolerance=0.0) == []  # improvements are not regressions


def _docs(counts: list[tuple[int, int, int]]) -> dict[str, object]:
    docs = {
        f"d{i}": {"fields": {"purchaser": {"tp": tp, "fp": fp, "fn": fn}}}
        for i, (tp, fp, fn) in enumerate(counts)
    }
    return {"documents": docs, "fields": {"purchaser": {}}}


def test_a_change_on_every_document_is_significant() -> None:
    before = _docs([(0, 1, 1)] * 40)
    after = _docs([(1, 0, 0)] * 40)
    (micro, field) = changes(after, before, resamples=500)
    assert field.field == "purchaser" and field.before == 0.0 and field.after == 1.0
    assert field.significant and field.low > 0.9
    assert "significant" in field.line() and micro.field == "micro"


def test_a_change_on_one_document_of_forty_is_within_noise() -> None:
    before = _docs([(1, 0, 0)] * 20 + [(0, 1, 1)] * 20)
    after = _docs([(1, 0, 0)] * 21 + [(0, 1, 1)] * 19)
    field = changes(after, before, resamples=500)[1]
    assert field.delta > 0 and not field.significant
    assert field.low <= 0 <= field.high and "within noise" in field.line()


def test_changes_need_shared_documents() -> None:
    assert changes({"documents": {}}, _docs([(1, 0, 0)])) == []


def test_a_change_on_too_few_documents_is_never_called_significant() -> None:
    (micro, _field) = changes(_docs([(1, 0, 0)] * 3), _docs([(0, 1, 1)] * 3), resamples=200)
    assert micro.low == micro.high == 1.0 and not micro.significant
    assert "too few documents" in micro.line()
