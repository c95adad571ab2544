"""Our own training articles: the deal kinds the research corpora lack.

The corpora hold acquisitions (Utah, FIRE) and coarse "deals" (SENTiVENT).
Contract manufacturing, sourcing, licensing, distribution, partnerships, joint
ventures and funding rounds, articles with several deals, deals mentioned as
background, and business news with deal-like words but no deal are written
here. Every company, person and figure is invented; places and product kinds
are ordinary words. A seeded generator composes short news passages from
sentence patterns written for this project, so the set can be rebuilt
exactly (``python -m train.house --out FILE``).

Each example is ``{"id", "text", "deals": [WindowDeal as dict]}``; the deals
carry the article's own strings, so every value stands in the text.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# --- invented names ----------------------------------------------------------------------

_ROOTS = (
    "Kestrel Vantage Orin Sarvam Veldhoven Hanil Lumora Kavya Netvolt Brightlake Corvid "
    "Tessaro Quillon Marisco Halden Zentra Aurelle Pinecrest Redwood Granite Bluewater "
    "Halvorsen Swiftline Orchard Marlow Harlow Castellan Novaline Ardent Solvik Tamaris "
    "Everbright Ironbark Silverleaf Meridia Polaris Cobaltis Venturo Altamira Kinetix "
    "Lodestar Fairhaven Northgate Westbrook Eastwind Suncrest Monarch Starling Falcora "
    "Amberly Crestview Delmont Evercore Glenmore Harrowgate Ivory Jasper Kingsley Larkspur "
    "Maplewood Nimbus Oakridge Peregrine Quartzite Riverton Sable Thornbury Umbra Valora "
    "Willowmere Yarrow Zephyra Aster Bramble Cinder Dovetail Ember Fennel Garnet Heron Indigo "
    "Juniper Kelvin Lumen Mistral Nettle Onyx Pallas Quasar Rowan Sorrel Topaz"
).split()
_SUFFIXES = {
    "brand": [
        "Audio",
        "Home",
        "Mobile",
        "Living",
        "Wearables",
        "Labs",
        "Devices",
        "Electronics",
        "Appliances",
        "Motors",
        "Foods",
        "Beauty",
        "Apparel",
        "Toys",
        "Health",
    ],
    "maker": [
        "Electro",
        "Circuits",
        "Manufacturing",
        "Industries",
        "Precision",
        "Assembly",
        "Components",
        "Fabrication",
        "Systems",
        "Works",
        "Technologies",
    ],
    "firm": ["Corp", "Inc", "Ltd", "Group", "Holdings", "plc", "AG", "SA", "Co", "Partners"],
    "fund": ["Capital", "Ventures", "Partners", "Investments", "Equity", "Growth Fund"],
    "tech": [
        "Bio",
        "Therapeutics",
        "Software",
        "Robotics",
        "Semiconductor",
        "Networks",
        "AI",
        "Energy",
        "Materials",
        "Pharma",
    ],
}
_COUNTRIES = [
    ("Taiwanese", "Taiwan"),
    ("Indian", "India"),
    ("Dutch", "the Netherlands"),
    ("Korean", "South Korea"),
    ("Japanese", "Japan"),
    ("German", "Germany"),
    ("Chinese", "China"),
    ("American", "the United States"),
    ("British", "Britain"),
    ("French", "France"),
    ("Swedish", "Sweden"),
    ("Brazilian", "Brazil"),
    ("Vietnamese", "Vietnam"),
    ("Mexican", "Mexico"),
    ("Singaporean", "Singapore"),
]
_PLACES = (
    "Pune Chennai Noida Sriperumbudur Chakan Hosur Penang Monterrey Brno Gdansk Dayton Tulsa "
    "Austin Guadalajara Haiphong Suzhou Shenzhen Eindhoven Lyon Porto Kaohsiung Busan Osaka "
    "Leeds Manchester Ostrava Izmir Johor Cebu Rayong"
).split()
_PRODUCTS = {
    "Audio": ["wireless earbuds", "smart speakers", "neckband headphones", "soundbars"],
    "Home": ["air fryers", "induction hobs", "robot vacuums", "water purifiers"],
    "Mobile": ["smartphones", "tablets", "feature phones", "chargers"],
    "Living": ["ceiling fans", "smart locks", "LED lamps", "air coolers"],
    "Wearables": ["smartwatches", "fitness bands", "smart rings"],
    "Labs": ["security cameras", "baby monitors", "video doorbells"],
    "Devices": ["routers", "set-top boxes", "mesh Wi-Fi systems"],
    "Electronics": ["televisions", "laptops", "power banks"],
    "Appliances": ["refrigerators", "washing machines", "microwave ovens"],
    "Motors": ["electric scooters", "e-bike motors", "battery packs"],
    "Foods": ["frozen snacks", "plant-based milk", "breakfast cereals"],
    "Beauty": ["skincare creams", "hair dryers", "fragrances"],
    "Apparel": ["running shoes", "denim jeans", "sportswear"],
    "Toys": ["building blocks", "ride-on toys", "board games"],
    "Health": ["blood pressure monitors", "hearing aids", "thermometers"],
}
_FIRST = (
    "Priya Ravi Mei-Ling Ashok Robin Elena Tomas Ingrid Kenji Amara Lucas Sofia Daniel Farah "
    "Henrik Nadia Omar Chloe Viktor Aiko Marco Leila Stefan Hana"
).split()
_LAST = (
    "Nair Menon Chou Gupta Liu Petrova Novak Berg Tanaka Okafor Silva Rossi Cohen Haddad Lund "
    "Karimi Farouk Martin Horvat Sato Bianchi Rahman Weber Kim"
).split()
_TITLES = [
    "chief executive",
    "managing director",
    "chief operating officer",
    "chairman",
    "head of sourcing",
    "president",
    "chief financial officer",
]
_MONTHS = (
    "January February March April May June July August September October November December"
).split()


@dataclass
class Company:
    name: str
    short: str
    adjective: str
    country: str
    line: str = ""


@dataclass
class Sentence:
    text: str
    deals: list[dict[str, Any]] = field(default_factory=list)


def _deal(
    trigger: str, kind: str, buyer: str | None, target: str | None, **extra: Any
) -> dict[str, Any]:
    base: dict[str, Any] = {
        "trigger": trigger,
        "type": kind,
        "buyer": buyer,
        "target": target,
        "seller": None,
        "amount": None,
        "status": None,
        "business": None,
        "location": None,
        "date": None,
        "background": False,
    }
    base.update(extra)
    return base


class Writer:
    """Composes passages; every choice comes from one seeded ``random.Random``."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.used: set[str] = set()

    def pick(self, items: Any) -> Any:
        return self.r.choice(list(items))

    def company(self, kind: str) -> Company:
        for attempt in range(1000):
            root = self.pick(_ROOTS)
            if attempt > 50:  # the plain names ran out: compound ones ("Aster Lumen Corp")
                root = f"{root} {self.pick(_ROOTS)}"
            suffix = self.pick(_SUFFIXES[kind])
            name = f"{root} {suffix}"
            if name not in self.used:
                self.used.add(name)
                break
        adjective, country = self.pick(_COUNTRIES)
        line = self.pick(_PRODUCTS[suffix]) if suffix in _PRODUCTS else ""
        if not line:
            line = self.pick(self.pick(list(_PRODUCTS.values())))
        short = root if self.r.random() < 0.5 else name
        return Company(name, short, adjective, country, line)

    def person(self) -> tuple[str, str]:
        return f"{self.pick(_FIRST)} {self.pick(_LAST)}", self.pick(_TITLES)

    def units(self) -> str:
        n = self.pick(
            [
                "200,000",
                "400,000",
                "800,000",
                "1.2 million",
                "two million",
                "five million",
                "three million",
                "600,000",
            ]
        )
        return f"{n} units a year"

    def money(self) -> str:
        forms = [
            lambda: f"{self.r.randint(5, 900)} mln dlrs",
            lambda: f"${self.r.randint(2, 90)} million",
            lambda: f"${self.r.randint(1, 9)}.{self.r.randint(1, 9)} billion",
            lambda: f"{self.r.randint(10, 500)} million euros",
            lambda: f"Rs {self.r.randint(50, 900)} crore",
            lambda: f"{self.r.randint(3, 80)} mln stg",
        ]
        return str(self.pick(forms)())

    def when(self) -> str:
        return self.pick(
            [
                f"In {self.pick(_MONTHS)} this year",
                "Last year",
                "In 2023",
                f"In {self.pick(_MONTHS)}",
                "Earlier this year",
                "Two years ago",
            ]
        )


