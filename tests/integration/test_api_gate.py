"""``/api/v1/eval/gate`` (admin): the release gate in the background, kept in SQL with the CLI's runs;
a worse candidate fails naming the metrics that dropped and the items that got worse (SQLite and
PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from app.cli import main as cli_main
from core.settings import LLMSettings, Settings
from tests.api_harness import ApiHarness
from tests.conftest import point_cli_at
from tests.support.paths import SAMPLES_DIR

pytestmark = pytest.mark.integration

DOCUMENTS = {
    "휴가규정.md": "# 휴가\n\n신입 직원의 연차휴가는 입사 첫해에 15일이며 신청은 인사팀에 한다.\n",
    "출장규정.md": "# 출장\n\n해외 출장 일비는 하루 50달러로 정한다.\n",
    "보안규정.md": "# 보안\n\n비밀번호는 90일마다 변경한다.\n",
}
GOLDEN = [
    ("신입 직원의 연차휴가는 며칠인가요?", "15일", "휴가규정.md", "인사팀"),
    ("해외 출장 일비는 얼마인가요?", "50달러", "출장규정.md", None),
    ("비밀번호는 며칠마다 변경하나요?", "90일", "보안규정.md", None),
]


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """SQLite and PostgreSQL; extractive answers (no model server), no tolerance."""
    evaluation = settings_on_each_database.evaluation.model_copy(update={"gate_tolerance": 0.0})
    return settings_on_each_database.model_copy(
        update={"llm": LLMSettings(answer_mode="extractive"), "evaluation": evaluation}
    )


@pytest.fixture
def golden(api: ApiHarness, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Three public regulations, a dev-set document, a golden item each (one of 인사팀)."""
    ids = {name: api.ingest(text, name, public=True) for name, text in DOCUMENTS.items()}
    api.ingest((SAMPLES_DIR / "취업규칙.md").read_text(encoding="utf-8"), "취업규칙.md", public=True)
    admin = api.admin()
    items = {}
    for question, answer, name, group in GOLDEN:
        body: dict[str, Any] = {"question": question, "answers": [answer], "document_ids": [ids[name]]}
        if group:
            body["group_ids"] = [api.group(group)]
        response = api.client.post("/api/v1/golden", json=body, headers=admin)
        assert response.status_code == 201, response.text
        items[question] = response.json()["id"]
    point_cli_at(settings, monkeypatch)
    monkeypatch.setenv("JIKJI_LLM__ANSWER_MODE", "extractive")
    monkeypatch.setenv("JIKJI_EVALUATION__GATE_TOLERANCE", "0.0")
    return items


