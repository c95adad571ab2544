"""The step constructors: each builds one :class:`~tests.fake_wire.Step` of a fake server's script.

A :class:`~tests.fake_server.FakeServer` consumes one step per request.
Apart from :func:`completion` and :func:`answer_by_schema`, the constructors
below build deliberately broken or hostile responses. They are FAULT FIXTURES
for exercising the client's error handling, not examples of model output.
``tests/fake_server.py`` re-exports every name here; import them from there.
"""

from __future__ import annotations

from typing import Any

from tests.fake_wire import Step


def completion(
    content: str | None,
    *,
    finish_reason: str | None = "stop",
    usage: tuple[int, int] | None = (11, 7),
    model: str | None = None,
) -> Step:
    """A normal chat completion with one choice."""
    return Step("complete", content=content, finish_reason=finish_reason, usage=usage, model=model)


def refusal(text: str = "I'm sorry, I can't help with that.") -> Step:
    """FAULT FIXTURE: the model refuses (``message.refusal`` set, ``content`` null)."""
    return Step("complete", content=None, refusal=text, finish_reason="stop")


def empty_choices() -> Step:
    """FAULT FIXTURE: a 200 response whose ``choices`` list is empty."""
    return Step("empty")


def error(
    status: int,
    message: str = "fake server error",
    *,
    headers: dict[str, str] | None = None,
    body: Any = None,
    param: str | None = None,
) -> Step:
    """FAULT FIXTURE: an HTTP error with an OpenAI-style JSON error body."""
    if body is None:
        body = {"error": {"message": message, "type": "fake_error", "param": param, "code": None}}
    return Step("error", status=status, body=body, headers=tuple((headers or {}).items()))


def rate_limited(retry_after: float | str | None = None) -> Step:
    """FAULT FIXTURE: 429, with a ``Retry-After`` header when ``retry_after`` is given."""
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return error(429, "Rate limit reached, slow down", headers=headers)


def server_error(status: int = 500) -> Step:
    """FAULT FIXTURE: a 5xx that says nothing about the request's format."""
    return error(status, f"upstream failure {status}")


def reject_response_format(status: int = 400) -> Step:
    """FAULT FIXTURE: a server that does not take OpenAI's ``json_schema`` form
    (llama.cpp-style servers answer like this)."""
    return error(
        status,
        "Invalid value for 'response_format': type must be 'text' or 'json_object'",
        param="response_format",
    )


def llama_cpp_like(content: str, *, status: int = 400) -> Step:
    """FAULT FIXTURE when the request carries ``json_schema``: reject it like
    :func:`reject_response_format`; any other request gets ``content``."""
    return Step("by_format", content=content, status=status)


def unauthorized_echoing(key: str) -> Step:
    """FAULT FIXTURE: 401 whose body echoes the API key back, in full and masked."""
    masked = key[:7] + "*" * 10 + key[-4:]
    return error(401, f"Incorrect API key provided: {key} ({masked}).", param=None)


def hang(seconds: float = 5.0, then: Step | None = None) -> Step:
    """FAULT FIXTURE: sleep (capped at the server's ``max_sleep``) before answering
    with ``then`` (a short completion by default), to outlast the client timeout."""
    return Step("hang", seconds=seconds, then=then)


def drop() -> Step:
    """FAULT FIXTURE: send the status line and headers with a ``Content-Length``,
    half of the body, then close the connection."""
    return Step("drop")


def not_json(text: str = "<html>502 Bad Gateway</html> {") -> Step:
    """FAULT FIXTURE: a 200 whose body is not JSON (a proxy's error page)."""
    return Step("raw", body=text)


def answer_by_schema(answers: dict[str, Any], latency: float = 0.0) -> Step:
    """After ``latency`` seconds, ``answers[title]`` (JSON) for the schema the request
    names (see :func:`tests.fake_wire.schema_of`), ``{}`` for an unknown one; as a
    tool call when the request sends tools. ``answers`` may grow while serving.
    Usage is an estimate. Repeated, this is the benches' load stub."""
    return Step("by_schema", body=answers, seconds=latency)


def reset() -> Step:
    """FAULT FIXTURE: close the connection without sending any response."""
    return Step("reset")
