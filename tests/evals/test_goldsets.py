"""Tests for llm_extract.evals.goldsets: the gold JSONL format, text refs, seed gold.

Corpus tests read ``<repo>/../shared/corpus`` at run time and skip when it is
missing; no corpus text is ever written into the repository (the last test
checks that nothing under ``evals/`` repeats 12-word runs of it).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from llm_extract.evals import goldsets as gs
from llm_extract.evals.goldsets import GoldDeal, GoldDoc, GoldFormatError, GoldParty, alternatives
from llm_extract.records.schemas import DealType, Role
from tests.conftest import CORPUS, ROOT, corpus_file

SEED_GOLD = ROOT / "evals" / "gold" / "seed.jsonl"
SHA_A = hashlib.sha256(b"Acme Corp agreed to buy Widget Ltd.").hexdigest()


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ref_doc(path: str, digest: str, doc_id: str = "r", deals: Any = ()) -> GoldDoc:
    ref = {"path": path, "sha256": digest}
    return GoldDoc.model_validate({"id": doc_id, "text_ref": ref, "deals": list(deals)})


def norm(text: str) -> str:
    return " ".join(text.casefold().split())


def annotated_strings(value: Any, key: str = "") -> list[str]:
    """Every span string in a dumped gold doc (ids, refs, enum values excluded)."""
    if key in {"id", "text_ref", "deal_type", "role", "background"}:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in annotated_strings(v, key)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in annotated_strings(v, k)]
    return []


# -- format ---------------------------------------------------------------------


def test_alternatives_normalises_str_list_and_none() -> None:
    assert alternatives("OnePlus") == ["OnePlus"]
    assert alternatives(["Optiemus", "Optiemus Group"]) == ["Optiemus", "Optiemus Group"]
    assert alternatives(None) == []
    party = GoldParty(name=["A", "B"], role=Role.ACQUIRER)
    assert GoldDeal(parties=[party]).names_with(Role.ACQUIRER) == [["A", "B"]]
    both = [DealType.MERGER, DealType.ACQUISITION]
    assert GoldDeal(deal_type=both).deal_types() == both
    for bad in ([], [""], "  ", 5):
        with pytest.raises(ValidationError):
            GoldParty.model_validate({"name": bad, "role": "target"})


def test_doc_needs_exactly_one_text_source_and_valid_fields() -> None:
    ref = {"path": "a.txt", "sha256": SHA_A}
    GoldDoc.model_validate({"id": "x", "text": "t", "deals": []})
    GoldDoc.model_validate({"id": "x", "text_ref": ref, "deals": []})
    for bad in (
        {"id": "x", "deals": []},
        {"id": "x", "text": "t", "text_ref": ref, "deals": []},
        {"id": "x", "text": "t", "deals": [{"colour": "red"}]},
        {"id": "x", "text": "t", "deals": [], "published": "12 March 2024"},
        {"id": "x", "text_ref": {"path": "../secret.txt", "sha256": SHA_A}, "deals": []},
        {"id": "x", "text_ref": {"path": "a.txt", "sha256": "abc"}, "deals": []},
        {"id": "", "text": "t", "deals": []},
    ):
        with pytest.raises(ValidationError):
            GoldDoc.model_validate(bad)


def test_round_trip_keeps_absent_null_and_alternatives(tmp_path: Path) -> None:
    deal = GoldDeal.model_validate(
        {
            "deal_type": "acquisition",
            "parties": [{"name": ["Acme Corp", "Acme"], "role": "acquirer"}],
            "amount": None,
            "products": [["widgets", "Widget"], "gears"],
            "people": [{"name": "Jo Bloggs", "title": "CEO"}],
        }
    )
    docs = [ref_doc("a.txt", SHA_A, "a", [deal])]
    docs.append(GoldDoc(id="b", text="Nil.", published="2024-05-01", deals=[], companies=[]))
    path = tmp_path / "gold.jsonl"
    gs.write_gold(docs, path)
    loaded = gs.load_gold(path)
    assert loaded == docs
    assert [d.model_fields_set for d in loaded] == [d.model_fields_set for d in docs]
    got = loaded[0].deals[0]
    assert got.is_annotated("amount") and got.amount is None  # annotated as none
    assert not got.is_annotated("status")  # not annotated: not scored
    assert not loaded[0].is_annotated("companies") and loaded[1].companies == []
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert "text" not in first and "status" not in first["deals"][0]
    docs[0].text = "Licensed article text."  # e.g. cached after resolution
    gs.write_gold(docs, path)
    assert "Licensed" not in path.read_text(encoding="utf-8")


def test_broken_lines_name_their_line_and_on_error_continues(tmp_path: Path) -> None:
    good = '{"id": "%s", "text": "t", "deals": []}'
    lines = [good % "a", "{not json", '{"id": "b", "text": "t", "deals": [], "x": 1}']
    lines += [good % "a", "", good % "c", good.replace("[]", '[{"deal_type": "swap"}]') % "d"]
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(GoldFormatError) as info:
        gs.load_gold(path)
    assert info.value.line_no == 2 and info.value.path == path
    assert str(info.value).startswith(f"{path}:2: ")
    assert isinstance(info.value, ValueError)
    errors: list[GoldFormatError] = []
    docs = list(gs.iter_gold(path, on_error=errors.append))
    assert [d.id for d in docs] == ["a", "c"]
    assert [e.line_no for e in errors] == [2, 3, 4, 7]
    assert "duplicate id" in errors[2].message and "deal_type" in errors[3].message


# -- text refs ------------------------------------------------------------------


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    (root / "news").mkdir(parents=True)
    (root / "news" / "a.txt").write_bytes(b"Acme Corp agreed to buy Widget Ltd.")
    rows = [{"id": "1", "text": "First story."}, {"newid": 7, "body": "Second story."}]
    rows.append({"doc_id": "x9", "text": "Third story."})
    (root / "news" / "s.jsonl").write_text("\n".join(map(json.dumps, rows)) + "\n", "utf-8")
    return root


def test_text_ref_resolves_files_and_jsonl_lines(corpus: Path) -> None:
    assert gs.resolve_text(ref_doc("news/a.txt", SHA_A), corpus).startswith("Acme Corp")
    for key, text in (("1", "First story."), ("7", "Second story."), ("x9", "Third story.")):
        assert gs.resolve_text(ref_doc(f"news/s.jsonl#id={key}", sha(text)), corpus) == text
    assert gs.resolve_text(GoldDoc(id="t", text="inline", deals=[])) == "inline"
    with pytest.raises(ValueError, match="corpus_root"):
        gs.resolve_text(ref_doc("news/a.txt", SHA_A))


def test_text_ref_errors_name_the_file(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(GoldFormatError, match=r"a\.txt.*sha256 mismatch"):
        gs.resolve_text(ref_doc("news/a.txt", sha("something else")), corpus)
    with pytest.raises(GoldFormatError, match=r"s\.jsonl.*no line with id '42'"):
        gs.resolve_text(ref_doc("news/s.jsonl#id=42", SHA_A), corpus)
    with pytest.raises(FileNotFoundError):
        gs.resolve_text(ref_doc("news/missing.txt", SHA_A), corpus)
    gold = tmp_path / "gold.jsonl"
    gs.write_gold(
        [ref_doc("news/a.txt", SHA_A, "ok"), ref_doc("news/a.txt", sha("x"), "bad")], gold
    )
    assert len(gs.load_gold(gold)) == 2  # without a corpus root refs are not checked
    with pytest.raises(GoldFormatError, match=r"gold\.jsonl:2: .*sha256 mismatch"):
        gs.load_gold(gold, corpus)


# -- the seed gold --------------------------------------------------------------


def test_seed_gold_loads_resolves_and_quotes_only_the_article() -> None:
    corpus_file("seed/oneplus-optiemus.txt")
    [doc] = gs.load_gold(SEED_GOLD, CORPUS)
    assert doc.text is None and doc.text_ref is not None and doc.published is None
    assert doc.text_ref.model_dump() == gs.seed_text_ref(CORPUS)
    article = norm(gs.resolve_text(doc, CORPUS))
    main, realme, xiaomi = doc.deals
    assert not main.background and realme.background and xiaomi.background
    assert main.names_with(Role.CLIENT) == [["OnePlus"]]
    assert "Optiemus Electronics" in main.names_with(Role.SUPPLIER)[0]
    assert DealType.SOURCING_AGREEMENT in xiaomi.deal_types()
    strings = annotated_strings(doc.model_dump(mode="json", exclude_unset=True))
    assert len(strings) > 50
    missing = [s for s in strings if norm(s) not in article]
    assert not missing, f"annotations not in the article: {missing}"
    assert max(len(s.split()) for s in strings) <= 8  # short spans only, never sentences


# -- licensing guard ------------------------------------------------------------


def word_runs(text: str, n: int = 12) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.casefold())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_nothing_under_evals_repeats_corpus_text() -> None:
    seed = corpus_file("seed/oneplus-optiemus.txt")
    texts = [seed.read_text(encoding="utf-8")]
    sources = ("utah_acquisitions/dev.jsonl", "sentivent/docs.jsonl", "fire/deal_subset_dev.jsonl")
    for rel in sources:
        lines = corpus_file(rel).read_text(encoding="utf-8").splitlines()
        texts += [json.loads(line)["text"] for line in lines if line.strip()]
    runs = set().union(*(word_runs(t) for t in texts))
    files = [p for p in (ROOT / "evals").rglob("*") if p.is_file()]
    assert SEED_GOLD in files
    for path in files:
        leaked = word_runs(path.read_text(encoding="utf-8", errors="ignore")) & runs
        assert not leaked, f"{path} repeats corpus text: {' '.join(next(iter(leaked)))}"


def test_the_holdout_split_is_a_fixed_third() -> None:
    from llm_extract.evals.goldsets import split_of

    ids = [f"utah-{i}" for i in range(3000)]
    held = [i for i in ids if split_of(i) == "holdout"]
    assert 900 < len(held) < 1100
    assert held == [i for i in ids if split_of(i) == "holdout"]  # the same every time
    assert split_of("utah-447") == split_of("utah-447")
