"""What SENTiVENT's gold counts, beside what the model returned: the README's
reading of the SENTiVENT figure.

    llm-extract convert sentivent -o /tmp/s.jsonl
    llm-extract eval /tmp/s.jsonl --split holdout --replay --json \
        --recording evals/recordings/<model>.sentivent.jsonl > /tmp/sv.json
    python bench/sentivent_gold.py /tmp/s.jsonl [/tmp/sv.json]

Over the holdout documents it prints the gold items, how many name fewer than
two parties, the items by deal type and, given the eval's ``--json`` output,
how many documents got no predicted deal. SENTiVENT marks event mentions, so
one deal mentioned three times is three items; the library returns it once.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from llm_extract.evals.goldsets import split_of


def _first(kind: str | list[str]) -> str:
    """The SENTiVENT type's head: the converter writes each as the set of our types it covers."""
    return kind if isinstance(kind, str) else kind[0]


def main(gold_path: Path, eval_path: Path | None) -> None:
    rows = [json.loads(line) for line in gold_path.open(encoding="utf-8")]
    held = [r for r in rows if split_of(r["id"]) == "holdout"]
    items = [deal for r in held for deal in r["deals"]]
    lone = sum(len({p["name"][0] for p in deal["parties"]}) < 2 for deal in items)
    kinds = Counter(_first(deal["deal_type"]) for deal in items)
    print(f"holdout documents {len(held)}, gold items {len(items)}")
    print(f"items naming fewer than two parties: {lone}")
    print("items by type: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
    if eval_path is not None:
        docs = json.loads(eval_path.read_text(encoding="utf-8"))["documents"]
        empty = sum(
            d["fields"]["deal_type"]["tp"] + d["fields"]["deal_type"]["fp"] == 0
            for d in docs.values()
        )
        print(f"documents with no predicted deal: {empty} of {len(docs)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None)
