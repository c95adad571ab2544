"""Tests for llm_extract.core.parsing: parse_json and its named, deterministic repairs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_extract.core.parsing import Parsed, ParseFailure, parse_json

# --- strategies ---------------------------------------------------------------

# Backticks are kept out of the general strategies; strings containing a fence
# have their own property (test_fences_inside_strings_are_left_alone) so that one
# bug fails one test.
no_backtick = st.characters(blacklist_characters="`")
strings = st.text(max_size=12, alphabet=no_backtick)
keys = st.text(max_size=6, alphabet=no_backtick)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | strings
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=15,
)
containers = st.lists(json_values, max_size=4) | st.dictionaries(keys, json_values, max_size=4)
objects = st.dictionaries(keys, json_values, min_size=1, max_size=4)
indents = st.sampled_from([None, 1, 2])


def dumps_with_trailing_commas(value: Any, sep: str) -> str:
    """Serialise like json.dumps, but with a comma (then ``sep``) before every
    closing bracket of a non-empty container."""
    if isinstance(value, dict):
        items = [f"{json.dumps(k)}: {dumps_with_trailing_commas(v, sep)}" for k, v in value.items()]
        return "{" + ", ".join(items) + ("," + sep if items else "") + "}"
    if isinstance(value, list):
        items = [dumps_with_trailing_commas(v, sep) for v in value]
        return "[" + ", ".join(items) + ("," + sep if items else "") + "]"
    return json.dumps(value)


def has_nonempty_container(value: Any) -> bool:
    if isinstance(value, dict):
        return bool(value) or any(map(has_nonempty_container, value.values()))
    if isinstance(value, list):
        return bool(value)
    return False


def is_prefix_subset(got: Any, original: Any) -> bool:
    """True when ``got`` is what remains of ``original`` after cutting its
    serialisation short: at every level the keys/elements are a leading run of
    the original's, all equal except that the last may be a shortened container."""
    if isinstance(original, dict):
        if not isinstance(got, dict) or list(got) != list(original)[: len(got)]:
            return False
        pairs = [(got[k], original[k]) for k in got]
    elif isinstance(original, list):
        if not isinstance(got, list) or len(got) > len(original):
            return False
        pairs = list(zip(got, original, strict=False))
    else:
        return False
    for index, (g, o) in enumerate(pairs):
        if g == o and type(g) is type(o):
            continue
        if index == len(pairs) - 1 and isinstance(o, dict | list) and is_prefix_subset(g, o):
            continue
        return False
    return True


def test_prefix_subset_helper_rejects_wrong_results() -> None:
    original = {"a": [1, 2, {"b": 3}], "c": "x"}
    assert is_prefix_subset({"a": [1, 2, {}]}, original)
    assert is_prefix_subset({}, original)
    assert not is_prefix_subset({"c": "x"}, original)  # skips a key
    assert not is_prefix_subset({"a": [1, 3]}, original)  # changed element
    assert not is_prefix_subset({"a": [1, {}], "c": "x"}, original)  # non-last shortened
    assert not is_prefix_subset([9], original)


# --- examples: no repair ------------------------------------------------------


def test_valid_json_needs_no_repair() -> None:
    parsed = parse_json('  {"a": [1, 2.5, null, true], "b": "x"}\n')
    assert isinstance(parsed, Parsed)
    assert parsed.value == {"a": [1, 2.5, None, True], "b": "x"}
    assert parsed.repairs == []


@pytest.mark.parametrize("raw", ["", "   ", "\n\t"])
def test_empty_answer_fails(raw: str) -> None:
    with pytest.raises(ParseFailure, match="empty"):
        parse_json(raw)


@pytest.mark.parametrize("raw", ["no json here", "```json\n```", "I cannot help with that."])
def test_answer_without_object_or_array_fails(raw: str) -> None:
    with pytest.raises(ParseFailure, match="no JSON object or array"):
        parse_json(raw)


def test_parse_failure_is_a_value_error() -> None:
    assert issubclass(ParseFailure, ValueError)


def test_invalid_json_after_repairs_names_the_repairs() -> None:
    with pytest.raises(ParseFailure, match=r"after repairs \(prose\)"):
        parse_json('Answer: {"a": nope}')


# --- examples: each repair -----------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        '```json\n{"a": 1}\n```',
        '```\n{"a": 1}\n```',
        '```JSON  \r\n{"a": 1}\r\n```',
        '```json\n{"a": 1}',  # the closing fence never came
        'Here it is:\n```json\n{"a": 1}\n```\nAnything else?',
    ],
)
def test_fence(raw: str) -> None:
    parsed = parse_json(raw)
    assert parsed.value == {"a": 1}
    assert parsed.repairs[0] == "fence"
    assert "truncated" not in parsed.repairs


@pytest.mark.parametrize("raw", ['Sure! {"a": 1}', "Result:\n[1, 2]", 'x]{"a": 1}'])
def test_prose_before_the_json(raw: str) -> None:
    parsed = parse_json(raw)
    assert parsed.value in ({"a": 1}, [1, 2])
    assert parsed.repairs == ["prose"]


