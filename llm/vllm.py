"""A tuned ``vllm serve`` command for a SOLAR fine-tune, and the Jikji settings that match it."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

BYTES_PER_PARAM_BF16 = 2
KV_BYTES_PER_TOKEN_SOLAR = 192 * 1024  # 48 layers × 8 KV heads × 128 dims × 2 (K,V) × 2 bytes


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

    @property
    def weights_gib(self) -> float:
        """Weight memory in GiB (bf16)."""
        return self.params_billion * 1e9 * BYTES_PER_PARAM_BF16 / 2**30

    @property
    def kv_cache_tokens(self) -> int:
        """Tokens of KV cache left after weights and ~2 GiB of activations/overheads."""
        free = self.gpu_memory_gib * self.gpu_memory_utilization - self.weights_gib - 2.0
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
            cmd += ["--enable-lora", "--max-lora-rank", "64", "--lora-modules"]
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
        lines += [
            "",
            f"# sizing: weights ≈ {self.weights_gib:.1f} GiB (bf16); "
            f"KV cache ≈ {self.kv_cache_tokens:,} tokens at 192 KiB/token",
            f"#         → {self.full_context_sequences} sequences of {self.max_model_len} tokens at once",
        ]
        if self.lora_modules:
            lines.append("# per-department adapters: set JIKJI_LLM__MODEL to an adapter name to use it")
        return "\n".join(lines)
