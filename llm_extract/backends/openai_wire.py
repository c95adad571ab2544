"""OpenAI-compatible chat requests posted as they are, when they are plain JSON.

The OpenAI SDK's ``chat.completions.create`` walks every request against its
TypedDict annotations before sending it: the messages against their unions
(about 1 ms of CPU for our six), then each of its forty-odd parameters, given
or not (about 8% of a document's CPU against a zero-latency server, py-spy).
For arguments that are JSON already, that walk changes nothing.

:func:`sent_as_is` wraps a client so that a call whose arguments are all
plain (:func:`post_args`) goes out through the client's own ``post``, the
SDK's documented way to reach any endpoint: the same body in the SDK's key
order, the same request options (extra headers, query and body, timeout), the
same ``ChatCompletion`` back and the same errors raised. Tests compare the
bytes with the SDK's. Anything else (content parts, iterators, streaming, a
Pydantic ``response_format``, an argument the SDK does not know) takes the
SDK's own path, which validates and raises as it always has.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from openai import NotGiven
from openai.resources.chat.completions import Completions
from openai.types.chat import ChatCompletion

_PATH = "/chat/completions"
_OPTIONS = {"extra_headers": "headers", "extra_query": "params", "extra_body": "extra_json",
            "timeout": "timeout"}  # fmt: skip
"""``create``'s request options and their names in the client's ``post`` options."""

_BODY = {
    name: i
    for i, name in enumerate(inspect.signature(Completions.create).parameters)
    if name != "self" and name not in _OPTIONS
}
"""``create``'s body parameters, in the order the SDK writes them."""

_SCHEMAS = {"response_format": dict, "tools": list}
"""Parameters instructor builds from the response model's JSON schema: JSON already."""

_SCALARS = (str, int, float, bool, type(None))


def plain_messages(messages: Any) -> bool:
    """Whether ``messages`` is already JSON as sent: dicts of strings (no SDK objects,
    no content parts, no iterators the SDK would turn into lists)."""
    return isinstance(messages, list) and all(
        isinstance(m, dict) and all(isinstance(v, str) or v is None for v in m.values())
        for m in messages
    )


def post_args(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The body and ``post`` options that send ``kwargs`` as ``create`` would, or
    ``None`` when an argument is not plain JSON and the SDK must see it."""
    if kwargs.get("stream") or "model" not in kwargs or not plain_messages(kwargs.get("messages")):
        return None
    body: dict[str, Any] = {}
    options: dict[str, Any] = {}
    for name, value in kwargs.items():
        if name == "timeout":
            if not isinstance(value, NotGiven):
                options["timeout"] = value  # None is no timeout, as in the SDK
        elif name in _OPTIONS:
            if value is not None:
                options[_OPTIONS[name]] = value
        elif name not in _BODY:
            return None
        elif name == "messages" or isinstance(value, _SCALARS) or type(value) is _SCHEMAS.get(name):
            body[name] = value
        else:
            return None
    return {name: body[name] for name in sorted(body, key=_BODY.__getitem__)}, options


def sent_as_is(client: Any) -> Callable[..., Any]:
    """``client.chat.completions.create`` that posts plain arguments as they are."""
    create = client.chat.completions.create

    def create_as_is(**kwargs: Any) -> Any:
        args = post_args(kwargs)
        if args is None:
            return create(**kwargs)
        return client.post(_PATH, cast_to=ChatCompletion, body=args[0], options=args[1])

    return create_as_is


def asent_as_is(client: Any) -> Callable[..., Any]:
    """:func:`sent_as_is` for the async client (instructor tells them apart by this)."""
    create = client.chat.completions.create

    async def create_as_is(**kwargs: Any) -> Any:
        args = post_args(kwargs)
        if args is None:
            return await create(**kwargs)
        return await client.post(_PATH, cast_to=ChatCompletion, body=args[0], options=args[1])

    return create_as_is
