"""Library CPU per document against the bare client, this checkout and a baseline, interleaved.

    python bench/cpu_pairs.py --baseline ../base [--pairs 3] [--docs 300] [--concurrency 32]

``../base`` is a git worktree of an earlier commit (``git worktree add ../base
<commit>``); it runs with this venv, its package first on ``PYTHONPATH``. Each
pair runs the baseline, then this checkout, each in a fresh process: against
the zero-latency stub (``bench/stub_server.py``), ``--docs`` invented articles
go through ``aextract_deals`` and, with the very body the library sent, through
a bare ``openai.AsyncOpenAI``, ``--concurrency`` at a time, three rounds each,
the median kept. A third job sends that same request through the library's
backend alone (``InstructorBackend.acomplete``: tenacity and one instructor
call, no prompt building, grounding or normalization): the floor of any
design that calls instructor once per document. Printed per run: library,
backend-alone and bare-client CPU ms per document (this process's CPU time
divided by documents) and their ratios to the bare client, and the checkout
the library was imported from. Until 2026-12-07 the worker imported
``stub_server`` first, which puts this checkout first on ``sys.path``, so
both sides of every pair ran this checkout: figures from before then are
not a baseline comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


async def _measure(docs: int, concurrency: int) -> dict[str, float]:
    import openai

    from llm_extract import aextract_deals
    from llm_extract.backends.base import ChatRequest
    from llm_extract.backends.providers import InstructorBackend

    # isort: split
    from stub_server import article, running  # after: it puts this checkout first on sys.path

    with running(0.0) as stub:
        settings = stub.settings()
        backend = InstructorBackend(settings)
        texts = [article(i) for i in range(docs)]
        gate = asyncio.Semaphore(concurrency)

        async def lib(i: int) -> None:
            async with gate:
                await aextract_deals(texts[i], settings=settings, backend=backend)

        await asyncio.gather(*(lib(i) for i in range(16)))
        body = {k: v for k, v in stub.recorded()[-1].items() if k != "_raw"}
        raw_client = openai.AsyncOpenAI(base_url=stub.base_url, api_key="x", max_retries=0)

        async def raw(i: int) -> None:
            async with gate:
                await raw_client.chat.completions.create(**body)

        shape = body["response_format"]["json_schema"]
        request = ChatRequest(body["messages"], shape["schema"], shape["name"],
                              body["max_tokens"], body["temperature"], body["seed"])  # fmt: skip

        async def backend_alone(i: int) -> None:
            async with gate:
                await backend.acomplete(request)

        await asyncio.gather(*(raw(i) for i in range(16)), *(backend_alone(i) for i in range(16)))
        jobs = {"lib": lib, "backend": backend_alone, "raw": raw}
        cpu: dict[str, list[float]] = {name: [] for name in jobs}
        for _ in range(3):
            for name, job in jobs.items():
                started = time.process_time()
                await asyncio.gather(*(job(i) for i in range(docs)))
                cpu[name].append((time.process_time() - started) / docs * 1000)
    return {name: statistics.median(values) for name, values in cpu.items()}


def _run(checkout: Path, docs: int, concurrency: int) -> str:
    env = {**os.environ, "PYTHONPATH": f"{checkout}{os.pathsep}{BENCH}"}
    cmd = [sys.executable, __file__, "--worker", str(docs), str(concurrency)]
    out = subprocess.run(cmd, env=env, cwd="/", capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--worker", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        ms = asyncio.run(_measure(*args.worker))
        lib, alone, raw = ms["lib"], ms["backend"], ms["raw"]
        import llm_extract

        where = Path(llm_extract.__file__).parent.parent
        print(f"library {lib:.2f} ms/doc ({lib / raw:.2f}x), backend alone {alone:.2f} "
              f"({alone / raw:.2f}x), bare client {raw:.2f} [{where}]")  # fmt: skip
        return
    if args.baseline is None:
        parser.error("--baseline is required")
    print(f"{args.docs} docs at concurrency {args.concurrency}, zero-latency stub, "
          f"load average {os.getloadavg()[0]:.2f} before the run")  # fmt: skip
    for n in range(1, args.pairs + 1):
        print(f"pair {n} baseline: {_run(args.baseline.resolve(), args.docs, args.concurrency)}")
        print(f"pair {n} this:     {_run(ROOT, args.docs, args.concurrency)}")


if __name__ == "__main__":
    main()
