"""Write a PEFT LoRA adapter as the GGUF adapter file llama.cpp loads.

llama.cpp's adapter format: ``general.type = "adapter"``, ``adapter.type =
"lora"``, ``adapter.lora.alpha``, and for each adapted weight of the base GGUF
(``blk.N.attn_q.weight`` ...) two tensors, ``<name>.lora_a`` (rank x inputs,
PEFT's ``lora_A``) and ``<name>.lora_b`` (outputs x rank, PEFT's ``lora_B``).
Stored as float16, which keeps the file small at no measurable cost.

    python -m train.export_gguf ADAPTER_DIR OUT.gguf
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from pathlib import Path

_NAMES = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
_KEY = re.compile(r"layers\.(\d+)\.(\w+\.\w+)\.lora_([AB])\.weight$")


def export(source: Path, out: Path) -> int:
    import gguf
    import numpy as np
    from safetensors.numpy import load_file

    config = json.loads((source / "adapter_config.json").read_text())
    weights = load_file(str(source / "adapter_model.safetensors"))
    writer = gguf.GGUFWriter(str(out), "gemma3")
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(config["lora_alpha"]))
    for key, value in sorted(weights.items()):
        found = _KEY.search(key)
        if found is None:
            raise ValueError(f"unexpected adapter tensor {key}")
        block, module, half = found.groups()
        name = f"blk.{block}.{_NAMES[module]}.weight.lora_{half.lower()}"
        writer.add_tensor(name, value.astype(np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return len(weights)


def convert_cli(doc: str, convert: Callable[[Path, Path], int]) -> None:
    """``SOURCE OUT`` from the command line, described by ``doc``'s first line,
    converted; prints the tensor count. The export's and the import's command."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    n = convert(args.source, args.out)
    print(f"{n} tensors -> {args.out}")


def main() -> None:
    convert_cli(__doc__ or "", export)


if __name__ == "__main__":
    main()
