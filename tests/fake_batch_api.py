"""A local fake of OpenAI's Batch API: a test fixture, not a model and not OpenAI.

It adds to :class:`tests.fake_server.FakeServer` (``FakeServer(steps,
batch=FakeBatchAPI(answer))``, the one fake HTTP server) what
``llm_extract.scale.provider_batch`` uses, in OpenAI's wire format: ``POST
/v1/files`` (multipart upload), ``GET /v1/files/{id}/content``, ``POST
/v1/batches``, ``GET /v1/batches/{id}`` and ``GET /v1/batches``. Live
requests (``/v1/chat/completions``, for re-asks) are the server's steps.

Every request line is answered by the test's ``answer(body) -> (status,
body)``. A batch is ``validating`` when created, ``in_progress`` at the first
poll, and ends at the poll after that, unless ``hold`` is set (it then stays
in progress until cleared). With ``expire_after=k`` it answers only its first
k lines and ends ``expired``; with ``refuse_input`` it ends ``failed`` with no
output, as OpenAI does for an input file it cannot read. The key must come as
``Authorization: Bearer <key>``.
"""

from __future__ import annotations

import email.parser
import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any, cast

Answer = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]
Reply = tuple[int, Any]  # status, and a JSON value or raw bytes


class FakeBatchAPI:
    def __init__(self, answer: Answer, *, key: str = "sk-fake-batch") -> None:
        self.answer, self.key = answer, key
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.hold = threading.Event()
        self.expire_after: int | None = None
        self.refuse_input = False
        self.counts = {"files": 0, "batches": 0, "polls": 0, "lines": 0}
        self.lock = threading.Lock()

    def route(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply | None:
        """This fake's answer to a request, or None when the path is not the Batch API's."""
        if not re.match(r"/v1/(files|batches)\b", path):
            return None
        if headers.get("authorization") != f"Bearer {self.key}":
            return 401, {"error": {"message": "bad key", "type": "invalid_request_error"}}
        if method == "POST" and path == "/v1/files":
            parts = _multipart(headers["content-type"], raw)
            return 200, self.new_file(parts["file"], parts["purpose"].decode())
        if method == "POST" and path == "/v1/batches":
            return 200, self.new_batch(json.loads(raw))
        if method == "GET" and (m := re.fullmatch(r"/v1/files/([\w-]+)/content", path)):
            return 200, self.files[m[1]]
        if method == "GET" and (m := re.fullmatch(r"/v1/batches/([\w-]+)", path)):
            return 200, self.poll(m[1])
        if method == "GET" and path.startswith("/v1/batches"):
            data = [self.shown(b) for b in self.batches]
            return 200, {"object": "list", "data": data, "has_more": False}
        return 404, {"error": {"message": f"no route {method} {path}"}}

    def new_file(self, data: bytes, purpose: str) -> dict[str, Any]:
        with self.lock:
            ident = f"file-{len(self.files) + 1}"
            self.files[ident] = data
            self.counts["files"] += purpose == "batch"
        return {"id": ident, "object": "file", "bytes": len(data), "purpose": purpose,
                "created_at": int(time.time()), "filename": f"{ident}.jsonl",
                "status": "processed"}  # fmt: skip

    def new_batch(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.counts["batches"] += 1
            ident = f"batch_{len(self.batches) + 1}"
            self.batches[ident] = {
                "id": ident, "object": "batch", "endpoint": body["endpoint"],
                "input_file_id": body["input_file_id"], "completion_window": "24h",
                "status": "validating", "created_at": int(time.time()), "polls": 0,
                "output_file_id": None, "error_file_id": None, "errors": None,
                "metadata": body.get("metadata"),
                "request_counts": {"total": 0, "completed": 0, "failed": 0},
            }  # fmt: skip
            return self.shown(ident)

    def shown(self, ident: str) -> dict[str, Any]:
        return {k: v for k, v in self.batches[ident].items() if k != "polls"}

    def poll(self, ident: str) -> dict[str, Any]:
        with self.lock:
            self.counts["polls"] += 1
            batch = self.batches[ident]
            batch["polls"] += 1
            if batch["status"] == "validating":
                batch["status"] = "in_progress"
            elif batch["status"] == "in_progress" and not self.hold.is_set():
                self._run(batch)
            return self.shown(ident)

    def _run(self, batch: dict[str, Any]) -> None:
        if self.refuse_input:
            batch["status"] = "failed"
            batch["errors"] = {
                "object": "list",
                "data": [
                    {"code": "invalid_json_line", "message": "line 1 is not valid", "line": 1}
                ],
            }
            return  # fmt: skip
        lines = self.files[batch["input_file_id"]].decode("utf-8").splitlines()
        limit = len(lines) if self.expire_after is None else self.expire_after
        good: list[str] = []
        bad: list[str] = []
        for n, line in enumerate(lines[:limit]):
            row = json.loads(line)
            status, body = self.answer(row["body"])
            self.counts["lines"] += 1
            out = {
                "id": f"batch_req_{n}",
                "custom_id": row["custom_id"],
                "error": None,
                "response": {"status_code": status, "request_id": f"req_{n}", "body": body},
            }
            (good if status == 200 else bad).append(json.dumps(out))  # fmt: skip
        for name, rows in (("output_file_id", good), ("error_file_id", bad)):
            if rows:
                ident = f"file-{len(self.files) + 1}"
                self.files[ident] = ("\n".join(rows) + "\n").encode("utf-8")
                batch[name] = ident
        batch["status"] = "completed" if self.expire_after is None else "expired"
        batch["request_counts"] = {"total": len(lines), "completed": len(good), "failed": len(bad)}


def _multipart(content_type: str, body: bytes) -> dict[str, bytes]:
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser().parsebytes(head + body)
    parts: dict[str, bytes] = {}
    for part in message.walk():
        name = part.get_param("name", header="content-disposition")
        if name is not None and not part.is_multipart():
            parts[str(name)] = cast(bytes, part.get_payload(decode=True))
    return parts
