"""The fake server's HTTP layer: the recorded request, the threaded server and
the handler that plays each request's step (see ``tests/fake_server.py``)."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from tests.fake_steps import completion, reject_response_format
from tests.fake_wire import (
    BODIES,
    Step,
    chat_completion,
    error_body,
    estimated_usage,
    schema_of,
    wire_of,
)

if TYPE_CHECKING:
    from tests.fake_server import FakeServer

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


class FakeHTTPServer(ThreadingHTTPServer):
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


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeHTTPServer
    wire: str | None = None
    _released = True  # only a POST that took a step has something to release
    timeout = MAX_SLEEP + 5  # an idle keep-alive connection never outlives this
    disable_nagle_algorithm = True  # headers and body go out as separate writes

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        _, raw = self._read_body()
        if not self._batch("GET", raw):
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})

    def _batch(self, method: str, raw: str) -> bool:
        """Whether the server's Batch API fake (tests/fake_batch_api.py) answered."""
        batch = self.server.fake.batch
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = batch.route(method, self.path, headers, raw.encode()) if batch else None
        if reply is not None:
            self._send_json(*reply)
        return reply is not None

    def do_POST(self) -> None:
        body, raw = self._read_body()
        if self._batch("POST", raw):
            return
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
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self._release()
        self.wfile.write(data)
        self.wfile.flush()
