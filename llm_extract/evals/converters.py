"""Converters from the shared research corpora to the gold format of :mod:`.goldsets`.

They run at eval time only: their output embeds the research-licensed article
text, so it goes to a scratch file (``llm-extract convert``), never into the
repository. Each converter documents how the corpus's own annotation maps
onto :class:`~llm_extract.evals.goldsets.GoldDeal`, since that mapping decides what
a score on that corpus means.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from ..jsonl import read_jsonl
from ..records.schemas import DealType, Role
from .goldsets import UTAH_SLOTS, GoldDeal, GoldDoc, GoldParty


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [row for _, row in read_jsonl(path)]


_UTAH_ROLES = {"purchaser": Role.ACQUIRER, "acquired": Role.TARGET, "seller": Role.SELLER}
_UTAH_FIELDS = {"dlramt": "amount", "status": "status", "acqbus": "acquired_business"}
_UTAH_FIELDS["acqloc"] = "acquired_location"


def from_utah(path: Path) -> list[GoldDoc]:
    """Utah acquisition answer keys -> docs with text, all 7 slots and one deal.

    The deal is an acquisition; every purchaser/acquired/seller filler becomes
    an acquirer/target/seller party (its alternatives as name alternatives).
    amount, status, acquired_business and acquired_location take the first
    filler's alternatives, or null when the slot is empty (the keys annotate
    every slot, so empty means "none").
    """
    docs = []
    for row in _read_jsonl(path):
        slots: dict[str, list[list[str]]] = {s: row[s] for s in UTAH_SLOTS}
        parties = [
            GoldParty(name=alts, role=r) for s, r in _UTAH_ROLES.items() for alts in slots[s]
        ]
        fields = {f: next(iter(slots[s]), None) for s, f in _UTAH_FIELDS.items()}
        deal = GoldDeal.model_validate({"deal_type": "acquisition", "parties": parties, **fields})
        docs.append(GoldDoc(id=f"utah-{row['id']}", text=row["text"], deals=[deal], slots=slots))
    return docs


_SENTIVENT_TYPES = dict.fromkeys(("Investment", "Financing"), DealType.INVESTMENT)
_SENTIVENT_TYPES |= {"Merger/Acquisition": DealType.ACQUISITION, "Deal": DealType.PARTNERSHIP}
_SENTIVENT_ROLES: dict[str, tuple[Role, ...]] = {
    "Acquirer": (Role.ACQUIRER, Role.PARTNER),
    "Target": (Role.TARGET, Role.PARTNER),
    "Partner": (Role.PARTNER, Role.CLIENT, Role.SUPPLIER),
}
_SENTIVENT_ROLES |= dict.fromkeys(("Investee", "Financee"), (Role.TARGET,))
_SENTIVENT_ROLES |= dict.fromkeys(("Investor", "Financer"), (Role.INVESTOR, Role.ACQUIRER))
"""Our roles each SENTiVENT role covers, as its types cover ours: a merger's two
sides are partners, a Deal has no direction (its client and supplier are both
Partners), and a stake purchase's buyer is our acquirer."""
_SENTIVENT_AMOUNTS = {"Cost", "CapitalInvested", "Amount_Financing"}
_AGREEMENTS = (
    DealType.PARTNERSHIP, DealType.JOINT_VENTURE, DealType.LICENSING,
    DealType.CONTRACT_MANUFACTURING, DealType.SOURCING_AGREEMENT, DealType.DISTRIBUTION,
)  # fmt: skip
SENTIVENT_FAMILIES: dict[DealType, tuple[DealType, ...]] = {
    DealType.ACQUISITION: (DealType.ACQUISITION, DealType.MERGER, DealType.STAKE_PURCHASE),
    DealType.INVESTMENT: (DealType.INVESTMENT, DealType.STAKE_PURCHASE),
    DealType.PARTNERSHIP: _AGREEMENTS,
}
"""Our deal types that each SENTiVENT type covers, by its own typology
(``event_typology.json``): Merger/Acquisition is a merger or a take-over of
"stock, equity interests or assets"; Investment includes investing in another
company; Deal lists "service and product deals, licensing, ... joint ventures,
... contracts, agreements". A trigger that names a joint venture or a licence
keeps its one type."""


