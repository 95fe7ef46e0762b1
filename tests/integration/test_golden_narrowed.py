"""Golden items and feedback review for an admin key narrowed to some groups (SQLite and PostgreSQL).

Group A (재무팀) has a secret document, a golden item on it and answers rated by its member; group B
(영업팀) has its own document, item and rated answer. An admin key narrowed to group B lists, reads,
exports and reviews only B's part — never A's text, ids, counts or group name, not even through an item
that also belongs to A, an earlier version, a promoted item's source or a filter — gets 404 for A's items
and feedback (the body of a missing one) and 403 for writes outside group B; it creates, changes,
imports and promotes within B. The unrestricted admin still sees everything.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from httpx2 import Response

from core.models import Document
from core.settings import Settings
from tests.api_harness import ApiHarness

pytestmark = pytest.mark.integration

TOKENS = ("QZXVORTEX", "블루펭귄프로젝트")
SECRET = f"""# 캐너리 기밀 보고서

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

점심은 11시 30분부터 13시까지 제공한다.
"""


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """These tests run on SQLite and on PostgreSQL."""
    return settings_on_each_database


def _rate(api: ApiHarness, headers: dict[str, str], question: str, rating: int, comment: str) -> str:
    """Ask in a new conversation and rate the answer; the feedback's id."""
    conversation = api.client.post("/api/v1/conversations", json={}, headers=headers).json()["id"]
    answer = api.client.post(
        f"/api/v1/conversations/{conversation}/messages", json={"content": question}, headers=headers
    ).json()
    body = {"rating": rating, "comment": comment}
    response = api.client.post(f"/api/v1/messages/{answer['id']}/feedback", json=body, headers=headers)
    assert response.status_code == 200, response.text
    admin = api.admin()
    items = api.client.get("/api/v1/feedback", headers=admin).json()["items"]
    return next(str(item["id"]) for item in items if item["message_id"] == answer["id"])


def _item(api: ApiHarness, body: dict[str, Any]) -> str:
    """An item made by the unrestricted admin; its id."""
    response = api.client.post("/api/v1/golden", json=body, headers=api.admin())
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture
def world(api: ApiHarness) -> dict[str, Any]:
    secret = api.ingest(SECRET, "canary_secret.md", groups=["재무팀"])
    sales = api.ingest(SALES, "영업보고.md", groups=["영업팀"])
    notice = api.ingest(NOTICE, "식당.md", public=True)
    admin = api.admin()
    group_a, group_b = api.group("재무팀"), api.group("영업팀")
    alice = api.user("alice", groups=["재무팀"])
    bob = api.user("bob", groups=["영업팀"])
    feedback = {
        "a_secret": _rate(api, alice, f"{TOKENS[1]} 예산 총액은?", 1, f"{TOKENS[0]} 맞아요"),
        "a_public": _rate(api, alice, "점심은 몇 시부터 제공해?", -1, "캐너리 코멘트"),
        "b": _rate(api, bob, "영업 예산 집행률은?", 1, "좋아요"),
    }

    def item(question: str, document: str, groups: list[str]) -> str:
        return _item(
            api, {"question": question, "answers": ["x"], "document_ids": [document], "group_ids": groups}
        )

    items = {
        "a": item(f"{TOKENS[1]} 예산 총액은?", secret, [group_a]),
        "b": item("영업 예산 집행률은?", sales, [group_b]),
        "ab": item("점심 시간은?", notice, [group_a, group_b]),
        "admins": item("캐너리 관리자 전용 점심 질문", notice, []),
        "a_public": item("재무팀 점심 질문 캐너리", notice, [group_a]),
    }
    # an item of A that later moved to B: its first version is A's
    items["moved"] = item("캐너리 옛 질문", notice, [group_a])
    moved = {"question": "영업팀 점심 질문", "group_ids": [group_b]}
    assert api.client.patch(f"/api/v1/golden/{items['moved']}", json=moved, headers=admin).status_code == 200
    # A's member's rating promoted by the admin into an item of B: B sees the item, not its source
    promoted = api.client.post(
        f"/api/v1/feedback/{feedback['a_public']}/golden",
        json={"answers": ["11시 30분"], "document_ids": [notice], "group_ids": [group_b]},
        headers=admin,
    )
    assert promoted.status_code == 201, promoted.text
    items["from_a"] = promoted.json()["id"]
    alice_id = api.user_id("alice")
    messages = [
        row["message_id"]
        for row in api.client.get("/api/v1/feedback", headers=admin).json()["items"]
        if row["user_id"] == alice_id
    ]
    key = api.key(admin, ["admin", "search", "chat", "documents:read"], group_ids=[group_b])
    secrets = [
        TOKENS[0],
        TOKENS[1],
        "캐너리",
        "987억",
        "재무팀",
        "canary_secret",
        "alice",
        alice_id,
        secret,
        group_a,
        items["a"],
        items["admins"],
        items["a_public"],
        feedback["a_secret"],
        feedback["a_public"],
        *messages,
    ]
    return {
        "admin": admin,
        "key": key,
        "secret": secret,
        "sales": sales,
        "notice": notice,
        "group_a": group_a,
        "group_b": group_b,
        "items": items,
        "feedback": feedback,
        "secrets": secrets,
    }


