"""Hand-written code vs the libraries that replaced it (issue 14), side by side.

    python bench/libraries.py [--rounds 7]

One process, one run, interleaved rounds (the order of old and new alternates
each round); each figure is the median over the rounds of the per-call mean,
reported as the ratio new/old. Absolute times are printed for context only.

* ``assign``: the hand-written Hungarian algorithm (baseline, below) vs
  ``llm_extract.evals.matching.assign`` (scipy's ``linear_sum_assignment``) on
  square and rectangular score matrices of 1x1..12x12 shaped like the ones
  scoring builds (zero, or 1 + 0.01 x similarity); every pair of results is
  checked to reach the same total. Then whole ``score_docs`` runs over invented
  gold and predicted documents, the only difference being which ``assign``
  scoring calls; and the same in fresh processes, where scipy's import counts.
* ``country_code``: the hand-written table (baseline, below) vs
  ``llm_extract.normalize.values.country_code`` (pycountry + our aliases) over a
  few thousand lookups of names, demonyms, "City, Country" forms and unknowns
  in mixed case; plus the one-off cost of building each lookup dict.

Only invented names and numbers are used.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Measure this checkout's code, not whichever copy the environment has installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import llm_extract
import llm_extract.evals.scoring as scoring
from llm_extract.evals.matching import assign
from llm_extract.normalize import values

LOAD = os.getloadavg()[0]  # other work on the machine skews absolute figures

# =============================================================================================
# BASELINE: the hand-written implementations these swaps replaced, copied verbatim from
# llm_extract/evals/matching.py and llm_extract/normalize/values.py at commit 401b35d.
# =============================================================================================


def baseline_assign(scores: list[list[float]]) -> list[tuple[int, int]]:
    """BASELINE. Optimal one-to-one assignment maximising the total score (Hungarian, O(n^3))."""
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


_BASELINE_COUNTRIES = """
US United States|United States of America|USA|US|America|American|U.S.A.;
GB United Kingdom|UK|Britain|Great Britain|British|England|English|Scotland|Scottish|Wales|
Welsh|Northern Ireland|Northern Irish;
CN China|Chinese|PRC|People's Republic of China|Mainland China; IN India|Indian;
JP Japan|Japanese; KR South Korea|South Korean|Korea|Korean|Republic of Korea;
TW Taiwan|Taiwanese; HK Hong Kong|Hongkong; SG Singapore|Singaporean;
DE Germany|German|West Germany|West German; FR France|French; NL Netherlands|Holland|Dutch;
BE Belgium|Belgian; CH Switzerland|Swiss; IT Italy|Italian; ES Spain|Spanish;
PT Portugal|Portuguese; IE Ireland|Irish|Republic of Ireland; SE Sweden|Swedish;
NO Norway|Norwegian; DK Denmark|Danish; FI Finland|Finnish; AT Austria|Austrian;
LU Luxembourg|Luxembourgish|Luxembourger; PL Poland|Polish; CZ Czech Republic|Czechia|Czech;
SK Slovakia|Slovak|Slovakian; HU Hungary|Hungarian; RO Romania|Romanian; BG Bulgaria|Bulgarian;
GR Greece|Greek; HR Croatia|Croatian; SI Slovenia|Slovenian|Slovene; EE Estonia|Estonian;
LV Latvia|Latvian; LT Lithuania|Lithuanian; IS Iceland|Icelandic; CY Cyprus|Cypriot;
MT Malta|Maltese; TR Turkey|Türkiye|Turkish; RU Russia|Russian|Russian Federation;
UA Ukraine|Ukrainian; KZ Kazakhstan|Kazakh|Kazakhstani; IL Israel|Israeli;
SA Saudi Arabia|Saudi|Saudi Arabian; AE United Arab Emirates|UAE|Emirati; QA Qatar|Qatari;
KW Kuwait|Kuwaiti; BH Bahrain|Bahraini; OM Oman|Omani; IR Iran|Iranian; EG Egypt|Egyptian;
MA Morocco|Moroccan; NG Nigeria|Nigerian; KE Kenya|Kenyan; ZA South Africa|South African;
CA Canada|Canadian; MX Mexico|Mexican; BR Brazil|Brazilian;
AR Argentina|Argentine|Argentinian|Argentinean; CL Chile|Chilean; CO Colombia|Colombian;
PE Peru|Peruvian; AU Australia|Australian; NZ New Zealand|New Zealander; ID Indonesia|Indonesian;
MY Malaysia|Malaysian; TH Thailand|Thai; VN Vietnam|Viet Nam|Vietnamese;
PH Philippines|Philippine|Filipino; PK Pakistan|Pakistani; BD Bangladesh|Bangladeshi;
LK Sri Lanka|Sri Lankan; MO Macau|Macao|Macanese
"""
_BASELINE_STRIP = " \t\r\n.,;:!?'\"()[]{}-–—‘’“”"


def _baseline_country_key(text: str) -> str:
    key = " ".join(text.replace(".", "").strip(_BASELINE_STRIP).lower().split())
    return re.sub(r"[\s-]based$", "", key.removeprefix("the "))


def _baseline_country_codes() -> dict[str, str]:
    return {
        _baseline_country_key(name): block.strip()[:2]
        for block in _BASELINE_COUNTRIES.replace("|\n", "|").split(";")
        for name in block.strip()[3:].split("|")
    }


_BASELINE_COUNTRY_CODES = _baseline_country_codes()


def baseline_country_code(text: str) -> str | None:
    """BASELINE. ISO 3166-1 alpha-2 code from the hand-written table."""
    code = _BASELINE_COUNTRY_CODES.get(_baseline_country_key(text))
    if code is None and "," in text:
        code = _BASELINE_COUNTRY_CODES.get(_baseline_country_key(text.rsplit(",", 1)[1]))
    return code


# =============================================================================================
# The measurement
# =============================================================================================


def per_call(fn: Callable[[], Any], calls: int) -> float:
    """Seconds per call of ``fn``, the mean over ``calls`` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def side_by_side(
    old: Callable[[], Any], new: Callable[[], Any], rounds: int, calls: int
) -> tuple[float, float]:
    """Median per-call seconds of ``old`` and ``new``, interleaved, order alternating."""
    old(), new()  # warm up (imports, caches)
    times: dict[str, list[float]] = {"old": [], "new": []}
    for r in range(rounds):
        order = [("old", old), ("new", new)][:: 1 if r % 2 == 0 else -1]
        for name, fn in order:
            times[name].append(per_call(fn, calls))
    return statistics.median(times["old"]), statistics.median(times["new"])