# --- sentence patterns, one function per deal kind -------------------------------------------
# Each returns the sentences of one deal and the deal record. ``bg`` writes it as
# background news (earlier, already done), as articles mention related deals.


def contract(w: Writer, bg: bool = False) -> list[Sentence]:
    brand, maker = w.company("brand"), w.company("maker")
    place, units = w.pick(_PLACES), w.units()
    p, b, m = brand.line, brand.name, maker.name
    if bg:
        when = w.when()
        options = [
            (f"{when}, {m} also began making {p} for {brand.adjective} brand {b}.", "began making"),
            (
                f"{m} had earlier signed a deal to assemble {p} for {b}.",
                "signed a deal to assemble",
            ),
            (f"{when}, {b} also partnered with {m} to manufacture its {p}.", "partnered"),
        ]
        text, trig = w.pick(options)
        date = when if text.startswith(when) else None
        return [
            Sentence(
                text,
                [
                    _deal(
                        trig,
                        "contract_manufacturing",
                        b,
                        m,
                        business=p,
                        date=date,
                        background=True,
                        status=None,
                    )
                ],
            )
        ]
    options = [
        (
            f"{brand.adjective} brand {b} has signed a deal with {maker.adjective} contract "
            f"manufacturer {m} to make its {p} at a plant in {place}.",
            "signed a deal",
            "signed",
        ),
        (
            f"{b} will outsource production of its {p} to {m}, which will build them at its "
            f"factory in {place}.",
            "outsource production",
            None,
        ),
        (
            f"{m} will assemble {p} for {b} at its {place} facility under a contract "
            f"manufacturing agreement announced on {w.pick(['Monday', 'Tuesday', 'Thursday'])}.",
            "contract manufacturing agreement",
            "announced",
        ),
        (
            f"{b} has tied up with {m} to manufacture its {p} in "
            f"{brand.country if False else place}.",
            "tied up",
            None,
        ),
        (
            f"{m} said it won an order from {b} to produce {p} at its plant in {place}.",
            "won an order",
            "won",
        ),
        (
            f"{brand.adjective} {w.pick(['electronics', 'consumer goods', 'appliance'])} maker {b} "
            f"has decided to outsource manufacturing of its {p} to {m}.",
            "decided to outsource",
            "decided",
        ),
        (f"{b} picked {m} to produce its {p} at {place}, the companies said.", "picked", None),
    ]
    if w.r.random() < 0.25:
        lead = (
            f"{brand.adjective} {w.pick(['electronics', 'appliance', 'consumer goods'])} brand {b} "
            f"has decided to outsource production of its {p} to a local contract manufacturer."
        )
        follow = f"{m} will make the products at its factory in {place}."
        deal = _deal("decided to outsource production", "contract_manufacturing", b, m,
                     business=p, location=place, status="decided")  # fmt: skip
        return [Sentence(lead, [deal]), Sentence(follow)]
    text, trig, status = w.pick(options)
    deal = _deal(
        trig,
        "contract_manufacturing",
        b,
        m,
        business=p,
        location=place if place in text else None,
        status=status,
    )
    out = [Sentence(text, [deal])]
    if w.r.random() < 0.6:
        out.append(
            Sentence(
                w.pick(
                    [
                        f"{maker.short} will produce {units} under the agreement.",
                        f"The plant will add about {w.r.randint(3, 30) * 100} jobs, the "
                        "companies said.",
                        "Production is expected to start in the "
                        f"{w.pick(['first', 'second', 'third'])} quarter.",
                    ]
                )
            )
        )
    return out


