"""Scoring extractions against gold sets, for regression evals.

Two scorers share one counting core. :func:`score_docs` scores full
:class:`~llm_extract.records.schemas.ArticleDeals` dumps field by field; :func:`score_utah`
scores the classic seven-slot acquisition templates the benchmark's way. Both take
plain JSON-like dicts or pydantic models (:class:`~llm_extract.evals.goldsets.GoldDoc`,
:class:`~llm_extract.records.schemas.ArticleDeals`), which are dumped first, so stored
predictions need no classes. Gold follows the goldsets contract: a field absent
from a gold deal is not annotated and not scored; null or ``[]`` is annotated as
empty, so a prediction there is a hallucination.

Counting contract, per field: every value is a list of items, each item a tuple of
acceptable alternatives (single-valued fields are lists of at most one). Items are
aligned one-to-one by :func:`assign`, maximising the number of matches first and
their similarity second. Aligned matches are true positives. Leftover gold and
predicted items are then paired up as *mismatches* (one fp and one fn each); gold
left over is an *omission* (fn), predicted left over a *hallucination* (fp). So
``fp == hallucinations + mismatches`` and ``fn == omissions + mismatches``.

P, R and F1 are 0 when their denominator is 0, except that a field or document
with no gold and no predicted values at all scores 1.0 (nothing to get wrong);
the macro average skips such fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import BaseModel

from ..records.schemas import PURCHASER_ROLES
from .goldsets import UTAH_SLOTS as UTAH_SLOTS  # re-exported: the slot order scored
from .matching import Matcher, MatchMode, assign, normalize_ws, similarity

Doc = Mapping[str, Any] | BaseModel
Alts = tuple[str, ...]
Item = tuple[Alts, tuple[str, ...]]  # (alternatives, acceptable roles); roles only in `parties`

_PARTY_FIELDS = ("parties", "party_names", "purchaser", "acquired", "seller")
_PURCHASER = tuple(r.value for r in PURCHASER_ROLES)
_ROLES = {"purchaser": _PURCHASER, "acquired": ("target",), "seller": ("seller",)}
_LISTS = ("products", "volumes", "people")
_SINGLE = ("amount", "status", "date", "location")
_ACQ = ("acquired_business", "acquired_location")
FIELDS = ("deal_type", *_PARTY_FIELDS, *_SINGLE, *_LISTS, *_ACQ, "companies")
_ACQUISITION_LIKE = ("acquisition", "stake_purchase", "merger")


def text_match(
    pred: str, gold: str | Iterable[str], *, mode: MatchMode = "exact", threshold: float = 0.8
) -> bool:
    """True if ``pred`` matches any gold alternative: equal after :func:`normalize_ws`
    (``exact``), or :func:`similarity` at least ``threshold`` (``fuzzy``)."""
    return Matcher(mode, threshold).sim(_alts(pred), _alts(gold)) > 0.0


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    if tp + fp + fn == 0:
        return 1.0, 1.0, 1.0
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


@dataclass
class FieldScore:
    """Counts for one field (or one slot), with the error categories behind fp and fn."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    omissions: int = 0
    hallucinations: int = 0
    mismatches: int = 0

    def add(self, other: FieldScore) -> None:
        for k, v in asdict(other).items():
            setattr(self, k, getattr(self, k) + v)

    @property
    def precision(self) -> float:
        return _prf(self.tp, self.fp, self.fn)[0]

    @property
    def recall(self) -> float:
        return _prf(self.tp, self.fp, self.fn)[1]

    @property
    def f1(self) -> float:
        return _prf(self.tp, self.fp, self.fn)[2]

    def to_dict(self) -> dict[str, Any]:
        p, r, f = _prf(self.tp, self.fp, self.fn)
        return {**asdict(self), "precision": p, "recall": r, "f1": f}


def _total(scores: Iterable[FieldScore]) -> FieldScore:
    out = FieldScore()
    for s in scores:
        out.add(s)
    return out


@dataclass
class DocScore:
    """One document's counts per field and its differences from gold, for reports."""

    doc_id: str
    fields: dict[str, FieldScore] = field(default_factory=dict)
    diffs: list[dict[str, Any]] = field(default_factory=list)
    missing: bool = False  # no prediction for this document: all gold counted as omissions

    @property
    def total(self) -> FieldScore:
        return _total(self.fields.values())

    @property
    def f1(self) -> float:
        return self.total.f1

    def to_dict(self) -> dict[str, Any]:
        t, fields = self.total.to_dict(), {k: asdict(v) for k, v in self.fields.items()}
        out = {k: t[k] for k in ("tp", "fp", "fn", "f1")} | {"missing": self.missing}
        return out | {"fields": fields, "differences": self.diffs}