def matrix(rng: random.Random, n: int, m: int) -> list[list[float]]:
    """A score matrix like scoring's: most pairs 0, matches 1 + 0.01 x similarity."""
    return [[1.0 + 0.01 * rng.random() if rng.random() < 0.3 else 0.0 for _ in range(m)]
            for _ in range(n)]  # fmt: skip


def bench_assign(rounds: int) -> list[str]:
    rng = random.Random(14)
    shapes = [(n, n) for n in (1, 2, 3, 4, 6, 8, 10, 12)] + [(2, 5), (5, 2), (3, 12), (12, 3)]
    lines = [
        "assign(): hand-written Hungarian (old) vs scipy linear_sum_assignment (new)",
        f"{'shape':>7} {'old us/call':>12} {'new us/call':>12} {'new/old':>8}",
    ]
    old_sum = new_sum = 0.0
    for n, m in shapes:
        mats = [matrix(rng, n, m) for _ in range(50)]
        for x in mats:  # both optimal: the same total, whichever tie each picks
            t_old = sum(x[i][j] for i, j in baseline_assign(x))
            t_new = sum(x[i][j] for i, j in assign(x))
            assert abs(t_old - t_new) < 1e-9 and len(assign(x)) == min(n, m), x
        old, new = side_by_side(
            lambda mats=mats: [baseline_assign(x) for x in mats],
            lambda mats=mats: [assign(x) for x in mats],
            rounds,
            calls=20,
        )
        old, new = old / len(mats), new / len(mats)
        old_sum, new_sum = old_sum + old, new_sum + new
        lines.append(f"{n:>3}x{m:<3} {old * 1e6:>12.1f} {new * 1e6:>12.1f} {new / old:>8.2f}")
    lines.append(f"{'all':>7} {old_sum * 1e6:>12.1f} {new_sum * 1e6:>12.1f} "
                 f"{new_sum / old_sum:>8.2f}  (one matrix of each shape)")  # fmt: skip
    return lines


NAMES = ["Kestrel", "Orsa", "Zentara", "Lumo", "Brightwave", "Halden", "Corvi", "Nimbus"]


