"""Grounding in the extraction loop: evidence into the article, the grounding
re-ask, dropped and flagged values, prompt injection, and span-constrained schemas.

A scripted in-process backend (tests/core/pipeline_helpers.py) stands in for
the model; the articles are short invented texts.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, Field

from llm_extract import ArticleDeals, Report, extract, extract_deals
from tests.core.pipeline_helpers import (
    ARTICLE,
    GOOD,
    HIRE_ARTICLE,
    INJECTED,
    INJECTION_ARTICLE,
    PARTIES,
    SETTINGS,
    ScriptedBackend,
    dumps,
    last_user,
)


def with_party(name: str, role: str = "seller", *, first: bool = False) -> dict[str, Any]:
    """GOOD plus one more party (and company) named ``name``."""
    answer = json.loads(dumps(GOOD))
    party = {"name": name, "role": role}
    if first:
        answer["deals"][0]["parties"].insert(0, party)
        answer["companies"].insert(0, {"name": name})
    else:
        answer["deals"][0]["parties"].append(party)
        answer["companies"].append({"name": name})
    return answer


def _steps(path: str) -> list[str | int]:
    return [
        int(index) if index else name
        for name, index in re.findall(r"([A-Za-z_]\w*)|\[(\d+)\]", path)
    ]


def resolve(data: Any, path: str) -> Any:
    """The value at a report path such as ``deals[0].parties[1].name``."""
    for step in _steps(path):
        data = data[step]
    return data


# --------------------------------------------------------------------------- grounding


def test_grounded_values_carry_evidence_into_the_article() -> None:
    report = Report()
    result = extract_deals(ARTICLE, settings=SETTINGS, backend=ScriptedBackend(GOOD), report=report)
    evidence = report.calls[0].evidence
    paths = {e.path for e in evidence}
    assert {
        "deals[0].parties[0].name",
        "deals[0].parties[1].name",
        "deals[0].amount.text",
        "deals[0].people[0].name",
        "companies[0].aliases[0]",
    } <= paths
    assert "deals[0].amount.currency" not in paths  # derived, not quoted
    data = result.model_dump(mode="json")
    for e in evidence:
        assert ARTICLE[e.start : e.end] == e.quote
        assert resolve(data, e.path) == e.value
        assert e.alignment == "exact"


def test_case_and_punctuation_variants_align_to_the_original_text() -> None:
    answer = json.loads(dumps(GOOD))
    answer["deals"][0]["acquired_business"] = "LIDAR UNITS"
    answer["companies"][1]["name"] = "Lakeshore Sensors, Ltd."
    report = Report()
    extract_deals(ARTICLE, settings=SETTINGS, backend=ScriptedBackend(answer), report=report)
    by_path = {e.path: e for e in report.calls[0].evidence}
    business = by_path["deals[0].acquired_business"]
    assert (business.quote, business.alignment) == ("lidar units", "case")
    name = by_path["companies[1].name"]
    assert (name.quote, name.alignment) == ("Lakeshore Sensors Ltd", "fuzzy")
    for e in by_path.values():
        assert ARTICLE[e.start : e.end] == e.quote
    assert report.calls[0].dropped == []


def test_invented_value_gets_one_grounding_reask_then_is_dropped() -> None:
    invented = with_party("Zentrix Holdings")
    backend = ScriptedBackend(invented, invented, invented)
    report = Report()
    result = extract_deals(ARTICLE, settings=SETTINGS, backend=backend, report=report)

    assert len(backend.requests) == 2  # exactly one grounding re-ask
    reask = last_user(backend.requests[1])
    assert "not in the article" in reask and "Zentrix Holdings" in reask
    assert "Use only text that appears in the article" in reask

    assert "Zentrix" not in result.model_dump_json()
    assert [p.name for p in result.main_deal.parties] == [  # type: ignore[union-attr]
        "Norvane Robotics",
        "Lakeshore Sensors Ltd",
    ]
    dropped = report.calls[0].dropped
    assert {(d.path, d.value) for d in dropped} == {
        ("deals[0].parties[2].name", "Zentrix Holdings"),
        ("companies[2].name", "Zentrix Holdings"),
    }
    assert all("removed" in d.reason for d in dropped)
    assert all("Zentrix" not in e.value for e in report.calls[0].evidence)


def test_flag_policy_keeps_ungrounded_values_and_reports_them() -> None:
    invented = with_party("Zentrix Holdings")
    backend = ScriptedBackend(invented, invented)
    report = Report()
    settings = SETTINGS.with_(ungrounded="flag")
    result = extract_deals(ARTICLE, settings=settings, backend=backend, report=report)
    assert "Zentrix Holdings" in [p.name for p in result.deals[0].parties]
    flagged = report.calls[0].dropped
    assert {d.value for d in flagged} == {"Zentrix Holdings"}
    assert all(d.reason.startswith("flagged") for d in flagged)
    assert all(e.value != "Zentrix Holdings" for e in report.calls[0].evidence)


def test_invented_value_corrected_after_grounding_reask() -> None:
    backend = ScriptedBackend(with_party("Zentrix Holdings"), GOOD)
    report = Report()
    result = extract_deals(ARTICLE, settings=SETTINGS, backend=backend, report=report)
    assert result == ArticleDeals.model_validate(GOOD)
    assert report.calls[0].dropped == []
    assert report.calls[0].attempts == 2


def test_grounding_reask_respects_the_budget() -> None:
    backend = ScriptedBackend(with_party("Zentrix Holdings"))
    report = Report()
    result = extract_deals(
        ARTICLE, settings=SETTINGS.with_(reasks=0), backend=backend, report=report
    )
    assert len(backend.requests) == 1
    assert "Zentrix" not in result.model_dump_json()
    assert report.calls[0].dropped


def test_evidence_paths_point_into_the_returned_value_after_a_drop() -> None:
    # the invented party comes first, so dropping it shifts the real ones
    invented = with_party("Zentrix Holdings", first=True)
    report = Report()
    result = extract_deals(
        ARTICLE, settings=SETTINGS, backend=ScriptedBackend(invented, invented), report=report
    )
    data = result.model_dump(mode="json")
    assert "Zentrix" not in result.model_dump_json()
    for e in report.calls[0].evidence:
        assert ARTICLE[e.start : e.end] == e.quote
        try:
            found = resolve(data, e.path)
        except (IndexError, KeyError):
            found = None
        assert found == e.value, f"evidence path {e.path} does not hold {e.value!r}"


def test_prompt_injection_in_the_article_does_not_reach_the_result() -> None:
    assert INJECTED not in INJECTION_ARTICLE
    obeyed = {
        "deals": [
            {
                "deal_type": "acquisition",
                "parties": [
                    {"name": INJECTED, "role": "acquirer"},
                    {"name": "Tamsin Logistics", "role": "target"},
                ],
                "amount": {"text": "4 mln dlrs"},
            }
        ],
        "companies": [{"name": INJECTED}, {"name": "Tamsin Logistics"}],
    }
    backend = ScriptedBackend(obeyed, obeyed, obeyed)
    report = Report()
    result = extract_deals(INJECTION_ARTICLE, settings=SETTINGS, backend=backend, report=report)

    assert INJECTED not in result.model_dump_json()
    assert INJECTED in {d.value for d in report.calls[0].dropped}
    assert len(backend.requests) == 2
    # the article's own closing tag is defused, so the text stays inside one <article> block
    turn = last_user(backend.requests[0])
    assert turn.count("</article>") == 1
    assert turn.count("<article>") == 1
    assert turn.index("RXZpbENvcnA=") < turn.index("</article>")


def test_fields_marked_not_grounded_are_not_checked() -> None:
    class Note(BaseModel):
        company: str
        summary: str = Field(json_schema_extra={"x-ground": False})

    backend = ScriptedBackend({"company": "Quillon Bank", "summary": "A bank hires a treasurer."})
    report = Report()
    note = extract(HIRE_ARTICLE, Note, settings=SETTINGS, backend=backend, report=report)
    assert note.summary == "A bank hires a treasurer."
    assert len(backend.requests) == 1
    assert report.calls[0].dropped == []
    assert [e.path for e in report.calls[0].evidence] == ["company"]


def test_required_invented_value_is_kept_but_reported() -> None:
    class Person(BaseModel):
        name: str

    backend = ScriptedBackend({"name": "Jane Invented"}, {"name": "Jane Invented"})
    report = Report()
    person = extract(HIRE_ARTICLE, Person, settings=SETTINGS, backend=backend, report=report)
    assert person.name == "Jane Invented"
    [dropped] = report.calls[0].dropped
    assert (dropped.path, dropped.value) == ("name", "Jane Invented")
    assert "kept" in dropped.reason


def test_invented_strings_inside_a_dict_field_are_grounded_too() -> None:
    class Hire(BaseModel):
        person: str
        details: dict[str, str] = {}

    invented = {"person": "Dana Whitcombe", "details": {"salary": "9 billion pounds"}}
    backend = ScriptedBackend(invented, invented)
    report = Report()
    hire = extract(HIRE_ARTICLE, Hire, settings=SETTINGS, backend=backend, report=report)
    # "9 billion pounds" is nowhere in the article: it must be re-asked or reported
    assert len(backend.requests) == 2 or report.calls[0].dropped, hire


def test_two_invented_values_in_one_list_item_are_both_reported_once_item_goes() -> None:
    """A person whose required name and optional company are both invented is
    removed once; the second failure is reported as removed with its parent."""
    from llm_extract.records.schemas import Deal, DealType, Party, Person, Role

    text = "Acme Corp agreed to buy Beta Inc, Acme said."
    deal = Deal(
        deal_type=DealType.ACQUISITION,
        parties=[Party(name="Acme Corp", role=Role.ACQUIRER)],
        people=[Person(name="Zed Quill", company="Nowhere Holdings")],
    )
    answer = json.dumps({"deals": [deal.model_dump(mode="json")], "companies": []})
    backend = ScriptedBackend(answer, answer)
    report = Report()
    result = extract_deals(text, backend=backend, settings=SETTINGS, report=report)
    assert result.deals[0].people == []
    reasons = {d.path: d.reason for d in report.calls[0].dropped}
    assert set(reasons) == {"deals[0].people[0].name", "deals[0].people[0].company"}
    assert sum("with its parent" in r for r in reasons.values()) == 1


# --------------------------------------------------------------------------- spans


def test_span_constraint_puts_article_spans_in_defs() -> None:
    answer = {
        "deals": [
            {
                "deal_type": "acquisition",
                "parties": PARTIES,
                "amount": {"text": "18 mln dlrs"},
                "status": "agreed",
                "date": None,
                "products": [],
                "location": None,
                "volumes": [],
                "people": [],
                "acquired_business": "lidar units",
                "acquired_location": "Duluth",
                "background": False,
            }
        ],
        "companies": [],
    }
    backend = ScriptedBackend(answer)
    result = extract_deals(ARTICLE, settings=SETTINGS.with_(spans=True), backend=backend)
    assert result.main_deal is not None

    [request] = backend.requests
    schema = request.schema
    defs = schema["$defs"]
    names = defs["span_name"]["enum"]
    assert "Norvane Robotics" in names
    assert "Lakeshore Sensors Ltd" in names
    assert "Zentrix Holdings" not in names
    assert "18 mln dlrs" in defs["span_money"]["enum"]
    deal = schema["properties"]["deals"]["items"]
    party_name = deal["properties"]["parties"]["items"]["properties"]["name"]
    assert party_name["$ref"] == "#/$defs/span_name"
    assert "type" not in party_name
    money = deal["properties"]["amount"]["anyOf"]
    money_obj = next(o for o in money if o.get("type") == "object")
    assert money_obj["properties"]["text"]["$ref"] == "#/$defs/span_money"
    assert set(money_obj["properties"]) == {"text"}  # derived fields are not asked for
    # every span offered really is in the article
    for spans in (d["enum"] for d in defs.values()):
        assert all(" ".join(s.split()) in " ".join(ARTICLE.split()) for s in spans)
    # enums stay enums: the deal type is not turned into spans
    assert "acquisition" in deal["properties"]["deal_type"]["enum"]


def test_spans_off_sends_plain_strings() -> None:
    backend = ScriptedBackend(GOOD)
    extract_deals(ARTICLE, settings=SETTINGS, backend=backend)
    schema = backend.requests[0].schema
    assert "$defs" not in schema
    assert "span_" not in json.dumps(schema)
