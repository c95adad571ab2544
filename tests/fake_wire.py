"""The wire formats the fake servers speak: scripted steps and the bodies they become.

OpenAI chat completions, Anthropic Messages and Gemini generateContent, each
written from the provider's public API reference: local fakes, fixtures, not
recordings. :func:`chat_completion` is the one writer of OpenAI's body, for the
scripted fault server (``tests/fake_server.py``) and, through it, the benches'
load stub (``bench/stub_server.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

CHAT_PATH = "/v1/chat/completions"
ANTHROPIC_PATH = "/v1/messages"


@dataclass(frozen=True)
class Step:
    """One scripted reaction to one request. Build these with ``tests/fake_steps.py``."""

    kind: str
    content: str | None = None
    finish_reason: str | None = "stop"
    refusal: str | None = None
    usage: tuple[int, int] | None = (11, 7)
    status: int = 200
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0
    then: Step | None = None
    model: str | None = None


def wire_of(path: str) -> str | None:
    path = path.split("?", 1)[0].rstrip("/")
    if path == CHAT_PATH:
        return "openai"
    if path == ANTHROPIC_PATH:
        return "anthropic"
    if path.startswith(("/v1beta/models/", "/v1/models/")) and path.endswith(":generateContent"):
        return "gemini"
    return None


def error_body(wire: str | None, step: Step) -> Any:
    """An error body in the wire's own shape (the OpenAI one is the step's)."""
    body = step.body
    message = body.get("error", {}).get("message", "") if isinstance(body, dict) else str(body)
    if wire == "anthropic":
        return {"type": "error", "error": {"type": "api_error", "message": message}}
    if wire == "gemini":
        return {"error": {"code": step.status, "message": message, "status": "UNAVAILABLE"}}
    return body


def _arguments(content: str | None) -> dict[str, Any] | None:
    """The answer as a tool call's arguments, or None when it is not a JSON object."""
    try:
        value = json.loads(content) if content is not None else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _anthropic_body(step: Step, request: Any, n: int) -> dict[str, Any]:
    tools = request.get("tools") if isinstance(request, dict) else None
    name = tools[0]["name"] if tools else "answer"
    blocks: list[dict[str, Any]] = []
    args = _arguments(step.content)
    if step.kind != "empty" and step.refusal is None:
        if args is not None:
            blocks = [{"type": "tool_use", "id": f"toolu_fake_{n}", "name": name, "input": args}]
        elif step.content is not None:
            blocks = [{"type": "text", "text": step.content}]
    stop = {"length": "max_tokens", None: "end_turn"}.get(step.finish_reason, "tool_use")
    if step.refusal is not None:
        stop = "refusal"
    p, c = step.usage or (0, 0)
    model = step.model or (request.get("model") if isinstance(request, dict) else None) or "fake"
    return {"id": f"msg_fake_{n}", "type": "message", "role": "assistant", "model": model,
            "content": blocks, "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": p, "output_tokens": c}}  # fmt: skip


def _gemini_body(step: Step, request: Any, n: int) -> dict[str, Any]:
    tools = request.get("tools") if isinstance(request, dict) else None
    declared = (tools or [{}])[0].get("functionDeclarations") or [{"name": "answer"}]
    args = _arguments(step.content)
    if args is not None:
        parts: list[dict[str, Any]] = [
            {"functionCall": {"name": declared[0]["name"], "args": args}}
        ]
    else:
        parts = [{"text": step.content}] if step.content is not None else []
    finish = {"length": "MAX_TOKENS"}.get(step.finish_reason or "", "STOP")
    if step.refusal is not None:
        finish, parts = "SAFETY", []
    p, c = step.usage or (0, 0)
    candidates = [] if step.kind == "empty" else [
        {"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}
    ]  # fmt: skip
    return {"candidates": candidates, "modelVersion": step.model or "fake-gemini",
            "usageMetadata": {"promptTokenCount": p, "candidatesTokenCount": c,
                              "totalTokenCount": p + c}}  # fmt: skip


def chat_completion(
    content: str | None,
    *,
    n: int,
    model: str,
    finish_reason: str | None = "stop",
    refusal: str | None = None,
    usage: tuple[int, int] | None = (11, 7),
    tool: str | None = None,
    empty: bool = False,
) -> dict[str, Any]:
    """An OpenAI chat-completion body: the one writer of that wire format for the
    scripted fake here and the bench's load stub (``bench/stub_server.py``).

    With ``tool``, the answer is a call of that function with ``content`` as its
    arguments, as OpenAI's TOOLS mode returns it."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": refusal}
    if tool is not None:
        call = {"id": f"call_{n}", "type": "function",
                "function": {"name": tool, "arguments": content}}  # fmt: skip
        message, finish_reason = {**message, "content": None, "tool_calls": [call]}, "tool_calls"
    out: dict[str, Any] = {
        "id": f"chatcmpl-fake-{n}",
        "object": "chat.completion",
        "created": 1_700_000_000 + n,
        "model": model,
        "choices": [] if empty else [
            {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
        ],
    }  # fmt: skip
    if usage is not None:
        p, c = usage
        out["usage"] = {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
    return out


def _chat_body(step: Step, request: Any, n: int) -> dict[str, Any]:
    model = step.model or (request.get("model") if isinstance(request, dict) else None) or "fake"
    return chat_completion(
        step.content, n=n, model=model, finish_reason=step.finish_reason,
        refusal=step.refusal, usage=step.usage, empty=step.kind == "empty",
    )  # fmt: skip


BODIES = {"openai": _chat_body, "anthropic": _anthropic_body, "gemini": _gemini_body}


def schema_of(request: Any, known: dict[str, Any]) -> tuple[str | None, str | None]:
    """The schema a request asks for, and the tool to answer through if any.

    Found from ``tools[0]`` (OpenAI or Anthropic form), from ``response_format``
    (``json_schema``, or llama.cpp's ``json_object`` + ``schema``), or from a
    ``"title": "X"`` of a ``known`` schema in the messages (instructor's
    MD_JSON and JSON modes put the schema there)."""
    if not isinstance(request, dict):
        return None, None
    if tools := request.get("tools"):
        first = tools[0]
        name = str((first.get("function") or first).get("name"))
        return name, name
    fmt = request.get("response_format") or {}
    spec = fmt.get("json_schema") or {}
    title = (spec.get("schema") or fmt.get("schema") or {}).get("title") or spec.get("name")
    if title:
        return str(title), None
    for message in request.get("messages", []):
        content = str(message.get("content"))
        for name in known:
            if f'"title": "{name}"' in content:
                return name, None
    return None, None


def estimated_usage(request: Any, content: str) -> tuple[int, int]:
    """An ESTIMATE of (prompt, completion) tokens, not a tokenizer: characters / 4."""
    messages = request.get("messages", []) if isinstance(request, dict) else []
    return len(json.dumps(messages)) // 4, max(1, len(content) // 4)