def _sentivent_type(event: dict[str, Any]) -> DealType:
    hint = f"{event.get('subtype') or ''} {event['trigger']['text']}".lower()
    if event["type"] == "Deal" and "joint" in hint:
        return DealType.JOINT_VENTURE
    if event["type"] == "Deal" and "licens" in hint:
        return DealType.LICENSING
    return _SENTIVENT_TYPES[event["type"]]


def _sentivent_names(doc: dict[str, Any], arg: dict[str, Any]) -> list[str]:
    """The argument text, preceded by its antecedents if it is a pronoun.

    SENTiVENT stores the pronoun under "canonical" and the antecedent under
    "mention"; chains are short ("we" -> "We" -> "Comcast Cable").
    """
    names, frontier = [], {arg["begin"]}
    for _ in range(3):
        refs = doc["pronoun_canonical_refs"]
        hits = [r["mention"] for r in refs if r["canonical"]["begin"] in frontier]
        frontier = {m["begin"] for m in hits}
        names += [m["text"] for m in hits]
    return list(dict.fromkeys([*names, arg["text"]]))


def _sentivent_deal(doc: dict[str, Any], events: list[dict[str, Any]]) -> GoldDeal:
    parties: list[GoldParty] = []
    amounts: list[str] = []
    for ev in sorted(events, key=lambda e: e["trigger"]["begin"]):
        for arg in ev["arguments"]:
            if arg["role"] in _SENTIVENT_AMOUNTS and arg["text"] not in amounts:
                amounts.append(arg["text"])
            role = _SENTIVENT_ROLES.get(arg["role"])
            if role is not None:
                party = GoldParty(name=_sentivent_names(doc, arg), role=list(role))
                parties += [] if party in parties else [party]
    extra = {"amount": amounts} if amounts else {}
    kind = _sentivent_type(events[0])
    types = list(SENTIVENT_FAMILIES.get(kind, (kind,)))
    return GoldDeal.model_validate({"deal_type": types, "parties": parties, **extra})


def from_sentivent(docs_path: Path, events_path: Path) -> list[GoldDoc]:
    """SENTiVENT deal events -> one doc (with text) per document that has any.

    Ids are ``sentivent-`` and the corpus key before the headline ("aal01"),
    so scores and baselines never quote headlines.

    deal_events.jsonl selects the events; docs.jsonl gives text, event ids and
    coreference. Events are mention-level, so coreferent events of the same
    deal type are merged into one deal (parties united, each amount mention
    an alternative); negative-polarity events are dropped. Deal type:
    each SENTiVENT type becomes the set of our types it covers
    (:data:`SENTIVENT_FAMILIES`): Merger/Acquisition -> acquisition, merger or
    stake purchase; Investment/Financing -> investment or stake purchase; Deal
    -> any agreement (partnership, joint venture, licensing, contract
    manufacturing, sourcing, distribution), or only joint_venture/licensing
    when subtype or trigger says so (the subtypes are all empty in this
    release). Before 2026-12-07 each mapped to one type (acquisition,
    investment, partnership), which counted a supply contract given as a
    sourcing agreement as a wrong type. Argument strings stay as in
    the tokenised text ("Apple 's"); a pronoun gets its antecedents as
    preferred alternatives. Only deal type, parties and (if an amount argument
    exists) amount are annotated: mention-level spans cannot assert absence.
    """
    wanted = {(e["doc_id"], e["type"], e["trigger_begin"]) for e in _read_jsonl(events_path)}
    out = []
    for doc in _read_jsonl(docs_path):
        events = {
            ev["id"]: ev
            for ev in doc["events"]
            if (doc["doc_id"], ev["type"], ev["trigger"]["begin"]) in wanted
            and not ev.get("negative_polarity")
        }
        group = {eid: eid for eid in events}
        types = {eid: _sentivent_type(ev) for eid, ev in events.items()}
        for link in doc.get("event_coreference", []):
            a, b = link["dependent_event"], link["governor_event"]
            if a in types and types[a] is types.get(b):
                old, new = group[a], group[b]
                group = {k: new if g == old else g for k, g in group.items()}
        clusters: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for eid, ev in events.items():
            clusters[group[eid]].append(ev)
        deals: list[GoldDeal] = []
        for deal in (_sentivent_deal(doc, members) for members in clusters.values()):
            if deal not in deals:
                deals.append(deal)
        if deals:
            key = doc["doc_id"].split("_", 1)[0]  # "aal01": the id without its headline
            out.append(GoldDoc(id=f"sentivent-{key}", text=doc["text"], deals=deals))
    return out