@pytest.mark.parametrize(
    "raw", ['{"a": 1} Hope this helps.', "[1, 2]\nDone {", '{"a": 1}}', '{"a": 1,} ok']
)
def test_prose_after_the_json_is_reported(raw: str) -> None:
    # The module docstring: "prose" covers text "after the JSON ends", and
    # nothing is fixed silently.
    parsed = parse_json(raw)
    assert parsed.value in ({"a": 1}, [1, 2])
    assert "prose" in parsed.repairs


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"a": 1,}', {"a": 1}),
        ("[1, 2, ]", [1, 2]),
        ('{"a": [1, 2,\n  ],\n}', {"a": [1, 2]}),
        ('{"a": "x,]", "b": [1,]}', {"a": "x,]", "b": [1]}),  # commas in strings stay
    ],
)
def test_trailing_comma(raw: str, expected: Any) -> None:
    parsed = parse_json(raw)
    assert parsed.value == expected
    assert parsed.repairs == ["trailing_comma"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"a": [1, 2', {"a": [1]}),  # "2" might have been "25": dropped
        ('{"a": [1, 2 ,', {"a": [1, 2]}),  # a separator ends the number
        ('{"a": 1, "b": "unfinished str', {"a": 1}),
        ('{"a": 1, "b": tr', {"a": 1}),
        ('{"a": 1, "b', {"a": 1}),
        ('{"a": 1, "b":', {"a": 1}),
        ('{"a": {"b": [1, {"c": 2', {"a": {"b": [1, {}]}}),
        ('[{"x": "a\\"b"}, {"y"', [{"x": 'a"b'}, {}]),
        ("[", []),
    ],
)
def test_truncated(raw: str, expected: Any) -> None:
    parsed = parse_json(raw)
    assert parsed.value == expected
    assert parsed.repairs == ["truncated"]


def test_repairs_are_reported_in_order() -> None:
    parsed = parse_json('```json\nSure: {"a": [1,], "b": {"c": "d"\n```')
    assert parsed.value == {"a": [1], "b": {"c": "d"}}
    assert parsed.repairs == ["fence", "prose", "trailing_comma", "truncated"]


# --- examples that expose bugs (see the report) -----------------------------------


def test_fence_around_json_with_backticks_in_a_string() -> None:
    raw = '```json\n{"a": "x ``` y", "b": 2}\n```'
    parsed = parse_json(raw)
    assert parsed.value == {"a": "x ``` y", "b": 2}
    assert "truncated" not in parsed.repairs


def test_truncated_json_with_a_fence_inside_a_string_is_not_misread() -> None:
    original = {"a": "```\n[9]", "b": [1, 2]}
    parsed = parse_json(json.dumps(original)[:-2])
    assert "truncated" in parsed.repairs
    assert is_prefix_subset(parsed.value, original), parsed


def test_deeply_nested_input_raises_parse_failure_only() -> None:
    with pytest.raises(ParseFailure):
        parse_json("[" * 5000)


# --- properties ---------------------------------------------------------------

fence_strings = st.builds(
    lambda a, fence, b: a + fence + b,
    st.text(max_size=4),
    st.sampled_from(["```", "```json\n[9]", "```\n{", "\n```\n"]),
    st.text(max_size=4),
)


@settings(max_examples=100)
@given(
    value=st.dictionaries(st.text(max_size=4), fence_strings | st.lists(fence_strings), min_size=1),
    form=st.sampled_from(["fenced", "trailing_comma"]),
)
def test_fences_inside_strings_are_left_alone(value: dict[str, Any], form: str) -> None:
    if form == "fenced":
        raw = f"```json\n{json.dumps(value, indent=1)}\n```"
    else:
        raw = dumps_with_trailing_commas(value, "")
    assert parse_json(raw).value == value


@settings(max_examples=150)
@given(value=json_values, indent=indents)
def test_serialised_json_round_trips_without_repairs(value: Any, indent: int | None) -> None:
    parsed = parse_json(json.dumps(value, indent=indent))
    assert parsed.value == value
    assert parsed.repairs == []


@settings(max_examples=150)
@given(value=containers, indent=indents, tag=st.sampled_from(["json", "", "JSON"]))
def test_fenced_json_round_trips(value: Any, indent: int | None, tag: str) -> None:
    parsed = parse_json(f"```{tag}\n{json.dumps(value, indent=indent)}\n```")
    assert parsed.value == value
    assert "fence" in parsed.repairs
    assert "truncated" not in parsed.repairs


@settings(max_examples=150)
@given(value=containers, sep=st.sampled_from(["", " ", "\n  "]))
def test_trailing_commas_are_dropped(value: Any, sep: str) -> None:
    raw = dumps_with_trailing_commas(value, sep)
    parsed = parse_json(raw)
    assert parsed.value == value
    assert ("trailing_comma" in parsed.repairs) == has_nonempty_container(value)
    assert "truncated" not in parsed.repairs


@settings(max_examples=200)
@given(value=objects, indent=indents, data=st.data())
def test_any_prefix_parses_to_a_prefix_subset_or_fails_cleanly(
    value: dict[str, Any], indent: int | None, data: st.DataObject
) -> None:
    text = json.dumps(value, indent=indent)
    cut = data.draw(st.integers(min_value=0, max_value=len(text)), label="cut")
    try:
        parsed = parse_json(text[:cut])
    except ParseFailure:
        return
    if "truncated" in parsed.repairs:
        assert is_prefix_subset(parsed.value, value), (text[:cut], parsed)
    else:
        assert parsed.value == value


@settings(max_examples=200)
@given(
    raw=st.text()
    | st.text(alphabet='{}[]",:\\` \n0123456789.-+eEtruefalsn', max_size=40)
    | json_values.map(json.dumps).flatmap(
        lambda s: st.integers(0, len(s)).map(lambda i: "```json\n" + s[:i] + "," + s[i:])
    )
)
def test_arbitrary_text_only_ever_raises_parse_failure(raw: str) -> None:
    try:
        parsed = parse_json(raw)
    except ParseFailure:
        return
    assert isinstance(parsed.repairs, list)
    assert set(parsed.repairs) <= {"fence", "prose", "trailing_comma", "truncated"}