def sourcing(w: Writer, bg: bool = False) -> list[Sentence]:
    buyer, supplier = w.company("brand"), w.company("maker")
    part = w.pick(
        [
            "display panels",
            "battery cells",
            "camera modules",
            "printed circuit boards",
            "cotton yarn",
            "packaging",
            "memory chips",
            "steel castings",
        ]
    )
    b, s = buyer.name, supplier.name
    if bg:
        text, trig = w.pick(
            [
                (
                    f"{b} had also signed a sourcing agreement with {s} earlier.",
                    "signed a sourcing agreement",
                ),
                (
                    f"{s} already supplies {part} to {b} under a deal struck "
                    f"{w.pick(['last year', 'in 2022'])}.",
                    "supplies",
                ),
            ]
        )
        return [
            Sentence(
                text,
                [
                    _deal(
                        trig,
                        "sourcing_agreement",
                        b,
                        s,
                        business=part if part in text else None,
                        background=True,
                    )
                ],
            )
        ]
    text, trig, status = w.pick(
        [
            (
                f"{b} has signed a sourcing agreement with {s} for {part}.",
                "signed a sourcing agreement",
                "signed",
            ),
            (
                f"{s} will supply {part} to {b} under a {w.pick(['three', 'five', 'two'])}-year "
                "agreement.",
                "will supply",
                None,
            ),
            (
                f"{b} said it will source {part} from {supplier.adjective} supplier {s}.",
                "will source",
                None,
            ),
            (f"{s} won a contract to supply {b} with {part}.", "won a contract to supply", "won"),
            (
                f"{b} agreed to buy {part} from {s} in a supply deal worth {w.money()}.",
                "supply deal",
                "agreed",
            ),
        ]
    )
    amount = None
    if "worth " in text:
        amount = text.split("worth ", 1)[1].rstrip(".")
    return [
        Sentence(
            text,
            [_deal(trig, "sourcing_agreement", b, s, business=part, status=status, amount=amount)],
        )
    ]


