"""Gold sets: the annotations extractions are scored against, and their converters.

Why not reuse :class:`~llm_extract.schemas.ArticleDeals`: gold must also say
what is *acceptable* (several spellings of a name or amount) and what was
*not annotated* (so it is not scored), and must be committable without the
research-licensed article text.

Format: JSONL, UTF-8, one document per line (blank lines ignored)::

    {"id": str,                          # unique within the file
     "text": str,                        # the article, or instead:
     "text_ref": {"path": str, "sha256": str},
     "published": "YYYY-MM-DD",          # optional
     "deals": [GoldDeal, ...],           # the main deal first; [] = no deal
     "companies": [GoldCompany, ...],    # optional
     "slots": {slot: [[alt, ...], ...]}} # optional: the Utah template form

* Exactly one of ``text`` / ``text_ref``. ``text_ref.path`` is relative to a
  corpus root (``seed/oneplus-optiemus.txt``); ``file.jsonl#id=X`` takes the
  ``text`` (else ``body``) of the line whose ``id``, ``newid`` or ``doc_id``
  is X. ``sha256`` is the hex digest of the resolved text's UTF-8 bytes: for
  a whole file, its ``sha256sum``. Committed gold files use ``text_ref`` only.
* An ``Alt`` is a string or a non-empty list of acceptable alternatives; a
  prediction matching any of them is correct. The first is preferred.
* ``GoldDeal`` mirrors :class:`~llm_extract.schemas.Deal`, every field
  optional: **absent = not annotated, not scored; null or [] = annotated as
  empty** (a prediction there is a false positive). ``deal_type`` (DealType
  value or list), ``trigger``, ``amount``, ``status``, ``date``,
  ``location``, ``acquired_business``, ``acquired_location`` (Alt),
  ``parties`` ([{"name": Alt, "role": Role value}]), ``products`` and
  ``volumes`` ([Alt], volumes as written), ``people`` ([{"name": Alt,
  "title": Alt, "company": Alt}], title/company optional), ``background``.
* ``GoldCompany``: ``name`` (Alt), optional ``aliases`` ([str]), ``country``
  and ``business`` (Alt), with the same absent/null rule.
* ``slots`` is exactly the Utah answer-key form: slot -> list of fillers,
  each filler a list of alternatives; ``[]`` = no filler.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from .schemas import DealType, Role

SEED_PATH = "seed/oneplus-optiemus.txt"
UTAH_SLOTS = ("acquired", "acqbus", "acqloc", "dlramt", "purchaser", "seller", "status")


class GoldFormatError(ValueError):
    """A gold file (or a text it references) is malformed; names file and line."""

    def __init__(self, path: Path | str, line_no: int | None, message: str) -> None:
        self.path, self.line_no, self.message = Path(path), line_no, message
        where = f"{path}:{line_no}" if line_no is not None else str(path)
        super().__init__(f"{where}: {message}")


def _check_alt(value: str | list[str]) -> str | list[str]:
    values = [value] if isinstance(value, str) else value
    if not values or any(not v.strip() for v in values):
        raise ValueError("alternatives must be non-empty strings (use null for 'none')")
    return value


Alt = Annotated[str | list[str], AfterValidator(_check_alt)]


def alternatives(value: str | list[str] | None) -> list[str]:
    """The acceptable strings of an Alt: ``"a"`` -> ``["a"]``, None -> ``[]``."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


