"""The loop the product exists for, on real components (issue 17): a 👎 with a comment → a golden item →
``jikji finetune export`` → a few CPU LoRA steps on the embedded gemma-3-270m → the adapter as a GGUF
LoRA → the real llama.cpp server loads it → ``jikji eval gate`` base vs adapter (greedy decoding) → a worse
candidate (the same adapter with no room for sources) fails the gate at tolerance 0 and cannot be switched
on (409) → the adapter switched on for 인사팀 through the passed run → 인사팀's chat goes to the adapter on the server, 영업팀's to the base.

Also: a converted adapter really changes what llama.cpp generates (vs the base, same prompt, greedy)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from safetensors.numpy import save_file
from sqlalchemy import select
from starlette.testclient import TestClient

from app.api.factory import create_app
from app.cli import main as cli_main
from app.container import build_container
from core.models import GateRun
from core.settings import EmbeddingSettings, Settings
from llm.gguf import ensure_default_gguf
from llm.lora import convert_peft_to_gguf
from llm.prompts import PromptSource, build_messages
from retrieval.embedder import HashingEmbedder
from retrieval.tokenizer import KiwiTokenizer
from tests.api_harness import ApiHarness
from tests.conftest import point_cli_at
from tests.integration.llm_stack import llama_server
from tests.support.containers import make_container

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LEAVE = """# 휴가 규정

## 제5조(연차휴가)

① 1년간 80퍼센트 이상 출근한 직원에게 15일의 유급휴가를 준다.
② 연차휴가는 사용 3일 전까지 신청한다.
"""
QUESTION = "연차휴가는 며칠인가요?"
RETRIEVAL_METRICS = ("R@1", "R@5", "R@10", "MRR@10", "nDCG@10")
REFERENCE = "연차휴가는 15일입니다."


@pytest.fixture(scope="module")
def base_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled GGUF in a folder kept for the module (its dequantised HF copy is cached beside it)."""
    return ensure_default_gguf(tmp_path_factory.mktemp("models"))


def _ask(api: ApiHarness, headers: dict[str, str]) -> dict[str, Any]:
    conversation = api.client.post("/api/v1/conversations", json={}, headers=headers).json()["id"]
    url = f"/api/v1/conversations/{conversation}/messages"
    response = api.client.post(url, json={"content": QUESTION}, headers=headers)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def _feedback_to_export(api: ApiHarness, settings: Settings, out: Path) -> Path:
    """👎 with a comment → golden item (인사팀) → ``jikji finetune export --group 인사팀``."""
    api.ingest(LEAVE, "휴가규정.md", groups=["인사팀"])
    admin = api.admin()
    kim = api.user("kim", groups=["인사팀"])
    answer = _ask(api, kim)
    rated = api.client.post(
        f"/api/v1/messages/{answer['id']}/feedback",
        json={"rating": -1, "comment": "답이 틀렸어요: 15일입니다"},
        headers=kim,
    )
    assert rated.status_code == 200, rated.text
    feedback = api.client.get("/api/v1/feedback", params={"rating": -1}, headers=admin).json()["items"]
    assert feedback[0]["comment"] == "답이 틀렸어요: 15일입니다"
    promoted = api.client.post(
        f"/api/v1/feedback/{feedback[0]['id']}/golden",
        json={"answers": [REFERENCE], "group_ids": [api.group("인사팀")]},
        headers=admin,
    )
    assert promoted.status_code == 201, promoted.text
    assert cli_main(["finetune", "export", "--out", str(out), "--group", "인사팀", "--heldout", "0"]) == 0
    train = out / "train.jsonl"
    lines = [json.loads(line) for line in train.read_text(encoding="utf-8").splitlines()]
    assert any(line["messages"][-1]["content"].startswith(REFERENCE) for line in lines)
    return train


