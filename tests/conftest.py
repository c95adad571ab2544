"""Shared test set-up: cassette configuration and the recording server.

Cassettes replay real HTTP traffic recorded from llama.cpp's server
(``llm-extract serve``, the same engine the embedded model runs on) on loopback. Request
bodies are stored as a SHA-256 of their canonical JSON, never as text: the
articles they carry may be research-licensed, and a hash is all matching
needs. A prompt or schema change changes the hash, so a stale cassette fails
loudly instead of passing.

Re-record with ``LLM_EXTRACT_RECORD=1 pytest tests/core/test_cassettes.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASSETTES = ROOT / "cassettes"
CORPUS = ROOT.parent / "shared" / "corpus"
RECORDING = os.environ.get("LLM_EXTRACT_RECORD") == "1"
REPLAY_URL = "http://127.0.0.1:9/v1"
SECRET_HEADERS = ["authorization", "api-key", "x-api-key", "openai-organization", "cookie"]


def canonical_hash(body: bytes | str | None) -> str:
    if body is None:
        return hashlib.sha256(b"").hexdigest()
    raw = body.decode("utf-8") if isinstance(body, bytes) else body
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = raw
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _hash_body(request: Any) -> Any:
    """Replace the request body by its hash (applied when recording and matching)."""
    body = request.body
    try:
        stored = json.loads(body) if body else None
    except ValueError:
        stored = None
    if isinstance(stored, dict) and set(stored) == {"canonical_sha256"}:
        return request
    request.body = json.dumps({"canonical_sha256": canonical_hash(body)}).encode()
    return request


@pytest.fixture(scope="session")
def vcr_config() -> dict[str, Any]:
    return {
        "cassette_library_dir": str(CASSETTES),
        "record_mode": "rewrite" if RECORDING else "none",
        "match_on": ["method", "path", "body"],
        "filter_headers": SECRET_HEADERS,
        "before_record_request": _hash_body,
        "decode_compressed_response": True,
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    """One cassette folder at the repository root (pytest-recording's "rewrite"
    mode deletes a cassette here before recording it again)."""
    return str(CASSETTES)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_healthy(port: int, proc: subprocess.Popen[bytes], limit: float = 120) -> None:
    """Poll /health over a raw socket: vcrpy records urllib and http.client, and a
    readiness probe is no part of the traffic a cassette should hold."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llm-extract serve exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                conn.sendall(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                if conn.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"llm-extract serve did not start within {limit:.0f} s")


@pytest.fixture
def model_server() -> Iterator[str]:
    """Base URL of the model server: a real llama.cpp server when recording,
    else an address nothing listens on (every request must come from a cassette).

    A fresh server per test, so each recording starts from an empty prompt cache."""
    if not RECORDING:
        yield REPLAY_URL
        return
    port = _free_port()
    cmd = [sys.executable, "-m", "llm_extract", "serve", "--port", str(port), "--slots", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_healthy(port, proc)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(autouse=True)
def _no_outside_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the defaults, whatever the shell exports.

    With ``OPENAI_API_KEY`` or ``LLM_EXTRACT_BASE_URL`` set, a test that means
    the embedded model would otherwise send articles to a hosted API."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "LLM_EXTRACT_", "ANTHROPIC_", "GEMINI_", "GOOGLE_API")):
            monkeypatch.delenv(name)


REQUIRE_CORPUS = os.environ.get("LLM_EXTRACT_REQUIRE_CORPUS") == "1"


def corpus_file(relative: str) -> Path:
    path = CORPUS / relative
    if not path.exists():
        if REQUIRE_CORPUS:
            pytest.fail(f"{path} is missing, and the regression gates need it")
        pytest.skip(f"{path} is not available on this machine")
    return path
