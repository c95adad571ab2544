"""Read a GGUF LoRA adapter back into a PEFT adapter folder, to go on training it.

The inverse of :mod:`train.export_gguf`. The shipped adapter is kept only as
the GGUF llama.cpp loads; this writes the ``adapter_config.json`` and
``adapter_model.safetensors`` that ``train.train_lora --resume`` reads, so
a further epoch starts from the shipped weights instead of from scratch
(an epoch is about an hour on 2 cores). The float16 values of the GGUF are
kept as float32; the rank comes from the tensors and ``lora_alpha`` from
``adapter.lora.alpha``. Dropout and the target modules are
:mod:`train.train_lora`'s.

    python -m train.import_gguf llm_extract/backends/adapters/deal-windows.gguf /tmp/shipped
    python -m train.train_lora --data /tmp/adapter-data --out /tmp/adapter \\
        --resume /tmp/shipped --epochs 2 --skip 1536
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .export_gguf import _NAMES, convert_cli
from .train_lora import DROPOUT, TARGETS

_MODULES = {short: long for long, short in _NAMES.items()}
_GGUF_KEY = re.compile(r"^blk\.(\d+)\.(\w+)\.weight\.lora_([ab])$")


def peft_key(name: str) -> str:
    """PEFT's key for a GGUF adapter tensor: ``blk.3.attn_q.weight.lora_a`` is
    ``base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight``.
    Raises ``ValueError`` for a tensor that is no LoRA half of a known module."""
    found = _GGUF_KEY.match(name)
    if found is None or found.group(2) not in _MODULES:
        raise ValueError(f"not a LoRA tensor of an adapted module: {name}")
    block, module, half = found.groups()
    return f"base_model.model.model.layers.{block}.{_MODULES[module]}.lora_{half.upper()}.weight"


def _field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    if field is None:
        raise ValueError(f"not a LoRA adapter GGUF: no {key}")
    value = field.parts[field.data[0]]
    return bytes(value).decode() if field.types[0].name == "STRING" else value[0]


def import_adapter(source: Path, out: Path) -> int:
    """Write ``source``'s tensors and config as a PEFT folder ``out``; the tensor count."""
    import gguf
    import numpy as np
    from safetensors.numpy import save_file

    reader = gguf.GGUFReader(str(source))
    if _field(reader, "general.type") != "adapter" or _field(reader, "adapter.type") != "lora":
        raise ValueError(f"{source} is not a LoRA adapter GGUF")
    weights = {peft_key(t.name): np.array(t.data, dtype=np.float32) for t in reader.tensors}
    ranks = {w.shape[0] for k, w in weights.items() if ".lora_A." in k}
    if len(ranks) != 1:
        raise ValueError(f"{source}: the LoRA halves disagree on the rank ({sorted(ranks)})")
    out.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(out / "adapter_model.safetensors"))
    config = {
        "peft_type": "LORA",
        "r": ranks.pop(),
        "lora_alpha": float(_field(reader, "adapter.lora.alpha")),
        "lora_dropout": DROPOUT,
        "target_modules": TARGETS,
        "bias": "none",
        "inference_mode": False,
    }
    (out / "adapter_config.json").write_text(json.dumps(config, indent=2) + "\n")
    return len(weights)


def main() -> None:
    convert_cli(__doc__ or "", import_adapter)


if __name__ == "__main__":
    main()
