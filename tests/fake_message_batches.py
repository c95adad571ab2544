"""A local fake of Anthropic's Message Batches API: a test fixture, not a model and not Anthropic.

It plugs into :class:`tests.fake_server.FakeServer` as the OpenAI Batch fake
does (``FakeServer(steps, batch=FakeMessageBatches(answer))``) and speaks
the wire format the ``anthropic`` SDK reads: ``POST /v1/messages/batches``
(the requests in the body), ``GET /v1/messages/batches/{id}``, ``GET
/v1/messages/batches`` and ``GET /v1/messages/batches/{id}/results`` (JSONL).
Live requests (``/v1/messages``, for re-asks) are the server's steps.

Every request is answered by the test's ``answer(params) -> (status, message)``
(a non-200 status makes that request ``errored``). A batch is
``in_progress`` when created and ends at the second poll, unless ``hold`` is
set. With ``expire_after=k`` only its first k requests are answered and the
rest are ``expired``. With ``lose_create_answer`` the batch is made but the
create call gets a 500, as if the answer were lost on the way. The key must
come as ``x-api-key`` or, as the SDK sends it since 2.x, ``Authorization:
Bearer``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

Answer = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]
Reply = tuple[int, Any]
_ROOT = "/v1/messages/batches"


class FakeMessageBatches:
    def __init__(self, answer: Answer, *, key: str = "sk-ant-fake-batch") -> None:
        self.answer, self.key = answer, key
        self.batches: dict[str, dict[str, Any]] = {}
        self.hold = threading.Event()
        self.expire_after: int | None = None
        self.lose_create_answer = False
        self.counts = {"batches": 0, "polls": 0, "lines": 0}
        self.lock = threading.Lock()

    def route(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply | None:
        """This fake's answer to a request, or None when the path is not Message Batches'."""
        path = path.split("?", 1)[0]
        if not path.startswith(_ROOT):
            return None
        keys = (headers.get("x-api-key"), headers.get("authorization"))
        if self.key not in keys and f"Bearer {self.key}" not in keys:
            return 401, _error("authentication_error", "invalid x-api-key")
        host = headers.get("host", "127.0.0.1")
        if method == "POST" and path == _ROOT:
            made = self.new_batch(json.loads(raw)["requests"])
            return (500, _error("api_error", "lost")) if self.lose_create_answer else (200, made)
        if method == "GET" and path == _ROOT:
            data = [self.shown(b, host) for b in reversed(self.batches)]
            return 200, {"data": data, "has_more": False, "first_id": None, "last_id": None}
        if method == "GET" and (m := re.fullmatch(rf"{_ROOT}/(\w+)/results", path)):
            rows = self.batches[m[1]]["results"]
            return 200, ("".join(json.dumps(r) + "\n" for r in rows)).encode("utf-8")
        if method == "GET" and (m := re.fullmatch(rf"{_ROOT}/(\w+)", path)):
            return 200, self.poll(m[1], host)
        return 404, _error("not_found_error", f"no route {method} {path}")

    def new_batch(self, requests: list[dict[str, Any]]) -> dict[str, Any]:
        with self.lock:
            self.counts["batches"] += 1
            ident = f"msgbatch_{len(self.batches) + 1}"
            now = datetime.now(UTC)
            self.batches[ident] = {"requests": requests, "status": "in_progress", "polls": 0,
                                   "created_at": now, "ended_at": None, "results": []}  # fmt: skip
            return self.shown(ident, "127.0.0.1")

    def shown(self, ident: str, host: str) -> dict[str, Any]:
        batch = self.batches[ident]
        kinds = [r["result"]["type"] for r in batch["results"]]
        counts = {k: kinds.count(k) for k in ("succeeded", "errored", "canceled", "expired")}
        counts["processing"] = len(batch["requests"]) - len(kinds)
        ended = batch["status"] == "ended"
        return {
            "id": ident, "type": "message_batch", "processing_status": batch["status"],
            "request_counts": counts, "created_at": _iso(batch["created_at"]),
            "expires_at": _iso(batch["created_at"] + timedelta(hours=24)),
            "ended_at": _iso(batch["ended_at"]) if batch["ended_at"] else None,
            "archived_at": None, "cancel_initiated_at": None,
            "results_url": f"http://{host}{_ROOT}/{ident}/results" if ended else None,
        }  # fmt: skip

    def poll(self, ident: str, host: str) -> dict[str, Any]:
        with self.lock:
            self.counts["polls"] += 1
            batch = self.batches[ident]
            batch["polls"] += 1
            if batch["status"] == "in_progress" and batch["polls"] >= 2 and not self.hold.is_set():
                self._run(batch)
            return self.shown(ident, host)

    def _run(self, batch: dict[str, Any]) -> None:
        requests = batch["requests"]
        limit = len(requests) if self.expire_after is None else self.expire_after
        for n, request in enumerate(requests):
            result: dict[str, Any] = {"type": "expired"}
            if n < limit:
                status, message = self.answer(request["params"])
                self.counts["lines"] += 1
                result = {"type": "succeeded", "message": message}
                if status != 200:
                    result = {"type": "errored", "error": _error("api_error", "overloaded")}
            batch["results"].append({"custom_id": request["custom_id"], "result": result})
        batch["status"], batch["ended_at"] = "ended", datetime.now(UTC)


def message(content: dict[str, Any], tool: str, n: int, model: str) -> dict[str, Any]:
    """An Anthropic Messages body that answers with a call of ``tool``."""
    block = {"type": "tool_use", "id": f"toolu_fake_{n}", "name": tool, "input": content}
    return {"id": f"msg_fake_{n}", "type": "message", "role": "assistant", "model": model,
            "content": [block], "stop_reason": "tool_use", "stop_sequence": None,
            "usage": {"input_tokens": 11, "output_tokens": 7}}  # fmt: skip


def _error(kind: str, text: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": text}}


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
