"""Tests for llm_extract.jsonl: the one JSON Lines reader."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_extract.errors import InputError
from llm_extract.jsonl import read_jsonl

VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(rows=st.lists(VALUES, max_size=8), gz=st.booleans())
@settings(max_examples=60, deadline=None)
def test_what_is_written_is_read_back_with_line_numbers(
    tmp_path_factory: pytest.TempPathFactory, rows: list[object], gz: bool
) -> None:
    path = tmp_path_factory.mktemp("j") / ("rows.jsonl.gz" if gz else "rows.jsonl")
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n\n" for r in rows)
    if gz:
        path.write_bytes(gzip.compress(body.encode("utf-8")))
    else:
        path.write_text(body, encoding="utf-8")
    read = list(read_jsonl(path))
    assert [v for _, v in read] == rows
    assert [n for n, _ in read] == [1 + 2 * i for i in range(len(rows))]


def test_a_broken_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"id": 1}\n{"id": 2\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"x\.jsonl:2: not JSON"):
        list(read_jsonl(path))
