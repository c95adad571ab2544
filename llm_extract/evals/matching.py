"""Matching primitives for evals: string equality modes and optimal assignment.

Exact mode compares strings after collapsing whitespace; fuzzy mode is the
Jaccard overlap of casefolded alphanumeric tokens against a threshold.
:func:`assign` solves the assignment problem with scipy (the ``evals`` extra), so
list items and deals are paired one-to-one optimally rather than greedily (greedy
pairing undercounts).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ConfigurationError

MatchMode = Literal["exact", "fuzzy"]
Alts = tuple[str, ...]
SCIPY_MISSING = 'scoring needs scipy, which is not installed: pip install "llm-extract[evals]"'


def normalize_ws(s: str) -> str:
    """Collapse runs of whitespace to one space and strip: the benchmark's normalisation."""
    return " ".join(s.split())


def similarity(a: str, b: str) -> float:
    """Jaccard similarity |A∩B| / |A∪B| of the casefolded alphanumeric token sets.

    Chosen over edit-distance ratios because company names differ by whole words
    ("Ltd", "Inc"), not characters. 1.0 when the strings are equal after
    :func:`normalize_ws`; 0.0 when either has no tokens. Not rapidfuzz's
    ``token_set_ratio``, which is a different metric: it scores a name against
    its own subset as 1.0 ("Zentrix Robotics Ltd" / "Zentrix Robotics": 1.0 vs 2/3).
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
    """Optimal one-to-one assignment maximising the total score.

    ``scores[i][j]`` is the value of pairing row i with column j. Solved by
    :func:`scipy.optimize.linear_sum_assignment` (a Jonker-Volgenant shortest
    augmenting path method), which takes a rectangular matrix as it is: exactly
    ``min(rows, cols)`` pairs ``(row, col)`` come back, sorted by row, every
    row or column of the shorter side paired; callers drop the pairs they do
    not want (e.g. zero-score ones). Among equally good assignments the solver
    picks one; which one is not part of this contract. ``[]`` for an empty
    matrix. Raises ``ValueError`` unless the matrix is rectangular and finite,
    and :class:`~llm_extract.errors.ConfigurationError` when scipy (the
    ``evals`` extra) is not installed."""
    m = len(scores[0]) if scores else 0
    finite = all(math.isfinite(x) for row in scores for x in row)
    if not finite or any(len(row) != m for row in scores):
        raise ValueError("scores must be a rectangular matrix of finite numbers")
    solve = _solver()
    if not m:
        return []
    rows, cols = solve(scores, maximize=True)
    return [(int(i), int(j)) for i, j in zip(rows, cols, strict=True)]


def _solver() -> Callable[..., tuple[Any, Any]]:
    """scipy's assignment solver, imported on first use (scipy is the ``evals`` extra)."""
    try:
        from scipy.optimize import linear_sum_assignment
    except ImportError as exc:
        raise ConfigurationError(SCIPY_MISSING) from exc
    solve: Callable[..., tuple[Any, Any]] = linear_sum_assignment  # scipy ships no types
    return solve


def check_solver() -> None:
    """Raise :class:`~llm_extract.errors.ConfigurationError` now if :func:`assign`
    cannot work, so a long eval fails before extracting rather than when scoring."""
    _solver()
