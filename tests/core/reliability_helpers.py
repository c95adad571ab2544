"""What the regression tests of test_reliability*.py share: an article, an answer,
settings for the fake server, the CLI runner and a JSONL input file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from llm_extract import Settings
from llm_extract.present.cli import app

TEXT = "Acme Corp agreed to buy Beta Inc for 5 mln dlrs."
ANSWER = json.dumps(
    {"buyer": "Acme Corp", "target": "Beta Inc", "seller": None, "amount": "5 mln dlrs",
     "status": "agreed", "business": None, "location": None, "trigger": "agreed to buy",
     "deal_type": "acquisition"}
)  # fmt: skip


def settings_for(base_url: str, **changes: Any) -> Settings:
    options: dict[str, Any] = {"base_url": base_url, "api_key": "k", "model": "m",
                               "strategy": "record", "spans": False, "transport_retries": 0,
                               "reasks": 0, "timeout": 10.0}  # fmt: skip
    return Settings(**(options | changes))


def run_cli(args: list[str], stdin: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args, input=stdin)
    return result.exit_code, result.stdout, result.stderr


def jsonl_file(path: Path, n: int) -> Path:
    path.write_text("".join(json.dumps({"id": i, "text": TEXT}) + "\n" for i in range(n)))
    return path
