"""A minimal OpenAI-compatible chat-completions stub for the benches.

    python bench/stub_server.py [--latency 0.2] [--max-seconds 900]

Serves ``POST /v1/chat/completions`` on 127.0.0.1 (ephemeral port, printed as
``PORT <n>`` on stdout) with ``asyncio.start_server`` and a tiny HTTP/1.1
parser with keep-alive, so one process holds hundreds of concurrent requests.
Every request waits ``latency`` seconds (the stand-in for model time), then
gets a fixed valid answer for the schema it asks for: found from
``response_format`` (``json_schema`` or ``json_object`` + ``schema``), from
``tools[0]`` (answered as a tool call) or from a ``"title": "X"`` in the
messages. ``DealSlots`` and ``ArticleDeals`` answers are built in, their strings
spans of :data:`ARTICLE`; ``POST /_answers`` adds more (``{title: object}``);
an unknown schema gets ``{}``.

``usage`` is an ESTIMATE, not a tokenizer: prompt tokens = len(json.dumps(
messages)) // 4, completion tokens = len(content) // 4.

For the benches: ``GET /_recorded`` returns and clears the last 256 raw request
bodies; ``GET /_stats`` returns and resets the request count and peak in-flight.
The benches run it as a subprocess (:func:`running`), so its CPU is not charged
to the measured process. Bounded: it exits when its stdin closes (the bench
ended or died) or after ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import threading
import urllib.request
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fake_server import chat_completion  # stdlib only, like this stub

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

_REASONS = {200: "OK", 404: "Not Found", 400: "Bad Request"}


class Stub:
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.answers: dict[str, Any] = {"DealSlots": DEAL_SLOTS, "ArticleDeals": ARTICLE_DEALS}
        self.recorded: deque[str] = deque(maxlen=256)
        self.served = self.inflight = self.peak = 0

    def schema_of(self, req: dict[str, Any]) -> tuple[str | None, str | None]:
        """(schema title, tool name if the answer must be a tool call)."""
        if req.get("tools"):
            name = req["tools"][0]["function"]["name"]
            return name, name
        fmt = req.get("response_format") or {}
        spec = fmt.get("json_schema") or {}
        schema = spec.get("schema") or fmt.get("schema") or {}
        title = schema.get("title") or spec.get("name")
        if title:
            return title, None
        for message in req.get("messages", []):
            content = str(message.get("content"))
            for known in self.answers:
                if f'"title": "{known}"' in content:
                    return known, None
        return None, None

    def answer(self, req: dict[str, Any]) -> dict[str, Any]:
        title, tool = self.schema_of(req)
        content = json.dumps(self.answers.get(title or "", {}))
        prompt = len(json.dumps(req.get("messages", []))) // 4
        usage = (prompt, max(1, len(content) // 4))
        model = str(req.get("model", "stub"))
        return chat_completion(content, n=self.served, model=model, usage=usage, tool=tool)

    async def route(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        if method == "POST" and path.endswith("/chat/completions"):
            self.recorded.append(body.decode("utf-8"))
            self.inflight += 1
            self.peak = max(self.peak, self.inflight)
            try:
                if self.latency > 0:
                    await asyncio.sleep(self.latency)
                self.served += 1
                return 200, self.answer(json.loads(body))
            finally:
                self.inflight -= 1
        if method == "GET" and path == "/_recorded":
            bodies = list(self.recorded)
            self.recorded.clear()
            return 200, bodies
        if method == "GET" and path == "/_stats":
            stats = {"served": self.served, "peak_inflight": self.peak}
            self.served = self.peak = 0
            return 200, stats
        if method == "POST" and path == "/_answers":
            self.answers.update(json.loads(body))
            return 200, {"titles": list(self.answers)}
        return 404, {"error": {"message": f"no route {method} {path}"}}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # keep-alive: one request after another on this connection
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                method, path, _ = head[0].split(" ", 2)
                headers = {}
                for line in head[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length") or 0))
                status, payload = await self.route(method, path, body)
                data = json.dumps(payload).encode()
                head_out = (
                    f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
                )
                writer.write(head_out.encode() + data)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, asyncio.CancelledError):
            pass  # client went away, bad request, or shutdown with idle keep-alive connections
        finally:
            writer.close()


async def serve(latency: float, max_seconds: float) -> None:
    stub = Stub(latency)
    server = await asyncio.start_server(stub.handle, "127.0.0.1", 0, backlog=1024)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def watch_stdin() -> None:  # EOF on stdin: the bench has ended
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), max_seconds)
    server.close()


class StubClient:
    """The bench's handle on a running stub."""

    def __init__(self, port: int) -> None:
        self.root = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.root}/v1"

    def _call(self, path: str, data: Any = None) -> Any:
        body = None if data is None else json.dumps(data).encode()
        with urllib.request.urlopen(self.root + path, body, timeout=10) as r:
            return json.loads(r.read())

    def recorded(self) -> list[dict[str, Any]]:
        """Request bodies received since the last call, parsed (raw text under "_raw")."""
        return [{**json.loads(b), "_raw": b} for b in self._call("/_recorded")]

    def stats(self) -> dict[str, int]:
        return dict(self._call("/_stats"))

    def add_answers(self, answers: dict[str, Any]) -> None:
        self._call("/_answers", answers)

    def settings(self) -> Any:
        """Library settings aimed at the stub: single-record strategy, no spans, no retries.

        Imported here so the stub's own process never loads the library.
        """
        from llm_extract import Settings

        return Settings(base_url=self.base_url, api_key="x", spans=False, strategy="record",
                        model="stub", transport_retries=0)  # fmt: skip


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
        yield StubClient(int(line.split()[1]))
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
    asyncio.run(serve(args.latency, args.max_seconds))
