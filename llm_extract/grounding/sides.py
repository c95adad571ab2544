"""Which side of a deal is which: the checks that turn or move a window deal's sides.

The model fills two slots, ``buyer`` and ``target``, and a small model often
fills them the wrong way round, or puts a seller in the target's slot. These
checks read the trigger's sentence for words that leave no doubt:

* a passive agent ("cameras built by Kavya": Kavya makes them), by
  :func:`passive_sides`;
* a sale's lone side named as what is bought ("Netflix's acquisition of
  Millarworld"), by :func:`bought_alone`;
* a sale's target named as the owner of the unit bought ("buy the cheese
  business of Pellam Dairy"): the seller, by :func:`unit_seller`;
* a licence given "to" someone ("Orrin licensed Relvora to Kestrel"): Orrin is the
  licensor, the supplier side, by :func:`licensor_first`;
* a sale whose target is "its" unit and whose trigger sells ("Pell also sold
  its printing unit"): the trigger's subject is the seller, by
  :func:`own_unit_sold`;
* a role noun ("named Varga as the supplier of seats"), by :func:`named_role`;
* a partner or side named as the maker, by :func:`maker_for_subject` and
  :func:`made_by_partner`.

Every change is reported as a :class:`~llm_extract.grounding.verify.Dropped`.
"""

from __future__ import annotations

import re

from ..records.schemas import DealType
from ..records.slots import SALE_TYPES, WindowDeal, name_words, same_company
from ..text.phrases import SALE_NOUNS
from .verify import Dropped

_DOER_VERBS = r"acquired|bought|purchased|taken over|snapped up"
_MAKER_VERBS = r"made|built|manufactured|assembled|produced|supplied|sourced|packaged"
TARGET_AGENT = frozenset({DealType.CONTRACT_MANUFACTURING, DealType.SOURCING_AGREEMENT})
"""Deal types whose target side does the work: the maker or supplier."""
SWAPPED = "the passage names it as the passive agent: sides swapped"
_BOUGHT_ALONE = "the passage names it as what is bought: the target, not the buyer"
_UNIT_SELLER = "the passage names it as the owner of the unit bought: the seller, not the target"
MADE_BY_PARTNER = "the partner is to make the products: contract_manufacturing"
_LICENSOR = "the passage names it as the licensor: the supplier side, sides swapped"
_ROLE_NOUN = "the passage names its role ({noun}): sides swapped"
NAME = r"[A-Z][\w&.'’-]*(?:\s+[A-Z][\w&.'’-]*)*"
"""A run of capitalised words: a company's name as a clause's subject or a partner."""
_MAKES = r"(?:will|would|is to|to)?\s*(?:make|manufacture|assemble|produce|build|supply)"
_WITH_MAKER = re.compile(
    rf"^[\w-]*\s+with\s+(?:the\s+)?({NAME})\s+to\s+(?:jointly\s+)?"
    r"(?:manufacture|make|assemble|produce|build|fabricate)\b"
)
_UNIT = r"business(?:es)?|units?|divisions?|arm|subsidiary|subsidiaries|plants?|brands?|mills?"
_BUYS = r"buy|acquire|purchase|bought|acquired|purchased|(?:acquisition|purchase)\s+of"
_SUFFIX = re.compile(r"\s+(?:Inc|Corp|Co|Cos|Ltd|PLC|Plc|LLC|Group|Holdings)\.?$")
"""A company suffix, which a headline or a possessive leaves out: "Pellam Dairy's unit"."""
_ITS_UNIT = re.compile(rf"^(?:its|their)\s+(?P<unit>(?:[\w-]+\s+){{0,3}}?(?:{_UNIT}))$", re.I)
_SELLS = re.compile(r"\b(?:sold|sells?|selling|divest(?:s|ed|ing)?|spun\s+off|spin\s+off)\b", re.I)
OWN_UNIT = "a unit the trigger's subject sells: the subject is the seller, the unit the business"
_LICENSES = r"licen[cs](?:e|es|ed|ing)\b"
_SUPPLIER_NOUNS = r"supplier|manufacturer|maker|producer|distributor|licensor|vendor"
_CLIENT_NOUNS = r"licensee|customer|client"
_BECOMES = r"(?:to\s+be|(?:will|would|is\s+to|to)\s+(?:be|become)|becomes|became|is|was)"
_WORKED = frozenset({*TARGET_AGENT, DealType.LICENSING, DealType.DISTRIBUTION})
"""Deal types with a client side (buyer) and a side that works for it (target)."""


def _agent(verbs: str, name: str, sentence: str) -> bool:
    """Whether ``name`` is the agent of a passive ``verbs`` in ``sentence``."""
    pattern = rf"\b(?:{verbs})\b[^.;:]{{0,60}}?\bby\s+(?:the\s+)?{re.escape(name)}\b"
    return re.search(pattern, sentence, re.IGNORECASE) is not None


