"""Our own training articles: the deal kinds the research corpora lack.

The corpora hold acquisitions (Utah, FIRE) and coarse "deals" (SENTiVENT).
Contract manufacturing, sourcing, licensing, distribution, partnerships, joint
ventures and funding rounds, articles with several deals, deals mentioned as
background, and business news with deal-like words but no deal are written
here. Every company, person and figure is invented; places and product kinds
are ordinary words. A seeded generator composes short news passages from
sentence patterns written for this project, so the set can be rebuilt
exactly (``python -m train.house --out FILE``).

The vocabulary and the seeded writer are in :mod:`train.house_words`; the
sentence patterns, one function per deal kind, in :mod:`train.house_supply`
and :mod:`train.house_capital`; this module mixes them into passages.

Each example is ``{"id", "text", "deals": [WindowDeal as dict]}``; the deals
carry the article's own strings, so every value stands in the text.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .house_capital import acquisition, investment, joint_venture, merger, partnership, stake
from .house_supply import contract, distribution, licensing, sourcing
from .house_words import PLACES, Sentence, Writer

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


def nomake_deal(w: Writer) -> list[Sentence]:
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
                    f"{n} opened a new {c.line} factory in {w.pick(PLACES)} with "
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
        out = nomake_deal(w)
        if w.r.random() < 0.5:
            out += nomake_deal(w)
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