def _gate(api: ApiHarness, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = api.client.post("/api/v1/eval/gate", json=body, headers=headers)
    assert response.status_code == 202, response.text
    started = response.json()
    assert started["status"] == "queued" and started["origin"] == "api"
    api.container.gate_runner.wait(300)
    detail = api.client.get(f"/api/v1/eval/gate/{started['id']}", headers=headers)
    assert detail.status_code == 200, detail.text
    return dict(detail.json())


def test_an_equal_candidate_passes_with_answers_and_retrieval_side_by_side(
    api: ApiHarness, golden: dict[str, str]
) -> None:
    admin = api.admin()
    run = _gate(api, admin, {"set": ["retrieval.top_k=6"]})
    assert run["status"] == "passed" and run["passed"] is True, run
    assert run["candidate"] == {"retrieval": {"top_k": 6}} and run["label"] == "retrieval.top_k=6"
    assert run["created_by"] == "admin" and run["n_questions"] == 3 and run["regressions"] == []
    assert {row["metric"] for row in run["metrics"]["answers"]} >= {"f1", "evidence_hit@1"}
    retrieval = run["metrics"]["retrieval"]
    assert set(retrieval) == {"golden", "dev"}
    assert {row["metric"] for row in retrieval["golden"]["metrics"]} >= {"R@1", "MRR@10"}
    assert retrieval["golden"]["n_questions"] == 3 and retrieval["dev"]["n_questions"] >= 1
    assert run["tolerances"]["default"] == 0.0 and "통과" in run["message_ko"]


def test_a_worse_candidate_fails_naming_what_dropped_and_the_items_that_got_worse(
    api: ApiHarness, golden: dict[str, str]
) -> None:
    admin = api.admin()
    # a source budget of one token: no source fits the prompt, every answer gets worse
    run = _gate(api, admin, {"candidate": {"llm": {"context_tokens": 1}}})
    assert run["status"] == "failed" and run["passed"] is False, run
    assert {"f1", "evidence_hit@1"} & set(run["metrics"]["regressed"]), run["metrics"]["regressed"]
    assert "f1" in run["message_en"] and "허용치를 넘어" in run["message_ko"]
    assert run["regressions"] and all(r["reasons"] for r in run["regressions"])
    golden_rows = [r for r in run["regressions"] if r["set"] == "golden"]
    hr_item = golden[GOLDEN[0][0]]
    for row in golden_rows:
        expected = [api.group("인사팀")] if row["id"] == hr_item else []
        assert row["group_ids"] == expected

    listed = api.client.get("/api/v1/eval/gate", headers=admin).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == run["id"]
    assert "regressions" not in listed["items"][0]


def test_cli_runs_are_kept_with_the_api_runs_and_bad_requests_are_refused(
    api: ApiHarness, golden: dict[str, str]
) -> None:
    admin = api.admin()
    assert cli_main(["eval", "gate", "--set", "retrieval.top_k=6", "--group", "인사팀"]) == 0
    listed = api.client.get("/api/v1/eval/gate", headers=admin).json()
    assert listed["total"] == 1
    run = listed["items"][0]
    assert run["origin"] == "cli" and run["status"] == "passed" and run["created_by"] is None
    assert run["group_id"] == api.group("인사팀") and run["n_questions"] == 1

    bad = api.client.post("/api/v1/eval/gate", json={"set": ["retrieval.top_k=0"]}, headers=admin)
    assert bad.status_code == 422 and "후보 설정" in bad.text
    unknown = api.client.post("/api/v1/eval/gate", json={"candidate": {"nope": 1}}, headers=admin)
    assert unknown.status_code == 422
    missing = api.client.post("/api/v1/eval/gate", json={"group_id": "0" * 32}, headers=admin)
    assert missing.status_code == 404
    assert api.client.get("/api/v1/eval/gate/" + "0" * 32, headers=admin).status_code == 404
    employee = api.user("kim")
    assert api.client.get("/api/v1/eval/gate", headers=employee).status_code == 403
    assert api.client.post("/api/v1/eval/gate", json={}, headers=employee).status_code == 403


def test_a_candidates_secrets_are_used_but_never_stored_returned_or_written(
    api: ApiHarness, golden: dict[str, str]
) -> None:
    """A candidate on another model server brings its API key: the run stores, lists and reports it
    redacted (the key reaches only the candidate's settings)."""
    admin = api.admin()
    secret = "sk-candidate-secret-5f1e9"
    body = {"set": ["retrieval.top_k=6", f"JIKJI_LLM__API_KEY={secret}"]}
    run = _gate(api, admin, {**body, "candidate": {"embedding": {"api_key": secret + "-emb"}}})
    assert run["status"] == "passed", run
    assert run["candidate"]["llm"]["api_key"] == "**********"
    assert run["candidate"]["embedding"]["api_key"] == "**********"
    assert run["candidate"]["retrieval"] == {"top_k": 6}
    listed = api.client.get("/api/v1/eval/gate", headers=admin)
    reports = api.container.gate_runner.directory / run["id"]
    written = [(reports / name).read_text(encoding="utf-8") for name in ("gate.json", "gate.md")]
    for text in [str(run), listed.text, *written]:
        assert secret not in text


def test_a_gate_over_the_api_may_not_point_the_server_at_other_stores_or_files(api: ApiHarness) -> None:
    """Only the answer and retrieval settings: no data_dir, database, Chroma or auth from an API caller."""
    admin = api.admin()
    for body in [
        {"set": ["data_dir=/tmp/jikji-elsewhere"]},
        {"set": ["JIKJI_DATABASE__URL=sqlite:////tmp/jikji-elsewhere.db"]},
        {"candidate": {"chroma": {"mode": "http", "host": "10.0.0.9"}}},
        {"candidate": {"auth": {"local_login": False}}, "set": ["retrieval.top_k=6"]},
    ]:
        response = api.client.post("/api/v1/eval/gate", json=body, headers=admin)
        assert response.status_code == 422, (body, response.text)
        assert (
            "jikji eval gate" in response.json()["message_en"] and "게이트" in response.json()["message_ko"]
        )
    assert api.client.get("/api/v1/eval/gate", headers=admin).json()["total"] == 0, "nothing queued"
