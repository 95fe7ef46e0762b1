"""A tuned ``vllm serve`` command for a SOLAR fine-tune, and the Jikji settings that match it."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

BYTES_PER_PARAM_BF16 = 2
KV_BYTES_PER_TOKEN_SOLAR = 192 * 1024  # 48 layers × 8 KV heads × 128 dims × 2 (K,V) × 2 bytes
# LoRA parameters per unit of rank on SOLAR-10.7B (48 layers; hidden 4096, KV 1024, MLP 14336) when
# q,k,v,o and gate,up,down are adapted: Σ(in + out) = 2·8192 + 2·5120 + 3·18432 = 81,920 per layer.
LORA_PARAMS_PER_RANK_SOLAR = 48 * 81_920
VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)  # the ranks vLLM's --max-lora-rank accepts
DEFAULT_LORA_RANK = 16


def adapter_rank(path: str) -> int | None:
    """The rank in a local PEFT adapter's ``adapter_config.json`` (None when it cannot be read here)."""
    config = Path(path) / "adapter_config.json"
    try:
        return int(json.loads(config.read_text(encoding="utf-8"))["r"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True, slots=True)
class VllmPlan:
    """What to serve and how; the defaults suit SOLAR-10.7B in bf16 on one 80 GB H100."""

    model: str = "upstage/SOLAR-10.7B-Instruct-v1.0"
    served_name: str = "solar-10.7b-jikji"
    params_billion: float = 10.7
    gpu_memory_gib: float = 79.0  # an H100 80GB reports about 79.6 GiB
    gpu_memory_utilization: float = 0.90
    max_model_len: int = 4096
    max_num_seqs: int = 64
    port: int = 8000
    lora_modules: dict[str, str] = field(default_factory=dict)
    max_loras: int | None = None  # adapters in one batch; None: all of them, at most 4

    @property
    def max_lora_rank(self) -> int:
        """The smallest rank vLLM accepts that holds every adapter (16 when none can be read here)."""
        ranks = [adapter_rank(path) or DEFAULT_LORA_RANK for path in self.lora_modules.values()]
        needed = max(ranks, default=DEFAULT_LORA_RANK)
        return next((r for r in VLLM_LORA_RANKS if r >= needed), VLLM_LORA_RANKS[-1])

    @property
    def lora_slots(self) -> int:
        """``--max-loras``: adapters served in the same batch."""
        return self.max_loras or max(1, min(len(self.lora_modules), 4))

    @property
    def lora_gib(self) -> float:
        """GPU memory vLLM reserves for the LoRA slots (bf16, at ``max_lora_rank``)."""
        per_slot = LORA_PARAMS_PER_RANK_SOLAR * self.max_lora_rank * BYTES_PER_PARAM_BF16
        return self.lora_slots * per_slot / 2**30

    @property
    def weights_gib(self) -> float:
        """Weight memory in GiB (bf16)."""
        return self.params_billion * 1e9 * BYTES_PER_PARAM_BF16 / 2**30

    @property
    def kv_cache_tokens(self) -> int:
        """Tokens of KV cache left after weights and ~2 GiB of activations/overheads."""
        lora = self.lora_gib if self.lora_modules else 0.0
        free = self.gpu_memory_gib * self.gpu_memory_utilization - self.weights_gib - 2.0 - lora
        return max(0, int(free * 2**30 / KV_BYTES_PER_TOKEN_SOLAR))

    @property
    def full_context_sequences(self) -> int:
        """How many sequences at ``max_model_len`` fit in the KV cache at once."""
        return self.kv_cache_tokens // self.max_model_len

    def command(self) -> list[str]:
        """The ``vllm serve`` command line."""
        cmd = [
            "vllm", "serve", self.model,
            "--served-model-name", self.served_name,
            "--dtype", "bfloat16",
            "--max-model-len", str(self.max_model_len),
            "--gpu-memory-utilization", str(self.gpu_memory_utilization),
            "--max-num-seqs", str(self.max_num_seqs),
            "--enable-prefix-caching",
            "--port", str(self.port),
        ]  # fmt: skip
        if self.lora_modules:
            cmd += ["--enable-lora", "--max-lora-rank", str(self.max_lora_rank)]
            cmd += [
                "--max-loras",
                str(self.lora_slots),
                "--max-cpu-loras",
                str(max(len(self.lora_modules), 1)),
            ]
            cmd += ["--lora-modules"]
            cmd += [f"{name}={path}" for name, path in sorted(self.lora_modules.items())]
        return cmd

    def jikji_env(self, host: str = "gpu-host") -> dict[str, str]:
        """The Jikji settings that point at this server."""
        return {
            "JIKJI_LLM__BASE_URL": f"http://{host}:{self.port}/v1",
            "JIKJI_LLM__MODEL": self.served_name,
            "JIKJI_LLM__PROMPT_FAMILY": "solar",
            "JIKJI_LLM__CONTEXT_TOKENS": str(self.max_model_len // 2),
            "JIKJI_LLM__MAX_TOKENS": "768",
        }

    def render(self) -> str:
        """The command, the Jikji settings and the sizing, for people."""
        lines = ["# vLLM (GPU server)", shlex.join(self.command()), "", "# Jikji settings (.env)"]
        lines += [f"{key}={value}" for key, value in self.jikji_env().items()]
        if self.lora_modules:
            adapters = {name: {"served_model": name} for name in sorted(self.lora_modules)}
            lines.append(f"JIKJI_LLM__ADAPTERS={json.dumps(adapters, ensure_ascii=False)}")
        lines += [
            "",
            f"# sizing: weights ≈ {self.weights_gib:.1f} GiB (bf16); "
            f"KV cache ≈ {self.kv_cache_tokens:,} tokens at 192 KiB/token",
            f"#         → {self.full_context_sequences} sequences of {self.max_model_len} tokens at once",
        ]
        if self.lora_modules:
            lines += self._lora_notes()
        return "\n".join(lines)

    def _lora_notes(self) -> list[str]:
        slot_mib = self.lora_gib / self.lora_slots * 1024
        return [
            f"# LoRA: {len(self.lora_modules)} adapters; --max-lora-rank {self.max_lora_rank} (the largest "
            "adapter's rank, rounded up to one vLLM accepts);",
            f"#       --max-loras {self.lora_slots} in one batch → ≈ {self.lora_gib:.2f} GiB reserved "
            f"({slot_mib:.0f} MiB per slot at that rank, taken from the KV cache above)",
            "#       an adapter above --max-lora-rank is refused; beyond --max-loras in one batch they wait "
            "their turn; --max-cpu-loras keeps them cached in RAM",
            "#       which group answers with which: `jikji adapters enable GROUP NAME --gate-run ID`",
        ]
