"""The files a batch reads and writes, so that every id is written exactly once.

The input is scanned once for ids and byte offsets (texts are read when they
run). The output is appended one complete line per ``write``, then
``fsync``; a partial last line from a killed run is cut away on the next
start, and ``compact`` rewrites it atomically with one record per id. One run
at a time holds the output's lock file.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any

from ..errors import InputError, OutputInUseError

Say = Callable[[str], None]


def key_of(ident: object) -> str | None:
    """A canonical key for an id that is a string or an integer, else None."""
    if isinstance(ident, bool) or not isinstance(ident, str | int):
        return None
    return json.dumps(ident)


@dataclass
class Item:
    offset: int
    ident: Any
    key: str
    error: str | None = None


def scan_input(path: Path, id_field: str, text_field: str, say: Say) -> tuple[list[Item], int]:
    """The documents, by line and byte offset (texts are read when they run)."""
    items: list[Item] = []
    first: set[str] = set()
    rejected = offset = 0
    with path.open("rb") as f:
        for n, raw in enumerate(f, 1):
            here, offset = offset, offset + len(raw)
            if not raw.strip():
                continue
            try:
                doc = json.loads(raw)
            except ValueError as exc:
                say(f"{path}:{n}: broken JSON line ({getattr(exc, 'msg', exc)}); skipped")
                rejected += 1
                continue
            ident = doc.get(id_field) if isinstance(doc, dict) else None
            key = key_of(ident)
            if key is None or key in first:
                why = f"no {id_field!r} string or integer" if key is None else "duplicate id"
                say(f"{path}:{n}: {why}; skipped")
                rejected += 1
                continue
            first.add(key)
            items.append(Item(here, ident, key))
            if not isinstance(doc.get(text_field), str):
                items[-1].error = f"line {n}: no {text_field!r} string field"
                say(f"{path}:{n}: no {text_field!r} string field; error record for id {ident!r}")
    return items, rejected


def read_document(f: IO[bytes], item: Item, text_field: str) -> tuple[str, date | None]:
    """An input document's text and publication day, read at its offset."""
    if item.error:
        raise InputError(item.error)
    f.seek(item.offset)
    doc = json.loads(f.readline())
    day = doc.get("published")
    return doc[text_field], date.fromisoformat(day) if isinstance(day, str) else None


def scan_output(path: Path, id_field: str, say: Say) -> tuple[dict[str, str], bool]:
    """Latest status per id, whether an id has several records; drops a partial last line."""
    if not path.exists():
        return {}, False
    latest: dict[str, str] = {}
    repeated = False
    with path.open("r+b") as f:
        pos = 0
        for n, line in enumerate(f, 1):
            if not line.endswith(b"\n"):
                say(f"{path}: dropping a partial last line ({len(line)} bytes) of a killed run")
                f.truncate(pos)
                os.fsync(f.fileno())
                break
            pos += len(line)
            try:
                record = json.loads(line)
                key, status = key_of(record[id_field]), str(record["status"])
            except (ValueError, KeyError, TypeError):
                key = None
            if key is None:
                say(f"{path}:{n}: unreadable record ignored")
                continue
            repeated = repeated or key in latest
            latest[key] = status
    return latest, repeated


def compact(path: Path, id_field: str) -> None:
    """Rewrite ``path`` atomically with one record per id, the newest."""
    last: dict[str | None, int] = {}
    with path.open("rb") as f:
        for i, line in enumerate(f):
            with contextlib.suppress(ValueError, KeyError, TypeError):
                last[key_of(json.loads(line)[id_field])] = i
    keep = {i for key, i in last.items() if key is not None}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with path.open("rb") as src, tmp.open("wb") as dst:
        dst.writelines(line for i, line in enumerate(src) if i in keep)
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(tmp, path)


def append(fd: int, data: bytes) -> None:
    if os.write(fd, data) != len(data):  # disk full: stop; the next run drops the partial line
        raise OSError(f"short write: the disk is full? ({len(data)} bytes)")
    os.fsync(fd)


@contextlib.contextmanager
def exclusive(out: Path) -> Iterator[None]:
    """Hold ``OUT.lock`` (beside the output) for a whole run, compaction included.

    Two runs on one output would both do all the work, and a ``retry_failed``
    compaction (a rename) would send the other run's appends to the old,
    unlinked file. So a second run refuses at once, naming the file.
    """
    lock = out.with_name(out.name + ".lock")
    fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        _lock(fd)
    except OSError:
        os.close(fd)
        raise OutputInUseError(
            f"{out} is being written by another llm-extract batch run (lock {lock}); "
            "wait for it to finish, or write to another file"
        ) from None
    try:
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _lock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
