"""An installed (non-editable) wheel must still find its prompt templates and adapter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_prompts(tmp_path: Path) -> None:
    pytest.importorskip("hatchling")
    wheels = tmp_path / "wheels"
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)],
        check=True,
    )
    (wheel,) = wheels.glob("llm_extract-*.whl")
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
        check=True,
    )
    probe = (
        "import llm_extract, llm_extract.prompts.build as p;"
        "from llm_extract.records.schemas import ArticleDeals;"
        "print(p.prompt_dir());"
        "print(len(p.build_messages(p.DEALS, ArticleDeals, 'Acme buys Beta.', spans=False)));"
        "from llm_extract.backends.embedded import ADAPTER_FILE;"
        "print(ADAPTER_FILE, ADAPTER_FILE.stat().st_size)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert Path(out[0]).is_relative_to(target), out
    assert (Path(out[0]) / "deals.system.j2").is_file()
    assert out[1] == "6"
    assert Path(out[2]).is_relative_to(target) and int(out[3]) > 1_000_000, out
