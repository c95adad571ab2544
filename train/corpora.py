"""Deal windows from the research corpora's ``train`` split: Utah, SENTiVENT, FIRE.

Each reader yields ``(id, window text, deal records)``; a record is a
``WindowDeal`` as a dict (:func:`blank` fills the fields it leaves out). Only
documents that :func:`llm_extract.evals.goldsets.split_of` puts in ``train``
are read, so nothing of the holdout third is trained on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from llm_extract.evals.goldsets import split_of
from llm_extract.records.slots import WindowDeal
from llm_extract.text.windows import find_windows

Deal = dict[str, Any]
WINDOW_CHARS = 700
FIELDS = list(WindowDeal.model_fields)

_ACQ_TRIGGER = re.compile(
    r"\b(?:(?:agreed|agreement|plans?|intends?|offered|offer|completed|signed|proposed|has|had|"
    r"will|would|to|it|said it|definitive agreement|letter of intent|the)\s+){0,3}"
    r"(?:acquir\w*|acquisition|buy|buys|bought|purchas\w*|merg\w*|sell|sells|sold|sale|"
    r"takeover|tender offer|stake)\b",
    re.IGNORECASE,
)


def blank(**values: Any) -> Deal:
    deal: Deal = dict.fromkeys(FIELDS)
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
        deal = blank(
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
    return blank(trigger=trigger, type=_sv_kind(event), buyer=first, target=second, amount=amount)


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
                deal = by_target.setdefault(rel["tail"], blank(type="acquisition", target=tail))
                deal["buyer" if rel["type"] == "ActionBuy" else "seller"] = head
            elif rel["type"] == "ActionMerge":
                deals.append(blank(type="merger", buyer=head, target=tail))
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