def from_fire(path: Path) -> list[GoldDoc]:
    """FIRE sentences with buy/sell/merge relations -> one doc (with text) each.

    FIRE's ActionBuy runs buyer -> bought thing and ActionSell seller -> thing
    sold (checked against the data: "SoftBank bought COMDEX from The Interface
    Group" has ActionBuy(SoftBank, COMDEX) and ActionSell(The Interface Group,
    COMDEX)). Buy and sell relations sharing a tail entity form one
    acquisition (acquirer / target / seller); the target may be a business
    unit or assets. Each ActionMerge (symmetric) is a merger of two partners.
    Other relation types are ignored; only deal type and parties are annotated.
    """
    out = []
    for row in _read_jsonl(path):
        ents, deals = row["entities"], []
        by_target: dict[int, dict[Role, list[str]]] = {}
        for rel in row["relations"]:
            head, tail = ents[rel["head"]]["text"], ents[rel["tail"]]["text"]
            if rel["type"] in ("ActionBuy", "ActionSell"):
                empty: dict[Role, list[str]] = {Role.ACQUIRER: [], Role.TARGET: [tail]}
                roles = by_target.setdefault(rel["tail"], empty | {Role.SELLER: []})
                names = roles[Role.ACQUIRER if rel["type"] == "ActionBuy" else Role.SELLER]
                names += [] if head in names else [head]
            elif rel["type"] == "ActionMerge":
                partners = [GoldParty(name=n, role=Role.PARTNER) for n in (head, tail)]
                deal = GoldDeal(deal_type=DealType.MERGER, parties=partners)
                deals += [] if deal in deals else [deal]
        for roles in reversed(by_target.values()):
            parties = [GoldParty(name=n, role=r) for r, names in roles.items() for n in names]
            deals.insert(0, GoldDeal(deal_type=DealType.ACQUISITION, parties=parties))
        if deals:
            out.append(GoldDoc(id=f"fire-{row['orig_id']}", text=row["text"], deals=deals))
    return out


EARNINGS_AND_COMMODITIES = frozenset(
    "earn crude grain wheat corn sugar coffee cocoa gold silver copper veg-oil oilseed soybean "
    "livestock cotton rubber tin alum nat-gas rice barley palm-oil zinc lead nickel".split()
)


def from_reuters_no_deal(path: Path, limit: int | None = None) -> list[GoldDoc]:
    """Reuters stories on earnings or commodity prices -> docs annotated as having no deal.

    A story qualifies when every one of its topics is an earnings or commodity
    topic (:data:`EARNINGS_AND_COMMODITIES`) and it is not an acquisition
    story. Only ``deals`` is annotated, as empty, so every predicted deal is
    counted as invented (``invented`` in the scores). Some such stories do
    mention a sale or a contract in passing; the figure is an upper bound on
    invention, not an exact count of it.
    """
    out = []
    for _, row in read_jsonl(path):
        topics = set(row.get("topics") or [])
        body = (row.get("body") or "").strip()
        if topics and topics <= EARNINGS_AND_COMMODITIES and body:
            out.append(GoldDoc(id=f"reuters-{row['newid']}", text=body, deals=[]))
    return out[:limit]
