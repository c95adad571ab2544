"""Company names: which spellings in one article refer to the same company.

The model names a company several ways ("Acme Widgets Inc", "Acme", "Acme's");
results and scores need one company per real company, without merging a
subsidiary into its parent. Pure functions, property-tested.
"""

from __future__ import annotations

import re

_LEGAL = {
    "inc", "incorporated", "corp", "corporation", "co", "company", "cos", "ltd", "limited",
    "llc", "llp", "lp", "plc", "sa", "ag", "nv", "bv", "gmbh", "spa", "srl", "sarl", "sas", "se",
    "ab", "as", "asa", "oy", "oyj", "kk", "pvt", "private", "pte", "pty", "bhd", "sdn", "&",
}  # fmt: skip
_PARENT = {"group", "holdings", "holding"}


def fold_name(name: str) -> str:
    """The form names are compared in: case-folded, whitespace collapsed."""
    return " ".join(name.split()).casefold()


def _core(name: str) -> tuple[str, ...]:
    """Name tokens without possessive, leading "the" and trailing legal suffixes."""
    folded = re.sub(r"['’]s\b", "", fold_name(name)).replace(".", "")
    tokens = re.findall(r"[\w&]+", folded)
    core = tokens[1:] if tokens[:1] == ["the"] and len(tokens) > 1 else tokens
    while core and core[-1] in _LEGAL and len(core) > 1:
        core = core[:-1]
    return tuple(core) or ("\0" + fold_name(name),)


def group_company_names(names: list[str]) -> list[list[str]]:
    """Group the names that refer to one company, each group fullest name first.

    Names equal up to case and whitespace count once (first spelling kept).
    Names are compared by their core: without a possessive "'s", a leading
    "the" and trailing legal suffixes (Inc, Corp, Co, Ltd, LLC, plc, SA, AG, NV,
    BV, GmbH, SpA, ...). Equal cores are one company. A core that is a token
    prefix of longer ones ("Acme" of "Acme Widgets Inc") joins them if they are
    all one company; if they are several, it joins the only one not ending in
    Group/Holdings (a parent), else stays alone: "Zentara", "Zentara
    Electronics", "Zentara Group" give [["Zentara Electronics", "Zentara"],
    ["Zentara Group"]]. Acronyms ("HP") are not matched. Fullest means most
    tokens, then no possessive, not all capitals, most characters (a leading
    "the" not counted), ties to the first seen. Groups and aliases keep
    first-seen order; which names group together does not depend on the order.
    """
    unique: dict[str, str] = {}
    for name in names:
        if name.strip():
            unique.setdefault(fold_name(name), name.strip())
    cores: dict[tuple[str, ...], list[str]] = {}
    for name in unique.values():
        cores.setdefault(_core(name), []).append(name)
    entity: dict[tuple[str, ...], int] = {}
    for core in sorted(cores, key=len, reverse=True):
        longer = {entity[c] for c in entity if len(c) > len(core) and c[: len(core)] == core}
        if len(longer) > 1:
            owners = {
                entity[c]
                for c in entity
                if len(c) > len(core) and c[: len(core)] == core and c[-1] not in _PARENT
            }
            longer = owners if len(owners) == 1 else set()
        entity[core] = longer.pop() if len(longer) == 1 else len(entity)
    members: dict[int, list[str]] = {}
    for name in unique.values():
        members.setdefault(entity[_core(name)], []).append(name)

    def fullness(name: str) -> tuple[int, bool, bool, int]:
        bare = re.sub(r"(?i)^the\s+", "", name)
        return len(bare.split()), not re.search(r"['’]s\b", name), not name.isupper(), len(bare)

    groups = []
    for group in members.values():
        best = max(group, key=fullness)
        groups.append([best, *(n for n in group if n is not best)])
    return groups
