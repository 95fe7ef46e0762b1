"""``jikji finetune train`` / ``to-gguf`` (a LoRA adapter from exported data, and its llama.cpp form) and
``jikji adapters list|enable|disable`` (which group a fine-tuned adapter answers; the gate decides)."""

from __future__ import annotations

import argparse
import json
import sys

from app.cli.common import fail, open_container
from app.services import adapters
from app.services.errors import AppError
from core.settings import Settings
from llm.finetune import FinetuneError, TrainConfig, train_lora
from llm.gguf import ensure_default_gguf
from llm.lora import LoraConversionError, convert_peft_to_gguf


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def cmd_train(settings: Settings, args: argparse.Namespace) -> int:
    """Train a LoRA adapter on ``--data`` (``jikji finetune export``'s train.jsonl) into ``--out``; with
    ``--gguf`` (default on) also write ``adapter.gguf`` for the embedded llama.cpp server."""
    base = args.base or settings.llm.model_path or ensure_default_gguf(settings.models_dir)
    config = TrainConfig(
        data=args.data,
        out=args.out,
        base=base,
        steps=args.steps,
        rank=args.rank,
        learning_rate=args.lr,
        max_length=args.max_length,
        grad_accumulation=args.grad_accumulation,
        chat_format=settings.llm.chat_format or None
        if args.chat_format is None
        else args.chat_format or None,
        prompt_family=settings.llm.prompt_family,
        quantize_4bit=args.four_bit,
        threads=settings.llm.threads,
        max_seconds=args.max_minutes * 60 if args.max_minutes else None,
    )
    try:
        result = train_lora(config, on_progress=_progress)
        converted = convert_peft_to_gguf(args.out) if args.gguf else None
    except (FinetuneError, LoraConversionError) as exc:
        return fail(f"학습 실패 / training failed: {exc}", 2)
    print(
        f"adapter: {result.adapter_dir} ({result.adapter_bytes / 2**20:.1f} MiB, rank {result.rank}); "
        f"{result.examples} examples, {result.steps} steps in {result.seconds:.0f}s "
        f"({result.steps_per_s:.3f} steps/s); loss {result.first_loss:.3f} → {result.mean_last_losses:.3f}"
    )
    if converted is not None:
        size = converted.bytes / 2**20
        print(f"llama.cpp LoRA: {converted.path} ({size:.1f} MiB, {converted.tensors} tensors)")
    return 0


def cmd_to_gguf(_settings: Settings, args: argparse.Namespace) -> int:
    """Write a PEFT adapter folder as the GGUF LoRA llama.cpp loads."""
    try:
        converted = convert_peft_to_gguf(args.adapter, args.out, arch=args.arch)
    except LoraConversionError as exc:
        return fail(f"변환 실패 / conversion failed: {exc}", 2)
    size = converted.bytes / 2**20
    print(f"{converted.path} ({size:.1f} MiB, {converted.tensors} tensors, rank {converted.rank})")
    return 0


def cmd_list(settings: Settings, _args: argparse.Namespace) -> int:
    """The configured adapters and which groups they answer."""
    llm = settings.llm
    for name, adapter in sorted(llm.adapters.items()):
        print(f"adapter {name}: model {llm.served_model(name)!r}, path {adapter.path or '-'}")
    with open_container(settings) as container, container.sessions() as session:
        rows = adapters.list_assignments(session)
    for row in rows:
        state = "on" if row.enabled else "off"
        why = f"gate run {row.gate_run_id}" if row.gate_run_id else f"override: {row.override_reason}"
        print(f"{row.group}: {row.adapter} [{state}] ({why})")
    if not llm.adapters and not rows:
        print("어댑터가 없습니다 / no adapters (set JIKJI_LLM__ADAPTERS)")
    return 0


def cmd_enable(settings: Settings, args: argparse.Namespace) -> int:
    """Switch an adapter on for a group through a passed gate run (or ``--override REASON``)."""
    with open_container(settings) as container, container.sessions.begin() as session:
        try:
            view = adapters.enable(
                session,
                settings.llm,
                None,
                group=args.group,
                adapter=args.adapter,
                gate_run_id=args.gate_run,
                override_reason=args.override,
            )
        except AppError as exc:
            return fail(f"{exc.message_ko} / {exc.message_en}", 1)
    print(json.dumps(view.as_dict(), ensure_ascii=False))
    return 0


def cmd_disable(settings: Settings, args: argparse.Namespace) -> int:
    """Switch a group back to the base model."""
    with open_container(settings) as container, container.sessions.begin() as session:
        try:
            view = adapters.disable(session, None, group=args.group)
        except AppError as exc:
            return fail(f"{exc.message_ko} / {exc.message_en}", 1)
    print(json.dumps(view.as_dict(), ensure_ascii=False))
    return 0