def licensing(w: Writer, bg: bool = False) -> list[Sentence]:
    owner, user = w.company("tech"), w.company("firm")
    thing = w.pick(
        [
            "battery chemistry",
            "imaging patents",
            "drug candidate",
            "compression codec",
            "brand name",
            "chip design",
            "vaccine technology",
        ]
    )
    o, u = owner.name, user.name
    if bg:
        text = (
            f"{u} had licensed {o}'s {thing} {w.pick(['in 2022', 'two years ago', 'last year'])}."
        )
        return [
            Sentence(text, [_deal("licensed", "licensing", u, o, business=thing, background=True)])
        ]
    text, trig, status = w.pick(
        [
            (
                f"{o} has licensed its {thing} to {u} for use in "
                f"{w.pick(['Asia', 'Europe', 'Latin America'])}.",
                "licensed",
                None,
            ),
            (
                f"{u} signed a licensing agreement with {o} for the {thing}.",
                "signed a licensing agreement",
                "signed",
            ),
            (f"{u} will pay {o} {w.money()} upfront to license its {thing}.", "to license", None),
            (f"{o} granted {u} an exclusive licence to its {thing}.", "granted", None),
        ]
    )
    amount = None
    if "upfront" in text:
        amount = text.split(f"{o} ", 1)[1].split(" upfront")[0]
    return [
        Sentence(
            text,
            [
                _deal(
                    trig,
                    "licensing",
                    u,
                    o,
                    business=thing,
                    status=status,
                    amount=amount,
                    background=bg,
                )
            ],
        )
    ]