def test_feedback_to_a_groups_adapter_on_the_real_llama_server(
    tmp_path: Path, base_gguf: Path, kiwi: KiwiTokenizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path / "data", embedding=EmbeddingSettings(model="hashing"))
    point_cli_at(settings, monkeypatch)
    container = make_container(settings, kiwi)  # phase 1: the extractive fake answers the first question
    with TestClient(create_app(settings, container)) as client:
        train = _feedback_to_export(ApiHarness(container, client), settings, tmp_path / "export")
    container.close()

    adapter_dir = tmp_path / "adapters" / "hr"
    train_args = ["--data", str(train), "--out", str(adapter_dir), "--base", str(base_gguf), "--steps", "2"]
    assert cli_main(["finetune", "train", *train_args, "--max-length", "192", "--lr", "1e-3"]) == 0
    card = json.loads((adapter_dir / "jikji-adapter.json").read_text(encoding="utf-8"))
    assert card["data"] == str(train) and card["steps"] == 2 and card["examples"] >= 1
    assert len(card["losses"]) == 2 and all(np.isfinite(card["losses"]))
    assert (adapter_dir / "adapter_model.safetensors").is_file()
    lora_path = adapter_dir / "adapter.gguf"  # written by train for the embedded server

    adapters = {"인사팀": {"path": str(lora_path), "served_model": "gemma-hr"}}
    with llama_server(tmp_path, base_gguf.parent, adapters=adapters, max_tokens=12) as (server, llm, log):
        for key, value in {
            "JIKJI_LLM__BASE_URL": server.base_url,
            "JIKJI_LLM__ADAPTERS": json.dumps(adapters, ensure_ascii=False),
            "JIKJI_LLM__ANSWER_MODE": "generative",
            "JIKJI_LLM__MAX_TOKENS": "12",
            "JIKJI_LLM__TEMPERATURE": "0",  # greedy: both sides answer the same way on every run
            # Two CPU steps do not make a better model: the answer metrics may move either way here,
            # while retrieval (the adapter does not touch it) must not move at all.
            "JIKJI_EVALUATION__GATE_TOLERANCE": "1",
            "JIKJI_EVALUATION__GATE_TOLERANCES": json.dumps(dict.fromkeys(RETRIEVAL_METRICS, 0)),
            "JIKJI_EVALUATION__GATE_RETRIEVAL_LIMIT": "1",
        }.items():
            monkeypatch.setenv(key, value)
        assert cli_main(["eval", "gate", "--set", "llm.adapter=인사팀", "--group", "인사팀"]) == 0
        # The gate can fail: at tolerance 0, the same adapter behind a prompt budget that holds no source
        # abstains on the answerable golden question the base answers (exit 1), and enabling fails.
        monkeypatch.setenv("JIKJI_EVALUATION__GATE_TOLERANCE", "0")
        worse = ["--set", "llm.adapter=인사팀", "--set", "llm.context_tokens=0", "--group", "인사팀"]
        assert cli_main(["eval", "gate", *worse]) == 1
        live = Settings()

        container = build_container(live, embedder=HashingEmbedder(), tokenizer=kiwi)  # the real model
        with TestClient(create_app(live, container)) as client:
            api = ApiHarness(container, client)
            with container.sessions() as session:
                failed, run = session.scalars(select(GateRun).order_by(GateRun.created_at.desc())).all()[:2]
            assert failed.status == "failed" and failed.passed is False
            assert "abstention_rate" in failed.metrics["regressed"], failed.metrics
            assert failed.candidate == {"llm": {"adapter": "인사팀", "context_tokens": 0}}
            assert run.status == "passed" and run.candidate == {"llm": {"adapter": "인사팀"}}
            assert not any(row["regressed"] for row in run.metrics["retrieval"]["golden"]["metrics"])
            admin = api.login("admin")
            body = {"group": "인사팀", "adapter": "인사팀", "gate_run_id": failed.id}
            refused = client.post("/api/v1/adapters/assignments", json=body, headers=admin)
            assert refused.status_code == 409 and refused.json()["code"] == "gate_not_passed", refused.text
            body = {"group": "인사팀", "adapter": "인사팀", "gate_run_id": run.id}
            enabled = client.post("/api/v1/adapters/assignments", json=body, headers=admin)
            assert enabled.status_code == 201, enabled.text

            loads_before = log.read_text(encoding="utf-8").count("loading lora adapter")
            lee = api.user("lee", groups=["영업팀"])
            assert _ask(api, lee)["model"] == llm.model
            assert log.read_text(encoding="utf-8").count("loading lora adapter") == loads_before
            kim = api.login("kim")
            assert _ask(api, kim)["model"] == "gemma-hr"
            assert log.read_text(encoding="utf-8").count("loading lora adapter") == loads_before + 1
        container.close()


def _random_adapter(folder: Path) -> Path:
    """A PEFT-format rank-4 adapter on every attention output of gemma-3-270m with large random weights."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(7)
    tensors = {}
    for layer in range(18):
        key = f"base_model.model.model.layers.{layer}.self_attn.o_proj"
        tensors[f"{key}.lora_A.weight"] = rng.standard_normal((4, 1024)).astype(np.float32) * 0.5
        tensors[f"{key}.lora_B.weight"] = rng.standard_normal((640, 4)).astype(np.float32) * 0.5
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    config = {"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["o_proj"]}
    (folder / "adapter_config.json").write_text(json.dumps(config), encoding="utf-8")
    return convert_peft_to_gguf(folder).path


def test_a_converted_adapter_changes_what_llama_cpp_generates(tmp_path: Path, base_gguf: Path) -> None:
    lora = _random_adapter(tmp_path / "random")
    adapters = {"무작위": {"path": str(lora)}}
    messages = build_messages(QUESTION, [PromptSource(1, "휴가 규정", LEAVE)], family="base")

    def complete(url: str, model: str) -> str:
        body = {"model": model, "messages": messages, "temperature": 0, "max_tokens": 12, "seed": 1}
        response = httpx.post(f"{url}/chat/completions", json=body, timeout=600)
        assert response.status_code == 200, response.text
        assert response.json()["model"] == model
        return str(response.json()["choices"][0]["message"]["content"])

    with llama_server(tmp_path, base_gguf.parent, adapters=adapters) as (server, llm, log):
        base = complete(server.base_url, llm.model)
        adapted = complete(server.base_url, "무작위")
        assert complete(server.base_url, llm.model) == base  # greedy: the base is reproducible
    assert adapted != base
    assert "loading lora adapter" in log.read_text(encoding="utf-8")