def _leaks(response: Response, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in response.text]


def _ok(response: Response, world: dict[str, Any]) -> Any:
    assert response.status_code == 200, response.text
    assert not _leaks(response, world["secrets"]), _leaks(response, world["secrets"])
    return response.json()


def _refused(response: Response, status: int, code: str, world: dict[str, Any]) -> None:
    assert response.status_code == status and response.json()["code"] == code, response.text
    assert response.json()["message_ko"] and response.json()["message_en"]
    assert not _leaks(response, world["secrets"]), _leaks(response, world["secrets"])


def test_a_key_narrowed_to_group_b_reads_only_group_bs_items(api: ApiHarness, world: dict[str, Any]) -> None:
    key, items, group_b = world["key"], world["items"], world["group_b"]
    listed = _ok(api.client.get("/api/v1/golden", headers=key), world)
    assert {item["id"] for item in listed["items"]} == {items[n] for n in ("b", "ab", "moved", "from_a")}
    assert listed["total"] == 4
    assert all(item["group_ids"] == [group_b] for item in listed["items"])  # never A's id beside B's
    from_a = next(item for item in listed["items"] if item["id"] == items["from_a"])
    assert from_a["source_feedback_id"] is None and from_a["source_message_id"] is None
    page = _ok(api.client.get("/api/v1/golden", params={"limit": 1, "offset": 1}, headers=key), world)
    assert page["total"] == 4 and len(page["items"]) == 1
    everything = _ok(api.client.get("/api/v1/golden", params={"status": "all"}, headers=key), world)
    assert everything["total"] == 4
    mine = _ok(api.client.get("/api/v1/golden", params={"group_id": group_b}, headers=key), world)
    assert mine["total"] == 4

    exported = api.client.get("/api/v1/golden/export", headers=key)
    lines = [json.loads(line) for line in _ok_text(exported, world).splitlines()]
    assert {line["id"] for line in lines} == {items[n] for n in ("b", "ab", "moved", "from_a")}
    assert all(line["groups"] == ["영업팀"] and line["group_ids"] == [group_b] for line in lines)

    detail = _ok(api.client.get(f"/api/v1/golden/{items['moved']}", headers=key), world)
    assert [v["version"] for v in detail["versions"]] == [2]  # version 1 was A's
    assert detail["question"] == "영업팀 점심 질문"

    missing = api.client.get("/api/v1/golden/nope", headers=key)
    assert missing.status_code == 404
    for name in ("a", "admins", "a_public"):
        hidden = api.client.get(f"/api/v1/golden/{items[name]}", headers=key)
        assert hidden.status_code == 404 and hidden.json() == missing.json()
    for url in ("/api/v1/golden", "/api/v1/golden/export", "/api/v1/feedback"):
        for group in (world["group_a"], "nope"):
            refused = api.client.get(url, params={"group_id": group}, headers=key)
            _refused(refused, 403, "golden_group_not_allowed", world)

    admin = world["admin"]
    full = api.client.get("/api/v1/golden", params={"status": "all"}, headers=admin).json()
    assert full["total"] == 7 and {i["id"] for i in full["items"]} == set(items.values())
    both = api.client.get(f"/api/v1/golden/{items['ab']}", headers=admin).json()
    assert both["group_ids"] == [world["group_a"], group_b]
    assert len(api.client.get(f"/api/v1/golden/{items['moved']}", headers=admin).json()["versions"]) == 2
    assert api.client.get("/api/v1/golden/export", headers=admin).text.count("\n") == 7


def _ok_text(response: Response, world: dict[str, Any]) -> str:
    assert response.status_code == 200, response.text
    assert not _leaks(response, world["secrets"]), _leaks(response, world["secrets"])
    return response.text


