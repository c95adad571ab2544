"""Sentence patterns for the supply-side deal kinds: contract manufacturing,
sourcing, licensing and distribution.

Each function returns the sentences of one deal and the deal record. ``bg``
writes it as background news (earlier, already done), as articles mention
related deals.
"""

from __future__ import annotations

from .house_words import PLACES, Company, Sentence, Writer, make_deal


def contract(w: Writer, bg: bool = False) -> list[Sentence]:
    brand, maker = w.company("brand"), w.company("maker")
    place, units = w.pick(PLACES), w.units()
    p, b, m = brand.line, brand.name, maker.name
    if bg:
        return _contract_before(w, brand, m)

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
        return _contract_lead(w, brand, m, place)
    text, trig, status = w.pick(options)
    deal = make_deal(
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
        out.append(_contract_follow(w, maker.short, units))
    return out


def _contract_lead(w: Writer, brand: Company, m: str, place: str) -> list[Sentence]:
    """A lead that names no maker, and a second sentence that does."""
    p, b = brand.line, brand.name
    lead = (
        f"{brand.adjective} {w.pick(['electronics', 'appliance', 'consumer goods'])} brand {b} "
        f"has decided to outsource production of its {p} to a local contract manufacturer."
    )
    follow = f"{m} will make the products at its factory in {place}."
    deal = make_deal("decided to outsource production", "contract_manufacturing", b, m,
                     business=p, location=place, status="decided")  # fmt: skip
    return [Sentence(lead, [deal]), Sentence(follow)]


def _contract_before(w: Writer, brand: Company, m: str) -> list[Sentence]:
    """A contract deal told as background news: one sentence, no follow-up."""
    p, b = brand.line, brand.name
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
                make_deal(
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


def _contract_follow(w: Writer, short: str, units: str) -> Sentence:
    """A second sentence on the contract: its volume, its jobs or its start."""
    return Sentence(
        w.pick(
            [
                f"{short} will produce {units} under the agreement.",
                f"The plant will add about {w.r.randint(3, 30) * 100} jobs, the companies said.",
                "Production is expected to start in the "
                f"{w.pick(['first', 'second', 'third'])} quarter.",
            ]
        )
    )


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
        return _sourcing_before(w, b, s, part)

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
            [
                make_deal(
                    trig, "sourcing_agreement", b, s, business=part, status=status, amount=amount
                )
            ],
        )
    ]


def _sourcing_before(w: Writer, b: str, s: str, part: str) -> list[Sentence]:
    """A sourcing deal told as background news."""
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
                make_deal(
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
            Sentence(
                text, [make_deal("licensed", "licensing", u, o, business=thing, background=True)]
            )
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
                make_deal(
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
                make_deal(
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