def distribution(w: Writer, bg: bool = False) -> list[Sentence]:
    brand, dist = w.company("brand"), w.company("firm")
    region = w.pick(
        [
            "India",
            "Southeast Asia",
            "the Nordic countries",
            "Mexico",
            "East Africa",
            "the Gulf",
            "Brazil",
            "Central Europe",
        ]
    )
    b, d, p = brand.name, dist.name, brand.line
    text, trig, status = w.pick(
        [
            (
                f"{b} has appointed {d} as the exclusive distributor of its {p} in {region}.",
                "appointed",
                "appointed",
            ),
            (
                f"{d} will distribute {b}'s {p} across {region} under a new agreement.",
                "will distribute",
                None,
            ),
            (
                f"{b} signed a distribution deal with {d} to sell its {p} in {region}.",
                "signed a distribution deal",
                "signed",
            ),
        ]
    )
    return [
        Sentence(
            text,
            [
                _deal(
                    trig,
                    "distribution",
                    b,
                    d,
                    business=p,
                    location=region,
                    status=status,
                    background=bg,
                )
            ],
        )
    ]


def partnership(w: Writer, bg: bool = False) -> list[Sentence]:
    a, c = w.company("firm"), w.company("tech")
    goal = w.pick(
        [
            "develop electric-vehicle chargers",
            "build a payments platform",
            "research solid-state batteries",
            "offer cloud services to banks",
            "expand rural broadband",
            "design hydrogen fuel cells",
        ]
    )
    x, y = a.name, c.name
    if bg:
        when = w.when()
        text, trig = w.pick(
            [
                (f"{when}, {x} had partnered with {y} to {goal}.", "partnered"),
                (
                    f"{x} already works with {y}, with which it struck an alliance "
                    f"{w.pick(['in 2021', 'last year'])}.",
                    "struck an alliance",
                ),
            ]
        )
        date = when if text.startswith(when) else None
        return [Sentence(text, [_deal(trig, "partnership", x, y, date=date, background=True)])]
    text, trig, status = w.pick(
        [
            (f"{x} and {y} have formed a partnership to {goal}.", "formed a partnership", "formed"),
            (f"{x} is teaming up with {y} to {goal}.", "teaming up", None),
            (f"{x} said it will collaborate with {y} to {goal}.", "collaborate", None),
            (
                f"{x} signed a memorandum of understanding with {y} to {goal}.",
                "signed a memorandum of understanding",
                "signed",
            ),
            (f"{x} and {y} struck an alliance to {goal}.", "struck an alliance", "struck"),
        ]
    )
    return [
        Sentence(
            text, [_deal(trig, "partnership", x, y, business=None, status=status, background=bg)]
        )
    ]


def joint_venture(w: Writer, bg: bool = False) -> list[Sentence]:
    a, c = w.company("firm"), w.company("firm")
    place = w.pick(_PLACES)
    x, y = a.name, c.name
    share = w.pick(["51", "50", "60", "49"])
    text, trig, status = w.pick(
        [
            (
                f"{x} and {y} agreed to form a joint venture in {place} to make {c.line}.",
                "agreed to form a joint venture",
                "agreed",
            ),
            (
                f"{x} will set up a {share}:{100 - int(share)} joint venture with {y} to produce "
                f"{c.line}.",
                "joint venture",
                None,
            ),
            (
                f"{x} and {y} launched a joint venture that will build {c.line} in {place}.",
                "launched a joint venture",
                "launched",
            ),
        ]
    )
    return [
        Sentence(
            text,
            [
                _deal(
                    trig,
                    "joint_venture",
                    x,
                    y,
                    business=c.line,
                    location=place if place in text else None,
                    status=status,
                    background=bg,
                )
            ],
        )
    ]


