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
from llm_extract.records.slots import WindowDeal, WindowDeals
from llm_extract.text.windows import find_windows

from . import house

Deal = dict[str, Any]
WINDOW_CHARS = 700
_FIELDS = list(WindowDeal.model_fields)

_ACQ_TRIGGER = re.compile(
    r"\b(?:(?:agreed|agreement|plans?|intends?|offered|offer|completed|signed|proposed|has|had|"
    r"will|would|to|it|said it|definitive agreement|letter of intent|the)\s+){0,3}"
    r"(?:acquir\w*|acquisition|buy|buys|bought|purchas\w*|merg\w*|sell|sells|sold|sale|"
    r"takeover|tender offer|stake)\b",
    re.IGNORECASE,
)


def _blank(**values: Any) -> Deal:
    deal: Deal = dict.fromkeys(_FIELDS)
    deal["background"] = False
    deal.update(values)
    return deal


def _in(text: str, options: list[str]) -> str | None:
    """The first alternative that stands in ``text`` verbatim."""
    return next((o for o in options if o and o in text), None)


# --- Utah ------------------------------------------------------------------------------------


def utah(corpus: Path) -> Iterator[tuple[str, str, list[Deal]]]:
    for line in (corpus / "utah_acquisitions/dev.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        doc_id = f"utah-{row['id']}"
        if split_of(doc_id) != "train":
            continue
        text = row["text"].strip()
        windows = find_windows(text, WINDOW_CHARS)
        if not windows:
            continue
        slot = {k: [a for f in row[k] for a in f] for k in house_slots()}
        anchor = next((o for o in slot["acquired"] + slot["purchaser"] if o in text), None)
        if anchor is None:  # no deal in the key: every window states none
            for w in windows:
                yield doc_id, w.text, []
            continue
        where = text.index(anchor)
        window = next((w for w in windows if w.start <= where < w.end), windows[0])
        body = window.text
        trigger = _nearest(_ACQ_TRIGGER, body, body.find(anchor))
        if trigger is None:
            continue
        stake = re.search(r"\b(pct|percent|stake|interest in)\b", trigger + body[:300], re.I)
        deal = _blank(
            trigger=trigger,
            type="stake_purchase" if stake else "acquisition",
            buyer=_in(body, slot["purchaser"]),
            target=_in(body, slot["acquired"]),
            seller=_in(body, slot["seller"]),
            amount=_in(body, slot["dlramt"]),
            status=_in(body, slot["status"]),
            business=_in(body, slot["acqbus"]),
            location=_in(body, slot["acqloc"]),
        )
        yield doc_id, body, [deal] if deal["buyer"] or deal["target"] else []


def house_slots() -> tuple[str, ...]:
    return ("purchaser", "acquired", "seller", "dlramt", "status", "acqbus", "acqloc")


def _nearest(pattern: re.Pattern[str], text: str, offset: int) -> str | None:
    """The match of ``pattern`` in ``text`` closest to ``offset``."""
    matches = list(pattern.finditer(text))
    if not matches:
        return None
    best = min(matches, key=lambda m: abs(m.start() - max(offset, 0)))
    return best.group(0).strip()


# --- SENTiVENT -------------------------------------------------------------------------------

_SV_TYPE = {
    "Merger/Acquisition": "acquisition",
    "Investment": "investment",
    "Financing": "investment",
    "Deal": "partnership",
}
_SV_FIRST = {"Acquirer", "Investor", "Financer"}
_SV_SECOND = {"Target", "Investee", "Financee"}
_SV_AMOUNT = {"Cost", "CapitalInvested", "Amount_Financing"}
_PRONOUN = re.compile(r"^(it|its|we|our|they|their|he|she|the company|this|that)$", re.I)


def _sv_kind(event: dict[str, Any]) -> str:
    hint = event["trigger"]["text"].lower()
    if event["type"] == "Deal" and "joint" in hint:
        return "joint_venture"
    if event["type"] == "Deal" and "licens" in hint:
        return "licensing"
    return _SV_TYPE[event["type"]]


def _sv_name(doc: dict[str, Any], arg: dict[str, Any], body: str) -> str | None:
    """The argument, or for a pronoun its antecedent, if it stands in the window."""
    text = arg["text"]
    if _PRONOUN.match(text.strip()):
        refs = [
            r["mention"]["text"]
            for r in doc.get("pronoun_canonical_refs", [])
            if r["canonical"]["begin"] == arg["begin"]
        ]
        text = next((r for r in refs if r in body), "")
    return text if text and text in body else None


def _sv_deal(doc: dict[str, Any], event: dict[str, Any], body: str) -> Deal | None:
    first, second, partners, amount = None, None, [], None
    for arg in event["arguments"]:
        name = None if arg["role"] in _SV_AMOUNT else _sv_name(doc, arg, body)
        if arg["role"] in _SV_FIRST and name and not first:
            first = name
        elif arg["role"] in _SV_SECOND and name and not second:
            second = name
        elif arg["role"] == "Partner" and name and name not in partners:
            partners.append(name)
        elif arg["role"] in _SV_AMOUNT and arg["text"] in body and not amount:
            amount = arg["text"]
    if event["type"] == "Deal":
        first, second = [*partners, None, None][:2]
    trigger = event["trigger"]["text"]
    if not (first or second) or trigger not in body:
        return None
    return _blank(trigger=trigger, type=_sv_kind(event), buyer=first, target=second, amount=amount)


def sentivent(corpus: Path) -> Iterator[tuple[str, str, list[Deal]]]:
    wanted = set()
    for line in (corpus / "sentivent/deal_events.jsonl").open(encoding="utf-8"):
        e = json.loads(line)
        wanted.add((e["doc_id"], e["type"], e["trigger_begin"]))
    for line in (corpus / "sentivent/docs.jsonl").open(encoding="utf-8"):
        doc = json.loads(line)
        doc_id = "sentivent-" + doc["doc_id"].split("_", 1)[0]
        events = [
            ev
            for ev in doc["events"]
            if (doc["doc_id"], ev["type"], ev["trigger"]["begin"]) in wanted
            and not ev.get("negative_polarity")
        ]
        if events and split_of(doc_id) != "train":
            continue
        for w in find_windows(doc["text"], WINDOW_CHARS):
            inside = sorted(
                (e for e in events if w.start <= e["trigger"]["begin"] < w.end),
                key=lambda e: e["trigger"]["begin"],
            )
            deals: list[Deal] = []
            for ev in inside:
                deal = _sv_deal(doc, ev, w.text)
                if deal is None:
                    continue
                same = next(
                    (
                        d
                        for d in deals
                        if d["type"] == deal["type"]
                        and {d["buyer"], d["target"]} & ({deal["buyer"], deal["target"]} - {None})
                    ),
                    None,
                )
                if same is None:
                    deals.append(deal)
                else:
                    for key, value in deal.items():
                        if same.get(key) is None and value is not None:
                            same[key] = value
            yield doc_id, w.text, deals[:3]


# --- FIRE ------------------------------------------------------------------------------------


def fire(corpus: Path) -> Iterator[tuple[str, str, list[Deal]]]:
    for line in (corpus / "fire/deal_subset_dev.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        text, ents = row["text"], row["entities"]
        actions = [e["text"] for e in ents if e["type"] == "Action"]
        by_target: dict[int, Deal] = {}
        deals: list[Deal] = []
        for rel in row["relations"]:
            head, tail = ents[rel["head"]]["text"], ents[rel["tail"]]["text"]
            if rel["type"] in ("ActionBuy", "ActionSell"):
                deal = by_target.setdefault(rel["tail"], _blank(type="acquisition", target=tail))
                deal["buyer" if rel["type"] == "ActionBuy" else "seller"] = head
            elif rel["type"] == "ActionMerge":
                deals.append(_blank(type="merger", buyer=head, target=tail))
        deals = list(by_target.values()) + deals
        trigger = next(
            (
                a
                for a in actions
                if re.search(r"acqui|buy|bought|purchas|sale|sell|sold|merg", a, re.I)
            ),
            None,
        )
        if not deals or trigger is None:
            continue
        for d in deals:
            d["trigger"] = trigger
        windows = find_windows(text, WINDOW_CHARS)
        if len(windows) == 1:
            yield f"fire-{row['orig_id']}", windows[0].text, deals[:3]


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
            deals.append((start + 2 if start >= 0 else 0, _blank(**values)))
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
        d = {k: d.get(k) for k in _FIELDS}
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
