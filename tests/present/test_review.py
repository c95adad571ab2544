"""Tests for llm_extract.present.review: the review page, parsed and rendered in a browser.

The article is invented. Evidence offsets come from ``grounding.align``, so they
are the offsets a real extraction would report (code points, emoji and CJK first).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from llm_extract import ArticleDeals, CallReport, Dropped, Evidence
from llm_extract.grounding.align import align
from llm_extract.present.review import field_kind, render_review

TEXT = (
    "🚀📈 東京速報 — Korvath Robotics Ltd said on Tuesday it agreed to acquire Lumen Fibre "
    "Works for 42 mln dlrs. <script>alert(1)</script>\nThe deal, signed in March 2031, covers "
    "fibre sensors made in Ghent, the Belgian maker Lumen said. Korvath chairman Ilse Marten "
    'called it "</mark> a big step". The plant will ship 30,000 units a year.'
)
RESULT = ArticleDeals.model_validate(
    {
        "deals": [
            {
                "deal_type": "acquisition", "trigger": "agreed to acquire",
                "parties": [{"name": "Korvath Robotics Ltd", "role": "acquirer"},
                            {"name": "Lumen Fibre Works", "role": "target"}],
                "amount": {"text": "42 mln dlrs", "amount": 42e6, "currency": "USD"},
                "status": "signed", "date": "March 2031", "date_iso": "2031-03",
                "products": ["fibre sensors"], "location": "Ghent",
                "volumes": [{"text": "30,000 units a year", "value": 30000, "unit": "units"}],
                "people": [{"name": "Ilse Marten", "title": "chairman", "company": "Korvath"}],
            },
            {"deal_type": "partnership", "parties": [], "background": True},
        ],
        "companies": [
            {"name": "Korvath Robotics Ltd", "aliases": ["Korvath"]},
            {"name": "Lumen Fibre Works", "aliases": ["Lumen"], "country": "Belgian",
             "country_code": "BE", "business": "fibre sensors made in Ghent"},
        ],
    }
)  # fmt: skip
PATHS = {
    "deals[0].trigger": "agreed to acquire",
    "deals[0].parties[0].name": "Korvath Robotics Ltd",
    "deals[0].parties[1].name": "Lumen Fibre Works",
    "deals[0].amount.text": "42 mln dlrs",
    "deals[0].status": "signed",
    "deals[0].date": "March 2031",
    "deals[0].products[0]": "fibre sensors",
    "deals[0].location": "Ghent",
    "deals[0].volumes[0].text": "30,000 units a year",
    "deals[0].people[0].name": "Ilse Marten",
    "deals[0].people[0].title": "chairman",
    "deals[0].people[0].company": "Korvath",
    "companies[0].name": "Korvath Robotics Ltd",
    "companies[0].aliases[0]": "Korvath",
    "companies[1].name": "Lumen Fibre Works",
    "companies[1].aliases[0]": "Lumen",
    "companies[1].country": "Belgian",
    "companies[1].business": "fibre sensors made in Ghent",
}


def evidence(text: str, paths: dict[str, str]) -> list[Evidence]:
    out = []
    for path, value in paths.items():
        m = align(value, text)
        assert m is not None, value
        out.append(Evidence(path, value, text[m.start : m.end], m.start, m.end, m.alignment))
    return out


def make_report(ev: list[Evidence], dropped: list[Dropped] | None = None) -> CallReport:
    return CallReport(
        "test-model", "deals-v9", attempts=2, requests=2, prompt_tokens=812,
        completion_tokens=164, latency_s=1.25, evidence=ev, dropped=dropped or [],
    )  # fmt: skip


EVIDENCE = evidence(TEXT, PATHS)
DROPPED = [Dropped("deals[0].people[1].name", "Ola <b>Brandt</b>", "not found; removed")]
PAGE = render_review(TEXT, RESULT, make_report(EVIDENCE, DROPPED), title="Korvath <deal>")


class ArticleReader(HTMLParser):
    """Rebuilds the article text, each character with the paths of its mark."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chars: list[tuple[str, frozenset[str] | None]] = []
        self.mark_at: dict[str, int] = {}
        self.current: frozenset[str] | None = None
        self.other_tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag != "mark":
            self.other_tags.append(tag)
            return
        assert self.current is None, "marks must not nest"
        self.current = frozenset((a["data-path"] or "").split())
        self.mark_at[a["id"] or ""] = len(self.chars)

    def handle_endtag(self, tag: str) -> None:
        self.current = None

    def handle_data(self, data: str) -> None:
        self.chars.extend((ch, self.current) for ch in data)


def read_article(page: str) -> ArticleReader:
    m = re.search(r'<div class="article" id="article">(.*?)</div>', page, re.S)
    assert m is not None
    reader = ArticleReader()
    reader.feed(m.group(1))
    reader.close()
    return reader


def test_every_evidence_character_is_in_a_mark_listing_exactly_its_covering_paths() -> None:
    reader = read_article(PAGE)
    assert "".join(ch for ch, _ in reader.chars) == TEXT  # offsets survive emoji and CJK
    assert reader.other_tags == []
    for i, (_, paths) in enumerate(reader.chars):
        covering = {e.path for e in EVIDENCE if e.start <= i < e.end}
        assert (paths or set()) == covering, (i, TEXT[i])


