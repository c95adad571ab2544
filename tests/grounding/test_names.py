"""Whether a side reads as a company (llm_extract.grounding.names)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_extract.grounding.names import (
    _DEAL_NOUNS,
    looks_counted,
    looks_name,
    looks_person,
    looks_place,
    short_form,
    without_aside,
    without_opener,
)


@pytest.mark.parametrize(
    ("name", "text", "person"),
    [
        ("Priya Natarajan", "Priya Natarajan, chairman of Corvid Labs, said", True),
        ("Tomas Reyes", "said the chief executive of Brindle, Tomas Reyes.", True),
        ("Tomas Reyes", "said CEO Tomas Reyes", True),
        ("Corvid Labs", "At Corvid Labs, CEO Tomas Reyes said", False),
        ("Corvid Labs", "Corvid Labs, the maker of sensors, said", False),
        ("Reyes", "Tomas Reyes, the bank's head of lending, said. Reyes added", True),
        ("Reyes", "Tomas Reyes , the bank 's head of lending , said", True),
        ("Corvid", "Corvid, the bank's biggest lender, said", False),
        ("Tull", "Mara Tull, founder of Tull Motors, said Tull Motors would buy Pell.", False),
        ("Tull", "Mara Tull, the chief executive of Tull, said", False),
    ],
)
def test_a_title_beside_a_name_marks_a_person(name: str, text: str, person: bool) -> None:
    assert looks_person(name, text) is person


def test_a_title_closing_the_sentence_before_marks_no_one() -> None:
    text = "said Mei-Ling Chou, chief operating officer of Lumora.\n\nKavya Electronics makes it."
    assert not looks_person("Kavya Electronics", text)
    assert looks_person("Mei-Ling Chou", text)


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("Brindle Foods", True), ("eBay", True), ("3M", True), ("7-Eleven", True),
        ("20th Century Fox", True), ("Hongkong Electric Holdings Ltd <HKEH.HK>", True),
        ("the automaker", False), ("research and development", False), ("He", False),
        ("its", False), ("Shr 73 cts vs 58 cts", False), ("Net 1,101,000", False),
        ("7-3/4 pct convertible debentures", False), ("a 20% stake", False),
        ("Ulterior motives ?", False), ("TV deals", False), ("Great Deal Ltd", True),
    ],
)  # fmt: skip
def test_a_side_must_read_as_a_name(value: str, name: bool) -> None:
    assert looks_name(value) is name


@given(
    st.from_regex(r"[A-Z][a-z]{5,8}( [A-Za-z][a-z]{1,8}){0,3}", fullmatch=True).filter(
        lambda v: v.split()[-1] not in _DEAL_NOUNS
    )
)
def test_a_capitalised_word_without_figures_makes_a_name(value: str) -> None:
    assert looks_name(value)


@pytest.mark.parametrize(
    ("name", "text", "counted"),
    [
        ("Skyliners", "Orrin will sell 38 Skyliners to Pell. Pell owns 55 Skyliners.", True),
        ("Skyliners", "Pell ordered two Skyliners.", True),
        ("Sears", "Sears bought Tull. It runs 30 Sears stores.", False),
        ("Walmart", "It runs 20 Walmart stores.", False),
        ("Pell Holdings", "Pell Holdings bought Tull.", False),
    ],
)
def test_a_plural_the_text_only_counts_is_a_product(name: str, text: str, counted: bool) -> None:
    assert looks_counted(name, text) is counted


@pytest.mark.parametrize(
    ("name", "bare"),
    [
        ("Separately, Pell Retail", "Pell Retail"),
        ("Meanwhile, Orrin", "Orrin"),
        ("Pell Retail", None),
        ("Skadden, Arps", None),
        ("Early, Cole & Co", None),
    ],
)
def test_a_clause_opener_is_no_part_of_a_name(name: str, bare: str | None) -> None:
    assert without_opener(name) == bare


@pytest.mark.parametrize(
    ("name", "head"),
    [
        ("Halvard Corp , through its subsidiary Orrin Mills Ltd ,", "Halvard Corp"),
        ("Orrin Mills, a unit of Halvard", "Orrin Mills"),
        ("Orrin Mills", None),
        ("Early, Cole & Co", None),
        ("Pell, Marrow, and Tull", None),
        ("Pell confectionery, tobacco and newsagent business", None),
        ("Pell Mills, which Halvard owns", "Pell Mills"),
        (", which bought Orrin", None),
    ],
)
def test_an_aside_copied_after_a_name_is_no_part_of_it(name: str, head: str | None) -> None:
    assert without_aside(name) == head


@pytest.mark.parametrize(
    ("name", "place"),
    [
        ("Wentzville , Missouri", True),
        ("Pune, India", True),
        ("Oakdale, Ontario", True),
        ("Georgia", False),
        ("Merrill Pell, Fenner & Tull", False),
        ("Pell Bank, N.A.", False),
    ],
)
def test_a_town_and_its_state_or_country_is_a_place(name: str, place: bool) -> None:
    assert looks_place(name) is place


@given(st.text(alphabet="abcdefghij ,ABC", max_size=30).map(lambda s: s.replace("j", " a ")))
def test_a_trimmed_name_is_the_start_of_the_name(name: str) -> None:
    head = without_aside(name)
    if head is not None:
        rest = name.strip().removeprefix(head)
        assert len(rest) < len(name.strip()) and rest.lstrip().startswith(",")


@pytest.mark.parametrize(
    ("name", "text", "short"),
    [
        ("Orrin Pharma Ltd", "Orrin Pharma Ltd rose. Separately, Orrin signed a deal.", "Orrin"),
        ("Orrin Pharma Ltd", "Orrin Pharma Ltd and Orrin Labs. Orrin signed a deal.", None),
        ("Sentra Energy", "Sentra Energy bought a stake. Sentra's shares rose.", "Sentra"),
        ("General Motors", "General Motors rose. General terms were agreed.", None),
        ("Orrin", "Orrin signed a deal.", None),
        ("iRobot Corp", "iRobot Corp rose. iRobot signed a deal.", None),
    ],
)
def test_a_first_word_the_text_uses_for_one_company_only_is_its_short_form(
    name: str, text: str, short: str | None
) -> None:
    assert short_form(name, text) == short
