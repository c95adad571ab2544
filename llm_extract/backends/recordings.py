"""Recorded model outputs: replay an extraction with no model and no network.

A recording is a JSONL file of model answers keyed by the SHA-256 of the
canonical request (model, messages, schema and sampling parameters). It stores
the answer and its token counts, never the request itself, so recordings over
research-licensed articles hold no article text beyond the short spans the
model answered with. Each line also keeps how many seconds the live answer
took (``seconds``), so a replayed eval reports the recorded run's speed
instead of the replay's; lines recorded before timings existed have none,
and :class:`Timing` counts them rather than pretend they took no time.

:class:`RecordingBackend` wraps a real backend and appends each answer;
:class:`ReplayBackend` answers from a recording and raises
:class:`StaleRecordingError` for any request it has not seen, so a prompt,
schema or model change shows up as a stale recording, never as a silent
live call.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from .base import Backend, Completion
from .store import Stored, StoredBackend

Place = tuple[int, int]  # (byte offset, length) of a line in the file


def _stored(line: bytes) -> tuple[str, Stored]:
    row = json.loads(line)
    seconds, fields = row.get("seconds"), row["completion"]
    if fields.get("tokens") is not None:  # JSON has no tuples
        fields["tokens"] = [(str(text), float(logprob)) for text, logprob in fields["tokens"]]
    stored = (Completion(**fields), None if seconds is None else float(seconds))
    return str(row["request_sha256"]), stored


def index(path: Path, *, mend: bool = False) -> dict[str, Place]:
    """Where each answer of a recording is; later lines win.

    A broken line is an error, except a last line with no newline: that is an
    append cut short by a kill, so it is skipped. With ``mend`` the file is made
    to end on a whole line (the torn tail cut off, a missing final newline
    added), so the next append starts on a line of its own. The file is read
    a line at a time and only the places are kept, so memory grows with the
    number of answers, not their size.
    """
    places: dict[str, Place] = {}
    try:
        f = path.open("r+b" if mend else "rb")
    except FileNotFoundError:
        return places
    with f:
        offset, tail = 0, b""
        for number, line in enumerate(f, 1):
            tail = line
            if line.strip():
                try:
                    key, _ = _stored(line)
                except (ValueError, KeyError, TypeError) as exc:
                    if line.endswith(b"\n"):
                        raise ConfigurationError(
                            f"{path}:{number}: not a recording line: {exc}"
                        ) from None
                    if mend:
                        f.truncate(offset)
                    return places
                places[key] = (offset, len(line))
            offset += len(line)
        if mend and tail and not tail.endswith(b"\n"):
            f.seek(0, os.SEEK_END)
            f.write(b"\n")
    return places


class RecordingFile:
    """A recording as an answer store: indexed once, one line read per lookup,
    appended a line per new answer (:meth:`keep_all`: many, one ``fsync``)."""

    def __init__(self, path: Path, *, mend: bool = False) -> None:
        self.path = path
        self._places = index(path, mend=mend)
        self._writing = threading.Lock()

    def __len__(self) -> int:
        return len(self._places)

    def lookup(self, key: str) -> Stored | None:
        place = self._places.get(key)
        if place is None:
            return None
        with self.path.open("rb") as f:
            f.seek(place[0])
            return _stored(f.read(place[1]))[1]

    def keep(self, key: str, completion: Completion, seconds: float | None) -> None:
        self.keep_all([(key, completion, seconds)])

    def keep_all(self, answers: Iterable[tuple[str, Completion, float | None]]) -> int:
        """Append the answers not yet kept, then ``fsync`` once; how many were new."""
        kept = 0
        with self._writing:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as f:
                offset = f.tell()
                for key, completion, seconds in answers:
                    if key in self._places:
                        continue
                    row: dict[str, Any] = {
                        "request_sha256": key,
                        "completion": asdict(completion),
                        "seconds": None if seconds is None else round(seconds, 3),
                    }
                    data = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
                    f.write(data)
                    self._places[key] = (offset, len(data))
                    offset, kept = offset + len(data), kept + 1
                f.flush()
                os.fsync(f.fileno())
        return kept


class RecordingBackend(StoredBackend):
    """Answers from the recording when it can, else asks ``inner`` and appends.

    So a recording run that was stopped resumes where it left off: answers
    already recorded are not asked for again. ``timing`` covers both kinds.
    """

    def __init__(self, inner: Backend, path: Path) -> None:
        self.path = path
        super().__init__(inner, RecordingFile(path, mend=True), where=str(path))


class ReplayBackend(StoredBackend):
    """Answers only from a recording made with the same model name."""

    def __init__(self, path: Path, model: str) -> None:
        self.path = path
        recording = RecordingFile(path)
        if not len(recording):
            raise ConfigurationError(f"no recording at {path}: record it first")
        super().__init__(None, recording, model=model, where=str(path))