def investment(w: Writer, bg: bool = False) -> list[Sentence]:
    fund, startup = w.company("fund"), w.company("tech")
    f, s = fund.name, startup.name
    money = w.money()
    if bg:
        text = f"{f} had previously invested {money} in {s}."
        return [
            Sentence(text, [_deal("invested", "investment", f, s, amount=money, background=True)])
        ]
    text, trig, status = w.pick(
        [
            (f"{s} has raised {money} in a funding round led by {f}.", "raised", "raised"),
            (
                f"{f} invested {money} in {s}, a {startup.adjective} maker of {startup.line}.",
                "invested",
                None,
            ),
            (f"{s} said {f} will invest {money} to fund its expansion.", "will invest", None),
            (f"{f} led a {money} series B round in {s}.", "led", None),
        ]
    )
    return [
        Sentence(
            text, [_deal(trig, "investment", f, s, amount=money, status=status, background=bg)]
        )
    ]


def acquisition(w: Writer, bg: bool = False) -> list[Sentence]:
    buyer, target, seller = w.company("firm"), w.company("maker"), w.company("firm")
    money = w.pick([w.money(), "an undisclosed sum", "undisclosed terms"])
    place = w.pick(_PLACES)
    b, t, s = buyer.name, target.name, seller.name
    if bg:
        when = w.when()
        text = f"{when}, {b} acquired {t}, a maker of {target.line}."
        return [
            Sentence(
                text,
                [
                    _deal(
                        "acquired",
                        "acquisition",
                        b,
                        t,
                        business=target.line,
                        date=when,
                        background=True,
                    )
                ],
            )
        ]
    options = [
        (
            f"{b} said it agreed to acquire {t}, a {place}-based maker of {target.line}, from "
            f"{s} for "
            f"{money}.",
            "agreed to acquire",
            "agreed",
            s,
        ),
        (
            f"{b} has completed its purchase of {t} for {money}.",
            "completed its purchase",
            "completed",
            None,
        ),
        (f"{s} will sell its {target.line} unit {t} to {b} for {money}.", "will sell", None, s),
        (
            f"{b} bought {t}, which makes {target.line} in {place}, for {money}.",
            "bought",
            None,
            None,
        ),
    ]
    text, trig, status, sell = w.pick(options)
    amount = money.replace("an ", "") if money in text else None
    if amount and amount not in text:
        amount = None
    return [
        Sentence(
            text,
            [
                _deal(
                    trig,
                    "acquisition",
                    b,
                    t,
                    seller=sell,
                    amount=amount,
                    status=status,
                    business=target.line,
                    location=place if place in text else None,
                    background=bg,
                )
            ],
        )
    ]


def stake(w: Writer, bg: bool = False) -> list[Sentence]:
    buyer, target = w.company("firm"), w.company("firm")
    pct = w.pick(["8.5 pct", "12 percent", "a 20 percent", "49%", "a minority"])
    b, t = buyer.name, target.name
    text, trig = w.pick(
        [
            (f"{b} bought {pct} stake in {t} for {w.money()}.", "bought"),
            (f"{b} said it acquired {pct} stake in {t}.", "acquired"),
        ]
    )
    amount = text.split(" for ", 1)[1].rstrip(".") if " for " in text else None
    return [Sentence(text, [_deal(trig, "stake_purchase", b, t, amount=amount, background=bg)])]


def merger(w: Writer, bg: bool = False) -> list[Sentence]:
    a, c = w.company("firm"), w.company("firm")
    x, y = a.name, c.name
    text, trig, status = w.pick(
        [
            (f"{x} and {y} agreed to merge in an all-share deal.", "agreed to merge", "agreed"),
            (
                f"{x} will merge with {y} to create a company with {w.money()} in annual sales.",
                "will merge",
                None,
            ),
        ]
    )
    return [Sentence(text, [_deal(trig, "merger", x, y, status=status, background=bg)])]


