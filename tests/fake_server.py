"""A fault-injecting fake chat server in three wire formats: the tests' and the benches' one fake.

It listens on 127.0.0.1 on an ephemeral port in a background thread and
serves ``POST /v1/chat/completions`` (OpenAI and compatible servers),
``POST /v1/messages`` (Anthropic Messages) and
``POST /v1[beta]/models/{model}:generateContent`` (Gemini). The Anthropic and
Gemini bodies are local fakes of those providers' formats (a forced tool call
carrying the answer), written from their public API references: fixtures, not
recordings. It is scripted with a list of :class:`Step` objects, consumed
one per request; when the script runs out the last step repeats
(``repeat_last=True``, the default) or the server answers 500 "script
exhausted" and sets :attr:`FakeServer.exhausted`. The step constructors live
in ``tests/fake_steps.py`` and are re-exported here; apart from
:func:`completion` and :func:`answer_by_schema` they are FAULT FIXTURES for
exercising the client's error handling, not examples of model output.

Every request is recorded (method, path, lower-cased headers, parsed JSON
body and its text) so tests can assert what the client sent; ``keep=N``
remembers only the latest N, for long runs.

:func:`answer_by_schema` answers each request with a fixed valid object for
the schema it names, after a fixed latency: repeated, it is the load stub the
benches run in a subprocess (``bench/stub_server.py``); :meth:`FakeServer.stats`
counts what it served and the most requests in flight at once.

Everything is bounded: a hang sleeps at most ``max_sleep`` seconds (and is cut
short at shutdown), idle keep-alive connections are closed at shutdown, and
the server stops when its context exits.

>>> with fake_server([completion('{"a": 1}')]) as srv:     # doctest: +SKIP
...     client = openai.OpenAI(base_url=srv.base_url, api_key="k")
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fake_steps import (
    answer_by_schema,
    completion,
    drop,
    empty_choices,
    error,
    hang,
    llama_cpp_like,
    not_json,
    rate_limited,
    refusal,
    reject_response_format,
    reset,
    server_error,
    unauthorized_echoing,
)
from tests.fake_wire import (
    ANTHROPIC_PATH,
    BODIES,
    CHAT_PATH,
    Step,
    chat_completion,
    error_body,
    estimated_usage,
    schema_of,
    wire_of,
)

__all__ = [
    "ANTHROPIC_PATH", "CHAT_PATH", "FakeServer", "Recorded", "Step", "answer_by_schema",
    "chat_completion", "completion", "drop", "empty_choices", "error", "fake_server", "hang",
    "llama_cpp_like", "not_json", "rate_limited", "refusal", "reject_response_format", "reset",
    "server_error", "unauthorized_echoing",
]  # fmt: skip
"""What the tests and benches import; the step and wire names are re-exported."""
MAX_SLEEP = 10.0
"""Hard cap, in seconds, on any hang, whatever a step asks for."""


@dataclass
class Recorded:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)
    raw: str = ""

    @property
    def response_format(self) -> Any:
        return self.body.get("response_format") if isinstance(self.body, dict) else None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []


# --------------------------------------------------------------------------- server


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # a burst of 128 new connections must not be refused
    fake: FakeServer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        with self.sockets_lock:
            self.open_sockets.add(sock)
        return sock, addr

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # broken pipes from clients that timed out are expected here


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    wire: str | None = None
    _released = True  # only a POST that took a step has something to release
    timeout = MAX_SLEEP + 5  # an idle keep-alive connection never outlives this
    disable_nagle_algorithm = True  # headers and body go out as separate writes

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._read_body()
        self._send_json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        body, raw = self._read_body()
        self.wire = wire_of(self.path)
        if self.wire is None:
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        fake = self.server.fake
        headers = {k.lower(): v for k, v in self.headers.items()}
        step = fake._take(Recorded("POST", self.path, headers, body, raw=raw))
        self._released = False
        try:
            self._play(step, body)
        except OSError:  # the client gave up (timeout) and closed its end
            self.close_connection = True
        finally:
            self._release()

    def _release(self) -> None:
        """Count this request served, once, before its last byte goes out.

        Counted after the write, a client could read the answer and ask
        ``stats()`` before the count moved (or send its next request while this
        one still looked in flight).
        """
        if not self._released:
            self._released = True
            self.server.fake._done()

    def _read_body(self) -> tuple[Any, str]:
        """The body parsed (its text when it is not JSON), and its text."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = (self.rfile.read(length) if length else b"").decode("utf-8", "replace")
        try:
            return (json.loads(raw) if raw else None), raw
        except ValueError:
            return raw, raw

    def _play(self, step: Step | None, body: Any) -> None:
        fake = self.server.fake
        if step is None:
            self._send_json(500, {"error": {"message": "fake server script exhausted"}})
            return
        kind = step.kind
        if kind == "by_format":
            fmt = (body or {}).get("response_format") if isinstance(body, dict) else None
            if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
                step = reject_response_format(step.status)
            else:
                step = completion(step.content)
            kind = step.kind
        if kind == "by_schema":
            if fake._stopping.wait(min(step.seconds, fake.max_sleep)):
                self.close_connection = True
                return
            self._answer(step.body, body)
        elif kind == "hang":
            stopped = fake._stopping.wait(min(step.seconds, fake.max_sleep))
            if stopped:
                self.close_connection = True
                return
            self._play(step.then or completion("{}"), body)
        elif kind == "error":
            self._send_json(step.status, error_body(self.wire, step), dict(step.headers))
        elif kind in ("complete", "empty"):
            self._send_json(200, BODIES[self.wire](step, body, fake.next_id()))
        elif kind == "drop":
            whole = BODIES[self.wire](completion("{}"), body, fake.next_id())
            payload = json.dumps(whole).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload) + 100))
            self.end_headers()
            self._release()
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif kind == "raw":
            data = str(step.body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self._release()
            self.wfile.write(data)
            self.wfile.flush()
        elif kind == "reset":
            self._release()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        else:
            raise ValueError(f"unknown step kind {kind!r}")

    def _answer(self, answers: dict[str, Any], body: Any) -> None:
        title, tool = schema_of(body, answers)
        content = json.dumps(answers.get(title or "", {}))
        usage = estimated_usage(body, content)
        if self.wire == "openai":
            model = str(body.get("model") or "fake") if isinstance(body, dict) else "fake"
            reply = chat_completion(content, n=self.server.fake.next_id(), model=model,
                                    usage=usage, tool=tool)  # fmt: skip
            self._send_json(200, reply)
        else:
            self._play(Step("complete", content=content, usage=usage), body)

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self._release()
        self.wfile.write(data)
        self.wfile.flush()


class FakeServer:
    """The scripted server. ``start()`` returns self; ``stop()`` is idempotent."""

    def __init__(
        self,
        steps: Sequence[Step],
        *,
        repeat_last: bool = True,
        max_sleep: float = MAX_SLEEP,
        keep: int | None = None,
    ) -> None:
        """``keep`` bounds the requests remembered (the latest ones), for long runs."""
        self._steps = list(steps)
        self.repeat_last = repeat_last
        self.max_sleep = min(max_sleep, MAX_SLEEP)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._requests: deque[Recorded] = deque(maxlen=keep)
        self._ids = 0
        self._in_flight = self._peak = self._served = 0
        self.exhausted = False
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> FakeServer:
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        with httpd.sockets_lock:
            leftovers = list(httpd.open_sockets)
        for sock in leftovers:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeServer:
        return self if self._httpd is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses

    @property
    def port(self) -> int:
        assert self._httpd is not None, "the fake server is not running"
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """Where an OpenAI client points."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def root_url(self) -> str:
        """Where the Anthropic and Gemini SDKs point (they add their own version path)."""
        return f"http://127.0.0.1:{self.port}"

    # -- script and records

    def push(self, *steps: Step) -> None:
        """Append steps to the script."""
        with self._lock:
            self._steps.extend(steps)

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def next_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids

    def stats(self) -> dict[str, int]:
        """Requests answered and the most in flight at once since the last call."""
        with self._lock:
            out = {"served": self._served, "peak_inflight": self._peak}
            self._served, self._peak = 0, self._in_flight
            return out

    def take_requests(self) -> list[Recorded]:
        """The remembered requests, forgetting them."""
        with self._lock:
            out = list(self._requests)
            self._requests.clear()
            return out

    def _done(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self._served += 1

    def _take(self, record: Recorded) -> Step | None:
        with self._lock:
            self._requests.append(record)
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)
            if len(self._steps) > 1 or (self._steps and not self.repeat_last):
                return self._steps.pop(0)
            if self._steps:
                return self._steps[0]
            self.exhausted = True
            return None


@contextmanager
def fake_server(steps: Sequence[Step], **options: Any) -> Iterator[FakeServer]:
    """``with fake_server([...]) as srv:`` runs the server for the block's duration."""
    srv = FakeServer(steps, **options).start()
    try:
        yield srv
    finally:
        srv.stop()
