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
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Sequence
from html import escape
from itertools import pairwise
from typing import Protocol

from ..core.pipeline import CallReport
from ..records.schemas import ArticleDeals, Company, Deal

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

_CSS = """
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d232b;background:#f5f6f8}
header,footer{padding:10px 20px;background:#1d232b;color:#eef}footer{font-size:13px}
h1{font-size:20px;margin:0}h2{font-size:16px;margin:0 0 8px}
main{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:16px;padding:16px}
@media (max-width:900px){main{grid-template-columns:minmax(0,1fr)}}
section{background:#fff;border:1px solid #d8dce2;border-radius:8px;padding:12px 16px;
margin-bottom:16px}
.article{white-space:pre-wrap;overflow-wrap:anywhere;font-size:16px;line-height:1.9}
mark{color:inherit;border-bottom:2px solid;border-radius:2px;padding:1px 0}
mark.overlap{box-shadow:inset 0 -5px 0 rgba(0,0,0,.18)}
mark:target,.hot{outline:2px solid #d11;outline-offset:1px}
.legend span{display:inline-block;margin:2px 8px 2px 0;padding:0 6px;border-radius:3px;
border-bottom:2px solid transparent;font-size:13px}
.card{border:1px solid #d8dce2;border-left:5px solid #2f6fd6;border-radius:6px;
padding:8px 12px;margin-bottom:10px}.card.background{border-left-color:#999;opacity:.85}
.card h3{margin:0 0 6px;font-size:15px}dl{display:grid;grid-template-columns:9em 1fr;
gap:2px 10px;margin:0}dt{color:#5a6472;font-size:13px}dd{margin:0}
a.v{color:inherit;text-decoration:none;border-bottom:2px solid transparent;padding:0 3px;
border-radius:2px}
.nov{border-bottom:2px dashed #c33;padding:0 3px}.role,.badge{font-size:12px;padding:0 5px;
border-radius:8px;background:#eef0f3;color:#444;margin-left:4px}.badge.bg{background:#ffe9a8}
.muted{color:#6b7480}table{border-collapse:collapse;width:100%;font-size:14px}
td,th{border-top:1px solid #e3e6ea;padding:4px 6px;text-align:left;vertical-align:top}
"""
_CSS += "".join(
    f".kind-{k}.kind-{k}{{background:{bg};border-bottom-color:{line}}}"
    for k, (bg, line) in KINDS.items()
)
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


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _highlight(text: str, spans: Sequence[_Span]) -> tuple[str, dict[str, str]]:
    """The article as HTML with one ``<mark>`` per run of characters covered by the
    same set of spans, and the mark id where each path's span begins.

    Cutting at every span boundary keeps marks flat (never nested or broken), so
    overlapping and nested spans need no special case: each mark lists every
    path that covers it, and its colour is that of the innermost span.
    """
    cuts = sorted({0, len(text), *(s.start for s in spans), *(s.end for s in spans)})
    parts: list[str] = []
    anchors: dict[str, str] = {}
    for a, b in pairwise(cuts):
        covering = [s for s in spans if s.start <= a and b <= s.end]
        if not covering:
            parts.append(_e(text[a:b]))
            continue
        mark_id = f"m{len(parts)}"
        for s in covering:
            if s.start == a:
                anchors.setdefault(s.path, mark_id)
        inner = min(covering, key=lambda s: s.end - s.start)
        paths = list(dict.fromkeys(s.path for s in covering))
        tip = "\n".join(f"{s.path} ({field_kind(s.path)}, {s.alignment})" for s in covering)
        extra = " overlap" if len(covering) > 1 else ""
        parts.append(
            f'<mark id="{mark_id}" class="kind-{field_kind(inner.path)}{extra}" '
            f'data-path="{_e(" ".join(paths))}" title="{_e(tip)}">{_e(text[a:b])}</mark>'
        )
    return "".join(parts), anchors


