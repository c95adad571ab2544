"""train.import_gguf: GGUF adapter tensor names read back as PEFT's keys."""

from __future__ import annotations

import pytest

from train.export_gguf import _KEY, _NAMES
from train.import_gguf import peft_key


@pytest.mark.parametrize("module", sorted(_NAMES.values()))
@pytest.mark.parametrize("half", ["a", "b"])
def test_every_adapted_tensor_name_comes_back_as_the_key_export_reads(
    module: str, half: str
) -> None:
    name = f"blk.17.{module}.weight.lora_{half}"
    key = peft_key(name)
    assert key.startswith("base_model.model.model.layers.17.")
    found = _KEY.search(key)
    assert found is not None
    block, long_name, upper = found.groups()
    assert f"blk.{block}.{_NAMES[long_name]}.weight.lora_{upper.lower()}" == name


@pytest.mark.parametrize(
    "name", ["blk.0.attn_norm.weight.lora_a", "token_embd.weight", "blk.x.attn_q.weight.lora_a"]
)
def test_a_tensor_that_is_no_lora_half_of_an_adapted_module_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not a LoRA tensor"):
        peft_key(name)
