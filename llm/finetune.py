"""LoRA fine-tuning of the answer model on Jikji's exported chat data (PEFT, plain PyTorch loop).

The data are JSONL lines ``{"messages": [system, user, assistant], "meta": {...}}`` as written by
``jikji finetune export``. Each line becomes one example whose prompt is rendered exactly as the model
sees it at answer time (llama.cpp's chat format for the embedded server, the tokenizer's chat template
otherwise) and whose loss covers only the assistant turn. The base is an HF model directory or a GGUF,
which transformers dequantises once into an HF directory cached next to it.

Heavy dependencies (torch, transformers, peft) are imported inside the functions that need them.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CARD_NAME = "jikji-adapter.json"
IGNORE_INDEX = -100
TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
SYSTEM_FOLDED_FAMILIES = frozenset({"gemma", "base"})


class FinetuneError(RuntimeError):
    """Training cannot start (bad data, missing base, unsupported option); the message says why."""


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """One training run. The defaults fit a few CPU steps on gemma-3-270m in a few GiB of memory."""

    data: Path
    out: Path
    base: Path
    steps: int = 20
    rank: int = 8
    alpha: int | None = None  # None: 2 × rank
    learning_rate: float = 2e-4
    max_length: int = 768
    grad_accumulation: int = 1
    chat_format: str | None = "alpaca"  # llama.cpp chat format of the server; None: chat template
    prompt_family: str = "base"
    seed: int = 0
    quantize_4bit: bool = False  # QLoRA: needs a CUDA GPU and bitsandbytes
    threads: int | None = None
    max_seconds: float | None = None  # stop after the step that passes this (CPU: as many steps as fit)


@dataclass(slots=True)
class TrainResult:
    """What a run produced, also written as the adapter's card (``jikji-adapter.json``)."""

    adapter_dir: str
    base: str
    data: str
    data_sha256: str
    examples: int
    steps: int
    rank: int
    alpha: int
    learning_rate: float
    max_length: int
    target_modules: list[str]
    chat_format: str | None
    prompt_family: str
    seconds: float
    steps_per_s: float
    first_loss: float
    last_loss: float
    mean_last_losses: float
    adapter_bytes: int
    losses: list[float] = field(default_factory=list)
    document_ids: list[str] = field(default_factory=list)
    device: str = "cpu"


@dataclass(frozen=True, slots=True)
class Example:
    """One tokenised example: the ids and labels with the prompt masked (``-100``)."""

    input_ids: list[int]
    labels: list[int]


def training_documents(path: Path) -> list[str]:
    """Every document id the data's lines name in ``meta`` (answers and the sources in their prompts):
    what an adapter trained on them may repeat, recorded on its card so it is enabled only for groups
    that may see all of them."""
    ids: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        meta = json.loads(line).get("meta") or {}
        for key in ("document_ids", "context_document_ids"):
            ids.update(str(value) for value in meta.get(key) or ())
    return sorted(ids)


