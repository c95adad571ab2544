"""The embedded model's speed, side by side in one run, reported as ratios.

    python bench/embedded.py [--stories 24] [--baseline ../baseline --baseline-python PY]

Eight measurements on the same GGUF and the same Utah dev stories (read from
../shared/corpus at run time):

1. **Raw runtime vs the library, one request.** The library's own request
   for a story (prompt, schema, sampling) sent straight to xllamacpp's
   ``Server.handle_chat_completions`` in process, then through the library's
   backend (instructor over loopback HTTP to the same server), each after an
   untimed call of the same body, so both find the prompt cached;
   prompt-processing and generation tokens/s from llama.cpp's own timings, and
   the ratio of the two. The same prompt without
   the schema shows what the grammar itself costs.
2. **End to end, seconds per story**: ``llm-extract eval --format utah`` live
   over the first N holdout stories, with this checkout, and with a
   ``--baseline`` checkout (a git worktree of an earlier main and the Python
   of its own venv) in the same run. Ratio new / baseline.
3. **Batch**: ``llm-extract batch`` over the same stories with one slot and
   with the default slots (concurrency = slots), docs per minute and ratio.
4. **Strategy**: the default (deal windows with the shipped adapter) against
   the single-record path without it (``--strategy record``,
   ``LLM_EXTRACT_ADAPTER=none``), the same checkout and stories, in turn,
   with the micro-F1 each reaches. Ratio windows / record.
5. **The runtime's own slot ceiling**: every deal window's body sent straight
   to a fresh xllamacpp server with one slot and with two (as many threads
   as slots), with the schema and without: the most ``batch`` could gain
   from slots on this machine, whatever the library does.
6. **Speculative decoding without a draft model**: llama.cpp's n-gram
   decoders (``speculative.types``) on the same windows, one slot, each in a
   fresh process right after one without, `--rounds` times (median ratio).
7. **The second look**: part 2's eval with the default ``second_look`` and
   with ``--second-look 0``, the same checkout and stories, in turn.
8. **The rest look**: the same, with the default ``rest_look`` and with
   ``--no-rest-look``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
UTAH = ROOT.parent / "shared" / "corpus" / "utah_acquisitions" / "dev.jsonl"


def _stories(n: int) -> list[dict[str, Any]]:
    from llm_extract.evals.goldsets import split_of

    rows = [json.loads(line) for line in UTAH.open(encoding="utf-8")]
    return [r for r in rows if split_of(f"utah-{r['id']}") == "holdout"][:n]


def _window_bodies(
    stories: list[dict[str, Any]], settings: Any, *, first_only: bool = False
) -> list[dict[str, Any]]:
    """The library's own chat request for each deal window (its first one, if
    ``first_only``), as the body xllamacpp takes, with the ``Request`` under
    ``"_request"``."""
    from llm_extract.backends.embedded import model_id
    from llm_extract.backends.providers import make_backend
    from llm_extract.core.pipeline import Run
    from llm_extract.prompts.build import WINDOWS_TUNED
    from llm_extract.records.slots import WindowDeals
    from llm_extract.text.windows import find_windows

    backend = make_backend(settings)
    bodies = []
    for story in stories:
        windows = find_windows(story["text"], settings.window_chars)
        for window in windows[:1] if first_only else windows:
            run = Run(window.text, WindowDeals, WINDOWS_TUNED, settings, backend, logprobs=True)
            request = run.request()
            bodies.append({
                "model": model_id(settings),
                "messages": request.messages,
                "max_tokens": request.max_tokens,
                "temperature": request.temperature,
                "seed": request.seed,
                "logprobs": True,
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": request.schema_name, "schema": request.schema},
                },
                "_request": request,
            })  # fmt: skip
    return bodies


def raw_vs_library(stories: list[dict[str, Any]]) -> None:
    from llm_extract.backends.embedded import RuntimeSpec, runtime
    from llm_extract.backends.providers import make_backend
    from llm_extract.settings import Settings

    settings = Settings(slots=1)
    backend = make_backend(settings)
    server = runtime(RuntimeSpec.from_settings(settings))
    totals: dict[str, list[float]] = {
        "raw": [0, 0, 0, 0],
        "library": [0, 0, 0, 0],
        "free": [0, 0, 0, 0],
    }
    for body in _window_bodies(stories, settings, first_only=True):
        request = body.pop("_request")
        free = {k: v for k, v in body.items() if k != "response_format"}
        free["max_tokens"] = 96
        server.chat(body)  # untimed: every timed call below then finds the prompt cached
        for name, call in (
            ("raw", lambda b=body: server.chat(b)),
            ("library", lambda r=request: backend.complete(r)),
            ("free", lambda f=free: server.chat(f)),
        ):
            started = time.perf_counter()
            out = call()
            wall = time.perf_counter() - started
            tokens = (
                out.completion_tokens
                if hasattr(out, "completion_tokens")
                else out["usage"]["completion_tokens"]
            )
            t = totals[name]
            t[0] += wall
            t[1] += tokens
            if isinstance(out, dict):
                timings = out.get("timings") or {}
                t[2] += timings.get("prompt_n", 0) / max(timings.get("prompt_ms", 1), 1e-9) * 1000
                t[3] += 1
    raw, lib, free_t = totals["raw"], totals["library"], totals["free"]
    raw_rate, lib_rate, free_rate = raw[1] / raw[0], lib[1] / lib[0], free_t[1] / free_t[0]
    print("1. one request, raw xllamacpp vs the library (same body, schema included)")
    print(
        f"   raw:     {raw[1] / raw[0]:.1f} answer tokens/s over {raw[0]:.1f} s "
        f"(prompt cached; its uncached part at about {raw[2] / max(raw[3], 1):.0f} tokens/s)"
    )
    print(f"   library: {lib_rate:.1f} answer tokens/s -> ratio {lib_rate / raw_rate:.2f}")
    grammar = 1 - raw_rate / free_rate
    print(f"   no schema, same prompt: {free_rate:.1f} tokens/s; the grammar costs {grammar:.0%}")


def _eval_seconds(
    python: str, cwd: Path, n: int, extra: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> tuple[float, str]:
    cmd = [python, "-m", "llm_extract", "eval", "--format", "utah", str(UTAH), "--limit", str(n)]
    if (cwd / "llm_extract" / "__main__.py").exists():
        cmd += ["--split", "holdout", *extra]
    else:  # an earlier checkout without --split: the same stories by id
        cmd = [python, "-c", _OLD_EVAL, str(UTAH), str(n)]
    started = time.perf_counter()
    out = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, check=True, env={**_env(), **(env or {})}
    ).stdout
    return time.perf_counter() - started, out.strip().splitlines()[-1]


# An earlier checkout has no --split; it scores the same holdout stories through
# its own eval module, so both runs see the same documents.
_OLD_EVAL = """
import hashlib, json, sys, tempfile
from pathlib import Path
from rich.console import Console
from llm_extract import eval_runner
rows = [json.loads(l) for l in open(sys.argv[1])]
def held(i):
    digest = hashlib.sha256(f"utah-{i}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 3 == 0
keep = [r for r in rows if held(r["id"])][: int(sys.argv[2])]
tmp = Path(tempfile.mkdtemp()) / "utah.jsonl"
tmp.write_text("".join(json.dumps(r) + "\\n" for r in keep))
eval_runner.run(eval_runner.EvalArgs(gold=tmp, fmt="utah"), Console(stderr=True))
"""


def end_to_end(n: int, baseline: Path | None, baseline_python: str | None) -> None:
    print(f"2. end to end, {n} Utah holdout stories, llm-extract eval (live)")
    new, line = _eval_seconds(sys.executable, ROOT, n)
    print(f"   this checkout: {new / n:.2f} s/story ({line})")
    if baseline is not None:
        old, old_line = _eval_seconds(baseline_python or sys.executable, baseline, n)
        print(f"   baseline {baseline}: {old / n:.2f} s/story ({old_line})")
        print(f"   ratio new / baseline: {new / old:.2f}")


def strategies(n: int) -> None:
    print(f"4. windows + adapter (default) vs one record without the adapter, {n} stories")
    windows, w_line = _eval_seconds(sys.executable, ROOT, n)
    record, r_line = _eval_seconds(
        sys.executable, ROOT, n, ("--strategy", "record"), {"LLM_EXTRACT_ADAPTER": "none"}
    )
    print(f"   windows: {windows / n:.2f} s/story ({w_line})")
    print(f"   record:  {record / n:.2f} s/story ({r_line})")
    print(f"   ratio windows / record: {windows / record:.2f}")


def second_look(n: int) -> None:
    _on_off(n, "7. the second look", ("--second-look", "0"))


def rest_look(n: int) -> None:
    _on_off(n, "8. the rest look", ("--no-rest-look",))


def _on_off(n: int, title: str, off_flags: tuple[str, ...]) -> None:
    """Part 2's eval with a default-on step and without it, in turn."""
    print(f"{title} (default) vs none ({' '.join(off_flags)}), {n} stories")
    on, on_line = _eval_seconds(sys.executable, ROOT, n)
    off, off_line = _eval_seconds(sys.executable, ROOT, n, off_flags)
    print(f"   default: {on / n:.2f} s/story ({on_line})")
    print(f"   none:    {off / n:.2f} s/story ({off_line})")
    print(f"   ratio default / none: {on / off:.2f}")


def batch(stories: list[dict[str, Any]]) -> None:
    print(f"3. llm-extract batch, {len(stories)} stories, one slot vs the default")
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.jsonl"
        source.write_text(
            "".join(json.dumps({"id": s["id"], "text": s["text"]}) + "\n" for s in stories)
        )
        from llm_extract.settings import Settings

        default = Settings().slots
        for slots in (1, default):
            out = Path(tmp) / f"out{slots}.jsonl"
            cmd = [
                sys.executable,
                "-m",
                "llm_extract",
                "batch",
                str(source),
                "-o",
                str(out),
                "--no-cache",
                "--concurrency",
                str(slots),
            ]
            started = time.perf_counter()
            subprocess.run(
                cmd,
                check=True,
                capture_output=True,
                env={**_env(), "LLM_EXTRACT_SLOTS": str(slots)},
            )
            rates[slots] = len(stories) / (time.perf_counter() - started) * 60
            print(f"   {slots} slot(s): {rates[slots]:.1f} docs/min")
    print(f"   ratio {default} slots / 1 slot: {rates[default] / rates[1]:.2f}")


def raw_slots(stories: list[dict[str, Any]]) -> None:
    """The runtime's own ceiling for parallel slots: what ``batch`` could gain at most."""
    print(f"5. raw xllamacpp, every deal window of {len(stories)} stories, one slot vs two")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "stories.json"
        source.write_text(json.dumps(stories))
        for mode in ("schema", "free"):
            rates = {}
            for slots in (1, 2):
                windows, seconds, _ = _run_worker(slots, mode, "none", source)
                rates[slots] = windows / seconds * 60
                print(f"   {mode}, {slots} slot(s): {rates[slots]:.1f} windows/min")
            print(f"   {mode}: ratio 2 slots / 1 slot: {rates[2] / rates[1]:.2f}")


SPECULATIVE = ("none", "ngram_simple", "ngram_map_k", "ngram_mod", "ngram_map_k:2,8")
"""llama.cpp's draft-free speculative decoders, at their defaults, and map_k
with 2-token keys and 8-token drafts (the best of a few tried on Utah
non-holdout stories)."""


def speculative(stories: list[dict[str, Any]], rounds: int) -> None:
    """Draft-free speculative decoding: does llama.cpp's n-gram lookup pay here?

    Fresh processes differ by 10-15% on this machine, so each decoder runs
    right after a run without one, ``rounds`` times, and the median ratio
    counts; the drafted and accepted tokens say whether it drafted at all."""
    print(f"6. raw xllamacpp, every deal window of {len(stories)} stories, n-gram speculation")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "stories.json"
        source.write_text(json.dumps(stories))
        ratios: dict[str, list[float]] = {spec: [] for spec in SPECULATIVE[1:]}
        drafts: dict[str, list[int]] = {}
        for _ in range(rounds):
            for spec in SPECULATIVE[1:]:
                _, base, _ = _run_worker(1, "schema", "none", source)
                _, seconds, drafts[spec] = _run_worker(1, "schema", spec, source)
                ratios[spec].append(base / seconds)
        for spec, values in ratios.items():
            drafted, accepted = drafts[spec]
            shown = ", ".join(f"{v:.2f}" for v in values)
            print(
                f"   {spec}: ratio to none {statistics.median(values):.2f} "
                f"(rounds {shown}); {drafted} tokens drafted, {accepted} accepted"
            )


def _run_worker(slots: int, mode: str, spec: str, source: Path) -> tuple[int, float, list[int]]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", f"{slots}|{mode}|{spec}|{source}"],
        check=True, capture_output=True, text=True, env=_env(),
    )  # fmt: skip
    windows, seconds, drafted = json.loads(out.stdout.strip().splitlines()[-1])
    return int(windows), float(seconds), drafted


