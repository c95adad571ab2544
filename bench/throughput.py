"""Throughput of ``aextract_deals`` under concurrency, against a fixed-latency stub.

    /work/venv/bin/python bench/throughput.py [--latency 0.2] [--repeats 3]
                                              [--levels 1,8,32,128]

For each concurrency C, N = max(4*C, 64) invented articles go through
``llm_extract.aextract_deals`` under an ``asyncio.Semaphore(C)``, all sharing
ONE ``InstructorBackend`` (``spans=False, strategy="record", transport_retries=0``:
one request per article). The stub (``bench/stub_server.py``, a separate
process) answers every request after ``--latency`` seconds, so the ideal rate
is C / latency docs/s. Side by side in the same run, the same N requests go
through a bare ``openai.AsyncOpenAI`` with the very body the library sent
(the transport floor). Levels and the two clients are interleaved over
``--repeats`` rounds; each figure is the median round.

Reported per level: docs/s, ratio to ideal, library/raw ratio, client CPU
(process time) per doc, and the peak number of requests the stub saw in
flight (shows whether anything, e.g. a connection pool, capped concurrency;
the ``openai`` SDK's default pool allows 1000 connections, and the library's
``InstructorBackend`` does not expose it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import openai

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stub_server import StubClient, article, running

from llm_extract import aextract_deals
from llm_extract.backends.providers import InstructorBackend

LOAD = os.getloadavg()[0]  # other work on the machine skews absolute figures
Job = Callable[[int], Awaitable[Any]]


async def timed(n: int, concurrency: int, job: Job) -> tuple[float, float]:
    """Wall seconds and this process's CPU seconds to run job(0..n-1), C at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            await job(i)

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - wall, time.process_time() - cpu


async def bench(stub: StubClient, latency: float, levels: list[int], repeats: int) -> list[dict]:
    settings = stub.settings()
    backend = InstructorBackend(settings)
    texts = [article(i) for i in range(max(max(4 * c, 64) for c in levels))]

    async def lib(i: int) -> None:
        result = await aextract_deals(texts[i], settings=settings, backend=backend)
        assert result.main_deal is not None

    await asyncio.gather(*(lib(i) for i in range(8)))  # warm-up: imports, caches, connections
    body = {k: v for k, v in stub.recorded()[-1].items() if k != "_raw"}
    raw_client = openai.AsyncOpenAI(
        base_url=stub.base_url, api_key="x", max_retries=0, timeout=settings.timeout
    )

    async def raw(i: int) -> None:
        await raw_client.chat.completions.create(**body)

    await asyncio.gather(*(raw(i) for i in range(8)))
    stub.stats()
    runs: dict[tuple[int, str], list[tuple[float, float, int]]] = {}
    for rep in range(repeats):
        for c in levels:
            n = max(4 * c, 64)
            order = [("lib", lib), ("raw", raw)]
            for name, job in order if rep % 2 == 0 else order[::-1]:
                wall, cpu = await timed(n, c, job)
                peak = stub.stats()["peak_inflight"]
                runs.setdefault((c, name), []).append((wall, cpu, peak))
            stub.recorded()  # keep the stub's ring buffer from growing stale
    rows = []
    for c in levels:
        n = max(4 * c, 64)
        lib_wall = statistics.median(r[0] for r in runs[(c, "lib")])
        raw_wall = statistics.median(r[0] for r in runs[(c, "raw")])
        cpu = statistics.median(r[1] for r in runs[(c, "lib")]) / n
        raw_cpu = statistics.median(r[1] for r in runs[(c, "raw")]) / n
        ideal = c / latency
        rows.append(
            {
                "c": c,
                "n": n,
                "ideal": ideal,
                "lib": n / lib_wall,
                "raw": n / raw_wall,
                "cpu_ms": cpu * 1000,
                "raw_cpu_ms": raw_cpu * 1000,
                "peak": max(r[2] for r in runs[(c, "lib")]),
            }
        )
    await raw_client.close()
    return rows


def table(rows: list[dict], latency: float, repeats: int) -> str:
    out = [
        f"Throughput, stub latency {latency:g} s, median of {repeats} rounds "
        f"({datetime.now():%Y-%m-%d %H:%M}, Python {sys.version.split()[0]}, "
        f"load average {LOAD:.2f} on {os.cpu_count()} CPUs before the run)",
        "",
        "| concurrency | docs | ideal docs/s | llm_extract docs/s | llm_extract / ideal "
        "| raw openai docs/s | raw / ideal | llm_extract / raw | CPU ms/doc llm_extract "
        "| CPU ms/doc raw | peak in flight |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r['c']} | {r['n']} | {r['ideal']:.1f} | {r['lib']:.1f} "
            f"| {r['lib'] / r['ideal']:.2f} | {r['raw']:.1f} | {r['raw'] / r['ideal']:.2f} "
            f"| {r['lib'] / r['raw']:.2f} | {r['cpu_ms']:.2f} | {r['raw_cpu_ms']:.2f} "
            f"| {r['peak']} |"
        )
    out += [
        "",
        "CPU ms/doc is this process's CPU time (the stub runs in another process) divided by docs;",
        "1000 / that figure is the most docs/s one Python thread can drive, "
        "whatever the concurrency.",
    ]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.2, help="stub seconds per request")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--levels", default="1,8,32,128", help="comma-separated concurrencies")
    args = parser.parse_args()
    if args.latency <= 0:
        parser.error("--latency must be positive: the ideal rate is concurrency / latency")
    levels = [int(x) for x in args.levels.split(",")]
    with running(args.latency) as stub:
        rows = asyncio.run(bench(stub, args.latency, levels, args.repeats))
    print(table(rows, args.latency, args.repeats))


if __name__ == "__main__":
    main()
