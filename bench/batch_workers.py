"""Both cores for ``llm-extract batch``: ``run_batch(workers=N)`` vs one process, same documents.

    /work/venv/bin/python bench/batch_workers.py [--latency 0.2] [--levels 32,128]
                                                 [--workers 1,2] [--repeats 3] [--per 10]

At each concurrency C, the same N = per*C (``--per``, default 10) invented
articles (written to a JSONL file) go through ``run_batch(concurrency=C, workers=W)`` for each W in
``--workers`` (1 is the in-process runner, the baseline), each into a fresh
output with no cache, against the fixed-latency stub (``bench/stub_server.py``,
its own process). The ideal rate is C / latency docs/s. The runs of a round go
in rotated order, and each figure is the median of ``--repeats`` rounds.

Two rates per run: the **steady** one, documents written between the first
progress report with a record and the last, over the seconds between them
(what a long batch sees); and the **whole-run** one, N over the seconds of the
whole ``run_batch`` call, starting the worker processes included (about a
second: each imports the library). Every output is checked: N records, every
id once, all ok. On this 2-core machine the stub shares the cores with the
workers and the writer, so read the figures as a lower bound for a machine
where the server is elsewhere.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from stub_server import StubClient, article, running

from llm_extract import BatchSummary, run_batch

LOAD = os.getloadavg()[0]
Runs = dict[tuple[int, int], list[tuple[float, float]]]


class Clock:
    """Progress reports as (seconds, documents written); the steady rate between them."""

    def __init__(self) -> None:
        self.marks: list[tuple[float, int]] = []

    def __call__(self, summary: BatchSummary) -> None:
        if summary.ok + summary.errors:
            self.marks.append((time.perf_counter(), summary.ok + summary.errors))

    def rate(self) -> float:
        (t0, n0), (t1, n1) = self.marks[0], self.marks[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else float("nan")


def one(stub: StubClient, inp: Path, c: int, workers: int, work: Path) -> tuple[float, float]:
    """The steady and the whole-run docs/s of one run, its output checked."""
    out, clock = work / f"out-{c}-{workers}-{time.monotonic_ns()}.jsonl", Clock()
    n = sum(1 for _ in inp.open())
    started = time.perf_counter()
    summary = run_batch(inp, out, settings=stub.settings(), concurrency=c, workers=workers,
                        on_progress=clock, log=lambda _: None)  # fmt: skip
    whole = n / (time.perf_counter() - started)
    rows = [json.loads(x) for x in out.open()]
    assert summary.ok == n == len(rows) == len({r["id"] for r in rows}), summary
    assert {r["status"] for r in rows} == {"ok"}
    out.unlink()
    return clock.rate(), whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--levels", default="32,128")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--per", type=int, default=10, help="documents per concurrency slot")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    counts = [int(x) for x in args.workers.split(",")]
    runs: Runs = {}
    with running(args.latency) as stub, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for c in levels:
            lines = (json.dumps({"id": f"d{i}", "text": article(i)}) for i in range(args.per * c))
            (work / f"in-{c}.jsonl").write_text("\n".join(lines) + "\n")
        for rep in range(args.repeats):
            for c in levels:
                order = counts[rep % len(counts) :] + counts[: rep % len(counts)]
                for w in order:
                    runs.setdefault((c, w), []).append(
                        one(stub, work / f"in-{c}.jsonl", c, w, work)
                    )
                stub.recorded()
    print(table(runs, levels, counts, args))


def table(runs: Runs, levels: list[int], counts: list[int], args: argparse.Namespace) -> str:
    base = counts[0]
    out = [
        f"run_batch with worker processes vs workers={base}, stub latency {args.latency:g} s, "
        f"median of {args.repeats} rounds ({datetime.now():%Y-%m-%d %H:%M}, load average "
        f"{LOAD:.2f} on {os.cpu_count()} CPUs before the run)",
        "",
        "| concurrency | docs | ideal docs/s | workers | steady docs/s | steady / ideal "
        f"| steady / workers={base} | whole-run docs/s | whole-run / ideal |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in levels:
        ideal = c / args.latency
        first = statistics.median(r[0] for r in runs[(c, base)])
        for w in counts:
            steady = statistics.median(r[0] for r in runs[(c, w)])
            whole = statistics.median(r[1] for r in runs[(c, w)])
            out.append(f"| {c} | {args.per * c} | {ideal:.0f} | {w} | {steady:.1f} "
                       f"| {steady / ideal:.2f} | {steady / first:.2f} | {whole:.1f} "
                       f"| {whole / ideal:.2f} |")  # fmt: skip
    return "\n".join(out)


if __name__ == "__main__":
    main()
