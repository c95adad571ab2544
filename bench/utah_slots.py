"""Score the embedded model on Utah acquisition templates (purchaser, acquired,
seller, dlramt), the benchmark's way: a filler is right when it equals any
acceptable alternative after whitespace normalisation; micro-averaged.

    python bench/utah_slots.py [N] [--spans/--no-spans]

Reads ../shared/corpus/utah_acquisitions/dev.jsonl at run time (not copied).
A quick four-slot check (the slots the CEO's first measurement used); for
the full seven-slot benchmark use ``llm-extract eval --format utah``. It
prints one line with micro P/R/F1, seconds and tokens per story.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from llm_extract import LLMExtractError, Report, extract_deals

CORPUS = Path(__file__).resolve().parents[2] / "shared/corpus/utah_acquisitions/dev.jsonl"
SLOTS = ("purchaser", "acquired", "seller", "dlramt")


def norm(s: str) -> str:
    return " ".join(s.split())


def predict(text: str, spans: bool, report: Report) -> dict[str, list[str]]:
    try:
        result = extract_deals(text, spans=spans, report=report)
    except LLMExtractError:
        return {s: [] for s in SLOTS}
    deal = result.main_deal
    if deal is None:
        return {s: [] for s in SLOTS}
    return {
        "purchaser": deal.purchaser,
        "acquired": deal.acquired,
        "seller": deal.seller,
        "dlramt": [deal.amount.text] if deal.amount else [],
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    rows = [json.loads(line) for line in CORPUS.open(encoding="utf-8")][-n:]
    for spans in (True,) if "--no-spans" not in sys.argv else (False,):
        tp = fp = fn = 0
        report = Report()
        started = time.perf_counter()
        for row in rows:
            pred = predict(row["text"], spans, report)
            for slot in SLOTS:
                gold = [{norm(a) for a in filler} for filler in row[slot]]
                used: set[int] = set()
                for value in dict.fromkeys(norm(v) for v in pred[slot]):
                    hit = next(
                        (i for i, g in enumerate(gold) if i not in used and value in g), None
                    )
                    if hit is None:
                        fp += 1
                    else:
                        tp += 1
                        used.add(hit)
                fn += len(gold) - len(used)
        secs = (time.perf_counter() - started) / len(rows)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        tokens = (report.prompt_tokens + report.completion_tokens) / len(rows)
        print(
            f"spans={spans} n={len(rows)} P={p:.3f} R={r:.3f} micro_f1={f:.3f} "
            f"s/doc={secs:.1f} tokens/doc={tokens:.0f}"
        )


if __name__ == "__main__":
    main()
