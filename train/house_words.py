"""The vocabulary of our training articles, and the seeded writer that draws from it.

Every company, person and figure is invented; places and product kinds are
ordinary words. All choices go through one :class:`Writer` (one seeded
``random.Random``), so the passages of :mod:`train.house` can be rebuilt
exactly: changing the order of any draw changes the training set.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

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
PLACES = (
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


def make_deal(
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

    def pick(self, items: Iterable[T]) -> T:
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