def read_chat_jsonl(path: Path) -> list[list[dict[str, str]]]:
    """The ``messages`` of each line; a line without an assistant turn last is refused."""
    if not path.is_file():
        raise FinetuneError(f"Training data not found: {path} / 학습 데이터 파일이 없습니다.")
    rows: list[list[dict[str, str]]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            messages = json.loads(line)["messages"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise FinetuneError(f"{path}:{number}: not a {{'messages': [...]}} line ({exc})") from exc
        if not messages or messages[-1].get("role") != "assistant" or not messages[-1].get("content"):
            raise FinetuneError(f"{path}:{number}: the last message must be the assistant's answer")
        rows.append([{"role": m["role"], "content": m["content"]} for m in messages])
    if not rows:
        raise FinetuneError(f"{path} holds no examples / 학습 예제가 없습니다.")
    return rows


def fold_system(messages: Sequence[dict[str, str]], family: str) -> list[dict[str, str]]:
    """Messages as Jikji sends them for ``family``: Gemma/base have no system role (the rules open the
    user turn)."""
    out = [dict(m) for m in messages]
    if family in SYSTEM_FOLDED_FAMILIES and out and out[0]["role"] == "system" and len(out) > 1:
        system = out.pop(0)["content"]
        out[0]["content"] = f"{system}\n\n{out[0]['content']}"
    return out


def render_prompt(messages: Sequence[dict[str, str]], chat_format: str | None, tokenizer: Any = None) -> str:
    """The prompt text the server builds from ``messages`` (all turns before the answer).

    With a llama.cpp chat format this is llama.cpp's own formatter; without one, the tokenizer's chat
    template with the generation prompt (what vLLM does).
    """
    if chat_format:
        from llama_cpp import llama_chat_format

        formatter = getattr(llama_chat_format, "format_" + chat_format.replace("-", "_"), None)
        if formatter is None:
            raise FinetuneError(f"Unknown llama.cpp chat format: {chat_format}")
        return str(formatter(list(messages)).prompt)
    if tokenizer is None or not getattr(tokenizer, "chat_template", None):
        raise FinetuneError("The base model has no chat template; give --chat-format (e.g. alpaca).")
    return str(tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True))


def encode(tokenizer: Any, prompt: str, answer: str, max_length: int) -> Example:
    """Token ids of prompt + answer + end of sequence; labels only on the answer.

    A prompt too long for ``max_length`` loses its oldest tokens (after BOS), so the question, which
    comes last, stays.
    """
    prompt_ids = tokenizer(prompt, add_special_tokens=True)["input_ids"]
    answer_ids = tokenizer(answer, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    answer_ids = answer_ids[: max(1, max_length // 2)]
    room = max_length - len(answer_ids)
    if len(prompt_ids) > room:
        head = prompt_ids[:1] if prompt_ids and prompt_ids[0] == tokenizer.bos_token_id else []
        prompt_ids = head + prompt_ids[len(prompt_ids) - (room - len(head)) :]
    return Example(prompt_ids + answer_ids, [IGNORE_INDEX] * len(prompt_ids) + answer_ids)


def build_examples(
    rows: Sequence[list[dict[str, str]]], tokenizer: Any, config: TrainConfig
) -> list[Example]:
    """Each conversation rendered and tokenised as the server would see it."""
    examples = []
    for messages in rows:
        turns = fold_system(messages[:-1], config.prompt_family)
        prompt = render_prompt(turns, config.chat_format, tokenizer)
        examples.append(encode(tokenizer, prompt, messages[-1]["content"], config.max_length))
    return examples


def hf_cache_dir(gguf_path: Path) -> Path:
    """Where the dequantised HF copy of a GGUF is kept (next to it)."""
    return gguf_path.with_name(gguf_path.stem + ".hf")


def ensure_hf_base(base: Path, on_progress: Callable[[str], None] = print) -> Path:
    """An HF model directory for ``base``: itself, or a GGUF dequantised once by transformers."""
    if base.is_dir():
        return base
    if not base.is_file() or base.suffix != ".gguf":
        raise FinetuneError(f"Base model not found (an HF directory or a .gguf file): {base}")
    target = hf_cache_dir(base)
    if (target / "config.json").is_file():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    on_progress(f"converting {base.name} to an HF model in {target} (once; a few minutes on CPU)")
    tokenizer = AutoTokenizer.from_pretrained(base.parent, gguf_file=base.name)
    model = AutoModelForCausalLM.from_pretrained(base.parent, gguf_file=base.name, dtype=torch.float32)
    # The weights are dequantised already; transformers only refuses to save while it remembers the GGUF.
    model.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    partial = target.with_name(target.name + ".partial")
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.rename(target)
    return target


def _cycle(items: Sequence[Example], seed: int) -> Iterator[Example]:
    import random

    rng = random.Random(seed)  # noqa: S311 - the order of examples, not a secret
    order = list(range(len(items)))
    while True:
        rng.shuffle(order)
        yield from (items[i] for i in order)


def training_device() -> str:
    """Where the model trains: the first CUDA GPU when there is one, else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _load_model(base_dir: Path, config: TrainConfig) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    if not config.quantize_4bit:
        if training_device() == "cuda":  # bf16 base on the GPU; PEFT keeps the adapter in float32
            return AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.bfloat16, device_map="cuda")
        return AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    if not torch.cuda.is_available():
        raise FinetuneError(
            "QLoRA (--4bit) needs a CUDA GPU and bitsandbytes / 4비트 학습에는 GPU가 필요합니다."
        )
    from peft import prepare_model_for_kbit_training
    from transformers import BitsAndBytesConfig

    quant = BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16
    )
    model = AutoModelForCausalLM.from_pretrained(base_dir, quantization_config=quant, device_map="auto")
    return prepare_model_for_kbit_training(model)


def _answer_loss(model: Any, example: Example, device: Any) -> Any:
    """Cross-entropy on the answer tokens only, computing the output layer just for them (with a
    262k-token vocabulary the output layer over the whole prompt costs as much as the rest of the model)."""
    import torch

    answer = sum(1 for label in example.labels if label != IGNORE_INDEX)
    ids = torch.tensor([example.input_ids], device=device)
    logits = model(input_ids=ids, logits_to_keep=answer + 1).logits[0, :-1]
    targets = torch.tensor(example.labels[-answer:], device=device)
    return torch.nn.functional.cross_entropy(logits.float(), targets)


def save_examples(examples: Sequence[Example], path: Path) -> None:
    """Write tokenised examples as JSONL (``input_ids``, ``labels``): training elsewhere (a GPU machine
    without llama.cpp) then needs neither the chat formatter nor the tokenizer."""
    path.write_text("".join(json.dumps(asdict(e)) + "\n" for e in examples), encoding="utf-8")


def load_examples(path: Path) -> list[Example]:
    """Examples written by :func:`save_examples`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Example(**json.loads(line)) for line in lines if line.strip()]


def train_lora(
    config: TrainConfig,
    on_progress: Callable[[str], None] = print,
    examples: Sequence[Example] | None = None,
) -> TrainResult:
    """Train a LoRA adapter; write it (PEFT format) and its card to ``config.out``.

    ``examples``: the data already tokenised (:func:`save_examples` of :func:`build_examples` on
    ``config.data``, made where llama.cpp's formatter is installed); default: tokenise ``config.data``."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoTokenizer

    if config.steps < 1 or config.rank < 1:
        raise FinetuneError("steps and rank must be at least 1")
    rows = read_chat_jsonl(config.data)
    base_dir = ensure_hf_base(config.base, on_progress)
    torch.manual_seed(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    if examples is None:
        examples = build_examples(rows, tokenizer, config)
    elif len(examples) != len(rows):
        raise FinetuneError(f"{len(examples)} tokenised examples for {len(rows)} lines of {config.data}")
    alpha = config.alpha or 2 * config.rank
    model = get_peft_model(
        _load_model(base_dir, config),
        LoraConfig(
            r=config.rank,
            lora_alpha=alpha,
            lora_dropout=0.05,
            target_modules=list(TARGET_MODULES),
            task_type="CAUSAL_LM",
        ),
    )
    device = next(model.parameters()).device
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate)
    model.train()
    losses: list[float] = []
    stream = _cycle(examples, config.seed)
    started = time.monotonic()
    for step in range(1, config.steps + 1):
        total = 0.0
        for _ in range(config.grad_accumulation):
            loss = _answer_loss(model, next(stream), device) / config.grad_accumulation
            loss.backward()
            total += float(loss.detach())
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(round(total, 4))
        rate = step / max(time.monotonic() - started, 1e-9)
        on_progress(f"step {step}/{config.steps} loss {total:.4f} ({rate:.2f} steps/s)")
        if config.max_seconds is not None and time.monotonic() - started >= config.max_seconds:
            on_progress(f"time budget of {config.max_seconds:.0f}s reached after {step} steps")
            break
    seconds = time.monotonic() - started
    config.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(config.out))
    tokenizer.save_pretrained(config.out)
    return _write_card(config, base_dir, len(examples), alpha, losses, seconds, str(device))


def _write_card(
    config: TrainConfig,
    base_dir: Path,
    n_examples: int,
    alpha: int,
    losses: list[float],
    seconds: float,
    device: str,
) -> TrainResult:
    weights = config.out / "adapter_model.safetensors"
    tail = losses[-max(1, len(losses) // 4) :]
    result = TrainResult(
        adapter_dir=str(config.out),
        base=str(config.base),
        data=str(config.data),
        data_sha256=hashlib.sha256(config.data.read_bytes()).hexdigest(),
        examples=n_examples,
        steps=len(losses),
        rank=config.rank,
        alpha=alpha,
        learning_rate=config.learning_rate,
        max_length=config.max_length,
        target_modules=list(TARGET_MODULES),
        chat_format=config.chat_format,
        prompt_family=config.prompt_family,
        seconds=round(seconds, 2),
        steps_per_s=round(len(losses) / max(seconds, 1e-9), 4),
        first_loss=losses[0],
        last_loss=losses[-1],
        mean_last_losses=round(math.fsum(tail) / len(tail), 4),
        adapter_bytes=weights.stat().st_size if weights.exists() else 0,
        losses=losses,
        document_ids=training_documents(config.data),
        device=device,
    )
    card = {**asdict(result), "hf_base": str(base_dir)}
    (config.out / CARD_NAME).write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")
    return result
