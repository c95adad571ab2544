"""How an eval's scores are shown: the terminal table, the comparison with a
baseline, and the self-contained HTML report (a Jinja2 template with
autoescape, so gold and predicted values print as text, never as markup)."""

from __future__ import annotations

import json
import re
from typing import Any

from rich.console import Console
from rich.table import Table

from ..evals.baselines import changes, compare
from ..evals.scoring import Scores
from .templating import templates


def unscored(fields: dict[str, Any]) -> list[str]:
    """Fields with neither gold nor predicted values: nothing to score, so no P/R/F1."""
    return [k for k, v in fields.items() if not (v.get("tp") or v.get("fp") or v.get("fn"))]


def render_html(scores: dict[str, Any], title: str, worst: int = 10) -> str:
    """A self-contained report: per-field F1 bars and the worst documents with diffs."""
    fields = scores.get("fields", {})
    idle = unscored(fields)
    docs = sorted(scores.get("documents", {}).items(), key=lambda kv: kv[1].get("f1", 0.0))
    shown = [
        {
            "id": doc_id,
            "anchor": f"doc{rank}-" + re.sub(r"[^A-Za-z0-9_-]", "_", doc_id),
            "f1": doc.get("f1", 0.0),
            "differences": [
                {
                    "field": str(d.get("field")),
                    "kind": d.get("kind", ""),
                    "gold": json.dumps(d.get("gold")),
                    "pred": json.dumps(d.get("pred")),
                }
                for d in doc.get("differences", [])
            ],
        }
        for rank, (doc_id, doc) in enumerate(docs[:worst], 1)
    ]
    micro = {k: scores.get("micro", {}).get(k, 0) for k in ("precision", "recall", "f1")}
    return (
        templates()
        .get_template("eval_report.html.j2")
        .render(
            title=title,
            micro=micro,
            fields=[(name, _stats(s)) for name, s in sorted(fields.items()) if name not in idle],
            idle=idle,
            worst=shown,
        )
    )


def _stats(stats: dict[str, Any]) -> dict[str, Any]:
    return {k: stats.get(k, 0) for k in ("f1", "precision", "recall", "tp", "fp", "fn")}


def cost_line(cost: dict[str, Any]) -> str:
    seconds = cost["seconds_per_document"]
    timed = "seconds unknown" if seconds is None else f"{seconds:.1f} s"
    basis = f" ({cost['seconds_basis']})" if "seconds_basis" in cost else ""
    return (
        f"cost per document over {cost['documents']} document(s): "
        f"{cost['tokens_per_document']:,.0f} tokens, {timed}{basis}; model {cost['model']}"
    )


def print_table(scores: Scores, data: dict[str, Any], out: Console) -> None:
    table = Table("field", "P", "R", "F1", "tp", "fp", "fn", "omit", "halluc", "mismatch")
    idle = unscored(data["fields"])
    for row in scores.table_rows():
        if row[0] not in idle:
            table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row))
    out.print(table)
    if idle:
        out.print(f"not scored (no gold and no prediction): {', '.join(idle)}", markup=False)
    if invented := data.get("invented"):
        out.print(
            f"documents without gold deals that got a deal: {invented['with_deal']} of "
            f"{invented['documents']} ({invented['rate']:.1%})",
            markup=False,
        )
    if cost := data.get("cost"):
        out.print(cost_line(cost), markup=False)


def print_against(
    data: dict[str, Any], baseline: dict[str, Any], tolerance: float, out: Console | None,
    err: Console,
) -> bool:  # fmt: skip
    """Print each field's change with its interval (unless ``out`` is None, as
    with ``--json``) and every regression; True when there is one."""
    if out is not None:
        for change in changes(data, baseline):
            if abs(change.delta) > 1e-9:
                out.print(f"change: {change.line()}", markup=False)
    regressions = compare(data, baseline, tolerance)
    for line in regressions:
        (out or err).print(f"regression: {line}", markup=False)
    return bool(regressions)
