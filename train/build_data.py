"""Build the adapter's training set: deal windows and the records they state.

Sources, all from the ``train`` split of :func:`llm_extract.evals.goldsets.split_of`
(the ``holdout`` third is where the README's figures come from, so nothing of
it is trained on):

* Utah acquisition templates: the window holding the target gets one
  acquisition record from the gold slots; the trigger is the acquisition word
  nearest the target (the answer keys have none);
* SENTiVENT deal events: each window gets the events whose trigger lies in
  it, coreferent mentions of one deal merged; documents without deal events
  give windows with no deal;
* FIRE buy/sell/merge relations (one sentence each);
* Reuters stories on earnings and commodities: windows that use deal-like
  words ("sales", "agreement") but report no deal;
* our own passages (:mod:`train.house`) for the kinds the corpora lack.

The first three are read by :mod:`train.corpora`; the rest, and the rendering
of every window into a prompt and an answer, are here.

The corpora are research-licensed, so the output (which embeds their text)
goes to a scratch folder, never into the repository. Every example is
rendered with the library's own prompt and the chat template the embedded
runtime applies, so training and inference see the same tokens.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from llm_extract.evals.goldsets import split_of
from llm_extract.grounding.align import align
from llm_extract.prompts.build import WINDOWS_TUNED, build_messages
from llm_extract.records.slots import WindowDeals
from llm_extract.text.windows import find_windows

from . import house
from .corpora import FIELDS, WINDOW_CHARS, Deal, blank, fire, sentivent, utah

# --- Reuters negatives -----------------------------------------------------------------------

_NO_DEAL_TOPICS = {
    "earn",
    "crude",
    "grain",
    "wheat",
    "corn",
    "money-fx",
    "interest",
    "trade",
    "sugar",
    "coffee",
    "gold",
    "ship",
    "cpi",
    "gnp",
    "veg-oil",
    "livestock",
    "cocoa",
    "copper",
    "jobs",
    "ipi",
    "bop",
    "reserves",
    "retail",
    "housing",
    "money-supply",
    "nat-gas",
    "soybean",
    "rice",
    "cotton",
    "rubber",
    "tin",
    "iron-steel",
    "alum",
    "oilseed",
    "dlr",
}
_STRONG = re.compile(
    r"acqui|merg|takeover|joint venture|stake|invest|partner|licen|distribut|outsourc|"
    r"\bsale of\b|\bsold\b|\bsell|divest|dispos|spin|unit|subsidiar|"
    r"contract to|supply agreement|agreed to (?:buy|sell|acquire)|to buy|to sell|tender offer|"
    r"buyout|bid for",
    re.IGNORECASE,
)


def reuters_negatives(
    corpus: Path, limit: int, rng: random.Random
) -> Iterator[tuple[str, str, list[Deal]]]:
    rows = []
    with gzip.open(corpus / "reuters21578/non_acq.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            topics = set(row.get("topics") or [])
            if (
                topics
                and topics <= _NO_DEAL_TOPICS
                and split_of(f"reuters-{row['newid']}") == "train"
            ):
                rows.append(row)
    rng.shuffle(rows)
    n = 0
    for row in rows:
        for w in find_windows((row.get("body") or "").strip(), WINDOW_CHARS):
            if not _STRONG.search(w.text):
                yield f"reuters-{row['newid']}", w.text, []
                n += 1
        if n >= limit:
            return


# --- our own articles ------------------------------------------------------------------


def _windowed(
    doc_id: str, text: str, deals: list[tuple[int, Deal]]
) -> Iterator[tuple[str, str, list[Deal]]]:
    """Each window of ``text`` with the deals whose sentence starts inside it."""
    for w in find_windows(text, WINDOW_CHARS):
        yield doc_id, w.text, [d for at, d in deals if w.start <= at < w.end][:3]


def house_articles(n: int) -> Iterator[tuple[str, str, list[Deal]]]:
    for row in house.build(n):
        deals = [(d.pop("at"), d) for d in row["deals"]]
        yield from _windowed(row["id"], row["text"], deals)


_FIELD_ORDER = (
    "type",
    "trigger",
    "buyer",
    "target",
    "seller",
    "amount",
    "status",
    "business",
    "location",
    "date",
    "background",
)


def written(path: Path) -> Iterator[tuple[str, str, list[Deal]]]:
    """The hand-written articles of ``train/data/articles.md``."""
    for block in path.read_text(encoding="utf-8").split("\n## ")[1:]:
        name, _, body = block.partition("\n")
        lines = body.strip().split("\n")
        text = "\n".join(line for line in lines if not line.startswith("- ")).strip()
        deals = []
        for line in (ln[2:] for ln in lines if ln.startswith("- ")):
            cells = [c.strip() for c in line.split("|")]
            values: dict[str, Any] = {
                k: (None if v == "-" else v) for k, v in zip(_FIELD_ORDER, cells, strict=True)
            }
            values["background"] = values["background"] == "true"
            at = text.find(values["trigger"])
            if at < 0:
                raise ValueError(f"{name}: trigger {values['trigger']!r} is not in the text")
            start = text.rfind(". ", 0, at)
            deals.append((start + 2 if start >= 0 else 0, blank(**values)))
        yield from _windowed(f"written-{name}", text, deals)


# --- assembly --------------------------------------------------------------------------------


def render(window: str) -> str:
    """The prompt exactly as the embedded runtime renders it (llama.cpp's Gemma template)."""
    messages = build_messages(WINDOWS_TUNED, WindowDeals, window, spans=False)
    system, user = messages[0]["content"], messages[-1]["content"]
    return f"<start_of_turn>user\n{system}\n\n{user}<end_of_turn>\n<start_of_turn>model\n"


def answer(deals: list[Deal], text: str) -> str:
    """The target JSON, validated as the library would parse it."""
    clean = []
    for d in deals:
        d = {k: d.get(k) for k in FIELDS}
        for k, v in d.items():
            if k != "type" and isinstance(v, str) and align(v, text) is None:
                d[k] = None
        clean.append(d)
    WindowDeals.model_validate({"deals": clean})
    return json.dumps({"deals": clean}, ensure_ascii=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpus"))
    parser.add_argument("--out", type=Path, required=True, help="a folder outside the repository")
    parser.add_argument("--house", type=int, default=500)
    parser.add_argument("--negatives", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(7)
    sentivent_rows = list(sentivent(args.corpus))
    quiet = [r for r in sentivent_rows if not r[2]]
    rng.shuffle(quiet)
    sources: dict[str, list[tuple[str, str, list[Deal]]]] = {
        "utah": list(utah(args.corpus)) * 2,
        "sentivent": [r for r in sentivent_rows if r[2]] + quiet[:150],
        "fire": list(fire(args.corpus)),
        "reuters": list(reuters_negatives(args.corpus, args.negatives, rng)),
        "house": list(house_articles(args.house)),
        "written": list(written(Path(__file__).parent / "data" / "articles.md")) * 3,
    }
    rows = []
    for name, items in sources.items():
        for doc_id, text, deals in items:
            rows.append(
                {
                    "source": name,
                    "id": doc_id,
                    "prompt": render(text),
                    "answer": answer(deals, text),
                    "deals": len(deals),
                }
            )
    rng.shuffle(rows)
    val = [r for r in rows if r["source"] == "house"][:40]
    train = [r for r in rows if r not in val]
    args.out.mkdir(parents=True, exist_ok=True)
    for name, part in (("train", train), ("val", val)):
        with (args.out / f"{name}.jsonl").open("w", encoding="utf-8") as f:
            for row in part:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    for name, items in sources.items():
        with_deals = sum(1 for _, _, d in items if d)
        print(f"{name}: {len(items)} windows, {with_deals} with deals")
    print(f"train {len(train)}, val {len(val)} -> {args.out}")


if __name__ == "__main__":
    main()
