"""Gold sets: the annotations extractions are scored against.

The corpus converters that produce them live in :mod:`llm_extract.evals.converters`.

Why not reuse :class:`~llm_extract.records.schemas.ArticleDeals`: gold must also say
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
* ``GoldDeal`` mirrors :class:`~llm_extract.records.schemas.Deal`, every field
  optional: **absent = not annotated, not scored; null or [] = annotated as
  empty** (a prediction there is a false positive). ``deal_type`` (DealType
  value or list), ``trigger``, ``amount``, ``status``, ``date``,
  ``location``, ``acquired_business``, ``acquired_location`` (Alt),
  ``parties`` ([{"name": Alt, "role": Role value or list}]: a list is the
  roles any of which is right, for a corpus whose roles are coarser than
  ours), ``products`` and
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
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..jsonl import read_jsonl
from ..records.schemas import DealType, Role

SEED_PATH = "seed/oneplus-optiemus.txt"
UTAH_SLOTS = ("acquired", "acqbus", "acqloc", "dlramt", "purchaser", "seller", "status")


Split = Literal["train", "holdout"]


def split_of(doc_id: str) -> Split:
    """The fixed part of the dev sets a document belongs to.

    One document in three (by a hash of its id) is ``holdout``: nothing is
    trained or tuned on it, and the README's figures are measured on it. The
    rest is ``train``, which the embedded model's adapter and every tuned
    threshold may use. Ids are the converted ones ("utah-447",
    "sentivent-aal01", "reuters-1234").
    """
    digest = hashlib.sha256(doc_id.encode("utf-8")).digest()
    return "holdout" if int.from_bytes(digest[:8], "big") % 3 == 0 else "train"


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
    role: Role | Annotated[list[Role], Field(min_length=1)]

    def roles(self) -> list[Role]:
        """The acceptable roles."""
        return [self.role] if isinstance(self.role, Role) else list(self.role)


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
        return [alternatives(p.name) for p in self.parties or [] if role in p.roles()]


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
    for _, row in read_jsonl(path):
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