def _speculate(params: Any, spec: str) -> Any:
    """``params`` (``CommonParams``) given a draft-free speculative decoder:
    ``type[:key,draft]``."""
    import xllamacpp

    name, _, sizes = spec.partition(":")
    kind = getattr(xllamacpp.common_speculative_type, "COMMON_SPECULATIVE_TYPE_" + name.upper())
    params.speculative.types = [kind]
    if sizes:
        group = getattr(params.speculative, name)
        group.size_n, group.size_m = (int(x) for x in sizes.split(","))
    return params


def _slots_worker(arg: str) -> None:
    """In a fresh process: a server with ``slots`` slots (and the speculative
    decoder ``spec``), as many threads sending every window's body (``free``:
    without the schema), one untimed call first; prints windows and seconds."""
    from concurrent.futures import ThreadPoolExecutor

    import xllamacpp

    from llm_extract.backends.embedded import Runtime, RuntimeSpec
    from llm_extract.settings import Settings

    slots, mode, spec, source = arg.split("|", 3)
    settings = Settings(slots=int(slots))
    if spec != "none":
        real = xllamacpp.Server

        class Speculating:
            def __new__(cls, params: Any) -> Any:
                return real(_speculate(params, spec))

        xllamacpp.Server = Speculating  # the runtime builds its params; this adds one
    server = Runtime(RuntimeSpec.from_settings(settings))
    bodies = _window_bodies(json.loads(Path(source).read_text()), settings)
    for body in bodies:
        body.pop("_request")
        if mode == "free":
            body.pop("response_format")
    server.chat(bodies[0])
    started = time.perf_counter()
    with ThreadPoolExecutor(int(slots)) as pool:
        outs = list(pool.map(server.chat, bodies))
    seconds = time.perf_counter() - started
    timings = [out.get("timings") or {} for out in outs]
    drafted = [sum(t.get(k, 0) for t in timings) for k in ("draft_n", "draft_n_accepted")]
    print(json.dumps([len(bodies), seconds, drafted]))


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLM_EXTRACT_"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=24)
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("--baseline-python")
    parser.add_argument(
        "--skip",
        default="",
        help="parts to skip, comma-separated: raw,e2e,batch,strategy,slots,speculative,"
        "second_look,rest_look",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of part 6")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _slots_worker(args.worker)
        return
    stories = _stories(args.stories)
    skip = set(args.skip.split(","))
    if "raw" not in skip:
        raw_vs_library(stories)
    if "e2e" not in skip:
        end_to_end(len(stories), args.baseline, args.baseline_python)
    if "batch" not in skip:
        batch(stories)
    if "strategy" not in skip:
        strategies(len(stories))
    if "slots" not in skip:
        raw_slots(stories)
    if "speculative" not in skip:
        speculative(stories, args.rounds)
    if "second_look" not in skip:
        second_look(len(stories))
    if "rest_look" not in skip:
        rest_look(len(stories))


if __name__ == "__main__":
    main()