def passive_sides(
    deal_type: DealType, buyer: str | None, target: str | None, sentence: str
) -> bool:
    """Whether the record's two sides are the wrong way round, by a passive agent.

    "Corvid was bought by Brindle" makes Brindle the buyer; "cameras built in
    India by Kavya" makes Kavya the maker (the target side). Only when exactly
    one of the two names is such an agent, and it sits in the other slot."""
    if not buyer or not target:
        return False
    if deal_type in SALE_TYPES:
        verbs, doer, other = _DOER_VERBS, buyer, target
    elif deal_type in TARGET_AGENT:
        verbs, doer, other = _MAKER_VERBS, target, buyer
    else:
        return False
    return _agent(verbs, other, sentence) and not _agent(verbs, doer, sentence)


def bought_alone(deal_type: DealType, buyer: str | None, target: str | None, sentence: str) -> bool:
    """Whether a sale's lone side, given as the buyer, is what the sentence says is
    bought: "Netflix's acquisition of comic book company Millarworld", "Corvid
    was acquired". Only lowercase words may stand between ("of Corvid by
    Brindle" names the buyer after "by")."""
    if deal_type not in SALE_TYPES or not buyer or target:
        return False
    name = re.escape(buyer)
    gap = r"(?:(?!by\b)[a-z][\w-]*\s+){0,3}?"
    noun = rf"\b(?:{SALE_NOUNS})s?\s+of\s+{gap}{name}(?!\w)"
    passive = (
        rf"(?<!\w){name}\s+(?:was|were|has been|had been|is being|will be)\s+(?:{_DOER_VERBS})\b"
    )
    return re.search(noun, sentence) is not None or re.search(passive, sentence) is not None


def unit_seller(deal_type: DealType, target: str | None, sentence: str) -> str | None:
    """The unit bought, when a sale's target is named as its owner, or None:
    "the cheese business of Pellam Dairy Co" and "to buy Pellam Dairy's cheese
    unit" (the name without its suffix) sell a unit of Pellam, so Pellam is the
    seller. A possessive counts only right after a verb of buying: "GenCorp's
    aerospace division" alone may just describe GenCorp, and after "the sale of"
    the seller may be GenCorp's new owner. Assets and stakes are no units: "the
    assets of Japan Fund" is the fund, "a stake in Pellam" makes Pellam the
    target. Where it would move a gold party of the Utah train stories, that
    party is the gold seller 5 times and the gold target twice ("the business of
    Goodyear Aerospace Corp", "a valued business of GenCorp"): ``bench/phrases.py``."""
    if deal_type not in SALE_TYPES or not target:
        return None
    short = _SUFFIX.sub("", target)
    name = "(?:" + "|".join(re.escape(n) for n in dict.fromkeys((target, short)) if n) + ")"
    words = rf"(?:[\w-]+\s+){{0,3}}?(?:{_UNIT})"
    of = rf"\b(?:the|its|a|an|some)\s+(?P<unit>{words})\s+(?:of|from)\s+(?:the\s+)?{name}(?!\w)"
    owns = rf"\b(?:{_BUYS})\s+{name}\s*['’]\s*s\s+(?P<unit>{words})\b"
    found = re.search(of, sentence) or re.search(owns, sentence)
    return found.group("unit") if found else None


def own_unit_sold(deal: WindowDeal, subject: str | None) -> WindowDeal | None:
    """The sale with its seller named, when the model gave as target the unit that
    the trigger's ``subject`` sells ("Pell also sold its printing unit to Orrin
    Media": Pell sells, the printing unit is the business), or None."""
    if deal.type not in SALE_TYPES or deal.seller or not deal.target or not subject:
        return None
    found = _ITS_UNIT.match(deal.target)
    if found is None or not _SELLS.search(deal.trigger or ""):
        return None
    if deal.buyer and is_subject(subject, deal.buyer):
        return None
    business = deal.business or found.group("unit")
    return deal.model_copy(update={"seller": subject, "target": None, "business": business})


def licensor_first(buyer: str | None, target: str | None, sentence: str) -> bool:
    """Whether a licensing deal's buyer (the licensee's slot) is the licensor:
    "Orrin licensed Relvora to Kestrel", or "Kestrel licensed Relvora from Orrin"
    with Kestrel in the target's slot."""
    if not buyer or not target:
        return False
    b, t = re.escape(buyer), re.escape(target)
    gives = rf"(?<!\w){b}\b[^.;]{{0,100}}?\b{_LICENSES}[^.;]{{0,150}}?\bto\s+(?:the\s+)?{t}(?!\w)"
    takes = rf"(?<!\w){t}\b[^.;]{{0,100}}?\b{_LICENSES}[^.;]{{0,150}}?\bfrom\s+(?:the\s+)?{b}(?!\w)"
    return re.search(gives, sentence) is not None or re.search(takes, sentence) is not None