def invented_docs(rng: random.Random, n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Gold and predicted documents with 1-4 deals of 2-4 parties, predictions perturbed."""
    gold, pred = [], []
    kinds = ["acquisition", "merger", "investment", "partnership"]
    roles = ["acquirer", "target", "investor", "partner"]
    for d in range(n):
        deals = []
        for _ in range(rng.randint(1, 4)):
            parties = [{"name": f"{rng.choice(NAMES)} {rng.choice(['Ltd', 'Group', 'Inc'])}",
                        "role": rng.choice(roles)} for _ in range(rng.randint(2, 4))]  # fmt: skip
            deals.append({"deal_type": rng.choice(kinds), "parties": parties,
                          "amount": f"${rng.randint(1, 900)} million"})  # fmt: skip
        gold.append({"id": str(d), "deals": deals})
        guess = [dict(x, parties=[p for p in x["parties"] if rng.random() < 0.7])
                 for x in deals if rng.random() < 0.8]  # fmt: skip
        rng.shuffle(guess)
        pred.append({"id": str(d), "deals": [
            dict(x, amount={"text": x["amount"]}) for x in guess]})  # fmt: skip
    return gold, pred


def bench_scoring(rounds: int) -> list[str]:
    gold, pred = invented_docs(random.Random(7), 200)
    real = scoring.assign

    def with_assign(fn: Callable[..., Any]) -> Callable[[], Any]:
        def run() -> Any:
            scoring.assign = fn
            try:
                return scoring.score_docs(gold, pred).to_dict()
            finally:
                scoring.assign = real

        return run

    a, b = with_assign(baseline_assign)(), with_assign(real)()
    assert a["fields"] == b["fields"], "the figures must not depend on the solver"
    old, new = side_by_side(with_assign(baseline_assign), with_assign(real), rounds, calls=2)
    return [
        "score_docs() over 200 invented documents (1-4 deals each), old vs new assign():",
        f"  old {old * 1e3:.1f} ms/run, new {new * 1e3:.1f} ms/run, new/old {new / old:.2f}"
        f" (figures identical: {a['fields'] == b['fields']})",
    ]


def cold_run(which: str) -> None:
    """What ``--cold old|new`` does in a fresh process: score 20 invented documents once,
    so the time includes importing the solver (scipy.optimize, for ``new``)."""
    gold, pred = invented_docs(random.Random(7), 20)
    if which == "old":
        scoring.assign = baseline_assign
    scoring.score_docs(gold, pred)


def bench_cold(rounds: int) -> list[str]:
    def spawn(which: str) -> Callable[[], Any]:
        cmd = [sys.executable, __file__, "--cold", which]
        return lambda: subprocess.run(cmd, check=True)

    old, new = side_by_side(spawn("old"), spawn("new"), rounds, calls=1)
    return [
        "fresh process (python start, imports, one score_docs over 20 documents), old vs new:",
        f"  old {old * 1e3:.0f} ms, new {new * 1e3:.0f} ms, new/old {new / old:.2f}: "
        f"the one-off cost of importing scipy.optimize is {(new - old) * 1e3:.0f} ms",
    ]


def bench_countries(rounds: int) -> list[str]:
    rng = random.Random(3)
    known = ["China", "Chinese", "India", "Taiwanese", "U.S.", "United States", "American",
             "Britain", "UK", "Japanese", "Singapore", "Dutch", "the Netherlands", "German",
             "Swiss", "South Korean", "Hong Kong", "Scottish", "U.S.-based", "Mexican",
             "Vietnamese", "France", "Belgian", "Brazil", "Saudi", "UAE", "Canadian"]  # fmt: skip
    unknown = ["Atlantis", "Elbonian", "company", "", "Springfield", "north", "Acme Corp"]
    texts = []
    for _ in range(3000):
        t = rng.choice(known) if rng.random() < 0.8 else rng.choice(unknown)
        t = f"{rng.choice(['Pune', 'Leeds', 'Osaka'])}, {t}" if rng.random() < 0.15 else t
        texts.append("".join(c.swapcase() if rng.random() < 0.1 else c for c in t))
    agree = sum(baseline_country_code(t) == values.country_code(t) for t in texts)
    old, new = side_by_side(
        lambda: [baseline_country_code(t) for t in texts],
        lambda: [values.country_code(t) for t in texts],
        rounds,
        calls=5,
    )

    def build_new() -> None:
        values._country_codes.cache_clear()
        values._country_codes()

    b_old, b_new = side_by_side(_baseline_country_codes, build_new, rounds, calls=5)
    return [
        f"country_code(): hand-written table (old) vs pycountry + our aliases (new), "
        f"{len(texts)} lookups (same answer for {agree} of them)",
        f"  old {old / len(texts) * 1e9:.0f} ns/lookup, new {new / len(texts) * 1e9:.0f} "
        f"ns/lookup, new/old {new / old:.2f}",
        f"  building the lookup dict, once per process: old {b_old * 1e3:.2f} ms "
        f"({len(_BASELINE_COUNTRY_CODES)} keys, at import), new {b_new * 1e3:.2f} ms "
        f"({len(values._country_codes())} keys, on first lookup), new/old {b_new / b_old:.1f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cold", choices=["old", "new"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold:
        return cold_run(args.cold)
    print(f"llm_extract from {Path(llm_extract.__file__).parent}")
    print(f"load average at start: {LOAD:.2f}; {args.rounds} rounds, medians")
    for section in (bench_assign, bench_scoring, bench_cold, bench_countries):
        print()
        print("\n".join(section(args.rounds)))


if __name__ == "__main__":
    main()
