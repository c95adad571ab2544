"""Normalization: turn the article's wording into comparable values.

The model copies amounts, dates, quantities and countries exactly as written;
these pure functions derive the normalized values (the ``x-derived`` fields of
:mod:`llm_extract.records.schemas`). The raw text always stays beside the result, so
every parser returns ``None`` when it cannot read the text rather than guess.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pycountry

from ..records.schemas import ArticleDeals, Company, Deal
from .company_names import fold_name, group_company_names

# --- numbers -------------------------------------------------------------------------------
_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_MULTS = {
    "hundred": 100, "thousand": 10**3, "k": 10**3, "lakh": 10**5, "lakhs": 10**5,
    "lac": 10**5, "lacs": 10**5, "million": 10**6, "mln": 10**6, "mn": 10**6, "m": 10**6,
    "crore": 10**7, "crores": 10**7, "cr": 10**7, "billion": 10**9, "bln": 10**9,
    "bn": 10**9, "b": 10**9, "trillion": 10**12, "tn": 10**12, "trn": 10**12, "dozen": 12,
}  # fmt: skip
_NUMBER = re.compile(
    r"(?<![\d,])(?<!\d\.)(?P<num>\d{1,3}(?:,\d{3})+|\d{1,2}(?:,\d{2})+,\d{3}|\d+)(?P<dec>\.\d+)?"
    r"(?![.,]?\d)|\b(?P<word>" + "|".join(_WORDS) + r")\b",
    re.IGNORECASE,
)
_ATTACHED = re.compile(r"(?P<m>[mbk]|bn|mn|cr)\b", re.IGNORECASE)
_SPACED_WORDS = "|".join(sorted((k for k in _MULTS if len(k) > 1), key=len, reverse=True))
_SPACED = re.compile(rf"[\s-]*(?P<m>{_SPACED_WORDS})\b", re.IGNORECASE)
_RANGE = re.compile(r"\s*(?:-|–|—|to|or)\s*[$€£¥₹]?\d", re.IGNORECASE)
_PERCENT = re.compile(r"\s*(?:pct|percent|per cent|%)", re.IGNORECASE)


@dataclass(frozen=True)
class _Number:
    value: Decimal
    start: int
    end: int
    word: bool
    scaled: bool


def _numbers(text: str) -> list[_Number | None]:
    """Every number in ``text`` with its multipliers ("1.5 lakh crore"), in order.

    A number that opens a range ("5-10 mln") is ambiguous: it is listed as ``None``.
    """
    found: list[_Number | None] = []
    for m in _NUMBER.finditer(text):
        if m["word"]:
            value = Decimal(_WORDS[m["word"].lower()])
        else:
            value = Decimal(m["num"].replace(",", "") + (m["dec"] or ""))
            if _RANGE.match(text, m.end()):
                found.append(None)
                continue
        end, factor = m.end(), 1
        attached = _ATTACHED.match(text, end) if m["num"] else None
        if attached:
            factor, end = _MULTS[attached["m"].lower()], attached.end()
        while spaced := _SPACED.match(text, end):
            factor, end = factor * _MULTS[spaced["m"].lower()], spaced.end()
        if m["word"] and m["word"].lower() in ("a", "an") and factor == 1:
            continue
        found.append(_Number(value * factor, m.start(), end, bool(m["word"]), factor != 1))
    return found


# --- money ---------------------------------------------------------------------------------
_ISO_CODES = "usd eur gbp jpy cny inr cad aud hkd chf sek nok dkk krw sgd zar mxn brl rub twd nzd"
_SYMBOLS = {
    "us$": "USD", "u.s.$": "USD", "$": "USD", "c$": "CAD", "ca$": "CAD", "a$": "AUD",
    "au$": "AUD", "hk$": "HKD", "s$": "SGD", "nz$": "NZD", "nt$": "TWD", "r$": "BRL",
    "mx$": "MXN", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "₩": "KRW", "rs.": "INR",
    "rs": "INR", "sfr": "CHF", "dm": "DEM", "rmb": "CNY",
    **{code: code.upper() for code in _ISO_CODES.split()},
}  # fmt: skip
_PREFIX = re.compile(
    r"(?<![a-z])(?P<sym>" + "|".join(re.escape(k) for k in sorted(_SYMBOLS, key=len)[::-1])
    + r")\s*$", re.IGNORECASE,
)  # fmt: skip
_CURRENCY_WORDS = r"""
USD (?:u\.?s\.?|american) \$; CAD canadian \$; AUD australian \$; HKD hong kong \$;
NZD new zealand \$; SGD singapore \$; TWD (?:new )?taiwan \$; USD dlrs?|dollars?;
BEF belgian francs?; CHF swiss francs?; LUF luxembourg francs?; FRF (?:french )?francs?;
FIM (?:finnish )?markkaa?; DEM (?:west )?german marks?|deutsche ?marks?|marks?;
NLG (?:dutch )?guilders?|florins?; JPY (?:japanese )?yen; TRY turkish lira;
GBP (?:pounds? )?sterling|stg|(?:british )?pounds?; ITL (?:italian )?lire|italian lira;
DKK danish (?:crowns?|kroner); NOK norwegian (?:crowns?|kroner); PKR pakistani? rupees?;
SEK (?:swedish )?(?:crowns?|kronor|krona); INR (?:indian )?rupees?; ZAR (?:south african )?rand;
CNY (?:chinese )?yuan|renminbi|rmb; KRW (?:south korean )?won; MXN (?:mexican )?pesos?;
EUR euros?; ESP (?:spanish )?pesetas?; ATS (?:austrian )?schillings?; PTE escudos?;
GRD drachmas?|drachmae; MYR ringgit; THB baht; IDR rupiah; BRL reais|real; SAR riyals?;
AED dirhams?; ILS (?:new )?shekels?; RUB r[ou]bles?; PLN zlotys?; HUF forints?
"""
_SUFFIX = [
    (re.compile(r"\s*(?:" + e.strip()[4:].replace(r"\$", "(?:dlrs?|dollars?)") + r")\b", re.I),
     e.strip()[:3])
    for e in [*_CURRENCY_WORDS.split(";"), *(f"{c.upper()} {c}" for c in _ISO_CODES.split())]
]  # fmt: skip
_UNDISCLOSED = re.compile(
    r"\b(?:undisclosed|not (?:been |be )?(?:disclosed|revealed|made public)|"
    r"did not (?:disclose|reveal)|unspecified|confidential)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class MoneyValue:
    """A parsed amount: ``amount`` in units of ``currency`` (ISO 4217, legacy codes kept).

    ``undisclosed`` is true when the text says the amount was not disclosed; the
    amount is then usually ``None`` (an "undisclosed 5 pct stake" has no price).
    """

    amount: float | None
    currency: str | None
    undisclosed: bool


def parse_money(text: str) -> MoneyValue | None:
    """Read an amount as newspapers write it: "5 mln dlrs", "$900M", "Rs 500 crore".

    The amount is the first number with a currency or a multiplier, else the
    first plain number (never a percentage, never a bare "one"); the currency
    comes from a symbol or code just before it or a currency word just after
    its multiplier, else it is ``None`` ("3 mln"). Legacy currencies keep their
    legacy codes (francs FRF, marks DEM, lire ITL), because converting would
    need the exchange rate of the day. A range ("5-10 mln dlrs") has no single
    amount. ``None`` when there is neither an amount nor an undisclosed marker.
    """
    undisclosed, bare = _UNDISCLOSED.search(text) is not None, None
    for number in _numbers(text):
        if number is None:
            return MoneyValue(None, None, True) if undisclosed else None
        if _PERCENT.match(text, number.end):
            continue
        if prefix := _PREFIX.search(text, 0, number.start):
            currency: str | None = _SYMBOLS[prefix["sym"].lower()]
        else:
            currency = next((c for p, c in _SUFFIX if p.match(text, number.end)), None)
        if currency or number.scaled:
            return MoneyValue(float(number.value), currency, undisclosed)
        bare = bare or (None if number.word else number)
    if bare:
        return MoneyValue(float(bare.value), None, undisclosed)
    return MoneyValue(None, None, True) if undisclosed else None


# --- quantities ----------------------------------------------------------------------------
_CLAUSE_END = re.compile(r"[,;:()\[\]]|\.(?:\s|$)")


def parse_count(text: str) -> tuple[float, str | None] | None:
    """The first number in ``text`` and the words after it up to the clause's end.

    "over 2,000 new jobs" gives (2000.0, "new jobs"); word numbers, "dozen" and
    Indian "lakh"/"crore" multiply. ``None`` when there is no number or it opens
    a range ("2,000-3,000 jobs").
    """
    numbers = _numbers(text)
    if not numbers or numbers[0] is None:
        return None
    rest = text[numbers[0].end :]
    unit = _CLAUSE_END.split(rest, maxsplit=1)[0].strip(" \t\r\n-")
    return float(numbers[0].value), unit or None


# --- dates ---------------------------------------------------------------------------------
_MON = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_MONTHS = {m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
                                       "sep", "oct", "nov", "dec"], 1)}  # fmt: skip
_DAY = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?"
_FULL = [
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})(?:-(?P<d>\d{2}))?\b"),
    re.compile(rf"\b{_MON}\s+{_DAY},?\s+(?P<y>\d{{4}})\b"),
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MON},?\s+(?P<y>\d{{4}})\b"),
    re.compile(rf"\b{_MON},?\s+(?:of\s+)?(?P<y>\d{{4}})\b"),
]
_SUB_YEAR = re.compile(r"\b(?:q[1-4]|h[12]|quarter|half|fiscal|fy|semester)", re.IGNORECASE)
_MONTH_REL = re.compile(rf"\b{_MON}(?:\s+{_DAY})?,?\s+(?P<rel>this|last|next)\s+year\b")
_YEAR = re.compile(r"(?<![\d.,])(?P<y>1[89]\d\d|20\d\d)(?![\d,]|\.\d)")
_REL_PERIOD = re.compile(r"\b(?P<rel>this|last|next|previous)\s+(?P<unit>year|month)\b")
_REL_DAY = re.compile(r"\b(?P<rel>today|yesterday|tomorrow)\b")
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_WEEKDAY = re.compile(r"\b(?:(?P<q>last|next|this|past|coming)\s+)?(?P<wd>" + "|".join(_WEEKDAYS)
                      + r")\b")  # fmt: skip
_OFFSET = {"this": 0, "last": -1, "previous": -1, "next": 1, "today": 0, "yesterday": -1,
           "tomorrow": 1}  # fmt: skip


def _iso(year: int, month: int | None = None, day: int | None = None) -> str | None:
    try:
        dt.date(year, month or 1, day or 1)
    except (ValueError, OverflowError):
        return None
    parts = [f"{year:04d}"] + [f"{p:02d}" for p in (month, day) if p is not None]
    return "-".join(parts)


def parse_date(text: str, published: dt.date | None = None) -> str | None:
    """ISO 8601 at the precision the text gives: "2024", "2024-04" or "2024-04-05".

    Absolute dates win over relative ones. Relative expressions ("this year",
    "last month", "yesterday", "on Monday") resolve only against ``published``;
    a bare weekday is the latest such day on or before publication. Quarters,
    halves and fiscal years return ``None``: ISO 8601 has no common form for
    them and any month would be a guess. So do a month without a year ("in
    April" needs "this year"), "last Monday", "earlier" and "recently".
    """
    low = text.lower()
    for pattern in _FULL:
        if m := pattern.search(low):
            month = _MONTHS[m["mon"][:3]] if "mon" in m.groupdict() else int(m["m"])
            day = int(m["d"]) if m.groupdict().get("d") else None
            return _iso(int(m["y"]), month, day)
    if _SUB_YEAR.search(low):
        return None
    if m := _YEAR.search(low):
        return _iso(int(m["y"]))
    if published is None:
        return None
    if m := _MONTH_REL.search(low):
        day = int(m["d"]) if m["d"] else None
        return _iso(published.year + _OFFSET[m["rel"]], _MONTHS[m["mon"][:3]], day)
    try:
        if m := _REL_DAY.search(low):
            return (published + dt.timedelta(days=_OFFSET[m["rel"]])).isoformat()
        if (m := _WEEKDAY.search(low)) and not m["q"]:
            back = (published.weekday() - _WEEKDAYS.index(m["wd"])) % 7
            return (published - dt.timedelta(days=back)).isoformat()
    except OverflowError:
        return None
    if (m := _REL_PERIOD.search(low)) and m["unit"] == "year":
        return _iso(published.year + _OFFSET[m["rel"]])
    if m:
        index = published.year * 12 + published.month - 1 + _OFFSET[m["rel"]]
        return _iso(index // 12, index % 12 + 1)
    return None


# --- countries -----------------------------------------------------------------------------
# ISO 3166-1 names (short, official, common) come from pycountry; this table holds only
# what it lacks: demonyms, short forms, older and informal names, and parts of countries.
_COUNTRIES = """
US USA|US|America|American;
GB UK|Britain|Great Britain|British|England|English|Scotland|Scottish|Wales|Welsh|
Northern Ireland|Northern Irish;
CN Chinese|PRC|Mainland China; IN Indian; JP Japanese;
KR South Korean|Korea|Korean|Republic of Korea; TW Taiwanese; HK Hongkong; SG Singaporean;
DE German|West Germany|West German; FR French; NL Holland|Dutch; BE Belgian; CH Swiss;
IT Italian; ES Spanish; PT Portuguese; IE Irish|Republic of Ireland; SE Swedish;
NO Norwegian; DK Danish; FI Finnish; AT Austrian; LU Luxembourgish|Luxembourger; PL Polish;
CZ Czech; SK Slovak|Slovakian; HU Hungarian; RO Romanian; BG Bulgarian; GR Greek;
HR Croatian; SI Slovenian|Slovene; EE Estonian; LV Latvian; LT Lithuanian; IS Icelandic;
CY Cypriot; MT Maltese; TR Turkey|Turkish; RU Russia|Russian; UA Ukrainian;
KZ Kazakh|Kazakhstani; IL Israeli; SA Saudi|Saudi Arabian; AE UAE|Emirati; QA Qatari;
KW Kuwaiti; BH Bahraini; OM Omani; IR Iranian; EG Egyptian; MA Moroccan; NG Nigerian;
KE Kenyan; ZA South African; CA Canadian; MX Mexican; BR Brazilian;
AR Argentine|Argentinian|Argentinean; CL Chilean; CO Colombian; PE Peruvian; AU Australian;
NZ New Zealander; ID Indonesian; MY Malaysian; TH Thai; VN Vietnamese;
PH Philippine|Filipino; PK Pakistani; BD Bangladeshi; LK Sri Lankan; MO Macau|Macanese;
CD Democratic Republic of the Congo|DR Congo|DRC; CI Ivory Coast|Ivorian
"""
_STRIP = " \t\r\n.,;:!?'\"()[]{}-–—‘’“”"
_BASED = re.compile(r"[\s-]based$")


def _country_key(text: str) -> str:
    if not text.isascii():  # "Côte d'Ivoire" and "Cote d'Ivoire" are one key
        text = "".join(
            c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
        )
    key = " ".join(text.replace(".", "").strip(_STRIP).lower().split()).removeprefix("the ")
    if key.endswith("based"):
        key = _BASED.sub("", key)
    return key.strip(_STRIP)


@functools.cache
def _country_codes() -> dict[str, str]:
    """Lookup key -> alpha-2, built on first use: pycountry's names, then our table
    (which wins where both have a name: it says what we mean by "Korea")."""
    codes = {
        _country_key(name): country.alpha_2
        for country in pycountry.countries
        for name in (country.name, getattr(country, "official_name", None),
                     getattr(country, "common_name", None))
        if name
    }  # fmt: skip
    codes.update(
        (_country_key(name), block.strip()[:2])
        for block in _COUNTRIES.replace("|\n", "|").split(";")
        for name in block.strip()[3:].split("|")
    )
    return codes


def country_code(text: str) -> str | None:
    """ISO 3166-1 alpha-2 code for a country name, short form or demonym ("Dutch": "NL").

    Every name pycountry has for a country (short, official, common) is known,
    plus our table of demonyms and informal names. Case, accents, dots ("U.S.")
    and surrounding punctuation do not matter; "Pune, India" falls back to its
    last comma-separated part. Parts of the United Kingdom give "GB";
    "Korea"/"Korean" mean South Korea, the one that makes business news. Codes
    are not read (only the usual "US", "USA", "UK", "UAE", "PRC"): with case
    ignored, "IN", "IT", "NO" or "CAN" are words. ``None`` when the name is
    unknown.
    """
    codes = _country_codes()
    code = codes.get(_country_key(text))
    if code is None and "," in text:
        code = codes.get(_country_key(text.rsplit(",", 1)[1]))
    return code


# --- whole results -------------------------------------------------------------------------


def normalize_article(result: ArticleDeals, published: dt.date | None = None) -> ArticleDeals:
    """``result`` with the derived fields filled and companies merged; ``result``
    itself is left as it was (what did not change is shared, not copied: a deep
    copy was a few per cent of a document's CPU).

    Derived fields come only from normalizing the grounded text beside them:
    whatever a model put there is overwritten (None when the text does not
    parse), so an answer cannot slip "Evil Corp" into ``currency`` or 9e9 into
    the amount of "an undisclosed sum". Normalizing twice changes nothing.
    Party names inside deals stay as written (grounding aligns them). Companies are regrouped with
    :func:`group_company_names` over company names, aliases and party names:
    one Company per group, its canonical name first and at most four aliases;
    country and business come from the first company named in the group that
    has them. A party no company names becomes a company, while there is room.
    """
    deals = [_normalized(deal, published) for deal in result.deals]
    companies = [
        c.model_copy(update={"country_code": country_code(c.country) if c.country else None})
        for c in result.companies
    ]
    names = [n for c in companies for n in (c.name, *c.aliases)]
    names += [p.name for d in deals for p in d.parties]
    merged = [_merge(group, companies) for group in group_company_names(names)]
    keep = sorted(sorted(range(len(merged)), key=lambda i: not merged[i][0])[:12])
    return result.model_copy(update={"deals": deals, "companies": [merged[i][1] for i in keep]})


def _normalized(deal: Deal, published: dt.date | None) -> Deal:
    """A copy of ``deal`` with its amount, date and volumes normalized."""
    update: dict[str, Any] = {"date_iso": parse_date(deal.date, published) if deal.date else None}
    if deal.amount is not None:
        money = parse_money(deal.amount.text)
        fields = {"amount": money.amount if money else None,
                  "currency": money.currency if money else None}  # fmt: skip
        update["amount"] = deal.amount.model_copy(update=fields)
    volumes = []
    for volume in deal.volumes:
        value, unit = parse_count(volume.text) or (None, None)
        volumes.append(volume.model_copy(update={"value": value, "unit": unit}))
    update["volumes"] = volumes
    return deal.model_copy(update=update)


def _merge(group: list[str], companies: list[Company]) -> tuple[bool, Company]:
    """The Company for one name group, and whether some company had it as its name."""
    folds = {fold_name(n) for n in group}
    named = [c for c in companies if fold_name(c.name) in folds]
    sources = named or [c for c in companies if any(fold_name(a) in folds for a in c.aliases)]
    company = Company(
        name=group[0],
        aliases=group[1:5],
        country=next((c.country for c in sources if c.country), None),
        country_code=next((c.country_code for c in sources if c.country), None),
        business=next((c.business for c in sources if c.business), None),
    )
    return bool(named), company
