"""An installed (non-editable) wheel must still find its prompt templates."""

from __future__ import annotations

import re
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
        "import llm_extract, llm_extract.prompts as p;"
        "from llm_extract.schemas import ArticleDeals;"
        "print(p.prompt_dir());"
        "print(len(p.build_messages(p.DEALS, ArticleDeals, 'Acme buys Beta.', spans=False)))"
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


# Each module may import only from modules in an earlier tier: text flows
# text -> prompt -> backend -> parse -> repair -> ground/normalize -> result, and
# the consumers (api, batch, evals, cli) sit on top. A new module must be placed.
TIERS = [
    {"errors", "schemas", "parsing", "matching", "company_names", "baselines", "redaction"},
    {"sentences"},
    {"grounding"},
    {"confidence"},
    {"settings", "slots", "chunks", "goldsets", "normalize", "windows"},
    {"prompts", "backends", "transport", "converters", "evals"},
    {"pipeline", "recordings", "embedded", "relations"},
    {"providers", "cache", "review"},
    {"api"},
    {"batch", "distributed", "eval_runner"},
    {"cli", "__init__"},
    {"__main__"},
]


def test_modules_import_only_from_earlier_tiers() -> None:
    package = Path(__file__).resolve().parent.parent / "llm_extract"
    tier = {name: i for i, names in enumerate(TIERS) for name in names}
    modules = {p.stem for p in package.glob("*.py")}
    assert modules == set(tier), "place new modules in TIERS"
    pattern = re.compile(r"^\s*from \.(\w*) import \(?([\w, ]*)", re.MULTILINE)
    wrong = []
    for module in sorted(modules):
        for source, names in pattern.findall((package / f"{module}.py").read_text("utf-8")):
            for dep in [source] if source else [n.strip() for n in names.split(",")]:
                if tier[dep] >= tier[module]:
                    wrong.append(f"{module} imports {dep}")
    assert not wrong
