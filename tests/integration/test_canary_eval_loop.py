"""Canaries for the improvement loop: golden items, fine-tuning exports and release-gate reports never
carry group A's documents to group B (SQLite and PostgreSQL).

Group A (재무팀) has a secret document with unique tokens and a golden item on it. Group B (영업팀) has
its own document and a golden item whose question is a near-copy of A's text. B's export, the public
export and a gate run on B's golden items — with a candidate that makes every answer worse, so each
item is reported with both sides' answers — must not contain A's tokens, ids or group name; a key of an admin narrowed to group B without the
admin scope reads none of it (403), and a golden item cannot tie A's document to group B.

An admin key (admin scope) narrowed to group B gets a filtered gate: it must name group B to start a run,
lists and reads only runs scoped to B, and sees only B's golden items among those that got worse — never
A's text, even when runs of the whole corpus and of group A, which report A's item, are kept beside them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.cli import main as cli_main
from core.models import Chunk, Document
from core.settings import LLMSettings, Settings
from tests.api_harness import ApiHarness
from tests.conftest import point_cli_at

pytestmark = pytest.mark.integration

TOKENS = ("QZXVORTEX", "블루펭귄프로젝트", "캐너리알파")
SECRET = f"""# 캐너리알파 기밀 보고서

## 제1조(예산)

① {TOKENS[1]}의 예산은 {TOKENS[0]} 코드로 관리하며 총 987억원이다.
② 예산 집행은 매월 25일까지 재무팀장에게 신청하여 승인을 받는다.
"""
SALES = """# 영업팀 주간 보고

## 제1조(예산 집행)

이번 주 영업 예산 집행률은 80퍼센트이며 다음 주 고객 방문이 예정되어 있다.
"""
NOTICE = """# 사내 식당 안내

## 제1조(식당 운영)

