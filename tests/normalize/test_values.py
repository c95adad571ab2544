"""Tests for llm_extract.normalize.values: money, dates, counts, countries, whole results."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from typing import Any

import pycountry
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from llm_extract.normalize.values import (
    MoneyValue,
    country_code,
    normalize_article,
    parse_count,
    parse_date,
    parse_money,
)
from llm_extract.records.schemas import (
    ArticleDeals,
    Company,
    Deal,
    DealType,
    Money,
    Party,
    Quantity,
    Role,
)
from tests.normalize.test_company_names import POOL

PUBLISHED = dt.date(2024, 5, 15)  # a Wednesday
ISO = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
FAST = settings(max_examples=150, deadline=None)


def fold(name: str) -> str:
    return " ".join(name.split()).casefold()


MONEY = [
    ("1.2 billion Belgian francs", 1.2e9, "BEF"), ("5 mln dlrs", 5e6, "USD"),
    ("$900M", 9e8, "USD"), ("$900 million", 9e8, "USD"), ("US$1.5 bln", 1.5e9, "USD"),
    ("C$20 mln", 2e7, "CAD"), ("12.5 MLN DLR", 1.25e7, "USD"), ("one billion stg", 1e9, "GBP"),
    ("500 billion lire", 5e11, "ITL"), ("Rs 500 crore", 5e9, "INR"),
    ("₹2,000 crore", 2e10, "INR"), ("€3bn", 3e9, "EUR"), ("£45m", 4.5e7, "GBP"),
    ("¥10 billion", 1e10, "JPY"), ("22.50 dlrs", 22.5, "USD"), ("350,000 dlrs", 350_000, "USD"),
    ("3 mln", 3e6, None), ("USD 7 million", 7e6, "USD"), ("Rs.450cr", 4.5e9, "INR"),
    ("1.5 lakh crore rupees", 1.5e12, "INR"), ("a 5 pct stake for 8 mln dlrs", 8e6, "USD"),
    ("a one-off payment of 2 mln stg", 2e6, "GBP"), ("its 2019 unit for 6 mln dlrs", 6e6, "USD"),
    ("500", 500.0, None),
] + [
    (f"40 mln {word}", 4e7, code)
    for word, code in [
        ("francs", "FRF"), ("Swiss francs", "CHF"), ("marks", "DEM"), ("German marks", "DEM"),
        ("guilders", "NLG"), ("yen", "JPY"), ("Canadian dlrs", "CAD"), ("Australian dlrs", "AUD"),
        ("Hong Kong dlrs", "HKD"), ("crowns", "SEK"), ("kronor", "SEK"), ("rupees", "INR"),
        ("yuan", "CNY"), ("won", "KRW"), ("rand", "ZAR"), ("pesos", "MXN"), ("euros", "EUR"),
    ]
]  # fmt: skip


@pytest.mark.parametrize(("text", "amount", "currency"), MONEY)
def test_parse_money(text: str, amount: float, currency: str | None) -> None:
    money = parse_money(text)
    assert money is not None
    assert money.amount is not None and math.isclose(money.amount, amount)
    assert (money.currency, money.undisclosed) == (currency, False)


UNDISCLOSED = MoneyValue(None, None, True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("undisclosed", UNDISCLOSED), ("undisclosed amount", UNDISCLOSED),
     ("not disclosed", UNDISCLOSED), ("an undisclosed 5 pct stake", UNDISCLOSED),
     ("", None), ("5 pct", None), ("12 percent", None), ("dlrs", None), ("a big sum", None),
     ("5-10 mln dlrs", None)],
)  # fmt: skip
def test_parse_money_without_amount(text: str, expected: MoneyValue | None) -> None:
    assert parse_money(text) == expected


@FAST
@given(st.text())
def test_parse_money_never_raises(text: str) -> None:
    parse_money(text)


@FAST
@given(
    st.one_of(
        st.integers(0, 10**13).map(lambda n: (f"{n:,} dlrs", float(n))),
        st.floats(0.01, 1e5).map(lambda x: (f"{round(x, 2)} mln dlrs", round(x, 2) * 1e6)),
    )
)
def test_parse_money_reads_generated_dollars(case: tuple[str, float]) -> None:
    money = parse_money(case[0])
    assert money is not None and money.currency == "USD" and money.amount is not None
    assert math.isclose(money.amount, case[1])


@pytest.mark.parametrize(
    ("text", "without", "with_published"),
    [
        ("April 2024", "2024-04", "2024-04"), ("April 5, 2024", "2024-04-05", "2024-04-05"),
        ("5 April 2024", "2024-04-05", "2024-04-05"), ("Sept. 3, 2023", "2023-09-03", "2023-09-03"),
        ("2023", "2023", "2023"), ("in 2023", "2023", "2023"), ("mid-2022", "2022", "2022"),
        ("Q3 2024", None, None), ("third quarter of 2024", None, None),
        ("fiscal 2024", None, None), ("April 31, 2024", None, None),
        ("In April this year", None, "2024-04"), ("April 2 last year", None, "2023-04-02"),
        ("last year", None, "2023"), ("this year", None, "2024"),
        ("earlier this year", None, "2024"), ("yesterday", None, "2024-05-14"),
        ("on Monday", None, "2024-05-13"), ("on Wednesday", None, "2024-05-15"),
        ("on Thursday", None, "2024-05-09"), ("last month", None, "2024-04"),
        ("last Monday", None, None), ("in April", None, None), ("earlier", None, None),
        ("recently", None, None),
    ],
)  # fmt: skip
def test_parse_date(text: str, without: str | None, with_published: str | None) -> None:
    assert parse_date(text) == without
    assert parse_date(text, PUBLISHED) == with_published


def test_parse_date_month_arithmetic_crosses_years() -> None:
    assert parse_date("last month", dt.date(2024, 1, 3)) == "2023-12"
    assert parse_date("yesterday", dt.date.min) is None


DATE_WORDS = st.sampled_from(
    ["April", "5", "31", "2024", "1999", "this", "last", "next", "year", "month", "Q3", "on",
     "Monday", "yesterday", "of", ",", "-", "2024-02-30", "Sept.", "quarter", "today"]
)  # fmt: skip


@FAST
@given(
    st.one_of(st.text(), st.lists(DATE_WORDS, max_size=6).map(" ".join)),
    st.one_of(st.none(), st.dates()),
)
def test_parse_date_is_none_or_iso(text: str, published: dt.date | None) -> None:
    result = parse_date(text, published)
    assert result is None or ISO.match(result)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("five million AIoT devices annually", (5e6, "AIoT devices annually")),
        ("over 2,000 new employment opportunities", (2000.0, "new employment opportunities")),
        ("2,000 jobs", (2000.0, "jobs")), ("three million units a year", (3e6, "units a year")),
        ("400,000 units", (400_000.0, "units")), ("1.5 lakh units", (150_000.0, "units")),
        ("1,50,000 units.", (150_000.0, "units")), ("a dozen plants", (12.0, "plants")),
        ("12 plants, creating jobs", (12.0, "plants")), ("500", (500.0, None)),
        ("no number here", None), ("2,000-3,000 jobs", None),
    ],
)  # fmt: skip
def test_parse_count(text: str, expected: tuple[float, str | None] | None) -> None:
    assert parse_count(text) == expected


@FAST
@given(st.integers(0, 10**15))
def test_parse_count_round_trips(n: int) -> None:
    assert parse_count(f"{n:,} units") == (float(n), "units")


COUNTRIES = {
    "China": "CN", "Chinese": "CN", "India": "IN", "Indian": "IN", "Taiwan": "TW",
    "Taiwanese": "TW", "U.S.": "US", "US": "US", "United States": "US", "American": "US",
    "Britain": "GB", "British": "GB", "UK": "GB", "United Kingdom": "GB", "Japanese": "JP",
    "Singapore": "SG", "Dutch": "NL", "Netherlands": "NL", "the Netherlands": "NL",
    "German": "DE", "French": "FR", "Belgian": "BE", "Swiss": "CH", "Italian": "IT",
    "Canadian": "CA", "Australian": "AU", "South Korean": "KR", "Hong Kong": "HK",
    "Scotland": "GB", "Scottish": "GB", " (Chinese), ": "CN", "Pune, India": "IN",
    "U.S.-based": "US", "Mexican": "MX", "Vietnamese": "VN",
}  # fmt: skip


@pytest.mark.parametrize(("text", "code"), COUNTRIES.items())
def test_country_code(text: str, code: str) -> None:
    assert country_code(text) == code


@pytest.mark.parametrize("text", ["", "Atlantis", "Elbonian", "company"])
def test_country_code_unknown(text: str) -> None:
    assert country_code(text) is None


@FAST
@given(
    st.one_of(st.sampled_from(sorted(COUNTRIES)), st.text("abcdefghiklmnorstuz .,-'()")),
    st.lists(st.booleans(), min_size=30, max_size=30),
)
def test_country_code_is_case_insensitive(name: str, flips: list[bool]) -> None:
    variant = "".join(c.swapcase() if f else c for c, f in zip(name, flips, strict=False))
    assert country_code(variant) == country_code(name) == COUNTRIES.get(name, country_code(name))


PYCOUNTRY_NAMES = sorted(
    (name, c.alpha_2)
    for c in pycountry.countries
    for name in {c.name, getattr(c, "official_name", None), getattr(c, "common_name", None)}
    if name
)


def test_every_name_pycountry_knows_round_trips() -> None:
    assert len(PYCOUNTRY_NAMES) > 249  # every country, most with an official name too
    wrong = [(name, code, country_code(name)) for name, code in PYCOUNTRY_NAMES]
    assert [w for w in wrong if w[1] != w[2]] == []


def unaccented(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@FAST
@given(
    st.sampled_from(PYCOUNTRY_NAMES),
    st.sampled_from([str, str.upper, str.lower, unaccented]),
    st.sampled_from(["{}", "the {}", "({}),", " {}. ", "{}-based", "Springfield, {}"]),
)
def test_pycountry_names_survive_case_accents_and_punctuation(
    entry: tuple[str, str], spelling: Any, frame: str
) -> None:
    name, code = entry
    text = frame.format(spelling(name))
    assume("," not in name or "," not in frame)  # "City, Korea, Republic of" splits wrongly
    assume(not (frame.startswith("the") and name.startswith("the ")))  # "the State of Eritrea"
    assert country_code(text) == code


def article() -> ArticleDeals:
    deal = Deal(
        deal_type=DealType.ACQUISITION,
        parties=[Party(name="Zentara", role=Role.ACQUIRER), Party(name="Lumo", role=Role.TARGET)],
        amount=Money(text="1.2 billion Belgian francs"),
        date="In April this year",
        volumes=[Quantity(text="2,000 jobs"), Quantity(text="many", value=7.0)],
    )
    companies = [
        Company(name="Zentara Electronics Ltd", country="Taiwanese", business="chips"),
        Company(name="Zentara Group", country="Taiwanese"),
        Company(name="zentara", aliases=["Zentara Electronics"], business="phones"),
    ]
    return ArticleDeals(deals=[deal], companies=companies)


def test_normalize_article_fills_derived_fields() -> None:
    original = article()
    result = normalize_article(original, PUBLISHED)
    assert original == article()
    deal = result.deals[0]
    assert deal.amount == Money(text="1.2 billion Belgian francs", amount=1.2e9, currency="BEF")
    assert deal.date_iso == "2024-04"
    assert [(q.value, q.unit) for q in deal.volumes] == [(2000.0, "jobs"), (None, None)]
    assert [p.name for p in deal.parties] == ["Zentara", "Lumo"]
    rows = [(c.name, c.aliases, c.country, c.country_code, c.business) for c in result.companies]
    assert rows == [
        ("Zentara Electronics Ltd", ["zentara", "Zentara Electronics"], "Taiwanese", "TW", "chips"),
        ("Zentara Group", [], "Taiwanese", "TW", None),
        ("Lumo", [], None, None, None),
    ]  # fmt: skip


def test_normalize_article_overwrites_what_a_model_put_in_derived_fields() -> None:
    original = article()
    assert original.deals[0].amount is not None
    original.deals[0].amount.currency = "EUR"
    original.deals[0].amount.amount = 9e9
    original.deals[0].date_iso = "2023"
    original.companies[1].country_code = "FR"
    result = normalize_article(original, PUBLISHED)
    assert result.deals[0].amount
    assert (result.deals[0].amount.amount, result.deals[0].amount.currency) == (1.2e9, "BEF")
    assert result.deals[0].date_iso == "2024-04"
    assert result.companies[1].country_code == "TW"
    undisclosed = article()
    undisclosed.deals[0].amount = Money(text="an undisclosed sum", amount=9e9, currency="USD")
    money = normalize_article(undisclosed).deals[0].amount
    assert money is not None and (money.amount, money.currency) == (None, None)


TEXTS = st.one_of(st.text(max_size=20), st.sampled_from(
    ["5 mln dlrs", "undisclosed", "€3bn", "last year", "April 5, 2024", "2,000 jobs", "Dutch"]
))  # fmt: skip
MAYBE_FLOAT = st.one_of(st.none(), st.floats(allow_nan=False))
MAYBE_TEXT = st.one_of(st.none(), TEXTS)
DEALS = st.builds(
    Deal,
    deal_type=st.sampled_from(DealType),
    parties=st.lists(st.builds(Party, name=st.sampled_from(POOL), role=st.sampled_from(Role)),
                     max_size=3),
    amount=st.one_of(st.none(), st.builds(Money, text=TEXTS, amount=MAYBE_FLOAT,
                                          currency=st.one_of(st.none(), st.just("EUR")))),
    date=MAYBE_TEXT, date_iso=st.one_of(st.none(), st.just("2020")),
    volumes=st.lists(st.builds(Quantity, text=TEXTS, value=MAYBE_FLOAT, unit=MAYBE_TEXT),
                     max_size=2),
)  # fmt: skip
COMPANIES = st.builds(
    Company, name=st.sampled_from(POOL), aliases=st.lists(st.sampled_from(POOL), max_size=2),
    country=MAYBE_TEXT, country_code=st.one_of(st.none(), st.just("ZZ")), business=MAYBE_TEXT,
)  # fmt: skip
ARTICLES = st.builds(
    ArticleDeals, deals=st.lists(DEALS, max_size=2), companies=st.lists(COMPANIES, max_size=4)
)
PUBLISHED_DATES = st.one_of(st.none(), st.dates())


def split_derived(result: ArticleDeals) -> tuple[dict[str, Any], list[Any]]:
    """The dump with derived deal fields masked (companies are regrouped), and those fields."""
    dump, derived = result.model_dump(), []
    dump.pop("companies")
    for deal in dump["deals"]:
        for part, keys in [(deal, ["date_iso"]), (deal["amount"] or {}, ["amount", "currency"])] + [
            (volume, ["value", "unit"]) for volume in deal["volumes"]
        ]:  # fmt: skip
            derived += [part.pop(key) for key in keys if key in part]
    return dump, derived


def all_names(result: ArticleDeals) -> list[str]:
    return [n for c in result.companies for n in (c.name, *c.aliases)]


@FAST
@given(ARTICLES, PUBLISHED_DATES)
def test_normalize_article_changes_only_derived_fields(
    result: ArticleDeals, published: dt.date | None
) -> None:
    before = result.model_dump()
    out = normalize_article(result, published)
    assert result.model_dump() == before
    (dump, derived), (out_dump, out_derived) = split_derived(result), split_derived(out)
    assert out_dump == dump
    assert len(derived) == len(out_derived)  # derived fields are recomputed from the text
    names = [fold(n) for n in all_names(out)]
    party_names = [p.name for d in result.deals for p in d.parties]
    assert len(names) == len(set(names))
    assert set(names) == {fold(n) for n in all_names(result) + party_names}
    assert {c.country for c in out.companies} <= {c.country for c in result.companies} | {None}
    ArticleDeals.model_validate(out.model_dump())


@FAST
@given(ARTICLES, PUBLISHED_DATES)
def test_normalize_article_is_idempotent(result: ArticleDeals, published: dt.date | None) -> None:
    once = normalize_article(result, published)
    assert normalize_article(once, published) == once