class _Page:
    """Builds the cards; knows where each path's highlight is."""

    def __init__(self, anchors: dict[str, str]) -> None:
        self.anchors = anchors

    def v(self, path: str, value: object) -> str:
        """A value, linked to its highlight when it has evidence."""
        if value is None or value == "":
            return '<span class="muted">—</span>'
        mark = self.anchors.get(path)
        if mark is None:
            return f'<span class="nov" title="no evidence in the text">{_e(value)}</span>'
        return (
            f'<a class="v kind-{field_kind(path)}" href="#{mark}" data-path="{_e(path)}">'
            f"{_e(value)}</a>"
        )

    def vs(self, path: str, values: Iterable[str]) -> str:
        items = [self.v(f"{path}[{i}]", x) for i, x in enumerate(values)]
        return ", ".join(items) or '<span class="muted">—</span>'

    def deal(self, i: int, deal: Deal) -> str:
        p = f"deals[{i}]"
        parties = "<br>".join(
            self.v(f"{p}.parties[{j}].name", x.name)
            + f'<span class="role">{_e(x.role.value)}</span>'
            for j, x in enumerate(deal.parties)
        )
        amount = '<span class="muted">—</span>'
        if deal.amount is not None:
            amount = self.v(f"{p}.amount.text", deal.amount.text)
            if deal.amount.amount is not None or deal.amount.currency:
                number = "" if deal.amount.amount is None else _number(deal.amount.amount)
                amount += f' <span class="muted">= {_e(number)} {_e(deal.amount.currency or "")}'
                amount += "</span>"
        date = self.v(f"{p}.date", deal.date)
        if deal.date_iso:
            date += f' <span class="muted">({_e(deal.date_iso)})</span>'
        volumes = ", ".join(
            self.v(f"{p}.volumes[{j}].text", q.text)
            + (f' <span class="muted">({_e(_number(q.value))} {_e(q.unit or "")})</span>'
               if q.value is not None else "")
            for j, q in enumerate(deal.volumes)
        )  # fmt: skip
        people = "<br>".join(
            self.v(f"{p}.people[{j}].name", x.name)
            + (f", {self.v(f'{p}.people[{j}].title', x.title)}" if x.title else "")
            + (f" ({self.v(f'{p}.people[{j}].company', x.company)})" if x.company else "")
            for j, x in enumerate(deal.people)
        )
        rows = [
            ("Trigger", self.v(f"{p}.trigger", deal.trigger)),
            ("Parties", parties),
            ("Amount", amount),
            ("Status", self.v(f"{p}.status", deal.status)),
            ("Date", date),
            ("Products", self.vs(f"{p}.products", deal.products)),
            ("Location", self.v(f"{p}.location", deal.location)),
            ("Volumes", volumes),
            ("People", people),
            ("Acq. business", self.v(f"{p}.acquired_business", deal.acquired_business)),
            ("Acq. location", self.v(f"{p}.acquired_location", deal.acquired_location)),
        ]
        badge = (
            '<span class="badge bg">background</span>'
            if deal.background
            else '<span class="badge">main</span>'
        )
        return (
            f'<div class="card{" background" if deal.background else ""}" id="deal-{i}">'
            f"<h3>Deal {i + 1}: {_e(deal.deal_type.value.replace('_', ' '))}{badge}</h3>"
            f"<dl>{_rows(rows)}</dl></div>"
        )

    def company(self, i: int, c: Company) -> str:
        p = f"companies[{i}]"
        country = self.v(f"{p}.country", c.country)
        if c.country_code:
            country += f' <span class="muted">({_e(c.country_code)})</span>'
        return (
            f"<tr><td>{self.v(f'{p}.name', c.name)}</td><td>{self.vs(f'{p}.aliases', c.aliases)}"
            f"</td><td>{country}</td><td>{self.v(f'{p}.business', c.business)}</td></tr>"
        )


def _rows(rows: Iterable[tuple[str, str]]) -> str:
    """Definition-list rows, skipping empty ones so cards stay short."""
    empty = '<span class="muted">—</span>'
    return "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in rows if v and v != empty)


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
    body, anchors = _highlight(text, spans)
    page = _Page(anchors)
    counts = {k: sum(field_kind(s.path) == k for s in spans) for k in KINDS}
    legend = "".join(
        f'<span class="kind-{k}">{k} · {n}</span>' for k, n in counts.items() if n or k != "other"
    )
    deals = "".join(page.deal(i, d) for i, d in enumerate(result.deals))
    companies = "".join(page.company(i, c) for i, c in enumerate(result.companies))
    flagged = [(d.path, d.value, d.reason) for d in report.dropped] + [
        (s.path, f"[{s.start}:{s.end}]", "evidence offsets do not fit the text; not highlighted")
        for s in misfit
    ]
    dropped = (
        "<table><tr><th>Path</th><th>Value</th><th>Reason</th></tr>"
        + "".join(
            f"<tr><td>{_e(a)}</td><td>{_e(b)}</td><td>{_e(c)}</td></tr>" for a, b, c in flagged
        )
        + "</table>"
        if flagged
        else '<p class="muted" id="no-dropped">none</p>'
    )
    r = report
    footer = (
        f"model {_e(r.model)} · prompt {_e(r.prompt_version)} · {r.attempts} attempt(s) · "
        f"tokens {r.prompt_tokens} prompt + {r.completion_tokens} completion · "
        f"latency {r.latency_s:.2f} s"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_e(title)}</h1></header><main><div>"
        f'<section><h2>Legend</h2><div class="legend">{legend}</div></section>'
        f'<section><h2>Article</h2><div class="article" id="article">{body}</div></section>'
        f'</div><div><section id="deals"><h2>Deals ({len(result.deals)})</h2>'
        f"{deals or '<p class=muted>none</p>'}</section>"
        f'<section id="companies"><h2>Companies ({len(result.companies)})</h2>'
        "<table><tr><th>Name</th><th>Aliases</th><th>Country</th><th>Business</th></tr>"
        f"{companies}</table></section>"
        f'<section id="dropped"><h2>Dropped or flagged values ({len(flagged)})</h2>{dropped}'
        f"</section></div></main><footer>{footer}</footer>"
        f"<script>{_JS}</script></body></html>\n"
    )