def test_nested_and_partly_overlapping_spans_split_without_duplication() -> None:
    text = "Alpha Beta Gamma Delta"
    ev = [
        Evidence("companies[0].name", "", "", 0, 16, "exact"),  # Alpha Beta Gamma
        Evidence("deals[0].products[0]", "", "", 6, 22, "exact"),  # Beta Gamma Delta
        Evidence("companies[0].aliases[0]", "", "", 6, 10, "exact"),  # Beta
    ]
    page = render_review(text, ArticleDeals(deals=[]), make_report(ev))
    marks = re.findall(r'<mark id="(m\d+)" class="([^"]+)" data-path="([^"]*)"[^>]*>([^<]*)<', page)
    assert [(t, p) for _, _, p, t in marks] == [
        ("Alpha ", "companies[0].name"),
        ("Beta", "companies[0].name deals[0].products[0] companies[0].aliases[0]"),
        (" Gamma", "companies[0].name deals[0].products[0]"),
        (" Delta", "deals[0].products[0]"),
    ]
    assert marks[1][1] == "kind-company overlap"  # innermost span decides the colour
    assert marks[3][1] == "kind-product"


def test_hostile_text_is_escaped_and_nothing_loads_from_outside() -> None:
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in PAGE
    assert "&lt;/mark&gt; a big step" in PAGE
    assert "alert(1)" not in re.sub(r"&lt;script&gt;alert\(1\)&lt;/script&gt;", "", PAGE)
    assert PAGE.count("<script") == 1  # only the page's own hover script
    assert "<title>Korvath &lt;deal&gt;</title>" in PAGE
    assert "Ola &lt;b&gt;Brandt&lt;/b&gt;" in PAGE
    assert not re.search(r"<(link|img|iframe)|src=|url\(|@import|https?://", PAGE)


def test_values_link_to_the_first_mark_of_their_span() -> None:
    reader = read_article(PAGE)
    for e in EVIDENCE:
        kind = field_kind(e.path)
        link = re.search(
            rf'class="v kind-{kind}" href="#(m\d+)" data-path="{re.escape(e.path)}"', PAGE
        )
        assert link is not None, e.path
        assert reader.mark_at[link.group(1)] == e.start


def test_cards_companies_dropped_and_footer() -> None:
    assert "Deal 1: acquisition" in PAGE and "Deal 2: partnership" in PAGE
    assert '<span class="badge bg">background</span>' in PAGE
    assert (
        '<span class="role">acquirer</span>' in PAGE and '<span class="role">target</span>' in PAGE
    )
    assert "= 42,000,000 USD" in PAGE and "(2031-03)" in PAGE and "(30,000 units)" in PAGE
    assert "(BE)" in PAGE
    assert "deals[0].people[1].name" in PAGE and "not found; removed" in PAGE
    for part in ("test-model", "deals-v9", "2 attempt(s)", "812 prompt + 164", "1.25 s"):
        assert part in PAGE
    empty = render_review(TEXT, RESULT, make_report(EVIDENCE))
    assert '<p class="muted" id="no-dropped">none</p>' in empty


def test_values_without_evidence_and_misfit_offsets_are_shown_not_hidden() -> None:
    ev = [*EVIDENCE[1:], Evidence("deals[0].trigger", "x", "x", 5, 10_000, "exact")]
    page = render_review(TEXT, RESULT, make_report(ev))
    assert '<span class="nov" title="no evidence in the text">agreed to acquire</span>' in page
    assert "evidence offsets do not fit the text" in page


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("deals[0].parties[1].name", "company"), ("companies[2].aliases[0]", "company"),
        ("deals[0].amount.text", "amount"), ("deals[1].volumes[0].text", "volume"),
        ("deals[0].date", "date"), ("deals[0].products[3]", "product"),
        ("deals[0].acquired_location", "place"), ("companies[0].country", "place"),
        ("deals[0].people[0].name", "person"), ("deals[0].people[0].title", "person"),
        ("deals[0].trigger", "trigger"), ("deals[0].status", "status"),
        ("companies[0].business", "business"), ("foo.bar", "other"), ("", "other"),
    ],
)  # fmt: skip
def test_field_kind(path: str, kind: str) -> None:
    assert field_kind(path) == kind


# --- a real browser -------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("/usr/bin/chromium")


def chromium(tmp: Path, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp}", "--window-size=1200,1600"]  # fmt: skip
    return subprocess.run(
        [CHROMIUM, *flags, *args, page.as_uri()], capture_output=True, text=True, timeout=60
    )


def png_pixel_bytes(data: bytes) -> bytes:
    """The decompressed (still filtered) image data of a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos : pos + 4]), data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return zlib.decompress(idat)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")
def test_page_renders_in_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "review.html"
    page.write_text(PAGE, encoding="utf-8")
    shot = tmp_path / "shot.png"
    run = chromium(tmp_path / "profile1", page, f"--screenshot={shot}")
    assert shot.exists(), run.stderr[-2000:]
    data = shot.read_bytes()
    assert len(data) > 20_000  # a blank 1200x1600 page is ~9 KB
    assert len(set(png_pixel_bytes(data))) > 50  # and filters to a handful of byte values

    run = chromium(tmp_path / "profile2", page, "--dump-dom", "--enable-logging=stderr")
    assert "Content Security Policy" not in run.stderr  # our own script is allowed by its hash
    dom = run.stdout
    assert '<mark id="m' in dom and 'class="kind-company' in dom
    assert "Deal 1: acquisition" in dom and "Lumen Fibre Works" in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert dom.count("<script") == 1
