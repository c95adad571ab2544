"""Hand-written environment parsing vs pydantic-settings (issue 14), side by side.

    python bench/settings_resolve.py [--rounds 7]

``Settings.resolve`` now reads ``LLM_EXTRACT_*`` and ``OPENAI_*`` through
pydantic-settings. The baseline below is the hand-written reader it replaced,
kept here only to be measured. Both build the same :class:`Settings` from the
same mappings (checked), interleaved, order alternating each round, medians
of per-call means, reported as new/old; then the one-off import cost, in
fresh processes.
Every public call (``extract_deal`` without ``settings=``) resolves once.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from libraries import side_by_side

from llm_extract.errors import ConfigurationError
from llm_extract.settings import PROVIDERS, Settings

_NUMBERS: dict[str, type[float] | type[int]] = {
    "timeout": float, "deadline": float, "transport_retries": int, "reasks": int,
    "max_tokens": int, "slots": int, "second_look": float,
}  # fmt: skip


def baseline_resolve(env: Mapping[str, str], **explicit: Any) -> Settings:
    """The hand-written reader pydantic-settings replaced (stop 20's settings.py)."""
    values: dict[str, Any] = {k: v for k, v in explicit.items() if v is not None}
    from_env = {
        "model": env.get("LLM_EXTRACT_MODEL"),
        "base_url": env.get("LLM_EXTRACT_BASE_URL") or env.get("OPENAI_BASE_URL"),
        "api_key": env.get("LLM_EXTRACT_API_KEY") or env.get("OPENAI_API_KEY"),
        "model_path": env.get("LLM_EXTRACT_MODEL_PATH"),
        "adapter": env.get("LLM_EXTRACT_ADAPTER"),
    }
    provider = str(values.get("model") or from_env["model"] or "").partition("/")[0]
    if provider in PROVIDERS and provider != "openai":
        from_env["base_url"] = env.get("LLM_EXTRACT_BASE_URL")
        from_env["api_key"] = env.get("LLM_EXTRACT_API_KEY")
    for name, value in from_env.items():
        if value and name not in values:
            values[name] = value
    for name, kind in _NUMBERS.items():
        raw = env.get(f"LLM_EXTRACT_{name.upper()}")
        if raw and name not in values:
            try:
                values[name] = kind(raw)
            except ValueError:
                raise ConfigurationError(f"LLM_EXTRACT_{name.upper()} is bad") from None
    return Settings(**values)


ENVIRONMENTS: list[dict[str, str]] = [
    {},
    {"OPENAI_API_KEY": "sk-bench-" + "x" * 20, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"},
    {"LLM_EXTRACT_MODEL": "anthropic/claude-x", "OPENAI_API_KEY": "sk-" + "y" * 20,
     "LLM_EXTRACT_TIMEOUT": "20", "LLM_EXTRACT_SLOTS": "2", "LLM_EXTRACT_SECOND_LOOK": "0.8"},
    {**{f"NOISE_{i}": str(i) for i in range(60)}, "LLM_EXTRACT_REASKS": "1", "HOME": "/root"},
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    for env in ENVIRONMENTS:
        assert baseline_resolve(env, reasks=3) == Settings.resolve(env=env, reasks=3), env
    print(f"load average at start: {os.getloadavg()[0]:.2f}; {args.rounds} rounds, medians")
    old, new = side_by_side(
        lambda: [baseline_resolve(env, reasks=3) for env in ENVIRONMENTS],
        lambda: [Settings.resolve(env=env, reasks=3) for env in ENVIRONMENTS],
        args.rounds,
        calls=200,
    )
    n = len(ENVIRONMENTS)
    print(f"Settings.resolve over {n} environments (same Settings from each, checked):")
    print(f"  old {old / n * 1e6:.0f} us/call, new {new / n * 1e6:.0f} us/call, "
          f"new/old {new / old:.2f}")  # fmt: skip

    from llm_extract import settings as module

    def uncached() -> None:
        module._parse.cache_clear()
        Settings.resolve(env=ENVIRONMENTS[2], reasks=3)

    _, first = side_by_side(lambda: None, uncached, args.rounds, calls=20)
    print(f"  new, an environment not seen before (pydantic-settings builds its reader): "
          f"{first * 1e3:.2f} ms")  # fmt: skip

    def spawn(modules: str) -> Any:
        cmd = [sys.executable, "-c", f"import {modules}"]
        return lambda: subprocess.run(cmd, check=True)

    stack = "pydantic, openai, instructor, jinja2"
    c_old, c_new = side_by_side(spawn(stack), spawn(f"{stack}, pydantic_settings"),
                                args.rounds, calls=1)  # fmt: skip
    print(f"fresh process importing {stack} (old), and pydantic-settings too (new):")
    print(
        f"  old {c_old * 1e3:.0f} ms, new {c_new * 1e3:.0f} ms: pydantic-settings adds "
        f"{(c_new - c_old) * 1e3:.0f} ms to every process that imports llm_extract"
    )


if __name__ == "__main__":
    main()
