"""Matching primitives for evals: string equality modes and optimal assignment.

Exact mode compares strings after collapsing whitespace; fuzzy mode is the
Jaccard overlap of casefolded alphanumeric tokens against a threshold.
:func:`assign` is the Hungarian algorithm, so list items and deals are paired
one-to-one optimally rather than greedily (greedy pairing undercounts).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

MatchMode = Literal["exact", "fuzzy"]
Alts = tuple[str, ...]


def normalize_ws(s: str) -> str:
    """Collapse runs of whitespace to one space and strip: the benchmark's normalisation."""
    return " ".join(s.split())


def similarity(a: str, b: str) -> float:
    """Jaccard similarity |A∩B| / |A∪B| of the casefolded alphanumeric token sets.

    Chosen over edit-distance ratios because company names differ by whole words
    ("Ltd", "Inc"), not characters. 1.0 when the strings are equal after
    :func:`normalize_ws`; 0.0 when either has no tokens.
    """
    if normalize_ws(a) == normalize_ws(b):
        return 1.0
    ta, tb = set(re.findall(r"[^\W_]+", a.casefold())), set(re.findall(r"[^\W_]+", b.casefold()))
    return len(ta & tb) / len(ta | tb) if ta and tb else 0.0


@dataclass(frozen=True)
class Matcher:
    """Decides whether two alternative sets match, and how well."""

    mode: MatchMode = "exact"
    threshold: float = 0.8

    def __post_init__(self) -> None:
        if self.mode not in ("exact", "fuzzy") or not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"bad match settings: mode={self.mode!r} threshold={self.threshold}")

    def sim(self, pred: Alts, gold: Alts) -> float:
        """Best similarity over alternative pairs that count as a match; 0.0 if none does."""
        best = 0.0
        for p in pred:
            for g in gold:
                s = 1.0 if p == g else similarity(p, g) if self.mode == "fuzzy" else 0.0
                if s >= self.threshold:
                    best = max(best, s)
        return best


def assign(scores: list[list[float]]) -> list[tuple[int, int]]:
    """Optimal one-to-one assignment maximising the total score (Hungarian, O(n^3)).

    ``scores[i][j]`` is the value of pairing row i with column j. A rectangular
    matrix is padded to square with a constant (which changes no optimum), so
    exactly ``min(rows, cols)`` pairs ``(row, col)`` come back, sorted by row;
    callers drop the pairs they do not want (e.g. zero-score ones)."""
    n, m = len(scores), len(scores[0]) if scores else 0
    finite = all(math.isfinite(x) for row in scores for x in row)
    if not finite or any(len(row) != m for row in scores):
        raise ValueError("scores must be a rectangular matrix of finite numbers")
    if not n or not m:
        return []
    size, top, inf = max(n, m), max(map(max, scores)), math.inf
    pad = [row + [top] * (size - m) for row in scores] + [[top] * size] * (size - n)
    cost = [[top - x for x in row] for row in pad]  # minimise cost = maximise score
    u, v = [0.0] * (size + 1), [0.0] * (size + 1)
    owner, way = [0] * (size + 1), [0] * (size + 1)  # owner[j]: row holding column j (1-based)
    for i in range(1, size + 1):
        owner[0], j0 = i, 0
        minv, used = [inf] * (size + 1), [False] * (size + 1)
        while True:  # grow an alternating tree until a free column is reached
            used[j0] = True
            i0, delta, j1 = owner[j0], inf, 0
            for j in range(1, size + 1):
                if not used[j]:
                    cur = cost[i0 - 1][j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j], way[j] = cur, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(size + 1):
                if used[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while j0:  # flip the augmenting path
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    pairs = [(owner[j] - 1, j - 1) for j in range(1, size + 1)]
    return sorted((i, j) for i, j in pairs if i < n and j < m)