점심은 11시 30분부터 13시까지 제공한다. 예산 관련 문의는 총무팀으로 한다.
"""
NEAR_COPY = f"{TOKENS[1]} 예산은 얼마야?"


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """SQLite and PostgreSQL, extractive answers (no model server)."""
    return settings_on_each_database.model_copy(update={"llm": LLMSettings(answer_mode="extractive")})


@pytest.fixture
def world(api: ApiHarness, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    secret = api.ingest(SECRET, "canary_alpha_secret.md", groups=["재무팀"])
    sales = api.ingest(SALES, "영업보고.md", groups=["영업팀"])
    api.ingest(NOTICE, "식당.md", public=True)
    admin = api.admin()
    group_a, group_b = api.group("재무팀"), api.group("영업팀")
    items = {}
    for name, question, answer, document, group in (
        ("a", "캐너리알파 예산 총액은?", "987억원", secret, group_a),
        ("b", NEAR_COPY, "80퍼센트", sales, group_b),
    ):
        body = {"question": question, "answers": [answer], "document_ids": [document], "group_ids": [group]}
        response = api.client.post("/api/v1/golden", json=body, headers=admin)
        assert response.status_code == 201, response.text
        items[name] = response.json()["id"]
    with api.container.sessions() as session:
        chunk_ids = list(session.scalars(select(Chunk.id).where(Chunk.document_id == secret)))
    point_cli_at(settings, monkeypatch)
    monkeypatch.setenv("JIKJI_LLM__ANSWER_MODE", "extractive")
    monkeypatch.setenv("JIKJI_EVALUATION__GATE_TOLERANCE", "0.0")
    narrowed = api.key(admin, ["search", "chat", "documents:read"], group_ids=[group_b])
    return {
        "admin": admin,
        "narrowed": narrowed,
        "secret": secret,
        "sales": sales,
        "group_b": group_b,
        "items": items,
        # B's own near-copy question names A's project: what must not appear is A's text, ids or group
        "secrets": [TOKENS[0], TOKENS[2], "코드로 관리", "987억", "재무팀", secret, *chunk_ids, items["a"]],
    }


def _leaks(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text]


def test_a_golden_item_cannot_tie_a_groups_document_to_another_group(
    api: ApiHarness, world: dict[str, Any]
) -> None:
    body = {
        "question": NEAR_COPY,
        "answers": ["987억원"],
        "document_ids": [world["secret"]],
        "group_ids": [world["group_b"]],
    }
    response = api.client.post("/api/v1/golden", json=body, headers=world["admin"])
    assert response.status_code == 422 and response.json()["code"] == "golden_document_not_visible"
    patch = {"document_ids": [world["secret"]]}
    response = api.client.patch(f"/api/v1/golden/{world['items']['b']}", json=patch, headers=world["admin"])
    assert response.status_code == 422


def test_exports_for_group_b_and_for_everyone_carry_nothing_of_group_a(
    world: dict[str, Any], tmp_path: Path
) -> None:
    for name, args in (("b", ["--group", "영업팀"]), ("public", [])):
        out = tmp_path / name
        assert cli_main(["finetune", "export", "--out", str(out), *args]) == 0
        for file in ("train.jsonl", "heldout.jsonl", "stats.json"):
            text = (out / file).read_text(encoding="utf-8")
            assert not _leaks(text, world["secrets"]), (name, file, _leaks(text, world["secrets"]))
    lines = [
        json.loads(line)
        for file in ("train.jsonl", "heldout.jsonl")
        for line in (tmp_path / "b" / file).read_text(encoding="utf-8").splitlines()
    ]
    # the near-copy golden item is in B's set, answered from B's own document
    near = [line for line in lines if line["messages"][1]["content"].endswith(NEAR_COPY)]
    assert near and near[0]["meta"]["document_ids"] == [world["sales"]]


def test_a_gate_run_on_group_bs_items_reports_nothing_of_group_a(
    api: ApiHarness, world: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "gate"
    code = cli_main(["eval", "gate", "--group", "영업팀", "--set", "llm.context_tokens=1", "--out", str(out)])
    assert code == 1  # every answer got worse: each item is reported with both sides' answers
    [run] = api.client.get("/api/v1/eval/gate", headers=world["admin"]).json()["items"]
    detail = api.client.get(f"/api/v1/eval/gate/{run['id']}", headers=world["admin"])
    assert detail.status_code == 200
    regressions = detail.json()["regressions"]
    assert {r["id"] for r in regressions if r["set"] == "golden"} == {world["items"]["b"]}
    assert all(r["group_ids"] == [world["group_b"]] for r in regressions if r["set"] == "golden")
    reported = [detail.text, *(path.read_text(encoding="utf-8") for path in out.rglob("*") if path.is_file())]
    for text in reported:
        assert not _leaks(text, world["secrets"]), _leaks(text, world["secrets"])

    for url in ("/api/v1/eval/gate", f"/api/v1/eval/gate/{run['id']}", "/api/v1/golden"):
        response = api.client.get(url, headers=world["narrowed"])
        assert response.status_code == 403 and not _leaks(response.text, world["secrets"])
    response = api.client.post("/api/v1/eval/gate", json={}, headers=world["narrowed"])
    assert response.status_code == 403


def _gate_by_key(api: ApiHarness, headers: dict[str, str], body: dict[str, Any]) -> str:
    response = api.client.post("/api/v1/eval/gate", json=body, headers=headers)
    assert response.status_code == 202, response.text
    api.container.gate_runner.wait(300)
    return str(response.json()["id"])


def test_an_admin_key_narrowed_to_group_b_gets_the_gate_of_group_b_only(
    api: ApiHarness, world: dict[str, Any], tmp_path: Path
) -> None:
    worse = ["--set", "llm.context_tokens=1"]  # every answer gets worse: each item is reported
    assert cli_main(["eval", "gate", *worse, "--out", str(tmp_path / "all")]) == 1
    assert cli_main(["eval", "gate", "--group", "재무팀", *worse, "--out", str(tmp_path / "a")]) == 1
    admin_runs = api.client.get("/api/v1/eval/gate", headers=world["admin"]).json()["items"]
    assert len(admin_runs) == 2
    for run in admin_runs:  # the unnarrowed admin sees A's item in both
        detail = api.client.get(f"/api/v1/eval/gate/{run['id']}", headers=world["admin"]).json()
        assert world["items"]["a"] in {row["id"] for row in detail["regressions"]}

    key = api.key(world["admin"], ["admin", "search", "chat", "documents:read"], group_ids=[world["group_b"]])
    texts = []
    for body, code in (
        ({}, "gate_group_required"),
        ({"group_id": api.group("재무팀")}, "gate_group_not_allowed"),
    ):
        refused = api.client.post("/api/v1/eval/gate", json=body, headers=key)
        assert refused.status_code == 403 and refused.json()["code"] == code, refused.text
        assert refused.json()["message_ko"] and refused.json()["message_en"]
        texts.append(refused.text)
    listed = api.client.get("/api/v1/eval/gate", headers=key)
    assert listed.status_code == 200 and listed.json() == {"total": 0, "items": []}
    for run in admin_runs:  # runs of the whole corpus and of group A: unknown to the key
        hidden = api.client.get(f"/api/v1/eval/gate/{run['id']}", headers=key)
        assert hidden.status_code == 404
        texts.append(hidden.text)

    run_id = _gate_by_key(api, key, {"group_id": world["group_b"], "set": ["llm.context_tokens=1"]})
    detail = api.client.get(f"/api/v1/eval/gate/{run_id}", headers=key)
    assert detail.status_code == 200 and detail.json()["status"] == "failed", detail.text
    regressions = detail.json()["regressions"]
    assert {row["id"] for row in regressions} == {world["items"]["b"]}  # B's item, nothing of the dev set
    assert detail.json()["n_regressions"] == len(regressions)
    listed = api.client.get("/api/v1/eval/gate", headers=key)
    assert [run["id"] for run in listed.json()["items"]] == [run_id] and listed.json()["total"] == 1
    texts += [detail.text, listed.text]
    for text in texts:
        assert not _leaks(text, world["secrets"]), _leaks(text, world["secrets"])

    # B's document leaves group B: the item citing it is no longer shown to the key (the admin still sees it)
    with api.container.sessions.begin() as session:
        document = session.get(Document, world["sales"])
        assert document is not None
        document.groups = []
    after = api.client.get(f"/api/v1/eval/gate/{run_id}", headers=key).json()
    assert after["regressions"] == [] and after["n_regressions"] == 0
    full = api.client.get(f"/api/v1/eval/gate/{run_id}", headers=world["admin"]).json()
    assert world["items"]["b"] in {row["id"] for row in full["regressions"]}
