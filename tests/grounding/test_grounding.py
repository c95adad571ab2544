"""Tests for llm_extract.grounding: candidate spans and alignment to the source text."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from llm_extract.grounding.align import TextIndex, align, fold_unicode
from llm_extract.text.candidates import Candidates, candidate_spans

ARTICLE = (
    "Acme Widgets Inc said it agreed to buy Beta Tools Ltd. for 5 mln dlrs.\n"
    "Generale de Banque paid 1.2 billion Belgian francs, and Zeta Corp paid $900M.\n"
    "The price for Orin Optics was undisclosed."
)


def folded(s: str) -> str:
    return TextIndex(s).folded[0].strip()


def span_of(value: str, text: str) -> str:
    m = align(value, text)
    assert m is not None, f"{value!r} not found"
    return text[m.start : m.end]


# --- candidate_spans ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["Acme Widgets Inc", "Acme Widgets", "Beta Tools Ltd", "Generale de Banque", "Zeta Corp"],
)
def test_company_names_are_name_candidates(name: str) -> None:
    assert name in candidate_spans(ARTICLE).names


def test_names_never_start_with_a_stop_word_or_end_with_a_connector() -> None:
    names = candidate_spans(ARTICLE).names
    assert "The" not in names
    assert not any(n.startswith(("The ", "the ")) for n in names)
    assert not any(n.endswith((" de", " and", " of")) for n in names)
    # a name runs through "de" only when a capitalised word follows
    assert "Generale de" not in names


def test_clause_punctuation_splits_names() -> None:
    names = candidate_spans("Acme Corp, Beta Corp and Gamma Inc.").names
    assert "Acme Corp" in names
    assert "Beta Corp" in names
    assert not any("," in n for n in names)


@pytest.mark.parametrize(
    "amount",
    ["5 mln dlrs", "1.2 billion Belgian francs", "$900M", "undisclosed"],
)
def test_money_candidates(amount: str) -> None:
    assert amount in candidate_spans(ARTICLE).money


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("It paid US$1.5 billion in cash.", "US$1.5 billion"),
        ("for 12.5 mln stg", "12.5 mln stg"),
        ("worth Rs 500 crore", "Rs 500 crore"),
        ("about EUR 40 million", "EUR 40 million"),
        ("Terms were not disclosed.", "not disclosed"),
        ("for an undisclosed sum", "undisclosed sum"),
        ("for $900 million", "$900 million"),
    ],
)
def test_more_money_forms(text: str, amount: str) -> None:
    assert amount in candidate_spans(text).money


@pytest.mark.parametrize("text", ["Two buyers 20 pct of the shares", "Its sellers 3 Ltd units"])
def test_currency_codes_do_not_start_inside_a_word(text: str) -> None:
    # "Rs" (rupees) must not match the tail of "buyers"/"sellers"
    assert candidate_spans(text).money == []


def test_candidates_are_whitespace_normalised_and_still_align() -> None:
    text = "Harbor Valve Co agreed with Pinecrest\nInstruments   Inc today for 42 mln\ndlrs."
    cands = candidate_spans(text)
    assert "Pinecrest Instruments Inc" in cands.names
    assert "42 mln dlrs" in cands.money
    for value in cands.for_kind("text"):
        assert value == " ".join(value.split())
    assert span_of("Pinecrest Instruments Inc", text) == "Pinecrest\nInstruments   Inc"
    assert span_of("42 mln dlrs", text) == "42 mln\ndlrs"


def test_candidates_have_no_repeats_and_keep_first_seen_order() -> None:
    cands = candidate_spans("Acme Corp met Beta. Acme Corp then met Beta.")
    assert len(cands.names) == len(set(cands.names))
    assert cands.names.index("Acme Corp") < cands.names.index("Beta")


def test_for_kind() -> None:
    cands = Candidates(names=["Acme", "Beta"], money=["5 mln dlrs"], phrases=["widgets", "Acme"])
    assert cands.for_kind("name") == ["Acme", "Beta"]
    assert cands.for_kind("money") == ["5 mln dlrs"]
    assert cands.for_kind("phrase") == ["widgets", "Acme", "Beta"]
    assert cands.for_kind("text") == ["Acme", "Beta", "5 mln dlrs", "widgets"]
    assert cands.for_kind("anything else") == cands.for_kind("text")


def test_phrases_skip_stop_words_at_the_edges() -> None:
    phrases = candidate_spans("It makes pressure gauges for the oil industry.").phrases
    assert "pressure gauges" in phrases
    assert "oil industry" in phrases
    edges = {w.lower() for p in phrases for w in (p.split()[0], p.split()[-1])}
    assert not edges & {"the", "for", "it"}


def test_numbers_with_thousands_separators_are_phrase_candidates() -> None:
    # Deal.volumes is briefed with "e.g. '2,000 jobs'", yet the comma splits the clause.
    assert "2,000 jobs" in candidate_spans("The plant will create 2,000 jobs in Ohio.").phrases


def test_candidates_across_a_hyphenated_line_break_align() -> None:
    text = "a contract manu-\nfacturing deal with Foo-\nBar Inc"
    unaligned = [c for c in candidate_spans(text).for_kind("text") if align(c, text) is None]
    assert unaligned == []


# --- align ---------------------------------------------------------------------------


def test_align_tiers() -> None:
    text = "Shares of ACME Widgets  Inc rose."
    exact = align("ACME Widgets", text)
    assert exact is not None and exact.alignment == "exact"
    assert text[exact.start : exact.end] == "ACME Widgets"
    case = align("acme widgets", text)
    assert case is not None and case.alignment == "case"
    assert text[case.start : case.end] == "ACME Widgets"
    fuzzy = align("Acme Widgets Inc.", text)
    assert fuzzy is not None and fuzzy.alignment == "fuzzy"
    assert text[fuzzy.start : fuzzy.end] == "ACME Widgets  Inc"


def test_align_across_hyphenation_at_a_line_break() -> None:
    text = "a contract manu-\nfacturing deal"
    m = align("manufacturing", text)
    assert m is not None and m.alignment == "fuzzy"
    assert text[m.start : m.end] == "manu-\nfacturing"
    assert align("contract manufacturing deal", text) is not None
    # a hyphen that is not at a line break is punctuation, not hyphenation
    assert align("manufacturing", "manu- facturing") is None


@pytest.mark.parametrize(
    "prefix", ["😀🚀 ", "Nestlé Société Générale — ", "华为和腾讯 ", "Straße 𝔘 "]
)
def test_offsets_index_the_original_string_after_unicode(prefix: str) -> None:
    text = prefix + "Kestrel Audio\nsigned with Vantage Circuits."
    for value, expected in [
        ("Vantage Circuits", "Vantage Circuits"),
        ("vantage circuits", "Vantage Circuits"),
        ("Kestrel Audio signed", "Kestrel Audio\nsigned"),
        ("KESTREL AUDIO", "Kestrel Audio"),
    ]:
        assert span_of(value, text) == expected


def test_align_non_ascii_values() -> None:
    text = "😀 Le groupe NESTLÉ a racheté la société Straße GmbH."
    assert span_of("Nestlé", text) == "NESTLÉ"
    assert span_of("STRASSE GMBH", text) == "Straße GmbH"


@pytest.mark.parametrize("value", ["", " ", "\n\t ", "Globex", "Initech Corp"])
def test_align_returns_none_for_empty_or_absent_values(value: str) -> None:
    assert align(value, ARTICLE) is None


def test_fuzzy_tier_respects_word_boundaries() -> None:
    text = "The Zeta Corporation bought Alphabeta Inc."
    # the fuzzy tier only matches whole words ...
    assert align("corp.", text) is None
    assert align("beta inc!", text) is None
    assert align("zeta corporation!", text) is not None
    # ... and so do the exact and case tiers: a value never matches part of a word
    assert align("Corp", text) is None
    assert align("beta inc", text) is None
    m = align("Alphabeta Inc", text)
    assert m is not None and m.alignment == "exact"


def test_a_hyphenated_name_broken_at_its_hyphen_aligns() -> None:
    assert span_of("Mercedes-Benz", "its Mercedes-\nBenz unit") == "Mercedes-\nBenz"


def test_the_lower_case_form_of_a_dotted_capital_i_aligns() -> None:
    # "İ".lower() == "i̇" and "İ".casefold() == "i̇" (i + U+0307): _fold keeps the
    # combining dot in the text but turns it into a space in the value.
    text = "Flights to İSTANBUL resumed."
    assert span_of("İSTANBUL".lower(), text) == "İSTANBUL"


def test_a_shared_index_gives_the_same_answer_and_is_built_only_when_needed() -> None:
    index = TextIndex(ARTICLE)
    assert align("Acme Widgets Inc", ARTICLE, index) is not None
    assert index._lowered is None and index._folded is None
    for value in ["acme widgets inc", "ORIN optics", "5 mln\ndlrs", "nowhere"]:
        assert align(value, ARTICLE, index) == align(value, ARTICLE)
    assert index._folded is not None


# --- properties ----------------------------------------------------------------------

ALPHABET = "abcXYZ019éÉßΣσςΩ华為"
BASE_SEPARATORS = [" ", "  ", "\n", ", ", ". ", " - ", " 😀 ", "\t", " (", ") ", "; "]
words = st.text(alphabet=st.sampled_from(ALPHABET), min_size=1, max_size=6) | st.sampled_from(
    ["Acme", "Inc", "Corp.", "de", "and", "mln", "dlrs", "$5", "The", "O'Neil", "AT&T"]
)


def word_runs(separators: list[str]) -> st.SearchStrategy[tuple[list[str], str]]:
    """(words, text): the words joined by random separators."""

    @st.composite
    def build(draw: st.DrawFn) -> tuple[list[str], str]:
        ws = draw(st.lists(words, min_size=1, max_size=10))
        n = len(ws) + 1
        seps = draw(st.lists(st.sampled_from(separators), min_size=n, max_size=n))
        return ws, seps[0] + "".join(w + sep for w, sep in zip(ws, seps[1:], strict=True))

    return build()


@settings(max_examples=200)
@given(text=st.text(max_size=40) | word_runs(BASE_SEPARATORS).map(lambda r: r[1]), data=st.data())
def test_any_substring_aligns_to_an_equivalent_span(text: str, data: st.DataObject) -> None:
    """Any substring that does not cut a word in two aligns (align matches whole words)."""
    assume("-\n" not in text and "\u00ad" not in text)
    cuts = [
        k
        for k in range(len(text) + 1)
        if k in (0, len(text)) or not (text[k - 1].isalnum() and text[k].isalnum())
    ]
    i = data.draw(st.sampled_from(cuts), label="start")
    j = data.draw(st.sampled_from([k for k in cuts if k >= i]), label="end")
    value = text[i:j]
    assume(any(c.isalnum() for c in value))
    m = align(value, text)
    assert m is not None
    assert 0 <= m.start < m.end <= len(text)
    assert folded(text[m.start : m.end]) == folded(value)


@settings(max_examples=200)
@given(
    run=word_runs(BASE_SEPARATORS),
    data=st.data(),
    recase=st.sampled_from([str.upper, str.lower, str.swapcase, str.title]),
)
def test_reworded_runs_of_whole_words_align(
    run: tuple[list[str], str], data: st.DataObject, recase: Callable[[str], str]
) -> None:
    ws, text = run
    i = data.draw(st.integers(0, len(ws) - 1), label="first")
    j = data.draw(st.integers(i, min(i + 3, len(ws) - 1)), label="last")
    value = recase(" ".join(ws[i : j + 1]))
    assume(any(c.isalnum() for c in value))
    m = align(value, text)
    assert m is not None
    assert folded(text[m.start : m.end]) == folded(value)


@settings(max_examples=150)
@given(run=word_runs([*BASE_SEPARATORS, "-\n"]))
@example(run=(["0", "0", "0", "dlrs"], " 0 0-\n0\tdlrs "))  # money across a soft line break
@example(run=(["$5", "0X"], " $5-\n0X "))  # joined, "$50X" is one token, not "$50"
def test_every_candidate_aligns(run: tuple[list[str], str]) -> None:
    text = run[1]
    for value in candidate_spans(text).for_kind("text"):
        m = align(value, text)
        assert m is not None, value
        assert folded(text[m.start : m.end]) == folded(value)


# --- Unicode normalization: precomposed and decomposed text align alike -------------


def test_a_precomposed_value_aligns_with_decomposed_text_and_keeps_its_mark() -> None:
    text = "Shares of Le Cafe\u0301 Noir SA rose."
    match = align("Café Noir", text)
    assert match is not None
    assert text[match.start : match.end] == "Cafe\u0301 Noir"
    last = align("Le Café", text)
    assert last is not None and text[last.start : last.end] == "Le Cafe\u0301"


def test_a_decomposed_value_aligns_with_precomposed_text() -> None:
    text = "Shares of Le Café Noir SA rose."
    match = align("Cafe\u0301", text)
    assert match is not None and text[match.start : match.end] == "Café"


def test_a_match_never_cuts_a_combining_mark_off_a_word() -> None:
    assert align("Zoe", "Zoe\u0308 Holdings bought it.") is None


_LETTERS = st.sampled_from(["a", "e", "o", "n", "c", "é", "ö", "ñ", "ç", "A", "É"])


@given(
    words=st.lists(st.text(_LETTERS, min_size=1, max_size=6), min_size=1, max_size=3),
    before=st.text(_LETTERS, max_size=5),
)
@settings(max_examples=200, deadline=None)
def test_any_nfc_value_is_found_in_its_nfd_text(words: list[str], before: str) -> None:
    import unicodedata

    value = unicodedata.normalize("NFC", " ".join(words))
    text = unicodedata.normalize("NFD", f"{before} said {value} agreed.")
    match = align(value, text)
    assert match is not None
    quote = text[match.start : match.end]
    assert unicodedata.normalize("NFC", quote).casefold() == value.casefold()


@settings(max_examples=400)
@given(st.text(alphabet="aZ09-\n\r \t.,'", max_size=40) | st.text(max_size=40).filter(str.isascii))
@example("hyphen-\nated, -\r\n  and. -\n split-\tnot")
@example("-\nfirst and last-\n")
def test_the_ascii_fold_agrees_with_the_unicode_walk(text: str) -> None:
    assert TextIndex(text).folded == fold_unicode(text)