@dataclass
class Scores:
    """Per-field counts summed over documents, the documents themselves, and the
    ids of predicted documents that had no gold (listed, not scored)."""

    fields: dict[str, FieldScore]
    docs: dict[str, DocScore]
    extra_docs: list[str] = field(default_factory=list)

    @property
    def micro(self) -> FieldScore:
        """All fields' counts summed (overlapping fields such as parties and
        party_names each count)."""
        return _total(self.fields.values())

    @property
    def micro_f1(self) -> float:
        return self.micro.f1

    @property
    def macro_f1(self) -> float:
        """Mean F1 over the fields that had any gold or predicted value."""
        f1s = [s.f1 for s in self.fields.values() if s.tp + s.fp + s.fn]
        return sum(f1s) / len(f1s) if f1s else 1.0

    def worst_docs(self, n: int = 10) -> list[DocScore]:
        """The ``n`` documents with the lowest F1, most errors first among ties."""
        return sorted(self.docs.values(), key=lambda d: (d.f1, -(d.total.fp + d.total.fn)))[:n]

    def table_rows(self) -> list[tuple[str, float, float, float, int, int, int, int, int, int]]:
        """(field, P, R, F1, tp, fp, fn, omissions, hallucinations, mismatches) per
        field, then a final ``micro`` row."""
        rows = [*self.fields.items(), ("micro", self.micro)]
        return [(k, *_prf(s.tp, s.fp, s.fn), *asdict(s).values()) for k, s in rows]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form, read by ``baselines.compare`` and the report: ``micro``,
        ``macro_f1``, ``fields`` (name -> counts, P/R/F1), ``documents`` (id -> tp,
        fp, fn, f1, missing, per-field counts, ``differences`` as {field, gold, pred,
        kind, where}) and ``extra_docs``."""
        return {
            "micro": self.micro.to_dict(),
            "macro_f1": self.macro_f1,
            "fields": {k: v.to_dict() for k, v in self.fields.items()},
            "documents": {k: v.to_dict() for k, v in self.docs.items()},
            "extra_docs": self.extra_docs,
        }


def _as_dict(obj: Doc) -> Mapping[str, Any]:
    """A model's JSON dump without unset fields: a gold field left out stays absent
    (not annotated, not scored) instead of turning into null (annotated as empty)."""
    return obj.model_dump(mode="json", exclude_unset=True) if isinstance(obj, BaseModel) else obj


def _alts(value: Any) -> Alts:
    """Alternatives of a gold or predicted value: a string, a list of alternatives, or
    a dumped object (name plus aliases for companies and people, text for amounts
    and volumes). Whitespace-normalised; empty strings dropped."""
    if value is None or isinstance(value, bool):
        return ()
    if isinstance(value, Mapping):
        return _alts(value.get("name", value.get("text"))) + _alts(value.get("aliases"))
    if isinstance(value, list | tuple):
        return tuple(a for v in value for a in _alts(v))
    s = normalize_ws(str(value))
    return (s,) if s else ()


def _items(deal: Mapping[str, Any], name: str) -> list[Item]:
    """The items of field ``name`` in a gold or predicted deal (same code for both)."""
    if name in _PARTY_FIELDS:
        out = []
        for party in deal.get("parties") or []:
            roles = tuple(r.lower() for r in _alts(party.get("role")))
            if name not in _ROLES or set(roles) & set(_ROLES[name]):
                out.append((_alts(party.get("name")), roles if name == "parties" else ()))
    elif name in _LISTS or name == "companies":
        out = [(_alts(v), ()) for v in deal.get(name) or []]
    else:
        alts = _alts(deal.get(name))
        out = [(tuple(a.lower() for a in alts) if name == "deal_type" else alts, ())]
    return [item for item in out if item[0]]


def _render(item: Item | None) -> str | None:
    if item is None:
        return None
    return " | ".join(item[0]) + (f" ({'|'.join(item[1])})" if item[1] else "")


def _score_items(
    doc: DocScore, name: str, gold: list[Item], pred: list[Item], m: Matcher, where: str
) -> None:
    """Align ``pred`` to ``gold`` one-to-one and add the counts and diffs to ``doc``."""
    if not gold and not pred:
        return
    if name == "deal_type":
        m = Matcher()

    def ok(p: Item, g: Item) -> float:
        return m.sim(p[0], g[0]) if p[1] == g[1] or set(p[1]) & set(g[1]) else 0.0

    # Match count dominates; similarity (< 0.01 each) only breaks ties.
    w = [[1.0 + 0.01 * sc if (sc := ok(p, g)) else 0.0 for p in pred] for g in gold]
    hits = [(i, j) for i, j in assign(w) if w[i][j] > 0]
    left_g = [g for i, g in enumerate(gold) if i not in dict(hits)]
    left_p = [p for j, p in enumerate(pred) if j not in dict(hits).values()]
    # Leftovers pair up as mismatches, nearest first, so diffs show what was confused.
    near = [[max(similarity(a, b) for a in p[0] for b in g[0]) for p in left_p] for g in left_g]
    wrong = assign(near)
    nw, ng, npr = len(wrong), len(left_g), len(left_p)
    doc.fields.setdefault(name, FieldScore()).add(
        FieldScore(len(hits), npr, ng, ng - nw, npr - nw, nw)
    )
    out: list[tuple[Item | None, Item | None, str]] = [
        (left_g[i], left_p[j], "mismatch") for i, j in wrong
    ]
    out += [(g, None, "omission") for i, g in enumerate(left_g) if i not in dict(wrong)]
    out += [
        (None, p, "hallucination") for j, p in enumerate(left_p) if j not in dict(wrong).values()
    ]
    kw = {"field": name, "where": where}
    doc.diffs += [kw | {"gold": _render(g), "pred": _render(p), "kind": k} for g, p, k in out]


def _field_key(name: str) -> str:
    """The gold deal key whose presence means field ``name`` was annotated."""
    return "parties" if name in _PARTY_FIELDS else name


def _deal_sim(gold: Mapping[str, Any], pred: Mapping[str, Any], m: Matcher) -> float:
    """Fraction of gold party names matched, plus 0.01 if the deal types agree; 0.001
    if the gold deal annotates neither (nothing to tell deals apart: pair them)."""
    if "parties" not in gold and "deal_type" not in gold:
        return 0.001
    g_names, p_names = _items(gold, "party_names"), _items(pred, "party_names")
    frac = 0.0
    if g_names:
        w = [[1.0 if m.sim(p[0], g[0]) else 0.0 for p in p_names] for g in g_names]
        frac = sum(w[i][j] for i, j in assign(w)) / len(g_names)
    g_type, p_type = _items(gold, "deal_type"), _items(pred, "deal_type")
    agree = bool(g_type and p_type and set(g_type[0][0]) & set(p_type[0][0]))
    return frac + (0.01 if agree else 0.0)


def _score_doc(gold: Mapping[str, Any], pred: Mapping[str, Any] | None, m: Matcher) -> DocScore:
    """Align predicted deals to gold deals, then score each field of each pair.

    Deals pair only with a positive similarity (a shared party name or deal type);
    among equals, a predicted deal pairs with the gold deal at its own position.
    A gold deal is scored on the fields it annotates; an unpaired predicted deal is
    scored (as hallucinations) on the fields any gold deal of the document
    annotates, plus deal_type and the party fields.
    """
    doc = DocScore(str(gold["id"]), missing=pred is None)
    pred = pred or {}
    g_deals, p_deals = list(gold.get("deals") or []), list(pred.get("deals") or [])
    sims = [[_deal_sim(g, p, m) for p in p_deals] for g in g_deals]
    sims = [[x + 1e-4 * (x > 0 and i == j) for j, x in enumerate(r)] for i, r in enumerate(sims)]
    paired = {i: j for i, j in assign(sims) if sims[i][j] > 0}
    for i, g in enumerate(g_deals):
        p = p_deals[paired[i]] if i in paired else {}
        where = f"deal {i}" if i in paired else f"deal {i} (no predicted deal)"
        for name in FIELDS:
            if name != "companies" and _field_key(name) in g:
                _score_items(doc, name, _items(g, name), _items(p, name), m, where)
    keys = {"deal_type", "parties"}.union(*(g.keys() for g in g_deals))
    for j in sorted(set(range(len(p_deals))) - set(paired.values())):
        where = f"predicted deal {j} (no gold deal)"
        for name in FIELDS:
            if name != "companies" and _field_key(name) in keys:
                _score_items(doc, name, [], _items(p_deals[j], name), m, where)
    if "companies" in gold:
        _score_items(
            doc, "companies", _items(gold, "companies"), _items(pred, "companies"), m, "document"
        )
    return doc


def _collect(names: Iterable[str], docs: dict[str, DocScore], extra: list[str]) -> Scores:
    fields = {k: _total(d.fields[k] for d in docs.values() if k in d.fields) for k in names}
    return Scores(fields=fields, docs=docs, extra_docs=extra)


def score_docs(
    gold: Iterable[Doc], pred: Iterable[Doc], *, mode: MatchMode = "exact", threshold: float = 0.8
) -> Scores:
    """Score predicted ArticleDeals dumps against gold documents, matched by ``id``.

    A gold document with no prediction counts all its gold as omissions; predicted
    documents with no gold are listed in ``extra_docs`` and not scored.
    """
    m = Matcher(mode, threshold)
    preds = {str(p["id"]): p for p in map(_as_dict, pred)}
    docs = {str(g["id"]): _score_doc(g, preds.get(str(g["id"])), m) for g in map(_as_dict, gold)}
    return _collect(FIELDS, docs, sorted(set(preds) - set(docs)))


def _slot(row: Mapping[str, Any], slot: str) -> list[Item]:
    fillers = (row.get("slots") or row).get(slot) or []
    return [(a, ()) for f in fillers if (a := _alts(f))]


def score_utah(gold_rows: Iterable[Doc], pred_rows: Iterable[Doc]) -> Scores:
    """Utah acquisition-template scoring, the benchmark's way.

    Rows are matched by ``id``; slots are read from the row or its ``slots`` key.
    Each filler is a list of alternatives (a bare string is one alternative). A
    predicted filler is correct when any of its strings equals, after
    :func:`normalize_ws`, any alternative of a gold filler not already used; the
    pairing is one-to-one and optimal, so order within a slot does not matter.
    Duplicate predicted fillers are not merged: the second is a false positive.
    """
    m = Matcher()
    preds = {str(p["id"]): p for p in map(_as_dict, pred_rows)}
    docs: dict[str, DocScore] = {}
    for g in map(_as_dict, gold_rows):
        p = preds.get(str(g["id"]))
        doc = docs[str(g["id"])] = DocScore(str(g["id"]), missing=p is None)
        for slot in UTAH_SLOTS:
            _score_items(doc, slot, _slot(g, slot), _slot(p or {}, slot), m, "template")
    return _collect(UTAH_SLOTS, docs, sorted(set(preds) - set(docs)))


def deals_to_utah_slots(result: Doc) -> dict[str, list[list[str]]]:
    """The Utah template of a predicted ArticleDeals dump: its first acquisition,
    stake purchase or merger (else its first deal). purchaser = acquirer and investor
    names, acquired = targets, seller = sellers, dlramt = amount text, status,
    acqbus = acquired_business, acqloc = acquired_location. Each filler is a
    one-element list; repeats (after whitespace normalisation) are dropped."""
    deals = list(_as_dict(result).get("deals") or [])
    kinds = [str(d.get("deal_type") or "").lower() for d in deals]
    first = next((d for d, k in zip(deals, kinds, strict=True) if k in _ACQUISITION_LIKE), None)
    deal: Mapping[str, Any] = first or (deals[0] if deals else {})
    parties = list(deal.get("parties") or [])

    def names(*roles: str) -> list[Any]:
        return [p.get("name") for r in roles for p in parties if p.get("role") == r]

    amount = deal.get("amount")
    values = {
        "acquired": names("target"),
        "acqbus": [deal.get("acquired_business")],
        "acqloc": [deal.get("acquired_location")],
        "dlramt": [amount.get("text") if isinstance(amount, Mapping) else amount],
        "purchaser": names(*_PURCHASER),
        "seller": names("seller"),
        "status": [deal.get("status")],
    }
    slots: dict[str, list[list[str]]] = {}
    for slot in UTAH_SLOTS:
        seen: dict[str, str] = {}
        for v in values[slot]:
            if isinstance(v, str) and normalize_ws(v):
                seen.setdefault(normalize_ws(v), v)
        slots[slot] = [[v] for v in seen.values()]
    return slots


def invented_deals(gold: Iterable[Doc], pred: Iterable[Doc]) -> dict[str, Any]:
    """How many documents annotated as having no deal got one predicted anyway.

    The plainest measure of invention: on news with no deal (earnings,
    commodity prices), every predicted deal is made up.
    """
    preds = {str(p["id"]): p for p in map(_as_dict, pred)}
    empty = [str(g["id"]) for g in map(_as_dict, gold) if "deals" in g and not g["deals"]]
    hit = [i for i in empty if (preds.get(i) or {}).get("deals")]
    return {"documents": len(empty), "with_deal": len(hit),
            "rate": len(hit) / len(empty) if empty else 0.0}  # fmt: skip
