from __future__ import annotations

from llm.vllm import VllmPlan


def test_default_plan_fits_solar_on_one_h100() -> None:
    plan = VllmPlan()
    assert 19.5 < plan.weights_gib < 20.5  # 21.4 GB = 19.9 GiB
    assert plan.full_context_sequences >= 50
    command = plan.command()
    assert command[:3] == ["vllm", "serve", "upstage/SOLAR-10.7B-Instruct-v1.0"]
    assert "--enable-prefix-caching" in command
    assert command[command.index("--served-model-name") + 1] == "solar-10.7b-jikji"


def test_lora_adapters_per_department() -> None:
    plan = VllmPlan(lora_modules={"hr": "/adapters/hr", "finance": "/adapters/finance"})
    command = plan.command()
    assert "--enable-lora" in command
    assert command[-2:] == ["finance=/adapters/finance", "hr=/adapters/hr"]
    assert "JIKJI_LLM__MODEL=solar-10.7b-jikji" in plan.render()