class _Gold(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def is_annotated(self, field: str) -> bool:
        """True if ``field`` was given (even as null/[]); absent fields are not scored."""
        return field in self.model_fields_set


class GoldParty(_Gold):
    name: Alt
    role: Role


class GoldPerson(_Gold):
    name: Alt
    title: Alt | None = None
    company: Alt | None = None


class GoldDeal(_Gold):
    """One gold deal; see the module docstring for the absent/null contract."""

    deal_type: DealType | Annotated[list[DealType], Field(min_length=1)] | None = None
    trigger: Alt | None = None
    parties: list[GoldParty] | None = None
    amount: Alt | None = None
    status: Alt | None = None
    date: Alt | None = None
    products: list[Alt] | None = None
    location: Alt | None = None
    volumes: list[Alt] | None = None
    people: list[GoldPerson] | None = None
    acquired_business: Alt | None = None
    acquired_location: Alt | None = None
    background: bool | None = None

    def deal_types(self) -> list[DealType]:
        """The acceptable deal types ([] if not annotated)."""
        dt = self.deal_type
        return [] if dt is None else [dt] if isinstance(dt, DealType) else list(dt)

    def names_with(self, role: Role) -> list[list[str]]:
        """Name alternatives of the parties playing ``role``, in order."""
        return [alternatives(p.name) for p in self.parties or [] if p.role is role]


class GoldCompany(_Gold):
    name: Alt
    aliases: list[str] | None = None
    country: Alt | None = None
    business: Alt | None = None


class TextRef(_Gold):
    """Where the text lives, relative to a corpus root, and its UTF-8 sha256."""

    path: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    @model_validator(mode="after")
    def _relative(self) -> TextRef:
        file = PurePosixPath(self.path.split("#", 1)[0])
        if file.is_absolute() or ".." in file.parts:
            raise ValueError(f"text_ref.path must be relative to the corpus root: {self.path!r}")
        return self


class GoldDoc(_Gold):
    id: str = Field(min_length=1)
    text: str | None = None
    text_ref: TextRef | None = None
    published: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    deals: list[GoldDeal]
    companies: list[GoldCompany] | None = None
    slots: dict[str, list[list[str]]] | None = None

    @model_validator(mode="after")
    def _check(self) -> GoldDoc:
        if (self.text is None) == (self.text_ref is None):
            raise ValueError("exactly one of text and text_ref is required")
        if self.published is not None:
            date.fromisoformat(self.published)  # ValueError names the bad date
        return self


def sha256_text(text: str) -> str:
    """The digest ``text_ref.sha256`` holds: sha256 of the text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _error_message(exc: ValidationError) -> str:
    errors = exc.errors()[:5]
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'document'}: {e['msg']}" for e in errors)


def iter_gold(
    path: Path,
    corpus_root: Path | None = None,
    on_error: Callable[[GoldFormatError], None] | None = None,
) -> Iterator[GoldDoc]:
    """Yield the documents of a gold file in order.

    A broken line (bad JSON, schema violation, duplicate id, or - when
    ``corpus_root`` is given - a text_ref that does not resolve or match its
    sha256) raises :class:`GoldFormatError` with its 1-based line number, or,
    if ``on_error`` is given, is passed to it and skipped.
    """
    seen: set[str] = set()
    with Path(path).open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                doc = GoldDoc.model_validate(json.loads(line))
                if doc.id in seen:
                    raise ValueError(f"duplicate id {doc.id!r}")
                if corpus_root is not None and doc.text_ref is not None:
                    resolve_text(doc, corpus_root)
            except (ValueError, OSError) as exc:  # JSONDecodeError, ValidationError
                msg = _error_message(exc) if isinstance(exc, ValidationError) else str(exc)
                error = GoldFormatError(path, line_no, msg)
                if on_error is None:
                    raise error from exc
                on_error(error)
                continue
            seen.add(doc.id)
            yield doc


def load_gold(path: Path, corpus_root: Path | None = None) -> list[GoldDoc]:
    """All documents of a gold file; the first broken line raises GoldFormatError.

    With ``corpus_root`` every text_ref is resolved and its sha256 checked.
    """
    return list(iter_gold(path, corpus_root))


@lru_cache(maxsize=16)
def _jsonl_texts(path: Path, _mtime_ns: int) -> dict[str, str]:
    texts: dict[str, str] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                text = row.get("text", row.get("body"))
                for key in ("id", "newid", "doc_id"):
                    if key in row and isinstance(text, str):
                        texts.setdefault(str(row[key]), text)
    return texts


def resolve_text(doc: GoldDoc, corpus_root: Path | None = None) -> str:
    """The document's text: ``doc.text``, or the text_ref loaded and verified.

    Raises GoldFormatError (naming the referenced file) when the id is not in
    the file or the sha256 does not match, FileNotFoundError when the corpus
    file is missing, ValueError when a text_ref needs a corpus_root.
    """
    if doc.text is not None:
        return doc.text
    ref = doc.text_ref
    assert ref is not None  # guaranteed by GoldDoc validation
    if corpus_root is None:
        raise ValueError(f"{doc.id}: text_ref {ref.path!r} needs a corpus_root")
    rel, _, selector = ref.path.partition("#")
    file = Path(corpus_root) / rel
    if selector:
        key, _, wanted = selector.partition("=")
        if key != "id" or not wanted:
            raise GoldFormatError(file, None, f"unsupported selector {selector!r} (use #id=X)")
        found = _jsonl_texts(file, file.stat().st_mtime_ns).get(wanted)
        if found is None:
            raise GoldFormatError(file, None, f"no line with id {wanted!r} for {doc.id}")
        text = found
    else:
        text = file.read_bytes().decode("utf-8")
    if sha256_text(text) != ref.sha256:
        raise GoldFormatError(file, None, f"sha256 mismatch for {doc.id}: the text changed")
    return text


def seed_text_ref(corpus_root: Path) -> dict[str, str]:
    """The ``text_ref`` of the seed article, with the sha256 of its current bytes."""
    data = (Path(corpus_root) / SEED_PATH).read_bytes()
    return {"path": SEED_PATH, "sha256": hashlib.sha256(data).hexdigest()}


def write_gold(docs: Iterable[GoldDoc], path: Path) -> None:
    """Write docs as JSONL: absent fields stay absent, and a doc with a text_ref
    never carries its text (even if code attached one later) - no licensed text
    leaks into a committed file."""
    with Path(path).open("w", encoding="utf-8", newline="\n") as handle:
        for doc in docs:
            record = doc.model_dump(mode="json", exclude_unset=True)
            if doc.text_ref is not None:
                record.pop("text", None)
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with Path(path).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


# -- converters: run-time only, they embed the (research-licensed) text ------

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
_SENTIVENT_ROLES = {"Acquirer": Role.ACQUIRER, "Partner": Role.PARTNER}
_SENTIVENT_ROLES |= dict.fromkeys(("Target", "Investee", "Financee"), Role.TARGET)
_SENTIVENT_ROLES |= dict.fromkeys(("Investor", "Financer"), Role.INVESTOR)
_SENTIVENT_AMOUNTS = {"Cost", "CapitalInvested", "Amount_Financing"}


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
                party = GoldParty(name=_sentivent_names(doc, arg), role=role)
                parties += [] if party in parties else [party]
    extra = {"amount": amounts} if amounts else {}
    return GoldDeal.model_validate(
        {"deal_type": _sentivent_type(events[0]), "parties": parties, **extra}
    )


def from_sentivent(docs_path: Path, events_path: Path) -> list[GoldDoc]:
    """SENTiVENT deal events -> one doc (with text) per document that has any.

    deal_events.jsonl selects the events; docs.jsonl gives text, event ids and
    coreference. Events are mention-level, so coreferent events of the same
    deal type are merged into one deal (parties united, each amount mention
    an alternative); negative-polarity events are dropped. Deal type:
    Merger/Acquisition -> acquisition, Investment/Financing -> investment,
    Deal -> partnership, or joint_venture/licensing when subtype or trigger
    says so (the subtypes are all empty in this release). Argument strings stay as in
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
            out.append(GoldDoc(id=f"sentivent-{doc['doc_id']}", text=doc["text"], deals=deals))
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
