"""Fine-tuned adapters per group, on SQLite and PostgreSQL: the gate decides (a passed run naming the
adapter, or an audited admin override), a group's questions go to its adapter (conversations and the
OpenAI route), another group's adapter is 404 by name, and the CLI does the same as the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.api.factory import create_app
from app.cli import main as cli_main
from core.models import GateRun
from core.settings import LLMSettings, Settings
from llm.finetune import CARD_NAME
from retrieval.tokenizer import KiwiTokenizer
from tests.api_harness import ApiHarness
from tests.conftest import point_cli_at
from tests.support.containers import make_container

pytestmark = pytest.mark.integration

LEAVE = "# 휴가 규정\n\n## 제5조(연차휴가)\n\n① 1년간 80퍼센트 이상 출근한 직원에게 15일의 유급휴가를 준다.\n"
ADAPTERS = {"인사팀": {"served_model": "gemma-hr"}, "재무팀": {}}


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """Two adapters configured, on SQLite and on PostgreSQL."""
    llm = LLMSettings.model_validate({"adapters": ADAPTERS})
    return settings_on_each_database.model_copy(update={"llm": llm})


def _gate_run(api: ApiHarness, candidate: dict[str, Any], *, passed: bool = True) -> str:
    with api.container.sessions.begin() as session:
        assert isinstance(session, Session)
        run = GateRun(
            status="passed" if passed else "failed", passed=passed, candidate=candidate, origin="cli"
        )
        session.add(run)
        session.flush()
        return run.id


def _enable(api: ApiHarness, admin: dict[str, str], **body: Any) -> Any:
    return api.client.post("/api/v1/adapters/assignments", json=body, headers=admin)


def _ask(api: ApiHarness, headers: dict[str, str]) -> dict[str, Any]:
    conversation = api.client.post("/api/v1/conversations", json={}, headers=headers).json()["id"]
    response = api.client.post(
        f"/api/v1/conversations/{conversation}/messages",
        json={"content": "연차휴가는 며칠?"},
        headers=headers,
    )
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def test_only_a_passed_gate_run_naming_the_adapter_or_an_override_switches_it_on(api: ApiHarness) -> None:
    admin = api.admin()  # one login: logins are rate-limited
    api.user("kim", groups=["인사팀"])
    failed = _gate_run(api, {"llm": {"adapter": "인사팀"}}, passed=False)
    other = _gate_run(api, {"llm": {"adapter": "재무팀"}})
    passed = _gate_run(api, {"llm.adapter": "인사팀"})  # the flat spelling counts too

    refused = _enable(api, admin, group="인사팀", adapter="인사팀", gate_run_id=failed)
    assert refused.status_code == 409 and refused.json()["code"] == "gate_not_passed"
    assert "통과하지" in refused.json()["message_ko"] or "통과하지" in refused.text
    mismatch = _enable(api, admin, group="인사팀", adapter="인사팀", gate_run_id=other)
    assert mismatch.status_code == 409 and mismatch.json()["code"] == "gate_candidate_mismatch"
    bare = _enable(api, admin, group="인사팀", adapter="인사팀")
    assert bare.status_code == 422 and bare.json()["code"] == "gate_required"
    unknown = _enable(api, admin, group="인사팀", adapter="영업팀", gate_run_id=passed)
    assert unknown.status_code == 404 and unknown.json()["code"] == "adapter_not_found"
    assert _enable(api, admin, group="없는팀", adapter="인사팀", gate_run_id=passed).status_code == 404
    assert api.client.get("/api/v1/adapters", headers=admin).json()["assignments"] == []

    ok = _enable(api, admin, group="인사팀", adapter="인사팀", gate_run_id=passed)
    assert ok.status_code == 201, ok.text
    assert ok.json()["gate_run_id"] == passed and ok.json()["enabled"] is True

    api.group("재무팀")
    override = _enable(
        api, admin, group="재무팀", adapter="재무팀", override_reason="분기 결산 전 긴급 적용 (CFO 승인)"
    )
    assert override.status_code == 201 and override.json()["override_reason"].startswith("분기 결산")

    listing = api.client.get("/api/v1/adapters", headers=admin).json()
    assert [a["served_model"] for a in listing["adapters"]] == ["gemma-hr", "재무팀"]
    assert [(a["group"], a["adapter"]) for a in listing["assignments"]] == [
        ("인사팀", "인사팀"),
        ("재무팀", "재무팀"),
    ]
    audit = api.client.get("/api/v1/audit", params={"action": "adapter.override"}, headers=admin).json()
    assert audit["items"][0]["detail"]["override_reason"].startswith("분기 결산")
    enabled = api.client.get("/api/v1/audit", params={"action": "adapter.enable"}, headers=admin).json()
    assert enabled["items"][0]["detail"] == {"group": "인사팀", "adapter": "인사팀", "gate_run_id": passed}

    off = api.client.delete("/api/v1/adapters/assignments/재무팀", headers=admin)
    assert off.status_code == 200 and off.json()["enabled"] is False
    assert api.client.delete("/api/v1/adapters/assignments/재무팀", headers=admin).status_code == 404


def test_assignments_are_admin_only(api: ApiHarness) -> None:
    admin = api.admin()  # one login: logins are rate-limited
    kim = api.user("kim", groups=["인사팀"])
    narrowed = api.key(admin, ["admin", "search"], group_ids=[api.group("인사팀")])
    for headers in (kim, narrowed):
        assert api.client.get("/api/v1/adapters", headers=headers).status_code == 403
        body = {"group": "인사팀", "adapter": "인사팀", "override_reason": "이유가 충분히 길다 1234"}
        assert api.client.post("/api/v1/adapters/assignments", json=body, headers=headers).status_code == 403


def test_a_groups_questions_go_to_its_adapter_and_others_to_the_base(api: ApiHarness) -> None:
    admin = api.admin()  # one login: logins are rate-limited
    api.ingest(LEAVE, "휴가규정.md", public=True)
    kim = api.user("kim", groups=["인사팀"])
    lee = api.user("lee", groups=["영업팀"])
    base = api.container.chat_service.model_name
    assert _ask(api, kim)["model"] == base  # nothing switched on yet
    run = _gate_run(api, {"llm": {"adapter": "인사팀"}})
    assert _enable(api, admin, group="인사팀", adapter="인사팀", gate_run_id=run).status_code == 201

    assert _ask(api, kim)["model"] == "gemma-hr"
    assert _ask(api, lee)["model"] == base

    def openai(headers: dict[str, str], model: str) -> Any:
        body = {"model": model, "messages": [{"role": "user", "content": "연차휴가는 며칠?"}]}
        return api.client.post("/v1/chat/completions", json=body, headers=headers)

    assert openai(kim, "jikji").json()["model"] == "gemma-hr"  # a made-up name: the usual routing
    assert openai(kim, "gemma-hr").json()["model"] == "gemma-hr"
    assert openai(kim, base).json()["model"] == base  # the base by its name
    assert openai(lee, "jikji").json()["model"] == base
    for name in ("gemma-hr", "인사팀", "재무팀"):  # another group's adapter, or one assigned to nobody
        refused = openai(lee, name)
        assert refused.status_code == 404 and refused.json()["code"] == "model_not_found", refused.text
    assert [m["id"] for m in api.client.get("/v1/models", headers=kim).json()["data"]] == [base, "gemma-hr"]
    assert [m["id"] for m in api.client.get("/v1/models", headers=lee).json()["data"]] == [base]

    assert api.client.delete("/api/v1/adapters/assignments/인사팀", headers=admin).status_code == 200
    assert _ask(api, kim)["model"] == base
    assert openai(kim, "gemma-hr").status_code == 404


def test_cli_enables_and_disables_through_the_gate(
    api: ApiHarness, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_cli_at(settings, monkeypatch)
    monkeypatch.setenv("JIKJI_LLM__ADAPTERS", '{"인사팀": {"served_model": "gemma-hr"}, "재무팀": {}}')
    api.group("인사팀")
    failed = _gate_run(api, {"llm": {"adapter": "인사팀"}}, passed=False)
    passed = _gate_run(api, {"llm": {"adapter": "인사팀"}})
    assert cli_main(["adapters", "enable", "인사팀", "인사팀", "--gate-run", failed]) == 1
    assert "gate" in capsys.readouterr().err.lower()
    assert cli_main(["adapters", "enable", "인사팀", "인사팀", "--gate-run", passed]) == 0
    assert cli_main(["adapters", "list"]) == 0
    assert f"인사팀: 인사팀 [on] (gate run {passed})" in capsys.readouterr().out
    assert cli_main(["adapters", "disable", "인사팀"]) == 0
    assert cli_main(["adapters", "list"]) == 0
    assert "인사팀: 인사팀 [off]" in capsys.readouterr().out


def test_an_adapter_trained_on_documents_a_group_may_not_see_is_never_switched_on_for_it(
    settings: Settings, kiwi: KiwiTokenizer, tmp_path: Path
) -> None:
    """A model repeats what it was trained on: the card's document ids decide, whatever the gate says."""
    folder = tmp_path / "hr-adapter"
    folder.mkdir()
    llm = LLMSettings.model_validate({"adapters": {"인사팀": {"path": str(folder / "adapter.gguf")}}})
    configured = settings.model_copy(update={"llm": llm})
    container = make_container(configured, kiwi)
    with TestClient(create_app(configured, container)) as client:
        api = ApiHarness(container, client)
        admin = api.admin()
        secret = api.ingest(
            "# 재무 기밀\n\n## 제1조\n\n올해 성과급은 300%이다.\n", "재무.md", groups=["재무팀"]
        )
        public = api.ingest(LEAVE, "휴가.md", public=True)
        (folder / CARD_NAME).write_text(json.dumps({"document_ids": [public, secret]}), encoding="utf-8")
        api.group("인사팀")
        passed = _gate_run(api, {"llm.adapter": "인사팀"})

        refused = _enable(api, admin, group="인사팀", adapter="인사팀", gate_run_id=passed)
        assert refused.status_code == 409 and refused.json()["code"] == "adapter_data_not_visible"
        forced = _enable(
            api, admin, group="인사팀", adapter="인사팀", override_reason="긴급 적용 (승인 받음)"
        )
        assert forced.json()["code"] == "adapter_data_not_visible"
        assert _enable(api, admin, group="재무팀", adapter="인사팀", gate_run_id=passed).status_code == 201

        (folder / CARD_NAME).write_text(json.dumps({"document_ids": [public]}), encoding="utf-8")
        assert _enable(api, admin, group="인사팀", adapter="인사팀", gate_run_id=passed).status_code == 201
    container.close()
