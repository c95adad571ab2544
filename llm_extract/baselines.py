"""Regression gates: compare a run's scores with a committed baseline.

A baseline is the ``Scores.to_dict()`` JSON of an earlier run, committed per
model under ``evals/baselines/``. The gate is absolute F1 drop per field with
a tolerance, because a prompt change that trades one field for another should
fail loudly rather than hide inside an unchanged micro average.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def compare(current: Mapping[str, Any], baseline: Mapping[str, Any], tolerance: float) -> list[str]:
    """Regressions of ``current`` against ``baseline`` (both :meth:`Scores.to_dict`).

    One line for micro F1 and for each field whose F1 dropped by more than
    ``tolerance`` (absolute). An empty list means no regression. When something
    regressed and both carry per-document results, one more line per document
    whose F1 changed (largest drop first), naming the fields whose counts changed,
    to explain the regression.
    """
    lines = []
    checks = [("micro", current["micro"]["f1"], baseline["micro"]["f1"])]
    checks += [
        (name, current.get("fields", {}).get(name, {}).get("f1", 0.0), before["f1"])
        for name, before in baseline.get("fields", {}).items()
    ]
    for name, now, before in checks:
        if before - now > tolerance:
            lines.append(f"{name}: F1 {before:.3f} -> {now:.3f} ({now - before:+.3f})")
    if not lines or "documents" not in current or "documents" not in baseline:
        return lines
    cur, base = current["documents"], baseline["documents"]
    changes = []
    for doc_id in set(cur) | set(base):
        c, b = cur.get(doc_id), base.get(doc_id)
        if c is None or b is None:
            changes.append((0.0, f"doc {doc_id}: only in {'current' if b is None else 'baseline'}"))
        elif abs(delta := c["f1"] - b["f1"]) > 1e-9:
            fields = sorted(set(c["fields"]) | set(b["fields"]))
            changed = [f for f in fields if _counts(c, f) != _counts(b, f)]
            how = f"{'worse' if delta < 0 else 'better'}; fields: {', '.join(changed) or '-'}"
            changes.append((delta, f"doc {doc_id}: F1 {b['f1']:.3f} -> {c['f1']:.3f} ({how})"))
    return lines + [text for _, text in sorted(changes)]


def _counts(doc: Mapping[str, Any], name: str) -> list[int]:
    return [doc["fields"].get(name, {}).get(k, 0) for k in ("tp", "fp", "fn")]