KINDS = [
    contract,
    contract,
    contract,
    sourcing,
    sourcing,
    licensing,
    distribution,
    partnership,
    joint_venture,
    investment,
    acquisition,
    stake,
    merger,
]
BACKGROUND_KINDS = [contract, contract, sourcing, partnership, investment, acquisition, licensing]


# --- no-deal passages: deal-like words, no deal ----------------------------------------------


def no_deal(w: Writer) -> list[Sentence]:
    c = w.company("firm")
    n = c.name
    pct = w.r.randint(2, 40)
    return [
        Sentence(
            w.pick(
                [
                    f"{n} said first-half sales rose {pct} pct to {w.money()} on strong demand "
                    f"for {c.line}.",
                    f"{n} shares fell {pct} percent after it cut its profit forecast, citing "
                    "weaker sales.",
                    f"{n} launched a new range of {c.line} and said it expects them to lift "
                    "sales next year.",
                    f"{n} named {' '.join(w.person()[0].split())} as chief executive, effective "
                    "next month.",
                    f"Prices of {w.pick(['copper', 'wheat', 'crude oil', 'coffee', 'sugar'])} "
                    f"rose {pct} pct "
                    f"as buyers returned after the holiday, traders said.",
                    f"{n} said it is not in talks to sell any of its businesses, denying a press "
                    "report.",
                    f"{n} will buy back up to {w.money()} of its own shares over the next year.",
                    f"The government agreed a new budget that raises spending on roads by {pct} "
                    "pct.",
                    f"{n} said its order book stood at {w.money()} at the end of the quarter.",
                    f"{n} opened a new {c.line} factory in {w.pick(_PLACES)} with "
                    f"{w.r.randint(2, 9)}00 workers.",
                ]
            )
        )
    ]


def _filler(w: Writer, names: list[str]) -> Sentence:
    who = w.pick(names) if names else "The company"
    person, title = w.person()
    return Sentence(
        w.pick(
            [
                f'"This partnership lets us grow faster," said {person}, {title} of {who}.',
                f"{who} did not disclose financial terms.",
                f"Shares of {who} rose {w.r.randint(1, 9)} pct in early trading.",
                "The announcement comes as companies move production closer to their biggest "
                "markets.",
                f"{who} employs about {w.r.randint(2, 40) * 100} people.",
            ]
        )
    )


def passage(w: Writer) -> list[Sentence]:
    """A short news passage: a main deal, maybe a background deal, filler, or no deal."""
    roll = w.r.random()
    if roll < 0.14:
        out = no_deal(w)
        if w.r.random() < 0.5:
            out += no_deal(w)
        return out
    out = w.pick(KINDS)(w)
    if roll < 0.45:
        out += w.pick(BACKGROUND_KINDS)(w, bg=True)
    elif roll < 0.55:
        out += w.pick(KINDS)(w)
    names = [d["buyer"] for s in out for d in s.deals if d["buyer"]]
    if w.r.random() < 0.5:
        out.append(_filler(w, names))
    return out


def build(n: int, seed: int = 20261202) -> list[dict[str, Any]]:
    """``n`` articles of one to three passages. Each deal carries ``at``: the offset
    of its sentence in the text, so a window holding that sentence states it."""
    w = Writer(seed)
    rows = []
    for i in range(n):
        passages = [passage(w) for _ in range(w.pick([1, 1, 1, 2, 2, 3]))]
        text, deals = "", []
        for k, sentences in enumerate(passages):
            for j, sentence in enumerate(sentences):
                if text:
                    text += "\n\n" if j == 0 and k and w.r.random() < 0.6 else " "
                for d in sentence.deals:
                    deals.append({**d, "at": len(text)})
                text += sentence.text
        rows.append({"id": f"house-{i}", "text": text, "deals": deals})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("-n", type=int, default=700)
    args = parser.parse_args()
    rows = build(args.n)
    with args.out.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} passages written to {args.out}")


if __name__ == "__main__":
    main()
