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
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from .base import Backend, Completion
from .store import Stored, StoredBackend


def load(path: Path, *, mend: bool = False) -> dict[str, Stored]:
    """All answers in a recording with their seconds; later lines win.

    A broken line is an error, except a last line with no newline: that is an
    append cut short by a kill, so it is skipped. With ``mend`` the file is made
    to end on a whole line (the torn tail cut off, a missing final newline
    added), so the next append starts on a line of its own.
    """
    answers: dict[str, Stored] = {}
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return answers
    lines = data.decode("utf-8", errors="replace").split("\n")
    torn = False
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            seconds = row.get("seconds")
            answers[row["request_sha256"]] = (
                Completion(**row["completion"]),
                None if seconds is None else float(seconds),
            )
        except (ValueError, KeyError, TypeError) as exc:
            if number < len(lines):
                raise ConfigurationError(f"{path}:{number}: not a recording line: {exc}") from None
            torn = True
    if mend and data and not data.endswith(b"\n"):
        with path.open("r+b") as handle:
            if torn:
                handle.truncate(data.rfind(b"\n") + 1)
            else:
                handle.seek(0, os.SEEK_END)
                handle.write(b"\n")
    return answers


class RecordingFile:
    """A recording as an answer store: loaded once, appended one line per new answer."""

    def __init__(self, path: Path, *, mend: bool = False) -> None:
        self.path = path
        self.answers = load(path, mend=mend)
        self._writing = threading.Lock()

    def lookup(self, key: str) -> Stored | None:
        return self.answers.get(key)

    def keep(self, key: str, completion: Completion, seconds: float) -> None:
        with self._writing:
            if key in self.answers:
                return
            self.answers[key] = (completion, seconds)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            row: dict[str, Any] = {
                "request_sha256": key,
                "completion": asdict(completion),
                "seconds": round(seconds, 3),
            }
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                f.flush()
                os.fsync(f.fileno())


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
        if not recording.answers:
            raise ConfigurationError(f"no recording at {path}: record it first")
        super().__init__(None, recording, model=model, where=str(path))
