"""Per-field confidence from token log-probabilities (llm_extract.grounding.confidence)."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from llm_extract.grounding.confidence import confidences


def _tokens(text: str, size: int = 3, lp: float = -0.1) -> list[tuple[str, float]]:
    return [(text[i : i + size], lp) for i in range(0, len(text), size)]


def test_each_scalar_gets_the_probability_of_its_least_likely_token() -> None:
    text = '{"deals": [{"buyer": "Acme", "type": "acquisition", "seller": null}]}'
    tokens = _tokens(text)
    doubt = text.index("Acme")
    tokens[doubt // 3] = (tokens[doubt // 3][0], math.log(0.25))
    found = {c.path: c for c in confidences(text, tokens)}
    assert set(found) == {"deals[0].buyer", "deals[0].type", "deals[0].seller"}
    assert math.isclose(found["deals[0].buyer"].p, 0.25)
    assert found["deals[0].buyer"].value == "Acme"
    assert math.isclose(found["deals[0].type"].p, math.exp(-0.1))
    assert found["deals[0].seller"].value == "null"


def test_an_empty_list_gets_the_probability_of_the_token_that_closed_it() -> None:
    tokens = [('{"', -0.01), ("deals", -0.01), ('":', -0.01), (" [", -0.02), ("]}", math.log(0.3))]
    [found] = confidences('{"deals": []}', tokens)
    assert (found.path, found.value) == ("deals", "[]") and math.isclose(found.p, 0.3)


def test_no_tokens_or_tokens_that_do_not_spell_the_answer_give_nothing() -> None:
    assert confidences('{"a": 1}', None) == []
    assert confidences('{"a": 1}', [('{"a": 2}', -0.1)]) == []
    assert confidences("not json", [("not json", -0.1)]) == []


SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=5)


def _nested(inner: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)


@given(st.recursive(SCALARS, _nested, max_leaves=8))
def test_any_json_answer_maps_every_scalar_and_empty_list(value: object) -> None:
    text = json.dumps({"v": value}, ensure_ascii=False)
    found = confidences(text, _tokens(text, 2))
    leaves = []

    def walk(v: object) -> None:
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
            if not v:
                leaves.append(v)
        else:
            leaves.append(v)

    walk(value)
    assert len(found) == len(leaves)
    assert all(0 < c.p <= 1 for c in found)
