"""``llm-extract eval``: score extraction against a gold set, and gate on a baseline."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console

from ..backends.recordings import RecordingBackend, ReplayBackend
from ..core.pipeline import Report
from ..errors import LLMExtractError
from ..evals import runner
from ..evals.matching import check_solver
from ..evals.scoring import Scores, invented_deals
from .eval_report import print_against, print_table, render_html


def run(args: runner.EvalArgs, err: Console) -> int:
    """The eval command. Returns the exit code: 0, 1 on regression, 2 on bad input.

    With ``--json`` stdout is exactly one JSON document; everything else goes
    to stderr.
    """
    if problem := runner.check(args):
        err.print(f"error: {problem}", markup=False)
        return 2
    stale = failed = 0
    report, backend = Report(), None
    try:
        check_solver()  # scoring needs scipy: say so before a long extraction, not after
        gold, texts = runner.documents(args)
        if args.predictions is not None:
            preds = runner.load_jsonl(args.predictions)
        else:
            found, report, backend = runner.extract(args, texts, err)
            preds = [runner.to_utah(p) for p in found] if args.fmt == "utah" else found
            stale = sum("StaleRecordingError" in p.get("error", "") for p in found)
            failed = sum("error" in p for p in found)
        if args.save_predictions:
            runner.write_jsonl(preds, args.save_predictions)
    except (OSError, ValueError, LLMExtractError) as exc:
        err.print(f"error: {exc}", markup=False)
        return 2
    scores = runner.score(args, gold, preds)
    data = scores.to_dict()
    if args.fmt == "deals":
        data["invented"] = invented_deals(gold, preds)
    if report.calls:
        timing = backend.timing if isinstance(backend, RecordingBackend | ReplayBackend) else None
        data["cost"] = runner.cost(report, timing, len(texts))
    out = Console(highlight=False, soft_wrap=True, markup=False)
    _write(args, scores, data, out)
    code = _compare(args, data, out, err)
    if code == 2:
        return code
    if stale:
        err.print(f"stale: {stale} document(s) are not in the recording; re-record with --record")
        code = 1
    if texts and failed == len(texts):
        err.print(f"error: extraction failed for all {failed} documents", markup=False)
        code = 1
    if not args.as_json:
        print(f"micro_f1={scores.micro_f1:.4f}")
    return code


def run_and_exit(args: runner.EvalArgs, err: Console) -> None:
    """The eval command as the CLI runs it: :func:`run`, exiting with its code unless 0."""
    code = run(args, err)
    if code:
        raise typer.Exit(code)


def _write(args: runner.EvalArgs, scores: Scores, data: dict[str, Any], out: Console) -> None:
    """The baseline and HTML files asked for, then the scores on stdout."""
    if args.save_baseline:
        args.save_baseline.parent.mkdir(parents=True, exist_ok=True)
        kept = json.dumps(runner.baseline(data), indent=1, sort_keys=True)
        args.save_baseline.write_text(kept + "\n")
    if args.html:
        args.html.write_text(render_html(data, f"eval: {args.gold.name}"), encoding="utf-8")
    if args.as_json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        print_table(scores, data, out)


def _compare(args: runner.EvalArgs, data: dict[str, Any], out: Console, err: Console) -> int:
    """The gate's exit code: 0 without ``--against`` or within tolerance, 1 on a
    regression, 2 when the baseline cannot be read."""
    if not args.against:
        return 0
    try:
        baseline = json.loads(args.against.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        err.print(f"error: cannot read baseline {args.against}: {exc}", markup=False)
        return 2
    worse = print_against(data, baseline, args.tolerance, None if args.as_json else out, err)
    return 1 if worse else 0
