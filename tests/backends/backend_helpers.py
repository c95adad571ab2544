"""What the InstructorBackend tests share: a request, and a backend on the fake server.

The server is the scripted fake OpenAI-compatible one on 127.0.0.1
(``tests/fake_server.py``); the key is built at run time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from llm_extract.backends.base import ChatRequest
from llm_extract.backends.providers import InstructorBackend
from llm_extract.settings import Settings
from tests.fake_server import FakeServer, Step, fake_server

KEY = "sk-test-" + "X" * 24  # built at run time: no key-like literal is committed
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"company": {"type": "string"}},
    "required": ["company"],
    "additionalProperties": False,
}
ANSWER = '{"company": "Brindle Foods"}'


def make_request(**changes: Any) -> ChatRequest:
    values: dict[str, Any] = {
        "messages": [
            {"role": "system", "content": "You extract companies."},
            {"role": "user", "content": "<article>Brindle Foods bought a mill.</article>"},
        ],
        "schema": SCHEMA,
        "schema_name": "Companies",
        "max_tokens": 64,
        "temperature": 0.0,
        "seed": 7,
    }
    values.update(changes)
    return ChatRequest(**values)


def make_backend(srv: FakeServer, **changes: Any) -> InstructorBackend:
    values: dict[str, Any] = {
        "base_url": srv.base_url,
        "api_key": KEY,
        "model": "m",
        "timeout": 5.0,
        "transport_retries": 2,
        "backoff_base": 0.01,
        "backoff_max": 0.05,
    }
    values.update(changes)
    return InstructorBackend(Settings(**values))


@contextmanager
def serving(
    steps: Sequence[Step], **changes: Any
) -> Iterator[tuple[FakeServer, InstructorBackend]]:
    with fake_server(steps) as srv:
        yield srv, make_backend(srv, **changes)
