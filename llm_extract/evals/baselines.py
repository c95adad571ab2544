"""Regression gates: compare a run's scores with a committed baseline.

A baseline is the ``Scores.to_dict()`` JSON of an earlier run, committed per
model under ``evals/baselines/``. The gate is absolute F1 drop per field with
a tolerance, because a prompt change that trades one field for another should
fail loudly rather than hide inside an unchanged micro average. Beside the
gate, :func:`changes` says which changes are larger than document-sampling
noise (a paired bootstrap over the documents both runs scored).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
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


MIN_DOCUMENTS = 10
"""Fewer documents than this give no verdict: a bootstrap over one document
resamples that document only, and its interval is a point."""


@dataclass(frozen=True)
class Change:
    """One field's F1 change against the baseline, with its paired bootstrap interval."""

    field: str
    before: float
    after: float
    low: float
    high: float
    documents: int

    @property
    def delta(self) -> float:
        return self.after - self.before

    @property
    def significant(self) -> bool:
        """Whether the 95% interval excludes no change, over enough documents to tell."""
        return self.documents >= MIN_DOCUMENTS and (self.low > 0 or self.high < 0)

    def line(self) -> str:
        mark = "significant" if self.significant else "within noise"
        if self.documents < MIN_DOCUMENTS:
            mark = f"too few documents to judge (fewer than {MIN_DOCUMENTS})"
        return (
            f"{self.field}: F1 {self.before:.3f} -> {self.after:.3f} ({self.delta:+.3f}, "
            f"95% CI {self.low:+.3f}..{self.high:+.3f} over {self.documents} docs, {mark})"
        )


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _field_counts(docs: Mapping[str, Any], ids: list[str], name: str) -> list[tuple[int, ...]]:
    counts = []
    for doc_id in ids:
        fields = docs[doc_id]["fields"]
        if name == "micro":
            rows = [tuple(f.get(k, 0) for k in ("tp", "fp", "fn")) for f in fields.values()]
            counts.append(tuple(sum(c) for c in zip(*rows, strict=True)) if rows else (0, 0, 0))
        else:
            f = fields.get(name, {})
            counts.append(tuple(f.get(k, 0) for k in ("tp", "fp", "fn")))
    return counts


def changes(
    current: Mapping[str, Any],
    baseline: Mapping[str, Any],
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> list[Change]:
    """Each field's F1 change, with a paired bootstrap 95% interval over documents.

    The documents both runs scored are resampled with replacement; each
    resample sums the per-document counts of both runs over the same documents
    and takes the difference of their F1. A tuning loop on a few dozen
    documents otherwise chases noise: a change is called significant only when
    its interval excludes zero. Needs per-document counts in both (every
    ``Scores.to_dict()`` has them); returns nothing otherwise.
    """
    cur, base = current.get("documents") or {}, baseline.get("documents") or {}
    ids = sorted(set(cur) & set(base))
    if not ids:
        return []
    names = ["micro", *sorted(set(current.get("fields", {})) | set(baseline.get("fields", {})))]
    rng = random.Random(seed)
    draws = [[rng.randrange(len(ids)) for _ in ids] for _ in range(resamples)]
    out = []
    for name in names:
        a, b = _field_counts(cur, ids, name), _field_counts(base, ids, name)
        if not any(sum(x) for x in a + b):
            continue
        deltas = sorted(
            _f1(*map(sum, zip(*(a[i] for i in draw), strict=True)))
            - _f1(*map(sum, zip(*(b[i] for i in draw), strict=True)))
            for draw in draws
        )
        before = _f1(*map(sum, zip(*b, strict=True)))
        after = _f1(*map(sum, zip(*a, strict=True)))
        low, high = deltas[int(0.025 * resamples)], deltas[int(0.975 * resamples) - 1]
        out.append(Change(name, before, after, low, high, len(ids)))
    return out
