"""Sentence patterns for the capital-side deal kinds: partnerships, joint
ventures, investments, acquisitions, stakes and mergers.

Each function returns the sentences of one deal and the deal record, as in
:mod:`train.house_supply`.
"""

from __future__ import annotations

from .house_words import PLACES, Company, Sentence, Writer, make_deal


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
        return [Sentence(text, [make_deal(trig, "partnership", x, y, date=date, background=True)])]
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
            text,
            [make_deal(trig, "partnership", x, y, business=None, status=status, background=bg)],
        )
    ]


def joint_venture(w: Writer, bg: bool = False) -> list[Sentence]:
    a, c = w.company("firm"), w.company("firm")
    place = w.pick(PLACES)
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
                make_deal(
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
            Sentence(
                text, [make_deal("invested", "investment", f, s, amount=money, background=True)]
            )
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
            text, [make_deal(trig, "investment", f, s, amount=money, status=status, background=bg)]
        )
    ]


def acquisition(w: Writer, bg: bool = False) -> list[Sentence]:
    buyer, target, seller = w.company("firm"), w.company("maker"), w.company("firm")
    money = w.pick([w.money(), "an undisclosed sum", "undisclosed terms"])
    place = w.pick(PLACES)
    b, t, s = buyer.name, target.name, seller.name
    if bg:
        return _acquisition_before(w, b, target)

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
                make_deal(
                    trig,
                    "acquisition",
                    b,
                    t,
                    seller=sell,
                    amount=amount,
                    status=status,
                    business=target.line if target.line in text else None,
                    location=place if place in text else None,
                    background=bg,
                )
            ],
        )
    ]


def _acquisition_before(w: Writer, b: str, target: Company) -> list[Sentence]:
    """An acquisition told as background news, with its date."""
    t = target.name
    when = w.when()
    text = f"{when}, {b} acquired {t}, a maker of {target.line}."
    return [
        Sentence(
            text,
            [
                make_deal(
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
    return [Sentence(text, [make_deal(trig, "stake_purchase", b, t, amount=amount, background=bg)])]


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
    return [Sentence(text, [make_deal(trig, "merger", x, y, status=status, background=bg)])]
