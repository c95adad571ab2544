"""The second look's threshold, swept on the dev sets' train split: the README's figures.

    python bench/second_look.py --record     # once, live (about 20 minutes here)
    python bench/second_look.py              # replays: seconds

``--record`` runs each train-split set once with ``--second-look 1.0`` (every
"no deals" window gets its second look) into recordings under ``--dir``;
any lower threshold asks a subset of those requests, so every row after it
is a replay. Sets: SENTiVENT's train documents, the first 100 Utah train
stories, the first 150 Reuters train stories without an acquisition.
It prints micro-F1 (and SENTiVENT's deal type and parties), and the Reuters
stories given a deal, with those deals, to read by hand. Nothing here is
the holdout split, so tuning on it is allowed (``evals.goldsets.split_of``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
THRESHOLDS = (0.0, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995)


def _cli(*args: str) -> str:
    cmd = [sys.executable, "-m", "llm_extract", *args]
    return subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout


def _sets(tmp: Path) -> dict[str, list[str]]:
    sentivent, negatives = tmp / "sentivent.jsonl", tmp / "negatives.jsonl"
    _cli("convert", "sentivent", "-o", str(sentivent), "--corpus-root", str(CORPUS))
    _cli("convert", "reuters-no-deal", "-o", str(negatives), "--corpus-root", str(CORPUS))
    utah = CORPUS / "utah_acquisitions" / "dev.jsonl"
    return {
        "sentivent": [str(sentivent), "--split", "train"],
        "utah": ["--format", "utah", str(utah), "--split", "train", "--limit", "100"],
        "negatives": [str(negatives), "--split", "train", "--limit", "150"],
    }


def _eval(args: list[str], recording: Path, mode: str, threshold: float, preds: Path) -> Any:
    out = _cli("eval", *args, mode, "--recording", str(recording), "--second-look",
               str(threshold), "--json", "--save-predictions", str(preds))  # fmt: skip
    return json.loads(out[out.index("{") :])


def _cell(name: str, scores: Any, preds: Path) -> tuple[str, list[tuple[str, Any]]]:
    """One set's figure, and for the Reuters negatives the deals they were given."""
    if name != "negatives":
        f = scores["fields"]
        extra = ""
        if name == "sentivent":
            extra = f" deal_type {f['deal_type']['f1']:.3f} parties {f['parties']['f1']:.3f}"
        return f"{name} micro-F1 {scores['micro']['f1']:.3f}{extra}", []
    given = [json.loads(line) for line in preds.open(encoding="utf-8")]
    found = [(p["id"], [[q["name"] for q in d["parties"]] for d in p["deals"]])
             for p in given if p.get("deals")]  # fmt: skip
    return f"negatives given a deal {len(found)}", found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="record live at 1.0 first")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/second-look"))
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    found: list[tuple[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        sets = _sets(Path(tmp))
        preds = Path(tmp) / "predictions.jsonl"
        if args.record:
            for name, set_args in sets.items():
                _eval(set_args, args.dir / f"{name}.jsonl", "--record", 1.0, preds)
        for threshold in THRESHOLDS:
            row = [f"{threshold:g}"]
            for name, set_args in sets.items():
                scores = _eval(set_args, args.dir / f"{name}.jsonl", "--replay", threshold, preds)
                cell, deals = _cell(name, scores, preds)
                row.append(cell)
                found = deals or found
            print(" | ".join(row), flush=True)
    print("Reuters stories given a deal at the last threshold:")
    for doc_id, parties in found:
        print(f"   {doc_id}: {parties}")


if __name__ == "__main__":
    main()
