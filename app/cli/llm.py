"""``jikji llm vllm-command``: the tuned ``vllm serve`` line for production answers."""

from __future__ import annotations

import argparse

from core.settings import Settings
from llm.vllm import VllmPlan


def cmd_vllm_command(_settings: Settings, args: argparse.Namespace) -> int:
    """Print the ``vllm serve`` command and the matching Jikji settings."""
    adapters = dict(item.split("=", 1) for item in args.lora or [])
    plan = VllmPlan(
        model=args.model,
        served_name=args.served_name,
        max_model_len=args.max_model_len,
        gpu_memory_gib=args.gpu_memory_gib,
        gpu_memory_utilization=args.gpu_memory_utilization,
        max_num_seqs=args.max_num_seqs,
        lora_modules=adapters,
    )
    print(plan.render())
    return 0
