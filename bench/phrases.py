"""How often the fixed phrasings fire on the train split, and how often they name the gold.

    python bench/phrases.py [--corpus ../shared/corpus]

No model: it runs :func:`llm_extract.text.phrases.phrase_deals` over the deal
windows of the Utah train stories and the SENTiVENT train documents, the split
the phrasings were designed on. For Utah it counts the stories where a phrase
fires and those whose first phrase names a gold purchaser or acquired
company; for SENTiVENT, the documents where one fires. These are the README's
"32 of 269 Utah train stories, 28 of them naming a gold buyer or target" and
"5 of 74" (21, 18 and one before the phrasings of 2026-12-08). It also scores
every sale or merger phrase's buyer, target and price against the Utah gold,
and two relation rules of 2026-12-08 against the same stories: where "the <unit>
of X" (:func:`llm_extract.grounding.sides.unit_seller`) would move a gold party
X to the seller's slot, whether X is the gold seller or the gold target; and
whether the price that :func:`llm_extract.text.phrases.stated_price` reads after
a sale word is a gold amount.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from llm_extract.evals.goldsets import split_of
from llm_extract.grounding.sides import unit_seller
from llm_extract.records.schemas import DealType
from llm_extract.text.phrases import phrase_deals, stated_price
from llm_extract.text.sentences import sentences
from llm_extract.text.windows import find_windows

_SALE_WORD = re.compile(
    r"\b(?:acquire[ds]?|acquiring|buy|buys|bought|purchased?|acquisition|takeover|sell|sold|sale)\b",
    re.IGNORECASE,
)


def _first_phrase(text: str) -> tuple[str | None, str | None] | None:
    for window in find_windows(text, 700):
        found = phrase_deals(window.text)
        if found:
            return found[0].deal.buyer, found[0].deal.target
    return None


def utah(corpus: Path) -> tuple[int, int, int]:
    """(train stories, stories with a phrase, those whose first phrase names the gold)."""
    stories = fired = named = 0
    for line in (corpus / "utah_acquisitions/dev.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        if split_of(f"utah-{row['id']}") != "train":
            continue
        stories += 1
        found = _first_phrase(row["text"])
        if found is None:
            continue
        fired += 1
        buyers = {a for alts in row["purchaser"] for a in alts}
        targets = {a for alts in row["acquired"] for a in alts}
        named += found[0] in buyers or found[1] in targets
    return stories, fired, named


def _squashed(alternatives: list[list[str]]) -> set[str]:
    return {" ".join(a.split()) for alts in alternatives for a in alts}


def utah_slots(corpus: Path) -> tuple[int, int, int, int]:
    """Over every sale or merger phrase in the Utah train stories' windows: (buyers
    and targets that are the gold's, buyers and targets named, prices that are a
    gold amount, prices read)."""
    right = named = priced = prices = 0
    for line in (corpus / "utah_acquisitions/dev.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        if split_of(f"utah-{row['id']}") != "train":
            continue
        buyers, targets = _squashed(row["purchaser"]), _squashed(row["acquired"])
        amounts = _squashed(row["dlramt"])
        for window in find_windows(row["text"], 700):
            for phrase in phrase_deals(window.text):
                deal = phrase.deal
                if deal.type.value not in ("acquisition", "stake_purchase", "merger"):
                    continue
                named += 2
                right += (deal.buyer in buyers) + (deal.target in targets)
                if deal.amount:
                    prices += 1
                    priced += " ".join(deal.amount.split()) in amounts
    return right, named, priced, prices


def _utah_train(corpus: Path) -> Iterator[dict[str, Any]]:
    for line in (corpus / "utah_acquisitions/dev.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        if split_of(f"utah-{row['id']}") == "train":
            yield row


def utah_unit_sellers(corpus: Path) -> tuple[int, int]:
    """(gold sellers, gold targets) among the gold parties that "the <unit> of X"
    in one of the story's sentences would move to the seller's slot."""
    sellers = targets = 0
    for row in _utah_train(corpus):
        spans = sentences(row["text"])
        for slot in ("seller", "acquired"):
            for name in sorted(_squashed(row[slot])):
                hit = any(
                    unit_seller(DealType.ACQUISITION, name, row["text"][a:b]) for a, b in spans
                )
                sellers += hit and slot == "seller"
                targets += hit and slot == "acquired"
    return sellers, targets


def utah_prices(corpus: Path) -> tuple[int, int]:
    """(gold amounts, other prices) among the prices read after each sentence's first
    sale word."""
    gold = other = 0
    for row in _utah_train(corpus):
        amounts, text = _squashed(row["dlramt"]), row["text"]
        for lo, hi in sentences(text):
            word = _SALE_WORD.search(text, lo, hi)
            price = stated_price(text, word.end(), hi) if word else None
            if price:
                found = " ".join(price.split()) in amounts
                gold, other = gold + found, other + (not found)
    return gold, other


def sentivent(corpus: Path) -> tuple[int, int]:
    """(train documents with deal events, those where a phrase fires)."""
    with_events = {json.loads(line)["doc_id"] for line in
                   (corpus / "sentivent/deal_events.jsonl").open(encoding="utf-8")}  # fmt: skip
    docs = fired = 0
    for line in (corpus / "sentivent/docs.jsonl").open(encoding="utf-8"):
        doc = json.loads(line)
        doc_id = "sentivent-" + doc["doc_id"].split("_", 1)[0]
        if doc["doc_id"] not in with_events or split_of(doc_id) != "train":
            continue
        docs += 1
        fired += _first_phrase(doc["text"]) is not None
    return docs, fired


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpus"))
    corpus = parser.parse_args().corpus
    stories, fired, named = utah(corpus)
    print(f"Utah train: a phrase in {fired} of {stories} stories, {named} naming the gold")
    right, named, priced, prices = utah_slots(corpus)
    print(f"Utah train: the phrases' buyers and targets are the gold's in {right} of {named}")
    print(f"Utah train: {priced} of the {prices} prices the phrases read are a gold amount")
    sellers, targets = utah_unit_sellers(corpus)
    print(f"Utah train: 'the <unit> of X' names a gold seller {sellers} times, a target {targets}")
    gold, other = utah_prices(corpus)
    print(f"Utah train: the price after a sale word is a gold amount {gold} times, other {other}")
    docs, hits = sentivent(corpus)
    print(f"SENTiVENT train: a phrase in {hits} of {docs} documents")


if __name__ == "__main__":
    main()
