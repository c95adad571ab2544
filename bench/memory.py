"""Peak memory of a batch run as the input grows: 1,000 vs 100,000 records.

    python bench/memory.py [--records 100000] [--baseline 1000] [--concurrency 32]

Each size runs ``llm_extract.run_batch`` in a fresh child process against the
stub (``stub_server.py``, its own process, answering at once), over invented
articles written to a temporary JSONL file. The parent reads the child's peak
resident set size from ``os.wait4`` (the kernel's ``ru_maxrss``). Side by side
in the same run: a child that only imports ``llm_extract`` (the floor), then
the baseline size, then the full size. Bounded memory means the full run's
peak is about the baseline's: the ratio full/baseline is the figure. Every
output is checked: one ``ok`` record per input id, no id twice.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stub_server import article, running

LOAD = os.getloadavg()[0]


def child(source: str, out: str, base_url: str, concurrency: int) -> None:
    """What the measured process does: one batch run (or only the imports)."""
    from llm_extract import Settings, run_batch

    if source == "-":
        return
    settings = Settings(base_url=base_url, api_key="x", spans=False, strategy="record",
                        model="stub", transport_retries=0)  # fmt: skip
    summary = run_batch(source, out, settings=settings, concurrency=concurrency)
    if summary.ok != summary.total:
        raise SystemExit(f"{summary.errors} errors of {summary.total}: {summary.problems[:3]}")


def write_input(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"id": i, "text": article(i)}) + "\n")


def check_output(path: Path, n: int) -> None:
    seen: set[int] = set()
    with path.open(encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            assert record["status"] == "ok" and record["id"] not in seen, record
            seen.add(record["id"])
    assert seen == set(range(n)), f"{len(seen)} of {n} ids written"


def measure(args: list[str]) -> tuple[float, float]:
    """Peak RSS (MB) and wall seconds of ``python bench/memory.py --child ARGS``."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", *args])
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"child {args} failed with {proc.returncode}")
    return usage.ru_maxrss / 1024, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        source, out, base_url, concurrency = args.child
        return child(source, out, base_url, int(concurrency))
    print(f"load average at start: {LOAD:.2f}; concurrency {args.concurrency}")
    with tempfile.TemporaryDirectory() as tmp, running(0.0, max_seconds=7200) as stub:
        floor, _ = measure(["-", "-", stub.base_url, "1"])
        print(f"import llm_extract only: peak RSS {floor:.0f} MB")
        rows = []
        for n in (args.baseline, args.records):
            source, out = Path(tmp, f"in-{n}.jsonl"), Path(tmp, f"out-{n}.jsonl")
            write_input(source, n)
            peak, wall = measure([str(source), str(out), stub.base_url, str(args.concurrency)])
            check_output(out, n)
            mb = source.stat().st_size / 1e6, out.stat().st_size / 1e6
            rows.append(peak)
            print(f"{n:>7} records: peak RSS {peak:.0f} MB, {wall:.0f} s "
                  f"({n / wall:.0f} docs/s); input {mb[0]:.0f} MB, output {mb[1]:.0f} MB; "
                  "every id once, all ok")  # fmt: skip
            source.unlink()
            out.unlink()
        above = rows[1] - floor, rows[0] - floor
        print(f"peak RSS, {args.records} vs {args.baseline} records: {rows[1] / rows[0]:.2f}x; "
              f"above the import floor: {above[0]:.0f} vs {above[1]:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
