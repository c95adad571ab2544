"""Chunking keeps offsets global and covers every character; merging dedupes."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_extract.normalize.merge import merge
from llm_extract.records.schemas import ArticleDeals, Company, Deal, DealType, Party, Role
from llm_extract.text.chunks import split

SENTENCE = st.text(alphabet="abc DEF,xyz", min_size=1, max_size=60).map(lambda s: s.strip() + ".")
ARTICLES = st.lists(SENTENCE, min_size=1, max_size=40).map(" ".join) | st.text(max_size=500)


@settings(max_examples=150)
@given(text=ARTICLES, max_chars=st.integers(20, 300), overlap=st.integers(0, 19))
def test_chunks_cover_the_text_with_global_offsets(text: str, max_chars: int, overlap: int) -> None:
    chunks = split(text, max_chars, overlap)
    assert chunks
    covered = [False] * len(text)
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert len(c.text) <= max_chars
        for k in range(c.start, c.end):
            covered[k] = True
    assert all(covered[k] for k in range(len(text)) if not text[k].isspace())
    starts = [c.start for c in chunks]
    assert starts == sorted(set(starts))


def test_short_text_is_one_chunk() -> None:
    assert [c.text for c in split("One deal. Two deals.", 100, 10)] == ["One deal. Two deals."]


def test_chunks_end_on_sentences_and_overlap() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    chunks = split(text, 200, 60)
    assert len(chunks) > 3
    for a, b in itertools.pairwise(chunks):
        assert a.text.endswith(".")
        assert b.start < a.end, "consecutive chunks share their boundary sentences"


def test_a_sentence_longer_than_a_chunk_is_cut_at_whitespace() -> None:
    text = "word " * 100
    chunks = split(text, 50, 10)
    assert all(len(c.text) <= 50 for c in chunks)
    assert all(not c.text.startswith(" ") for c in chunks)


def test_bad_sizes_raise() -> None:
    with pytest.raises(ValueError):
        split("text", 10, 10)


def _deal(kind: DealType, *names: str) -> Deal:
    return Deal(deal_type=kind, parties=[Party(name=n, role=Role.PARTNER) for n in names])


def test_merge_keeps_first_main_deal_and_drops_repeats() -> None:
    a = ArticleDeals(
        deals=[_deal(DealType.PARTNERSHIP, "Orin", "Vale")],
        companies=[Company(name="Orin", aliases=["Orin Optics"]), Company(name="Vale")],
    )
    b = ArticleDeals(
        deals=[_deal(DealType.PARTNERSHIP, "vale", "ORIN"), _deal(DealType.MERGER, "Tarn")],
        companies=[Company(name="orin", aliases=["Orin Labs"], country="Japanese")],
    )
    merged = merge([a, b])
    assert [d.deal_type for d in merged.deals] == [DealType.PARTNERSHIP, DealType.MERGER]
    assert merged.deals[0].parties[0].name == "Orin"
    orin = merged.companies[0]
    assert orin.aliases == ["Orin Optics", "Orin Labs"] and orin.country == "Japanese"
    assert [c.name for c in merged.companies] == ["Orin", "Vale"]


def test_long_article_is_chunked_merged_and_reported_once() -> None:
    """Two chunks, two deals: one call record, global offsets, costs summed."""
    from llm_extract import Report, Settings, extract_deals
    from tests.core.pipeline_helpers import ScriptedBackend

    first = "Harbor Valve Co agreed to acquire Pinecrest Instruments Inc. " * 3
    filler = "Trading in the shares was quiet on Tuesday. " * 12
    second = "Separately, Orin Optics formed a joint venture with Tarn Labs."
    text = first + filler + second
    deal_a = {"deals": [{"deal_type": "acquisition", "parties": [
        {"name": "Harbor Valve Co", "role": "acquirer"},
        {"name": "Pinecrest Instruments Inc", "role": "target"}]}], "companies": []}  # fmt: skip
    deal_b = {"deals": [{"deal_type": "joint_venture", "parties": [
        {"name": "Orin Optics", "role": "partner"},
        {"name": "Tarn Labs", "role": "partner"}]}], "companies": []}  # fmt: skip
    settings = Settings(
        base_url="http://unused", spans=False, strategy="full", chunk_chars=400, chunk_overlap=60
    )
    chunk_count = len(split(text, 400, 60))
    assert chunk_count >= 2
    script = [deal_a] + [{"deals": [], "companies": []}] * (chunk_count - 2) + [deal_b]
    report = Report()
    result = extract_deals(text, settings=settings, backend=ScriptedBackend(*script), report=report)
    assert [d.deal_type.value for d in result.deals] == ["acquisition", "joint_venture"]
    (call,) = report.calls
    assert call.chunks == chunk_count and call.attempts == chunk_count
    tarn = [e for e in call.evidence if e.value == "Tarn Labs"]
    assert tarn and text[tarn[0].start : tarn[0].end] == "Tarn Labs"
    assert tarn[0].start > len(first + filler)


def test_huge_input_is_a_clear_input_error_not_a_hang() -> None:
    from llm_extract import InputError, Settings, extract_deals
    from tests.core.pipeline_helpers import ScriptedBackend

    text = "Acme Corp agreed to buy Beta Inc. " * 160_000  # about 5.4 MB
    with pytest.raises(InputError, match="max_chars"):
        extract_deals(text, settings=Settings(base_url="http://unused"), backend=ScriptedBackend())


def test_control_characters_keep_offsets_exact() -> None:
    from llm_extract import Report, Settings, extract_deals
    from tests.core.pipeline_helpers import ScriptedBackend

    text = "\x1b[1m\x07Acme Corp\x0b agreed\x0c to buy\r\n Beta Inc.\x1f"
    answer = {"deals": [{"deal_type": "acquisition", "parties": [
        {"name": "Acme Corp", "role": "acquirer"}, {"name": "Beta Inc", "role": "target"}]}],
        "companies": []}  # fmt: skip
    report = Report()
    settings = Settings(base_url="http://unused", spans=True, strategy="full")
    extract_deals(text, settings=settings, backend=ScriptedBackend(answer), report=report)
    quotes = {e.value: text[e.start : e.end] for e in report.calls[0].evidence}
    assert quotes == {"Acme Corp": "Acme Corp", "Beta Inc": "Beta Inc"}
