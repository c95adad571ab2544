"""A persistent cache of model answers, so an unchanged request is never paid for twice.

:class:`ResponseCache` is a small SQLite table keyed by the SHA-256 of the
canonical request (model name and the server's scope, messages, schema,
max_tokens, temperature, seed; :func:`.store.request_hash`). A row holds
only that hash and the :class:`~.base.Completion` fields: never the request,
so no article or prompt text, and never an API key.

:class:`CachingBackend` wraps any :class:`~llm_extract.backends.base.Backend`.
Only answers worth reusing are stored: content present and non-blank, not
truncated (``finish_reason == "length"``), not refused or filtered. A hit
returns the stored answer with ``requests=0`` and zero token counts, so a
:class:`~llm_extract.core.pipeline.CallReport` shows that no model call was made
and nothing was spent; what the original call cost is kept in
:attr:`ResponseCache.saved_tokens`.

The database runs in WAL mode with ``synchronous=NORMAL``: each lookup or
insert is one indexed statement that takes well under a millisecond, run
under a lock (one shared connection, safe from any thread); the async path
runs it in a worker thread, because another process's write can hold the
database for up to the lock timeout. Several processes may share one file;
SQLite's own locking serializes their writes. A cache that cannot be read or
written is never fatal to an extraction: the error is counted and the request
goes to the model.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from types import TracebackType

from ..errors import ConfigurationError
from .base import Backend, Completion
from .store import Stored, StoredBackend

_SCHEMA_VERSION = 1
_CREATE = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    content TEXT NOT NULL,
    finish_reason TEXT,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    model TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def default_cache_path() -> Path:
    """``$XDG_CACHE_HOME/llm_extract/responses.sqlite3``, else under ``~/.cache``."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "llm_extract" / "responses.sqlite3"


def cacheable(completion: Completion) -> bool:
    """Whether an answer may be reused: content, not truncated, not refused."""
    return (
        completion.content is not None
        and completion.content.strip() != ""
        and completion.refusal is None
        and completion.finish_reason not in ("length", "content_filter")
    )


class ResponseCache:
    """Model answers by request hash, in one SQLite file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self.hits = 0
        self.misses = 0
        self.stores = 0
        self.errors = 0
        self.saved_tokens = 0
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=10.0, check_same_thread=False, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_CREATE)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            elif version != _SCHEMA_VERSION:
                raise ConfigurationError(
                    f"response cache {self.path} has format {version}, "
                    f"expected {_SCHEMA_VERSION}: delete it or use another --cache path"
                )
        except (sqlite3.Error, OSError) as exc:
            self._close_quietly()
            raise ConfigurationError(f"cannot open response cache {self.path}: {exc}") from None
        except ConfigurationError:
            self._close_quietly()
            raise

    def _close_quietly(self) -> None:
        db = getattr(self, "_db", None)
        if db is not None:
            db.close()

    def get(self, key: str) -> Completion | None:
        """The stored answer for ``key``, or None; counts a hit or a miss."""
        with self._lock:
            try:
                row = self._db.execute(
                    "SELECT content, finish_reason, prompt_tokens, completion_tokens, model "
                    "FROM responses WHERE key = ?",
                    (key,),
                ).fetchone()
            except sqlite3.Error:
                self.errors += 1
                row = None
            if row is None:
                self.misses += 1
                return None
            self.hits += 1
            content, finish_reason, prompt_tokens, completion_tokens, model = row
            self.saved_tokens += int(prompt_tokens) + int(completion_tokens)
            return Completion(
                content=str(content),
                finish_reason=None if finish_reason is None else str(finish_reason),
                refusal=None,
                prompt_tokens=int(prompt_tokens),
                completion_tokens=int(completion_tokens),
                model=str(model),
            )

    def put(self, key: str, completion: Completion) -> bool:
        """Store a reusable answer; returns whether it was stored."""
        if not cacheable(completion):
            return False
        row = (
            key,
            completion.content,
            completion.finish_reason,
            completion.prompt_tokens,
            completion.completion_tokens,
            completion.model,
            time.time(),
        )
        with self._lock:
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?)", row
                )
            except sqlite3.Error:
                self.errors += 1
                return False
            self.stores += 1
            return True

    def lookup(self, key: str) -> Stored | None:
        """:meth:`get` as an answer store (the cache keeps no timings)."""
        found = self.get(key)
        return None if found is None else (found, None)

    def keep(self, key: str, completion: Completion, seconds: float) -> None:
        self.put(key, completion)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM responses")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class CachingBackend(StoredBackend):
    """A :class:`Backend` that answers repeated requests from a :class:`ResponseCache`."""

    def __init__(self, inner: Backend, cache: ResponseCache, *, scope: str = "") -> None:
        """``scope`` names where answers come from beyond the model name (the
        server's URL, the response format): two servers that serve a model of
        the same name are different models, and must not share answers."""
        super().__init__(inner, cache, scope=scope, free_hits=True, where=str(cache.path))
        self.cache = cache

    @property
    def hits(self) -> int:
        return self.cache.hits

    @property
    def misses(self) -> int:
        return self.cache.misses