def test_a_key_narrowed_to_group_b_reviews_only_group_bs_feedback(
    api: ApiHarness, world: dict[str, Any]
) -> None:
    key, feedback = world["key"], world["feedback"]
    seen = _ok(api.client.get("/api/v1/feedback", headers=key), world)
    assert seen["total"] == 1 and [item["id"] for item in seen["items"]] == [feedback["b"]]
    assert seen["items"][0]["username"] == "bob" and seen["items"][0]["withheld"] is False
    assert seen["items"][0]["comment"] == "좋아요"
    mine = _ok(api.client.get("/api/v1/feedback", params={"group_id": world["group_b"]}, headers=key), world)
    assert mine["total"] == 1
    public = _ok(
        api.client.get("/api/v1/feedback", params={"document_id": world["notice"]}, headers=key), world
    )
    assert all(item["user_id"] != api.user_id("alice") for item in public["items"])
    _ok(api.client.get("/api/v1/feedback", params={"document_id": world["secret"]}, headers=key), world)
    assert api.client.get("/api/v1/feedback", params={"rating": -1}, headers=key).json()["total"] == 0

    # the admin promotes B's feedback into an item for admins only: the key is not told of it
    admin = world["admin"]
    body = {"group_ids": [], "document_ids": [world["sales"]]}
    hidden = api.client.post(f"/api/v1/feedback/{feedback['b']}/golden", json=body, headers=admin)
    assert hidden.status_code == 201, hidden.text
    again = api.client.get("/api/v1/feedback", headers=key)
    assert _ok(again, world)["items"][0]["golden_item_ids"] == [] and hidden.json()["id"] not in again.text

    full = api.client.get("/api/v1/feedback", headers=admin).json()
    assert full["total"] == 3 and {item["id"] for item in full["items"]} == set(feedback.values())

    # B's document leaves group B: its rated answer is left out (not shown as withheld), its item too
    with api.container.sessions.begin() as session:
        document = session.get(Document, world["sales"])
        assert document is not None
        document.groups = []
    gone = _ok(api.client.get("/api/v1/feedback", headers=key), world)
    assert gone == {"total": 0, "items": []}
    assert world["items"]["b"] not in {
        i["id"] for i in _ok(api.client.get("/api/v1/golden", headers=key), world)["items"]
    }
    assert api.client.get(f"/api/v1/golden/{world['items']['b']}", headers=key).status_code == 404
    assert api.client.get("/api/v1/feedback", headers=admin).json()["total"] == 3


