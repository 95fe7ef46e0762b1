"""Canary (issue 19 item 4): a membership change made in the directory or by the identity provider
takes effect everywhere at once.

A user of 재무팀 talks about 재무팀's secret document, downloads it and holds an API key. Then they
are removed from the group — through slapd and one LDAP sync, or through a SCIM PATCH — and, on the
very next requests, through their session and their key: search, chat (the prompt the model gets and
the citations), the conversation API, downloads and their earlier conversation (history) show nothing
of it. Through LDAP, a directory admin taken out of the admin group also loses the golden items.
SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.services.identity_sync import run_ldap_sync
from app.services.turn_access import WITHHELD_TEXT
from core.settings import DatabaseSettings, EmbeddingSettings, LLMSettings, Settings
from retrieval.tokenizer import KiwiTokenizer
from tests.api_harness import ApiHarness, served_api
from tests.integration.test_canary import RecordingModel
from tests.integration.test_ldap import ldap_settings
from tests.integration.test_scim import PATCH_SCHEMA, _scim, with_scim
from tests.support.slapd import (
    Slapd,
    slapd_fixture,  # noqa: F401 - provides the `slapd` fixture
)

pytestmark = pytest.mark.integration

TOKENS = ("QJXFALCON", "적색여우작전")
SECRET = (
    f"# 재무 기밀\n\n## 제1조(예산)\n\n① {TOKENS[1]}의 예산은 {TOKENS[0]} 코드로 관리하며 총 456억원이다.\n"
)
PUBLIC = "# 사내 식당\n\n점심은 11시 30분부터 13시까지 제공한다.\n"
QUESTION = f"{TOKENS[1]} 예산은 얼마야?"
DIRECTORY_PASSWORD = "canary-directory-pw-1"


@pytest.fixture
def recording() -> RecordingModel:
    """The generative model that keeps every prompt."""
    return RecordingModel()


@pytest.fixture(params=["ldap", "scim"])
def mechanism(request: pytest.FixtureRequest) -> str:
    """How the membership changes: the LDAP directory and a sync, or SCIM."""
    return str(request.param)


@pytest.fixture
def directory(mechanism: str, request: pytest.FixtureRequest) -> Slapd | None:
    """A seeded slapd for the LDAP runs."""
    if mechanism != "ldap":
        return None
    server: Slapd = request.getfixturevalue("slapd")
    finance_ap = server.add_group("finance-ap", [server.add_person("fin-kim", DIRECTORY_PASSWORD, "김재무")])
    server.add_group("finance", [finance_ap])
    server.add_group("jikji-admins", [server.add_person("boss", DIRECTORY_PASSWORD, "최관리")])
    return server


@pytest.fixture
def canary_api(
    tmp_path: Path,
    database_url: str | None,
    kiwi: KiwiTokenizer,
    recording: RecordingModel,
    directory: Slapd | None,
) -> Iterator[ApiHarness]:
    """The API on SQLite or PostgreSQL, answering generatively, with LDAP (when seeded) and SCIM on."""
    settings = with_scim(
        Settings(
            data_dir=tmp_path / "data",
            embedding=EmbeddingSettings(model="hashing"),
            database=DatabaseSettings(url=database_url),
            llm=LLMSettings(answer_mode="generative"),
        )
    )
    if directory is not None:
        auth = settings.auth.model_copy(update={"ldap": ldap_settings(directory)})
        settings = settings.model_copy(update={"auth": auth})
    with served_api(settings, kiwi, chat_model=recording) as api:
        yield api


def _member_through_scim(api: ApiHarness) -> tuple[dict[str, str], Callable[[], None]]:
    user = _scim(api, "POST", "/Users", {"userName": "fin-kim", "displayName": "김재무"})
    group = _scim(api, "POST", "/Groups", {"displayName": "재무팀", "members": [{"value": user["id"]}]})

    def remove() -> None:
        operation = {"op": "remove", "path": f'members[value eq "{user["id"]}"]'}
        _scim(api, "PATCH", f"/Groups/{group['id']}", {"schemas": [PATCH_SCHEMA], "Operations": [operation]})

    return api.session_for(user["id"]), remove


def _member_through_ldap(api: ApiHarness, server: Slapd) -> tuple[dict[str, str], Callable[[], None]]:
    response = api.client.post(
        "/api/v1/auth/login", json={"username": "fin-kim", "password": DIRECTORY_PASSWORD}
    )
    assert response.status_code == 200, response.text
    directory = api.container.ldap_directory
    assert directory is not None

    def remove() -> None:
        from tests.support.slapd import GROUPS, PEOPLE

        server.remove_member(f"cn=finance-ap,{GROUPS}", f"uid=fin-kim,{PEOPLE}")
        server.remove_member(f"cn=jikji-admins,{GROUPS}", f"uid=boss,{PEOPLE}")
        run_ldap_sync(api.container.sessions, directory)

    return {"Authorization": f"Bearer {response.json()['token']}"}, remove


def _leaks(text: str) -> list[str]:
    return [token for token in TOKENS if token in text]


def _ask(api: ApiHarness, headers: dict[str, str], conversation: str) -> dict[str, Any]:
    response = api.client.post(
        f"/api/v1/conversations/{conversation}/messages", json={"content": QUESTION}, headers=headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_removal_from_a_group_takes_effect_on_every_path_at_once(
    canary_api: ApiHarness, recording: RecordingModel, mechanism: str, directory: Slapd | None
) -> None:
    api = canary_api
    admin = api.admin()  # a local admin: the golden item's author, and never the last admin
    if mechanism == "ldap":
        assert directory is not None
        api.group("재무팀")
        member, remove = _member_through_ldap(api, directory)
    else:
        member, remove = _member_through_scim(api)
    secret_id = api.ingest(SECRET, "재무기밀.md", groups=["재무팀"])
    api.ingest(PUBLIC, "식당.md", public=True)
    key = api.key(member, ["search", "chat", "documents:read"])

    # Before: the member finds, is answered from, cites and downloads the secret document.
    conversation = api.client.post("/api/v1/conversations", json={}, headers=member).json()["id"]
    first = _ask(api, member, conversation)
    assert any(s["document_id"] == secret_id for s in first["sources"]), "setup: it must cite the secret"
    assert _leaks(first["content"]), "setup: the answer must quote it"
    assert api.client.get(f"/api/v1/documents/{secret_id}/download", headers=member).status_code == 200
    golden = {
        "question": QUESTION,
        "answers": ["456억원"],
        "document_ids": [secret_id],
        "group_ids": [api.group("재무팀")],
    }
    assert api.client.post("/api/v1/golden", json=golden, headers=admin).status_code == 201
    boss = None
    if mechanism == "ldap":
        login = api.client.post(
            "/api/v1/auth/login", json={"username": "boss", "password": DIRECTORY_PASSWORD}
        )
        boss = {"Authorization": f"Bearer {login.json()['token']}"}
        assert api.client.get("/api/v1/golden", headers=boss).json()["total"] == 1

    remove()

    missing = "0" * 32
    for headers in (member, key):
        found = api.client.post("/api/v1/search", json={"query": QUESTION, "k": 20}, headers=headers)
        assert found.status_code == 200 and not _leaks(found.text.replace(QUESTION, ""))
        assert secret_id not in found.text
        recording.prompts.clear()
        completion = api.client.post(
            "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": QUESTION}]},
            headers=headers,
        )
        assert completion.status_code == 200, completion.text
        assert not _leaks(completion.text.replace(QUESTION, "")) and secret_id not in completion.text
        assert recording.prompts and not any(_leaks(p.replace(QUESTION, "")) for p in recording.prompts)
        # The earlier conversation: its turns drew on the secret document, so they are withheld …
        read = api.client.get(f"/api/v1/conversations/{conversation}", headers=headers)
        assert read.status_code == 200 and not _leaks(read.text.replace(QUESTION, ""))  # its own words
        assert [m["content"] for m in read.json()["messages"]][:2] == [WITHHELD_TEXT, WITHHELD_TEXT]
        # … and continuing it gives the model none of them, nor the document as a source.
        recording.prompts.clear()
        again = _ask(api, headers, conversation)
        assert not any(s["document_id"] == secret_id for s in again["sources"])
        assert not _leaks(again["content"]) and not any(
            _leaks(p.replace(QUESTION, "")) for p in recording.prompts
        )
        hidden = api.client.get(f"/api/v1/documents/{secret_id}/download", headers=headers)
        absent = api.client.get(f"/api/v1/documents/{missing}/download", headers=headers)
        assert (hidden.status_code, hidden.json()) == (absent.status_code, absent.json())
    if boss is not None:  # the directory admin group left: no more golden items (admin only)
        assert api.client.get("/api/v1/golden", headers=boss).status_code == 403
    assert api.client.get("/api/v1/golden", headers=admin).json()["total"] == 1  # the item itself stays
