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

import socket
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

from tests.fake_http import MAX_SLEEP, FakeHTTPServer, Handler, Recorded
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
    CHAT_PATH,
    Step,
    chat_completion,
)

if TYPE_CHECKING:
    from tests.fake_batch_api import FakeBatchAPI
    from tests.fake_message_batches import FakeMessageBatches

__all__ = [
    "ANTHROPIC_PATH", "CHAT_PATH", "FakeServer", "Recorded", "Step", "answer_by_schema",
    "chat_completion", "completion", "drop", "empty_choices", "error", "fake_server", "hang",
    "llama_cpp_like", "not_json", "rate_limited", "refusal", "reject_response_format", "reset",
    "server_error", "unauthorized_echoing",
]  # fmt: skip
"""What the tests and benches import; the step and wire names are re-exported."""


class FakeServer:
    """The scripted server. ``start()`` returns self; ``stop()`` is idempotent."""

    def __init__(
        self,
        steps: Sequence[Step],
        *,
        repeat_last: bool = True,
        max_sleep: float = MAX_SLEEP,
        keep: int | None = None,
        batch: FakeBatchAPI | FakeMessageBatches | None = None,
    ) -> None:
        """``keep`` bounds the requests remembered (the latest ones), for long runs;
        ``batch`` adds OpenAI's Batch endpoints (files, batches) or Anthropic's
        Message Batches, a fixture too."""
        self._steps = list(steps)
        self.batch = batch
        self.repeat_last = repeat_last
        self.max_sleep = min(max_sleep, MAX_SLEEP)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._requests: deque[Recorded] = deque(maxlen=keep)
        self._ids = 0
        self._in_flight = self._peak = self._served = 0
        self.exhausted = False
        self._httpd: FakeHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> FakeServer:
        httpd = FakeHTTPServer(("127.0.0.1", 0), Handler)
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
