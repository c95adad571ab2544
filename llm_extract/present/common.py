"""What every ``llm-extract`` command shares: the stderr console, the common
options, exit codes, and reading an article safely.

Exit codes: 0 success; 1 the extraction failed (the message names the cause);
2 bad input or usage. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.text import Text

from ..core.pipeline import check_text
from ..errors import InputError

# markup=False everywhere: messages carry file names, server errors and user input,
# which must print as they are ("[/x].txt", "[redacted]"), never as Rich markup.
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

ModelOpt = Annotated[str | None, typer.Option(help="Model name, or a .gguf path.")]
BaseUrlOpt = Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible server URL.")]
SecondLookOpt = Annotated[
    float | None,
    typer.Option(
        help="Ask a deal window again, for a deal, when its 'no deals' had a lower probability."
    ),
]
RestLookOpt = Annotated[
    bool | None,
    typer.Option(
        "--rest-look/--no-rest-look",
        help="Ask again about a deal window's deal-word sentences its deals left uncovered.",
    ),
]
PhrasesOpt = Annotated[
    bool | None,
    typer.Option(
        "--phrases/--no-phrases",
        help="Add the deals a window states in a fixed phrasing that the answer left out.",
    ),
]
SpansOpt = Annotated[
    bool | None,
    typer.Option("--spans/--no-spans", help="Constrain text fields to article spans."),
]
StrategyOpt = Annotated[
    str | None,
    typer.Option(
        help="windows (a record per deal passage), record (one per article) or full schema."
    ),
]
ReasksOpt = Annotated[int | None, typer.Option(help="Re-asks after an invalid answer.")]
TimeoutOpt = Annotated[float | None, typer.Option(help="Seconds per request.")]

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def fail(code: int, message: str) -> NoReturn:
    err.print(Text.assemble(("error:", "bold red"), " ", message))
    raise typer.Exit(code)


def read_text(source: str, max_chars: int = 2_000_000) -> str:
    """Read an article from a path or ``-`` (stdin) as UTF-8 text.

    Reads at most what ``max_chars`` characters can take in UTF-8 (4 bytes
    each, plus a margin), so ``/dev/zero`` or an endless pipe cannot fill
    memory, and refuses what is not a regular file (a FIFO or a device would
    block or never end). Raises :class:`InputError` with a one-line reason for
    anything that is not usable text, so the CLI can map it to exit code 2.
    """
    limit = max_chars * 4 + 4096
    if source == "-":
        data, where = sys.stdin.buffer.read(limit + 1), "standard input"
    else:
        data, where = _read_file(Path(source), limit), source
    if len(data) > limit:
        raise InputError(f"{where}: more than max_chars={max_chars:,} characters; split it")
    if b"\x00" in data:
        raise InputError(f"{where}: looks binary (contains NUL bytes), not a text article")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{where}: not valid UTF-8 (byte {exc.start}); convert it, e.g. with iconv"
        ) from None
    try:
        return check_text(text)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def _read_file(path: Path, limit: int) -> bytes:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a text file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file (a pipe or device); save the text to a file")
    try:
        with path.open("rb") as handle:
            return handle.read(limit + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def writable(path: Path) -> None:
    """Raise :class:`InputError` unless ``path`` can be written, before any model call."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a directory")
    if not parent.is_dir():
        raise InputError(f"cannot write {path}: no directory {parent}")
    if not os.access(path if path.exists() else parent, os.W_OK):
        raise InputError(f"cannot write {path}: permission denied")


def published_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"--published must be a date like 2024-05-31, not {value!r}") from None
