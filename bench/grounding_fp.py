"""Grounding precision and false-positive deal rate on real Reuters stories.

    python bench/grounding_fp.py [N] [--model M --base-url URL]

* grounding precision: of all text values returned (names, amounts, places,
  products, ...), the share whose evidence quote is found in the article at the
  stated offsets and aligns with the value. The design target is 100%.
* false-positive deal rate: the share of N stories WITHOUT the acquisition
  topic (``reuters21578/non_acq.jsonl.gz``) for which at least one deal is
  returned. Many non-acq stories still report other deals (contracts, joint
  ventures), so this is an upper bound on true false positives.

Stories are read from ../shared/corpus at run time; N from each set is taken
deterministically (every k-th line).
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from pathlib import Path
from typing import Any

from llm_extract import LLMExtractError, Report, extract_deals
from llm_extract.grounding.align import align
from llm_extract.grounding.verify import dotted, grounded_strings
from llm_extract.records.schemas import ArticleDeals

CORPUS = Path(__file__).resolve().parents[2] / "shared/corpus/reuters21578"
SCHEMA = ArticleDeals.model_json_schema()


def sample(path: Path, n: int) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    rows = [r for r in rows if (r.get("body") or "").strip()]
    step = max(1, len(rows) // n)
    return rows[::step][:n]


def option(name: str) -> str | None:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else None


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 30
    kwargs = {"model": option("--model"), "base_url": option("--base-url")}
    values = verified = with_deal = failed = 0
    report = Report()
    started = time.perf_counter()
    for name, rows in (("acq", sample(CORPUS / "acq.jsonl", n)),
                       ("non_acq", sample(CORPUS / "non_acq.jsonl.gz", n))):  # fmt: skip
        for row in rows:
            text = row["body"]
            try:
                result = extract_deals(text, report=report, **kwargs)
            except LLMExtractError:
                failed += 1
                continue
            evidence = {e.path: e for e in report.calls[-1].evidence}
            for path, value in grounded_strings(result.model_dump(mode="json"), SCHEMA):
                values += 1
                ev = evidence.get(dotted(path))
                if ev and text[ev.start : ev.end] == ev.quote and align(value, ev.quote):
                    verified += 1
            if name == "non_acq" and result.deals:
                with_deal += 1
    secs = (time.perf_counter() - started) / (2 * n)
    print(
        f"model={report.calls[0].model if report.calls else '?'} n={n}+{n} "
        f"grounding_precision={verified}/{values}={verified / max(values, 1):.3f} "
        f"non_acq_with_deal={with_deal}/{n}={with_deal / n:.2f} failed={failed} s/doc={secs:.1f}"
    )


if __name__ == "__main__":
    main()
