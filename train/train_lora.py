"""Train the embedded model's LoRA task adapter on CPU.

The base weights are read from the packaged GGUF itself (transformers
dequantizes it), so the adapter is trained against exactly the Q4_K_M weights
llama.cpp runs, not against a full-precision original. The loss covers the
answer tokens only, and logits are computed for those positions alone:
Gemma's 262k-token vocabulary makes full-sequence logits the dearest part of a
step. Matrix products run in bfloat16 where the CPU has it.

    python -m train.train_lora --data /tmp/adapter-data --out /tmp/adapter
    python -m train.export_gguf /tmp/adapter llm_extract/backends/adapters/deal-windows.gguf

``--resume ADAPTER --skip N`` goes on training an adapter through the same
shuffled order from step N (with the same ``--seed`` and ``--data``), e.g.
the second half of an epoch the first run stopped halfway through.

Prints the loss every 25 steps, the validation loss at the end, and the
time and peak memory the run took.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time
from pathlib import Path
from typing import Any

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
DROPOUT = 0.05


def _load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--max-tokens", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", type=Path, help="an adapter folder to go on training")
    parser.add_argument(
        "--skip", type=int, default=0, help="steps of the same shuffled order already trained"
    )
    return parser.parse_args()


def _load_model(args: argparse.Namespace) -> tuple[Any, Any]:
    """The tokenizer and the model read from the packaged GGUF, with a new LoRA
    adapter or the ``--resume`` one to go on training."""
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from llm_extract.backends.embedded import embedded_model_path
    from llm_extract.settings import Settings

    gguf = embedded_model_path(Settings())
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32
    )
    if args.resume:
        model = PeftModel.from_pretrained(model, args.resume, is_trainable=True)
    else:
        config = LoraConfig(
            r=args.rank, lora_alpha=2 * args.rank, target_modules=TARGETS, lora_dropout=DROPOUT
        )
        model = get_peft_model(model, config)
    return tok, model


def _encode(
    tok: Any, rows: list[dict[str, Any]], max_tokens: int
) -> list[tuple[list[int], list[int]]]:
    """(prompt ids, answer ids) of each row that fits in ``max_tokens``."""
    out = []
    for row in rows:
        prompt = tok(row["prompt"], add_special_tokens=True).input_ids
        answer = tok(row["answer"] + "<end_of_turn>", add_special_tokens=False).input_ids
        if len(prompt) + len(answer) <= max_tokens:
            out.append((prompt, answer))
    return out


def _loss_of(base: Any, prompt: list[int], answer: list[int]) -> Any:
    """The answer tokens' loss, with logits computed for those positions alone."""
    import torch

    ids = torch.tensor([prompt + answer])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        hidden = base.model(input_ids=ids).last_hidden_state
    at = hidden[:, len(prompt) - 1 : len(prompt) - 1 + len(answer)].float()
    logits = base.lm_head(at)
    return torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), ids[:, len(prompt) :].reshape(-1)
    )


def _order(examples: int, epochs: float, skip: int, rng: random.Random) -> list[int]:
    """The training examples' shuffled order over ``epochs``, from step ``skip`` on."""
    total = int(examples * epochs)
    order: list[int] = []
    while len(order) < total:
        batch = list(range(examples))
        rng.shuffle(batch)
        order += batch
    return order[skip:total]


def _train(
    model: Any,
    base: Any,
    train: list[tuple[list[int], list[int]]],
    order: list[int],
    lr: float,
    started: float,
) -> None:
    """One optimizer step per example in ``order``, printing the loss every 25 steps."""
    import torch

    steps = len(order)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 20) * max(0.05, 1 - s / steps)
    )
    model.train()
    recent: list[float] = []
    for step, i in enumerate(order):
        loss = _loss_of(base, *train[i])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        recent = [*recent[-24:], loss.item()]
        if step % 25 == 0:
            mean = sum(recent) / len(recent)
            print(f"step {step}/{steps} loss {mean:.4f} {time.time() - started:.0f}s", flush=True)


def _summary(
    args: argparse.Namespace, examples: int, steps: int, val_loss: float, started: float
) -> dict[str, Any]:
    """What ``training.json`` records of the run."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "examples": examples,
        "steps": steps,
        "skipped": args.skip,
        "resumed_from": str(args.resume) if args.resume else None,
        "rank": args.rank,
        "lr": args.lr,
        "val_loss": round(val_loss, 4),
        "seconds": round(time.time() - started),
        "peak_rss_mb": round(peak),
        "threads": args.threads,
    }


def main() -> None:
    import torch

    args = _parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    started = time.time()

    tok, model = _load_model(args)
    base = model.base_model.model
    train = _encode(tok, _load(args.data / "train.jsonl"), args.max_tokens)
    val = _encode(tok, _load(args.data / "val.jsonl"), args.max_tokens)
    order = _order(len(train), args.epochs, args.skip, rng)
    _train(model, base, train, order, args.lr, started)
    model.eval()
    with torch.no_grad():
        val_loss = sum(_loss_of(base, *ex).item() for ex in val) / max(len(val), 1)
    model.save_pretrained(args.out)
    summary = _summary(args, len(train), len(order), val_loss, started)
    (args.out / "training.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