def named_role(name: str, nouns: str, sentence: str) -> str | None:
    """The role noun ``sentence`` gives ``name`` ("Varga Components as the supplier
    of seats", "Kavya, its contract manufacturer", "Tansy will become the exclusive
    distributor"), if it is one of ``nouns``."""
    role = (
        rf"(?<![\w&.'’-]){re.escape(name)}\s*(?:,\s*|\s+as\s+|\s+{_BECOMES}\s+)"
        rf"(?:the|its|a|an|their|our)\s+(?:[\w-]+\s+){{0,2}}?(?P<noun>{nouns})s?\b"
    )
    found = re.search(role, sentence, re.IGNORECASE)
    return found.group("noun").casefold() if found else None


def _role_swapped(deal: WindowDeal, sentence: str) -> str | None:
    """The role noun that puts the deal's sides the other way round, or None."""
    if deal.type not in _WORKED or not deal.buyer or not deal.target:
        return None
    for side, other, nouns in (
        (deal.buyer, deal.target, _SUPPLIER_NOUNS),
        (deal.target, deal.buyer, _CLIENT_NOUNS),
    ):
        if (noun := named_role(side, nouns, sentence)) and not named_role(other, nouns, sentence):
            return noun
    return None


def orient(deal: WindowDeal, sentence: str, out: tuple[str, list[Dropped]]) -> WindowDeal:
    """The deal with its sides turned or moved where the sentence says so (see
    the module's list); each change is appended to the dropped list of ``out``."""
    path, dropped = out
    if deal.seller is None and (unit := unit_seller(deal.type, deal.target, sentence)):
        dropped.append(Dropped(f"{path}.target", deal.target or "", _UNIT_SELLER))
        business = deal.business or unit
        return deal.model_copy(update={"seller": deal.target, "target": None, "business": business})
    if passive_sides(deal.type, deal.buyer, deal.target, sentence):
        reason = SWAPPED
    elif bought_alone(deal.type, deal.buyer, deal.target, sentence):
        reason = _BOUGHT_ALONE
    elif deal.type is DealType.LICENSING and licensor_first(deal.buyer, deal.target, sentence):
        reason = _LICENSOR
    elif noun := _role_swapped(deal, sentence):
        reason = _ROLE_NOUN.format(noun=noun)
    else:
        return deal
    dropped.append(Dropped(f"{path}.buyer", deal.buyer or "", reason))
    return deal.model_copy(update={"buyer": deal.target, "target": deal.buyer})


def maker_for_subject(deal: WindowDeal, text: str, subject: str | None) -> WindowDeal | None:
    """A contract-manufacturing or sourcing deal set from the passage, or None.

    When the trigger's ``subject`` is not a side ("Corvid has decided to
    outsource production") and one side is named as the maker ("Delta will
    make the products"), the subject is the client and the maker the supplier."""
    sides = [n for n in (deal.buyer, deal.target) if n]
    if deal.type not in TARGET_AGENT or subject is None or len(sides) < 2:
        return None
    if any(is_subject(subject, n) for n in sides):
        return None
    makers = [n for n in sides if re.search(rf"\b{re.escape(n)}\s+{_MAKES}\b", text)]
    if len(makers) != 1:
        return None
    return deal.model_copy(update={"buyer": subject, "target": makers[0]})


def made_by_partner(deal: WindowDeal, rest: str, subject: str | None) -> WindowDeal | None:
    """The partnership as contract manufacturing, or None.

    ``rest`` is the trigger's sentence from the trigger on. "RealMe partnered
    with Optiemus to manufacture its devices" names a partner that makes the
    subject's products: the subject is the client, the partner the supplier.
    Only when the subject and the maker are the deal's two sides."""
    found = _WITH_MAKER.match(rest)
    sides = [n for n in (deal.buyer, deal.target) if n]
    if deal.type is not DealType.PARTNERSHIP or found is None or subject is None:
        return None
    if len(sides) < 2:
        return None
    makers = [n for n in sides if same_company(found.group(1), n)]
    clients = [n for n in sides if n not in makers and is_subject(subject, n)]
    if len(makers) != 1 or len(clients) != 1:
        return None
    update = {"type": DealType.CONTRACT_MANUFACTURING, "buyer": clients[0], "target": makers[0]}
    return deal.model_copy(update=update)


def inside(subject: str, name: str) -> bool:
    """Whether the subject's words stand together inside the party's name: "Canada"
    of "Kinder Morgan Canada Limited" is that company's name cut short, not another."""
    words, inner = name_words(name), name_words(subject)
    n = len(inner)
    return n > 0 and any(words[i : i + n] == inner for i in range(len(words) - n + 1))


def is_subject(subject: str, name: str) -> bool:
    """Whether the clause's subject names this party: the same company, or the
    party's name closing a subject with words before it ("Chinese RealMe")."""
    words, tail = name_words(subject), name_words(name)
    return same_company(subject, name) or (bool(tail) and words[-len(tail) :] == tail)
