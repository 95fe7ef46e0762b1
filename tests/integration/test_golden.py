"""Feedback review and golden items over HTTP and the CLI, on SQLite and PostgreSQL: filters, withheld
turns, promotion, versions, retirement, the no-leak rule, audit, JSONL export/import read by the
answer-evaluation loader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.cli import main as cli_main
from app.services.answer_eval import load_answer_set
from core.settings import Settings
from tests.api_harness import ApiHarness
from tests.conftest import point_cli_at

pytestmark = pytest.mark.integration

LEAVE = """# 휴가 규정

## 제5조(연차휴가)

① 1년간 80퍼센트 이상 출근한 직원에게 15일의 유급휴가를 준다.
② 연차휴가는 사용 3일 전까지 신청한다.
"""

SECRET = """# 인수합병 검토

프로젝트 청룡의 인수 가격은 420억원으로 잠정 합의되었다.
"""


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """These tests run on SQLite and on PostgreSQL."""
    return settings_on_each_database


def _ask_and_rate(
    harness: ApiHarness, headers: dict[str, str], question: str, rating: int, comment: str = ""
) -> dict[str, Any]:
    conversation = harness.client.post("/api/v1/conversations", json={}, headers=headers).json()["id"]
    answer = harness.client.post(
        f"/api/v1/conversations/{conversation}/messages", json={"content": question}, headers=headers
    ).json()
    url = f"/api/v1/messages/{answer['id']}/feedback"
    response = harness.client.post(url, json={"rating": rating, "comment": comment}, headers=headers)
    assert response.status_code == 200, response.text
    return dict(answer)


@pytest.fixture
def rated(api: ApiHarness) -> dict[str, Any]:
    """A 👎 with a comment on a public regulation, a 👍 on a document shared with 전략기획 only."""
    leave = api.ingest(LEAVE, "휴가규정.md", public=True)
    secret = api.ingest(SECRET, "인수합병.md", groups=["전략기획"])
    kim = api.user("kim", groups=["인사팀"])
    park = api.user("park", groups=["전략기획"])
    down = _ask_and_rate(api, kim, "연차휴가는 며칠이야?", -1, "사용 신청 기한이 빠졌어요")
    up = _ask_and_rate(api, park, "청룡 인수 가격", 1)
    return {"leave": leave, "secret": secret, "kim": kim, "park": park, "down": down, "up": up}


def _feedback(api: ApiHarness, **params: Any) -> dict[str, Any]:
    response = api.client.get("/api/v1/feedback", params=params, headers=api.admin())
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_feedback_review_shows_rated_answers_with_filters(api: ApiHarness, rated: dict[str, Any]) -> None:
    everything = _feedback(api)
    assert everything["total"] == 2
    down = _feedback(api, rating=-1)["items"]
    assert [item["message_id"] for item in down] == [rated["down"]["id"]]
    item = down[0]
    assert item["question"] == "연차휴가는 며칠이야?" and item["comment"] == "사용 신청 기한이 빠졌어요"
    assert item["answer"] == rated["down"]["content"] and item["username"] == "kim"
    assert item["sources"][0]["document_id"] == rated["leave"] and item["withheld"] is False
    assert item["evidence"] == rated["down"]["evidence"]
    assert [i["rating"] for i in _feedback(api, has_comment=False)["items"]] == [1]
    assert [i["rating"] for i in _feedback(api, has_comment=True)["items"]] == [-1]
    assert [i["rating"] for i in _feedback(api, document_id=rated["secret"])["items"]] == [1]
    assert [i["rating"] for i in _feedback(api, group_id=api.group("인사팀"))["items"]] == [-1]
    assert _feedback(api, since="2999-01-01T00:00:00")["total"] == 0
    page = _feedback(api, limit=1, offset=1)
    assert page["total"] == 2 and len(page["items"]) == 1
    narrowed = api.key(api.admin(), ["admin", "search"], group_ids=[api.group("인사팀")])
    seen = api.client.get("/api/v1/feedback", headers=narrowed).json()  # its group's ratings only
    assert seen["total"] == 1 and [i["message_id"] for i in seen["items"]] == [rated["down"]["id"]]
    for employee in (rated["kim"], rated["park"]):
        assert api.client.get("/api/v1/feedback", headers=employee).status_code == 403
        assert api.client.get("/api/v1/golden", headers=employee).status_code == 403
        assert api.client.get("/api/v1/golden/export", headers=employee).status_code == 403


def test_a_turn_on_a_deleted_document_is_withheld_and_not_promoted(
    api: ApiHarness, rated: dict[str, Any]
) -> None:
    admin = api.admin()
    assert api.client.delete(f"/api/v1/documents/{rated['secret']}", headers=admin).status_code == 204
    (item,) = _feedback(api, rating=1)["items"]
    assert item["withheld"] is True
    assert "청룡" not in json.dumps(item, ensure_ascii=False)
    assert item["sources"] == [] and item["evidence"] == [] and item["comment"] == ""
    promote = api.client.post(f"/api/v1/feedback/{item['id']}/golden", json={}, headers=admin)
    assert promote.status_code == 404


def test_promote_edit_retire_with_versions_and_audit(api: ApiHarness, rated: dict[str, Any]) -> None:
    admin = api.admin()
    (down,) = _feedback(api, rating=-1)["items"]
    (up,) = _feedback(api, rating=1)["items"]
    url = f"/api/v1/feedback/{down['id']}/golden"
    assert api.client.post(url, json={}, headers=admin).status_code == 422  # a 👎 needs the right answer
    hr = api.group("인사팀")
    body = {"answers": ["15일"], "article": "제5조", "group_ids": [hr]}
    made = api.client.post(url, json=body, headers=admin)
    assert made.status_code == 201, made.text
    item = made.json()
    assert item["question"] == "연차휴가는 며칠이야?" and item["answers"] == ["15일"]
    assert item["document_ids"] == [rated["leave"]] and item["gold_files"] == ["휴가규정.md"]
    assert item["version"] == 1 and item["source_feedback_id"] == down["id"]

    # the secret document may not go into an item of 인사팀, whose members cannot see it
    leak = api.client.post(f"/api/v1/feedback/{up['id']}/golden", json={"group_ids": [hr]}, headers=admin)
    assert leak.status_code == 422 and leak.json()["code"] == "golden_document_not_visible"
    assert "인사팀" in leak.json()["message_ko"] and "not visible" in leak.json()["message_en"]
    strategy = api.group("전략기획")
    kept = api.client.post(
        f"/api/v1/feedback/{up['id']}/golden", json={"group_ids": [strategy]}, headers=admin
    )
    assert kept.status_code == 201, kept.text
    assert "[1]" not in kept.json()["answers"][0] and "420억원" in kept.json()["answers"][0]
    assert _feedback(api, rating=1)["items"][0]["golden_item_ids"] == [kept.json()["id"]]

    item_url = f"/api/v1/golden/{item['id']}"
    patched = api.client.patch(item_url, json={"answers": ["15일", "십오 일"]}, headers=admin).json()
    assert patched["version"] == 2 and patched["answers"] == ["15일", "십오 일"]
    same = api.client.patch(item_url, json={"answers": ["15일", "십오 일"]}, headers=admin).json()
    assert same["version"] == 2
    moved = api.client.patch(item_url, json={"document_ids": [rated["secret"]]}, headers=admin)
    assert moved.status_code == 422
    retired = api.client.delete(item_url, headers=admin).json()
    assert retired["status"] == "retired" and retired["version"] == 3
    detail = api.client.get(item_url, headers=admin).json()
    assert [v["version"] for v in detail["versions"]] == [3, 2, 1]
    assert [v["is_current"] for v in detail["versions"]] == [True, False, False]
    active = api.client.get("/api/v1/golden", headers=admin).json()
    assert [i["id"] for i in active["items"]] == [kept.json()["id"]]
    assert api.client.get("/api/v1/golden", params={"status": "all"}, headers=admin).json()["total"] == 2
    assert api.client.get("/api/v1/golden/nope", headers=admin).status_code == 404
    audit = api.client.get("/api/v1/audit", params={"target_id": item["id"]}, headers=admin).json()
    assert sorted(e["action"] for e in audit["items"]) == ["golden.create", "golden.retire", "golden.update"]


def test_hand_written_item_refuses_unknown_documents_and_groups(
    api: ApiHarness, rated: dict[str, Any]
) -> None:
    admin = api.admin()
    base = {"question": "연차 신청 기한은?", "answers": ["3일 전"], "document_ids": [rated["leave"]]}
    assert (
        api.client.post("/api/v1/golden", json={**base, "group_ids": ["nope"]}, headers=admin).status_code
        == 422
    )
    missing = api.client.post("/api/v1/golden", json={**base, "document_ids": ["nope"]}, headers=admin)
    assert missing.status_code == 422
    admins_only = api.client.post(
        "/api/v1/golden", json={**base, "document_ids": [rated["secret"]]}, headers=admin
    )
    assert admins_only.status_code == 201  # no groups: only admins see it
    public = api.client.post(
        "/api/v1/golden", json={**base, "group_ids": [api.group("인사팀")]}, headers=admin
    )
    assert public.status_code == 201


def test_export_is_an_answer_set_and_import_round_trips(
    api: ApiHarness, rated: dict[str, Any], tmp_path: Path
) -> None:
    admin = api.admin()
    hr = api.group("인사팀")
    body = {
        "question": "연차휴가는 며칠?",
        "answers": ["15일"],
        "document_ids": [rated["leave"]],
        "group_ids": [hr],
    }
    item = api.client.post("/api/v1/golden", json=body, headers=admin).json()
    exported = api.client.get("/api/v1/golden/export", headers=admin)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("application/x-ndjson")
    path = tmp_path / "golden.jsonl"
    path.write_text(exported.text, encoding="utf-8")
    contexts, questions = load_answer_set(path)
    assert contexts is None and len(questions) == 1
    assert questions[0].question == "연차휴가는 며칠?" and questions[0].answers == ("15일",)
    assert questions[0].gold == frozenset({"휴가규정.md"}) and questions[0].id == item["id"]

    lines = [json.loads(line) for line in exported.text.splitlines()]
    again = api.client.post("/api/v1/golden/import", json={"items": lines}, headers=admin).json()
    assert again == {"created": [], "updated": [], "unchanged": [item["id"]]}
    changed = {**lines[0], "answers": ["15일", "열닷새"]}
    fresh = {k: v for k, v in lines[0].items() if k not in {"id", "document_ids", "group_ids"}}
    result = api.client.post("/api/v1/golden/import", json={"items": [changed, fresh]}, headers=admin).json()
    assert result["updated"] == [item["id"]] and len(result["created"]) == 1
    created = api.client.get(f"/api/v1/golden/{result['created'][0]}", headers=admin).json()
    assert created["document_ids"] == [rated["leave"]] and created["group_ids"] == [hr]  # from names

    total = api.client.get("/api/v1/golden", headers=admin).json()["total"]
    leak = {**fresh, "gold_files": ["인수합병.md"]}
    refused = api.client.post("/api/v1/golden/import", json={"items": [fresh, leak]}, headers=admin)
    assert refused.status_code == 422 and refused.json()["message_en"].startswith("Line 2:")
    assert api.client.get("/api/v1/golden", headers=admin).json()["total"] == total  # all or nothing


def test_cli_export_and_import(
    api: ApiHarness,
    rated: dict[str, Any],
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    admin = api.admin()
    body = {"question": "연차휴가는 며칠?", "answers": ["15일"], "document_ids": [rated["leave"]]}
    assert api.client.post("/api/v1/golden", json=body, headers=admin).status_code == 201
    point_cli_at(settings, monkeypatch)
    out = tmp_path / "golden.jsonl"
    assert cli_main(["golden", "export", "--out", str(out)]) == 0
    (line,) = [json.loads(text) for text in out.read_text(encoding="utf-8").splitlines()]
    assert line["gold_files"] == ["휴가규정.md"] and line["answers"] == ["15일"]
    new = tmp_path / "new.jsonl"
    item = {
        "question": "신청 기한은?",
        "answers": ["3일 전"],
        "gold_files": ["휴가규정.md"],
        "groups": ["인사팀"],
    }
    new.write_text(json.dumps(item, ensure_ascii=False) + "\n", encoding="utf-8")
    assert cli_main(["golden", "import", str(new)]) == 0
    assert "created 1" in capsys.readouterr().out
    leak = tmp_path / "leak.jsonl"
    leak.write_text(json.dumps({**item, "gold_files": ["인수합병.md"]}, ensure_ascii=False), encoding="utf-8")
    assert cli_main(["golden", "import", str(leak)]) == 1
    assert "Line 1:" in capsys.readouterr().err
    assert cli_main(["golden", "export", "--group", "인사팀", "--out", str(out)]) == 0
    assert [json.loads(t)["question"] for t in out.read_text(encoding="utf-8").splitlines()] == [
        "신청 기한은?"
    ]
    audit = api.client.get("/api/v1/audit", params={"action": "golden.create"}, headers=admin).json()
    assert audit["total"] == 2
