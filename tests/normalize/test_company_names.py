"""Tests for llm_extract.normalize.company_names: grouping the spellings of one company."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_extract.normalize.company_names import fold_name, group_company_names

FAST = settings(max_examples=150, deadline=None)


KESTREL = ["Kestrel Foods Inc", "Kestrel", "kestrel  foods", "Kestrel's", "The Kestrel Foods Co."]


@pytest.mark.parametrize(
    ("names", "groups"),
    [
        (["Zentara", "Zentara Electronics", "Zentara Group"],
         [["Zentara Electronics", "Zentara"], ["Zentara Group"]]),
        (["Zentara Group", "Zentara", "Zentara Electronics"],
         [["Zentara Group"], ["Zentara Electronics", "Zentara"]]),
        (KESTREL, [KESTREL]),
        (["Brava", "Brava Group"], [["Brava Group", "Brava"]]),
        (["Pellam Motors", "Pellam Steel", "Pellam", "Pellam Motors Ltd"],
         [["Pellam Motors Ltd", "Pellam Motors"], ["Pellam Steel"], ["Pellam"]]),
        (["Orsa Holdings", "Orsa Group", "Orsa"], [["Orsa Holdings"], ["Orsa Group"], ["Orsa"]]),
        (["Norvik Energy GmbH", "NORVIK ENERGY GMBH", " "], [["Norvik Energy GmbH"]]),
        (["Lumo AG", "Lumo SpA"], [["Lumo SpA", "Lumo AG"]]),
    ],
)  # fmt: skip
def test_group_company_names(names: list[str], groups: list[list[str]]) -> None:
    assert group_company_names(names) == groups


POOL = ["Zentara", "Zentara Electronics", "Zentara Group", "zentara electronics ltd",
        "Kestrel", "Kestrel Foods Inc", "Kestrel's", "The Kestrel Foods Co.", "Orsa Holdings",
        "Pellam Motors", "Pellam Steel", "Pellam", "Norvik Energy", "Norvik"]  # fmt: skip
NAMES = st.lists(st.one_of(st.sampled_from(POOL), st.text(max_size=12)), max_size=12)


@FAST
@given(NAMES)
def test_group_company_names_partitions_the_names(names: list[str]) -> None:
    flat = [n for group in group_company_names(names) for n in group]
    assert len({fold_name(n) for n in flat}) == len(flat)
    assert {fold_name(n) for n in flat} == {fold_name(n) for n in names if n.strip()}
    assert all(n in {m.strip() for m in names} for n in flat)


@FAST
@given(NAMES)
def test_group_company_names_is_idempotent(names: list[str]) -> None:
    groups = group_company_names(names)
    assert group_company_names([n for group in groups for n in group]) == groups
