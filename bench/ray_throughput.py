"""Two cores for one batch: ``run_dataset`` on 2 Ray actors vs ``run_batch`` in one process.

    /work/venv/bin/python bench/ray_throughput.py [--latency 0.2] [--levels 32,128]
                                                  [--repeats 3]

At each concurrency C, the same N = 10*C invented articles (written to a JSONL
file) go through ``run_batch`` (one process, ``concurrency=C``) and through
``run_dataset`` on a 2-CPU local Ray (2 actors, ``per_actor_concurrency=C/2``,
``batch_size=C/2``), each into a fresh output with no cache, against the
fixed-latency stub (``bench/stub_server.py``, its own process). The ideal rate
is C / latency docs/s. Runs alternate in order over ``--repeats`` rounds, and
each figure is the median round.

The rate is the steady one: documents written between the first progress
report with a record and the last one, over the seconds between them. Starting Ray's actors (a few
seconds, paid once per run) is left out of it and printed apart. On this
2-core machine the stub shares the cores with the actors, so read the
figures as a lower bound for a machine where the server is elsewhere.
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from stub_server import StubClient, article, running

from llm_extract import BatchSummary, run_batch
from llm_extract.scale.distributed import run_dataset

LOAD = os.getloadavg()[0]


class Clock:
    """Progress reports as (seconds, documents written); the steady rate between them."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.marks: list[tuple[float, int]] = []

    def __call__(self, summary: BatchSummary) -> None:
        if summary.ok + summary.errors:  # from the first record on, for both runners
            self.marks.append((time.perf_counter(), summary.ok + summary.errors))

    def rate(self) -> float:
        (t0, n0), (t1, n1) = self.marks[0], self.marks[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else float("nan")

    def first(self) -> float:
        return self.marks[0][0] - self.start


def one(kind: str, stub: StubClient, inp: Path, c: int, work: Path) -> tuple[float, float]:
    """The steady docs/s of one run, and its seconds to the first record."""
    import ray

    out, clock = work / f"{kind}-{c}-{time.monotonic_ns()}.jsonl", Clock()
    settings = stub.settings()
    if kind == "batch":
        summary = run_batch(inp, out, settings=settings, concurrency=c, on_progress=clock,
                            log=lambda _: None)  # fmt: skip
    else:
        names = ("base_url", "api_key", "spans", "strategy", "model", "transport_retries")
        fields = {k: getattr(settings, k) for k in names}
        summary = run_dataset(ray.data.read_json(str(inp)), out, actors=2,
                              per_actor_concurrency=c // 2, batch_size=c // 2,
                              on_progress=clock, log=lambda _: None, **fields)  # fmt: skip
    n = sum(1 for _ in inp.open())
    assert summary.ok == n and len({json.loads(x)["id"] for x in out.open()}) == n
    return clock.rate(), clock.first()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--levels", default="32,128")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    levels = [int(x) for x in args.levels.split(",")]
    runs: dict[tuple[int, str], list[tuple[float, float]]] = {}
    with running(args.latency) as stub, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for c in levels:
            inp = work / f"in-{c}.jsonl"
            inp.write_text("".join(json.dumps({"id": f"d{i}", "text": article(i)}) + "\n"
                                   for i in range(10 * c)))  # fmt: skip
        for rep in range(args.repeats):
            for c in levels:
                order = ["batch", "ray"] if rep % 2 == 0 else ["ray", "batch"]
                for kind in order:
                    runs.setdefault((c, kind), []).append(
                        one(kind, stub, work / f"in-{c}.jsonl", c, work)
                    )
                stub.recorded()
    print(table(runs, levels, args))


def table(runs: dict[tuple[int, str], list[tuple[float, float]]], levels: list[int],
          args: Any) -> str:  # fmt: skip
    out = [
        f"run_dataset (2 Ray actors) vs run_batch (1 process), stub latency {args.latency:g} s, "
        f"median of {args.repeats} rounds ({datetime.now():%Y-%m-%d %H:%M}, load average "
        f"{LOAD:.2f} on {os.cpu_count()} CPUs before the run)",
        "",
        "| concurrency | docs | ideal docs/s | run_batch docs/s | run_batch / ideal "
        "| run_dataset docs/s | run_dataset / ideal | run_dataset / run_batch "
        "| s to first record, batch / ray |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in levels:
        ideal = c / args.latency
        b = statistics.median(r[0] for r in runs[(c, "batch")])
        r = statistics.median(x[0] for x in runs[(c, "ray")])
        fb = statistics.median(x[1] for x in runs[(c, "batch")])
        fr = statistics.median(x[1] for x in runs[(c, "ray")])
        out.append(f"| {c} | {10 * c} | {ideal:.0f} | {b:.1f} | {b / ideal:.2f} | {r:.1f} "
                   f"| {r / ideal:.2f} | {r / b:.2f} | {fb:.1f} / {fr:.1f} |")  # fmt: skip
    return "\n".join(out)


if __name__ == "__main__":
    main()