def test_a_key_narrowed_to_group_b_writes_only_within_group_b(api: ApiHarness, world: dict[str, Any]) -> None:
    key, items, group_a, group_b = world["key"], world["items"], world["group_a"], world["group_b"]
    base = {"question": "영업 예산은?", "answers": ["80퍼센트"], "document_ids": [world["sales"]]}
    for groups, code in (
        ([], "golden_group_required"),
        ([group_a], "golden_group_not_allowed"),
        ([group_a, group_b], "golden_group_not_allowed"),
        (["nope"], "golden_group_not_allowed"),
    ):
        refused = api.client.post("/api/v1/golden", json={**base, "group_ids": groups}, headers=key)
        _refused(refused, 403, code, world)
    unseen = api.client.post(
        "/api/v1/golden",
        json={**base, "document_ids": [world["secret"]], "group_ids": [group_b]},
        headers=key,
    )
    unknown = api.client.post(
        "/api/v1/golden", json={**base, "document_ids": ["nope"], "group_ids": [group_b]}, headers=key
    )
    assert unseen.status_code == unknown.status_code == 422  # A's document is unknown to the key
    assert unseen.json()["message_en"].replace(world["secret"], "nope") == unknown.json()["message_en"]
    # the leak check still applies: a key of B and 인사팀 sees 인사팀's document, group B does not
    hr_doc = api.ingest("# 인사 공지\n\n연차는 15일이다.\n", "인사공지.md", groups=["인사팀"])
    both = api.key(world["admin"], ["admin"], group_ids=[group_b, api.group("인사팀")])
    leak = {**base, "document_ids": [hr_doc], "group_ids": [group_b]}
    _refused(
        api.client.post("/api/v1/golden", json=leak, headers=both), 422, "golden_document_not_visible", world
    )
    made = api.client.post("/api/v1/golden", json={**base, "group_ids": [group_b]}, headers=key)
    assert made.status_code == 201, made.text
    mine = made.json()["id"]

    missing = api.client.patch("/api/v1/golden/nope", json={"answers": ["y"]}, headers=key)
    assert missing.status_code == 404
    for name in ("a", "admins", "a_public"):
        for response in (
            api.client.patch(f"/api/v1/golden/{items[name]}", json={"answers": ["y"]}, headers=key),
            api.client.delete(f"/api/v1/golden/{items[name]}", headers=key),
        ):
            assert response.status_code == 404 and response.json() == missing.json()
    shared = api.client.patch(f"/api/v1/golden/{items['ab']}", json={"group_ids": [group_b]}, headers=key)
    _refused(shared, 403, "golden_group_not_allowed", world)
    _refused(
        api.client.delete(f"/api/v1/golden/{items['ab']}", headers=key),
        403,
        "golden_group_not_allowed",
        world,
    )
    to_a = api.client.patch(f"/api/v1/golden/{mine}", json={"group_ids": [group_a]}, headers=key)
    _refused(to_a, 403, "golden_group_not_allowed", world)
    changed = _ok(api.client.patch(f"/api/v1/golden/{mine}", json={"answers": ["80%"]}, headers=key), world)
    assert changed["version"] == 2
    retired = _ok(api.client.delete(f"/api/v1/golden/{mine}", headers=key), world)
    assert retired["status"] == "retired" and retired["version"] == 3

    line = {
        "question": "영업 방문은?",
        "answers": ["다음 주"],
        "gold_files": ["영업보고.md"],
        "groups": ["영업팀"],
    }
    for bad in (
        {**line, "groups": ["재무팀"]},
        {**line, "groups": ["없는팀"]},
        {**line, "groups": []},
        {**line, "groups": ["영업팀", "재무팀"]},
    ):
        refused = api.client.post("/api/v1/golden/import", json={"items": [line, bad]}, headers=key)
        assert refused.status_code == 403 and refused.json()["message_en"].startswith("Line 2:"), refused.text
        assert "재무팀" not in refused.json()["message_en"]
    secret_file = api.client.post(
        "/api/v1/golden/import", json={"items": [{**line, "gold_files": ["canary_secret.md"]}]}, headers=key
    )
    assert secret_file.status_code == 422  # unknown to the key
    # a line carrying the id of A's item creates an item of B; A's item is untouched
    result = api.client.post(
        "/api/v1/golden/import", json={"items": [line, {**line, "id": items["a"]}]}, headers=key
    )
    assert result.status_code == 200, result.text
    assert len(result.json()["created"]) == 2 and result.json()["updated"] == []
    assert items["a"] not in result.text
    admin = world["admin"]
    a_item = api.client.get(f"/api/v1/golden/{items['a']}", headers=admin).json()
    assert a_item["version"] == 1 and a_item["group_ids"] == [group_a]
    exported = _ok_text(api.client.get("/api/v1/golden/export", headers=key), world)
    lines = [json.loads(text) for text in exported.splitlines()]
    again = api.client.post("/api/v1/golden/import", json={"items": lines}, headers=key)
    assert again.status_code == 403  # the item shared with A is listed but cannot be written by the key
    own = [entry for entry in lines if entry["id"] in result.json()["created"]]
    same = _ok(api.client.post("/api/v1/golden/import", json={"items": own}, headers=key), world)
    assert sorted(same["unchanged"]) == sorted(result.json()["created"])


def test_a_key_narrowed_to_group_b_promotes_only_group_bs_feedback(
    api: ApiHarness, world: dict[str, Any]
) -> None:
    key, feedback, group_a, group_b = world["key"], world["feedback"], world["group_a"], world["group_b"]
    unknown = api.client.post("/api/v1/feedback/nope/golden", json={"group_ids": [group_b]}, headers=key)
    assert unknown.status_code == 404
    for name in ("a_secret", "a_public"):
        hidden = api.client.post(
            f"/api/v1/feedback/{feedback[name]}/golden", json={"group_ids": [group_b]}, headers=key
        )
        assert hidden.status_code == 404 and hidden.json() == unknown.json()
    url = f"/api/v1/feedback/{feedback['b']}/golden"
    _refused(api.client.post(url, json={}, headers=key), 403, "golden_group_required", world)
    _refused(
        api.client.post(url, json={"group_ids": [group_a]}, headers=key),
        403,
        "golden_group_not_allowed",
        world,
    )
    made = api.client.post(url, json={"group_ids": [group_b]}, headers=key)
    assert made.status_code == 201, made.text
    item = made.json()
    assert item["group_ids"] == [group_b] and item["source_feedback_id"] == feedback["b"]
    assert world["secret"] not in item["document_ids"]
    reviewed = _ok(api.client.get("/api/v1/feedback", headers=key), world)
    assert reviewed["items"][0]["golden_item_ids"] == [item["id"]]
    assert item["id"] in {i["id"] for i in _ok(api.client.get("/api/v1/golden", headers=key), world)["items"]}
    admin_view = api.client.get(f"/api/v1/golden/{item['id']}", headers=world["admin"]).json()
    assert admin_view["source_feedback_id"] == feedback["b"]
