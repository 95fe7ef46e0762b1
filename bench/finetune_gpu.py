"""Train the embedded model's LoRA adapter on a GPU machine that has torch/transformers/peft but neither
llama.cpp nor this project's virtual environment (issue 17: "where a GPU is at hand, train properly").

Usage:
  here:  python -m bench.finetune_gpu prepare --data train.jsonl --hf-base DIR.hf --out examples.jsonl
  there: python -m bench.finetune_gpu train --data train.jsonl --examples examples.jsonl \\
             --gguf model.gguf --tokenizer DIR --out ADAPTER --epochs 3

``prepare`` renders and tokenises every exported conversation exactly as ``jikji finetune train`` does
(llama.cpp's chat formatter, loss only on the answer) and writes them as JSONL. ``train`` builds the HF
base from the GGUF (dequantised by transformers) and the tokenizer files brought along (converting the
GGUF's tokenizer takes minutes), then runs :func:`llm.finetune.train_lora` on those examples; the
adapter (PEFT), its card and a loss log are written to ``--out``. Convert it for llama.cpp here with
``jikji finetune to-gguf ADAPTER``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from llm.finetune import (
    TrainConfig,
    build_examples,
    load_examples,
    read_chat_jsonl,
    save_examples,
    train_lora,
)

KEEP = ("adapter_model.safetensors", "adapter_config.json", "jikji-adapter.json")


def prepare(args: argparse.Namespace) -> None:
    """Tokenise ``--data`` as the trainer would (run where llama-cpp-python is installed)."""
    from transformers import AutoTokenizer

    config = TrainConfig(data=args.data, out=Path(), base=args.hf_base, max_length=args.max_length)
    tokenizer = AutoTokenizer.from_pretrained(args.hf_base)
    examples = build_examples(read_chat_jsonl(args.data), tokenizer, config)
    save_examples(examples, args.out)
    lengths = sorted(len(e.input_ids) for e in examples)
    print(f"{len(examples)} examples, tokens p50 {lengths[len(lengths) // 2]} max {lengths[-1]} → {args.out}")


def hf_base(gguf: Path, tokenizer_dir: Path, target: Path) -> Path:
    """An HF model directory: the GGUF's weights dequantised, the tokenizer from ``tokenizer_dir``."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    model.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(target)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tokenizer_dir / name, target / name)
    return target


def train(args: argparse.Namespace) -> None:
    """Fit the adapter on the tokenised examples; keep only the adapter, its config and card."""
    examples = load_examples(args.examples)
    steps = args.steps or args.epochs * len(examples) // args.grad_accumulation
    base = hf_base(args.gguf, args.tokenizer, args.work / "base.hf")
    config = TrainConfig(
        data=args.data,
        out=args.out,
        base=base,
        steps=steps,
        rank=args.rank,
        learning_rate=args.lr,
        max_length=args.max_length,
        grad_accumulation=args.grad_accumulation,
    )
    log = (args.out.parent / "train.log").open("w", encoding="utf-8")

    def progress(line: str) -> None:
        print(line, file=log, flush=True)

    result = train_lora(config, on_progress=progress, examples=examples)
    for path in args.out.iterdir():
        if path.name not in KEEP:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    print(
        f"{result.examples} examples, {result.steps} steps on {result.device} in {result.seconds:.0f}s "
        f"({result.steps_per_s:.2f} steps/s); loss {result.first_loss:.3f} → {result.mean_last_losses:.3f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("prepare")
    one.add_argument("--data", type=Path, required=True)
    one.add_argument("--hf-base", type=Path, required=True)
    one.add_argument("--out", type=Path, required=True)
    one.add_argument("--max-length", type=int, default=2048)
    two = commands.add_parser("train")
    two.add_argument("--data", type=Path, required=True)
    two.add_argument("--examples", type=Path, required=True)
    two.add_argument("--gguf", type=Path, required=True)
    two.add_argument("--tokenizer", type=Path, required=True)
    two.add_argument("--out", type=Path, required=True)
    two.add_argument("--work", type=Path, default=Path("/tmp/finetune-gpu"))
    two.add_argument("--epochs", type=int, default=3)
    two.add_argument("--steps", type=int, default=0)
    two.add_argument("--rank", type=int, default=8)
    two.add_argument("--lr", type=float, default=2e-4)
    two.add_argument("--max-length", type=int, default=2048)
    two.add_argument("--grad-accumulation", type=int, default=4)
    args = parser.parse_args(argv)
    prepare(args) if args.command == "prepare" else train(args)


if __name__ == "__main__":
    main(sys.argv[1:])
