"""A self-contained HTML page for a human to check one extraction against its article.

Why: grounding proves each value stands somewhere in the text, but only a reader
can tell whether it stands in the right place. The page shows the article with
every evidence span highlighted, the deals and companies as cards whose values
link to their highlight, and what grounding dropped or flagged.

Contract: :func:`render_review` is pure (no I/O) and returns one HTML document
that loads nothing from anywhere (inline CSS, one tiny inline script allowed by
a hash-pinned Content-Security-Policy) and reads fully without JavaScript. Every
piece of article or model text is escaped; offsets index the Python ``str`` in
code points, exactly as :class:`~llm_extract.core.pipeline.CallReport` evidence does.
It sees only the text, the result and the report, so it cannot leak settings.

How: this module computes what the page shows (the highlight segments, each
value's evidence anchor, the cards, the flagged rows); all markup is in the
autoescaped Jinja2 template ``templates/review.html.j2``, so escaping is never
done by hand and no article or model text reaches the page unescaped.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Protocol

from markupsafe import Markup

from ..core.pipeline import CallReport
from ..records.schemas import ArticleDeals, Company, Deal, Money
from .templating import templates

__all__ = ["KINDS", "field_kind", "render_review"]

# kind -> (background, border); light fills keep dark text readable.
KINDS: dict[str, tuple[str, str]] = {
    "company": ("#cfe3ff", "#2f6fd6"),
    "amount": ("#c9f2cf", "#1f8a3a"),
    "date": ("#ffe0b8", "#d9780f"),
    "product": ("#e6d6ff", "#7b44d1"),
    "place": ("#bff0ea", "#13897b"),
    "volume": ("#eadbc8", "#8a5a2b"),
    "person": ("#ffd3e6", "#c8387a"),
    "trigger": ("#fff59a", "#a89400"),
    "status": ("#dde3ea", "#55657a"),
    "business": ("#d7f3ff", "#1c8fb8"),
    "other": ("#e8e8e8", "#777777"),
}
_BY_NAME = {
    "aliases": "company", "company": "company", "date": "date", "products": "product",
    "location": "place", "acquired_location": "place", "country": "place",
    "title": "person", "trigger": "trigger", "status": "status",
    "business": "business", "acquired_business": "business",
}  # fmt: skip
_BY_PARENT = {"parties": "company", "companies": "company", "people": "person",
              "amount": "amount", "volumes": "volume"}  # fmt: skip

_JS = (
    "document.addEventListener('mouseover',function(e){"
    "document.querySelectorAll('.hot').forEach(function(n){n.classList.remove('hot')});"
    "var t=e.target.closest&&e.target.closest('[data-path]');if(!t)return;"
    "var ps=t.getAttribute('data-path').split(' ');"
    "document.querySelectorAll('[data-path]').forEach(function(n){"
    "if(n.getAttribute('data-path').split(' ').some(function(p){return ps.indexOf(p)>=0}))"
    "n.classList.add('hot')})});"
)
_JS_HASH = base64.b64encode(hashlib.sha256(_JS.encode()).digest()).decode()
_CSP = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{_JS_HASH}'"


class _Span(Protocol):
    """What the page needs of an evidence record (grounding's ``Evidence``)."""

    @property
    def path(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def alignment(self) -> str: ...


def field_kind(path: str) -> str:
    """The highlight colour family of an evidence path such as ``deals[0].amount.text``.

    Decided by the last name component, or by its parent for generic leaves
    (``name``, ``text``) whose meaning depends on the record they belong to.
    """
    names = re.findall(r"[A-Za-z_]\w*", path)
    if not names:
        return "other"
    if names[-1] in _BY_NAME:
        return _BY_NAME[names[-1]]
    if names[-1] in ("name", "text") and len(names) > 1:
        return _BY_PARENT.get(names[-2], "other")
    return "other"


@dataclass(frozen=True)
class _Segment:
    """A run of article text; a mark (``id`` set) when evidence covers it."""

    text: str
    id: str | None = None
    kind: str = ""
    overlap: bool = False
    paths: str = ""
    tip: str = ""


@dataclass(frozen=True)
class _Value:
    """A value on a card; ``mark`` is the id of its first highlight, None without evidence."""

    text: str
    path: str
    kind: str
    mark: str | None


@dataclass(frozen=True)
class _Entry:
    """One item of a card row: a value (None when empty) and what follows it."""

    value: _Value | None
    role: str | None = None
    title: _Value | None = None
    company: _Value | None = None
    note: str | None = None  # shown muted: a parsed number, an ISO date, a country code


@dataclass(frozen=True)
class _Row:
    label: str
    entries: list[_Entry]
    lines: bool = False  # one entry per line, else comma-separated


@dataclass(frozen=True)
class _Card:
    index: int
    heading: str
    background: bool
    rows: list[_Row]


def _highlight(text: str, spans: Sequence[_Span]) -> tuple[list[_Segment], dict[str, str]]:
    """The article cut into one segment per run of characters covered by the same
    set of spans, and the mark id where each path's span begins.

    Cutting at every span boundary keeps marks flat (never nested or broken), so
    overlapping and nested spans need no special case: each mark lists every
    path that covers it, and its colour is that of the innermost span.
    """
    cuts = sorted({0, len(text), *(s.start for s in spans), *(s.end for s in spans)})
    segments: list[_Segment] = []
    anchors: dict[str, str] = {}
    for a, b in pairwise(cuts):
        covering = [s for s in spans if s.start <= a and b <= s.end]
        if not covering:
            segments.append(_Segment(text[a:b]))
            continue
        mark_id = f"m{len(segments)}"
        for s in covering:
            if s.start == a:
                anchors.setdefault(s.path, mark_id)
        inner = min(covering, key=lambda s: s.end - s.start)
        segments.append(
            _Segment(
                text[a:b],
                id=mark_id,
                kind=field_kind(inner.path),
                overlap=len(covering) > 1,
                paths=" ".join(dict.fromkeys(s.path for s in covering)),
                tip="\n".join(f"{s.path} ({field_kind(s.path)}, {s.alignment})" for s in covering),
            )
        )
    return segments, anchors


class _Cards:
    """Builds the card data; knows where each path's highlight is."""

    def __init__(self, anchors: dict[str, str]) -> None:
        self.anchors = anchors

    def value(self, path: str, value: str | None) -> _Value | None:
        """A value, with the mark of its highlight when it has evidence; None when empty."""
        if value is None or value == "":
            return None
        return _Value(str(value), path, field_kind(path), self.anchors.get(path))

    def one(self, path: str, value: str | None, note: str | None = None) -> list[_Entry]:
        return [_Entry(self.value(path, value), note=note)]

    def many(self, path: str, values: Iterable[str]) -> list[_Entry]:
        return [_Entry(self.value(f"{path}[{j}]", x)) for j, x in enumerate(values)]

    def deal(self, i: int, deal: Deal) -> _Card:
        p, v = f"deals[{i}]", self.value
        parties = [
            _Entry(v(f"{p}.parties[{j}].name", x.name), role=x.role.value)
            for j, x in enumerate(deal.parties)
        ]
        money = deal.amount
        amount = [] if money is None else self.one(f"{p}.amount.text", money.text, _money(money))
        volumes = [
            _Entry(v(f"{p}.volumes[{j}].text", q.text),
                   note=None if q.value is None else f"({_number(q.value)} {q.unit or ''})")
            for j, q in enumerate(deal.volumes)
        ]  # fmt: skip
        people = [
            _Entry(v(f"{p}.people[{j}].name", x.name), title=v(f"{p}.people[{j}].title", x.title),
                   company=v(f"{p}.people[{j}].company", x.company))
            for j, x in enumerate(deal.people)
        ]  # fmt: skip
        date_note = f"({deal.date_iso})" if deal.date_iso else None
        rows = [
            _Row("Trigger", self.one(f"{p}.trigger", deal.trigger)),
            _Row("Parties", parties, lines=True),
            _Row("Amount", amount),
            _Row("Status", self.one(f"{p}.status", deal.status)),
            _Row("Date", self.one(f"{p}.date", deal.date, date_note)),
            _Row("Products", self.many(f"{p}.products", deal.products)),
            _Row("Location", self.one(f"{p}.location", deal.location)),
            _Row("Volumes", volumes),
            _Row("People", people, lines=True),
            _Row("Acq. business", self.one(f"{p}.acquired_business", deal.acquired_business)),
            _Row("Acq. location", self.one(f"{p}.acquired_location", deal.acquired_location)),
        ]
        # Rows with nothing to show (no entry, or one lone empty value) are left out.
        shown = [r for r in rows if r.entries and r.entries != [_Entry(None)]]
        return _Card(i, deal.deal_type.value.replace("_", " "), deal.background, shown)

    def company(self, i: int, c: Company) -> list[list[_Entry]]:
        """The cells of a company's table row: name, aliases, country, business."""
        p = f"companies[{i}]"
        code = f"({c.country_code})" if c.country_code else None
        return [
            self.one(f"{p}.name", c.name),
            self.many(f"{p}.aliases", c.aliases),
            self.one(f"{p}.country", c.country, code),
            self.one(f"{p}.business", c.business),
        ]


def _money(m: Money) -> str | None:
    if m.amount is None and not m.currency:
        return None
    return f"= {'' if m.amount is None else _number(m.amount)} {m.currency or ''}"


def _number(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.4f}".rstrip("0")


def render_review(
    text: str, result: ArticleDeals, report: CallReport, *, title: str = "llm_extract review"
) -> str:
    """One self-contained HTML page reviewing ``result`` against ``text``.

    Evidence whose offsets do not fit ``text`` (a report from another text) is
    not highlighted but listed with the dropped values, so nothing vanishes.
    """
    spans = [s for s in report.evidence if 0 <= s.start < s.end <= len(text)]
    misfit = [s for s in report.evidence if not 0 <= s.start < s.end <= len(text)]
    segments, anchors = _highlight(text, spans)
    cards = _Cards(anchors)
    counts = {k: sum(field_kind(s.path) == k for s in spans) for k in KINDS}
    flagged = [(d.path, str(d.value), d.reason) for d in report.dropped] + [
        (s.path, f"[{s.start}:{s.end}]", "evidence offsets do not fit the text; not highlighted")
        for s in misfit
    ]
    r = report
    page = templates().get_template("review.html.j2").render(
        title=title,
        csp=Markup(_CSP),  # our constants, unescaped: the script must hash to _JS_HASH
        kinds=KINDS,
        js=Markup(_JS),
        legend=[(k, n) for k, n in counts.items() if n or k != "other"],
        segments=segments,
        cards=[cards.deal(i, d) for i, d in enumerate(result.deals)],
        companies=[cards.company(i, c) for i, c in enumerate(result.companies)],
        flagged=flagged,
        footer={
            "model": r.model, "prompt": r.prompt_version, "attempts": r.attempts,
            "prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens,
            "latency": f"{r.latency_s:.2f}",
        },
    )  # fmt: skip
    return page + "\n"  # Jinja drops the template's final newline; a file ends with one
