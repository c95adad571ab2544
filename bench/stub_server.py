"""The benches' OpenAI-compatible stub: the tests' fake server, in a subprocess.

    python bench/stub_server.py [--latency 0.2] [--max-seconds 900]

It runs :class:`tests.fake_server.FakeServer` with one repeated
:func:`~tests.fake_server.answer_by_schema` step on 127.0.0.1 (ephemeral
port, printed as ``PORT <n>`` on stdout): every request waits ``latency``
seconds (the stand-in for model time), then gets a fixed valid answer for the
schema it asks for (``response_format``, ``tools[0]`` as a tool call, or a
``"title": "X"`` in the messages). ``DealSlots`` and ``ArticleDeals`` answers
are built in, their strings spans of :data:`ARTICLE`; an unknown schema gets
``{}``. ``usage`` is an ESTIMATE (characters / 4), not a tokenizer.

The bench talks to it over its stdin, one JSON line per command, one JSON line
back: ``["recorded"]`` (the last 256 raw request bodies, forgotten),
``["stats"]`` (requests served and peak in flight since the last call),
``["answers", {title: object}]`` (more answers). It runs in its own process so
its CPU is not charged to the measured one, and it exits when its stdin closes
(the bench ended or died) or after ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fake_server import FakeServer, answer_by_schema  # stdlib only, like this stub

# An invented article: no real companies, people or events.
ARTICLE = (
    "STOCKHOLM, March 3 - Lindqvist Foods AB said on Monday it had agreed to buy Marrow "
    "Lane Bakeries Ltd, a maker of frozen pastries based in Leicester, from Tamsin Capital "
    "Partners for 310 mln euros.\n"
    "The purchase, which needs approval from competition regulators, would give the Swedish "
    "group eleven plants in Britain and about 2,400 employees.\n"
    '"Marrow Lane fits our plan to grow in frozen baking," chief executive Henrik Solberg '
    "said in a statement. Lindqvist shares rose 3.1 percent in Stockholm."
)


def article(i: int) -> str:
    """The i-th invented document: the same deal, a different closing line."""
    return f"{ARTICLE}\nAnalysts at Norrby Securities kept a target price of {120 + i} crowns."


DEAL_SLOTS: dict[str, Any] = json.loads(
    '{"buyer": "Lindqvist Foods AB", "target": "Marrow Lane Bakeries Ltd", '
    '"seller": "Tamsin Capital Partners", "amount": "310 mln euros", "status": "agreed", '
    '"business": "frozen pastries", "location": "Leicester", "trigger": "agreed to buy", '
    '"deal_type": "acquisition"}'
)
ARTICLE_DEALS: dict[str, Any] = json.loads(
    '{"deals": [{"deal_type": "acquisition", "trigger": "agreed to buy", "parties": ['
    '{"name": "Lindqvist Foods AB", "role": "acquirer"}, '
    '{"name": "Marrow Lane Bakeries Ltd", "role": "target"}, '
    '{"name": "Tamsin Capital Partners", "role": "seller"}], '
    '"amount": {"text": "310 mln euros", "amount": null, "currency": null}, '
    '"status": "agreed", "date": "on Monday", "date_iso": null, "products": [], '
    '"location": null, "volumes": [{"text": "2,400 employees", "value": null, "unit": null}], '
    '"people": [{"name": "Henrik Solberg", "title": "chief executive", '
    '"company": "Lindqvist Foods AB"}], "acquired_business": "frozen pastries", '
    '"acquired_location": "Leicester", "background": false}], "companies": []}'
)
ARTICLE_DEALS["companies"] = [
    dict(name=name, aliases=aliases, country=country, country_code=None, business=None)
    for name, aliases, country in (
        ("Lindqvist Foods AB", ["Lindqvist"], "Swedish"),
        ("Marrow Lane Bakeries Ltd", ["Marrow Lane"], None),
        ("Tamsin Capital Partners", [], None),
    )
]


class StubClient:
    """The bench's handle on a running stub (commands over the subprocess's pipes)."""

    def __init__(self, proc: subprocess.Popen[str], port: int) -> None:
        self._proc = proc
        self._lock = threading.Lock()
        self.root = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.root}/v1"

    def _call(self, *command: Any) -> Any:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        with self._lock:
            self._proc.stdin.write(json.dumps(command) + "\n")
            self._proc.stdin.flush()
            return json.loads(self._proc.stdout.readline())

    def recorded(self) -> list[dict[str, Any]]:
        """Request bodies received since the last call, parsed (raw text under "_raw")."""
        return [{**json.loads(b), "_raw": b} for b in self._call("recorded")]

    def stats(self) -> dict[str, int]:
        return dict(self._call("stats"))

    def add_answers(self, answers: dict[str, Any]) -> None:
        self._call("answers", answers)

    def settings(self) -> Any:
        """Library settings aimed at the stub: single-record strategy, no spans, no retries.

        Imported here so the stub's own process never loads the library.
        """
        from llm_extract import Settings

        return Settings(base_url=self.base_url, api_key="x", spans=False, strategy="record",
                        model="stub", transport_retries=0)  # fmt: skip


def serve(latency: float, max_seconds: float) -> None:
    """Serve until stdin closes or ``max_seconds`` pass, answering commands on stdin."""
    answers: dict[str, Any] = {"DealSlots": DEAL_SLOTS, "ArticleDeals": ARTICLE_DEALS}
    server = FakeServer([answer_by_schema(answers, latency)], keep=256).start()

    def expire() -> None:
        server.stop()
        os._exit(0)

    timer = threading.Timer(max_seconds, expire)
    timer.daemon = True
    timer.start()
    print(f"PORT {server.port}", flush=True)
    for line in sys.stdin:
        name, *args = json.loads(line)
        if name == "recorded":
            reply: Any = [r.raw for r in server.take_requests()]
        elif name == "stats":
            reply = server.stats()
        else:
            answers.update(args[0])
            reply = sorted(answers)
        print(json.dumps(reply), flush=True)
    server.stop()


@contextmanager
def running(latency: float, max_seconds: float = 900.0) -> Iterator[StubClient]:
    """Start the stub as a subprocess; stop it when the block ends."""
    cmd = [sys.executable, __file__, "--latency", str(latency), "--max-seconds", str(max_seconds)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdin is not None
    try:
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"stub did not start: {line!r}")
        yield StubClient(proc, int(line.split()[1]))
    finally:
        proc.stdin.close()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per request")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="hard lifetime")
    args = parser.parse_args()
    serve(args.latency, args.max_seconds)
