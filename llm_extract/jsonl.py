"""Reading JSON Lines: one reader for every JSONL file the package reads.

Gold sets, predictions, corpora (plain or gzip) all go through
:func:`read_jsonl`, so a broken line is always reported the same way, with
the file and its 1-based line number. Files that must survive a killed
writer (batch output, recordings) add their own torn-line handling on top.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import InputError


def read_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """(line number, value) for each non-blank line of ``path``.

    A ``.gz`` file is read through gzip. A line that is not JSON raises
    :class:`InputError` naming ``path:line``; a missing file raises
    ``OSError`` as ``open`` does.
    """
    path = Path(path)
    with _open(path) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except ValueError as exc:
                raise InputError(f"{path}:{number}: not JSON: {exc}") from None


def _open(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")
