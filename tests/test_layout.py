"""The package's folders are its architecture: imports point down the pipeline.

Text flows text -> prompt -> backend -> parse/re-ask -> ground/normalize ->
result. A module may import from its own subpackage and from earlier layers,
never from a later one; two subpackages of one layer (scale and evals) never
import each other; nothing inside imports the package's top (the public API).
No module imports another module's private (underscore) names. A new
subpackage must be placed in ``LAYERS``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "llm_extract"

LAYERS = [
    {"errors", "redaction"},
    {"jsonl"},
    {"settings"},
    {"records"},
    {"text"},
    {"prompts"},
    {"backends"},
    {"grounding"},
    {"normalize"},
    {"core"},
    {"scale", "evals"},
    {"present"},
    {"__init__", "__main__"},
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def _unit(module: str) -> str:
    """``llm_extract.core.api`` -> ``core``; ``llm_extract`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(module: str, is_package: bool, source: str) -> Iterable[tuple[str, str]]:
    """(imported module, imported name) for each import of the package's own code."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            if target.split(".")[0] == "llm_extract":
                yield from ((target, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from ((a.name, "") for a in node.names if a.name.startswith("llm_extract"))


def violations(modules: Iterable[tuple[str, bool, str]]) -> list[str]:
    """Every import that points up the pipeline or takes a private name."""
    wrong = []
    for module, is_package, source in modules:
        here = _unit(module)
        for target, name in _imports(module, is_package, source):
            there = _unit(target)
            if name.startswith("_"):
                wrong.append(f"{module} imports private {target}.{name}")
            if there == here:
                continue
            if LAYER[there] >= LAYER[here] or there == "__init__":
                wrong.append(f"{module} imports {target}")
    return wrong


def _package_modules() -> list[tuple[str, bool, str]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        out.append((module, is_package, path.read_text("utf-8")))
    return out


def test_every_subpackage_and_top_module_is_placed() -> None:
    units = {_unit(module) for module, _, _ in _package_modules()}
    assert units <= set(LAYER), f"place {sorted(units - set(LAYER))} in LAYERS"


def test_imports_point_down_the_pipeline_and_skip_private_names() -> None:
    assert violations(_package_modules()) == []


def test_the_check_catches_what_it_forbids() -> None:
    probes = [
        ("llm_extract.backends.base", False, "from ..core.api import extract\n"),
        ("llm_extract.scale.batch", False, "from ..evals.scoring import score\n"),
        ("llm_extract.grounding.align", False, "from .. import extract\n"),
        ("llm_extract.core.api", False, "from ..text.windows import _private\n"),
        ("llm_extract.text.windows", False, "import llm_extract.present.cli\n"),
        ("llm_extract.errors", False, "from .redaction import mask\n"),
    ]
    assert len(violations(probes)) == len(probes)
    allowed = [("llm_extract.core.api", False, "from ..backends.base import Backend\n")]
    assert violations(allowed) == []
