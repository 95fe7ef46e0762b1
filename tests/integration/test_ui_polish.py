"""The polished pages (issue 18) with Streamlit's AppTest and the real API client against the real API.

The backend and the page helpers are those of tests/integration/test_ui_pages.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from app.auth.tokens import API_KEY_PREFIX
from core.models import User
from tests.integration import test_ui_pages
from tests.integration.test_ui_pages import no_exception, page
from tests.support.ui_backend import UiBackend

pytestmark = pytest.mark.integration

backend = test_ui_pages.backend  # the same fixtures: kim in 인사팀, park in 영업팀, an admin, two documents
keep_main_module = test_ui_pages._keep_main_module


def login_page(backend: UiBackend) -> AppTest:
    """The sign-in page, signed out."""

    def script() -> None:
        from ui.pages import login

        login.render()

    at = AppTest.from_function(script, default_timeout=30)
    at.session_state["api"] = backend.client()
    return at.run()


def _form(at: AppTest, button_label: str) -> object:
    return next(f for f in at.get("form") if any(b.label == button_label for b in f.button))


def test_a_new_user_form_keeps_its_fields_after_a_validation_error(backend: UiBackend) -> None:
    at = page(backend, "admin_users")
    form = _form(at, "사용자 만들기")
    form.text_input[0].set_value("lee")  # type: ignore[attr-defined]
    form.text_input[1].set_value("이영희")  # type: ignore[attr-defined]
    form.text_input[2].set_value("short")  # type: ignore[attr-defined]
    form.multiselect[0].set_value(["영업팀"])  # type: ignore[attr-defined]
    form.button[0].click()  # type: ignore[attr-defined]
    at.run()
    no_exception(at)
    assert at.error, "the API's message about the short password"
    form = _form(at, "사용자 만들기")
    assert [t.value for t in form.text_input[:2]] == ["lee", "이영희"]  # type: ignore[attr-defined]
    assert form.multiselect[0].value == ["영업팀"]  # type: ignore[attr-defined]

    form.text_input[2].set_value("long-password-1")  # type: ignore[attr-defined]
    form.button[0].click()  # type: ignore[attr-defined]
    at.run()
    assert any(u["username"] == "lee" for u in backend.client("admin").list_users())
    assert any(s.value == "사용자 lee를 만들었습니다." for s in at.success)
    assert _form(at, "사용자 만들기").text_input[0].value == ""  # type: ignore[attr-defined]


def test_revoking_a_key_asks_first(backend: UiBackend) -> None:
    admin = backend.client("admin")
    key = admin.create_key("그룹웨어 연동", ["search"])["key"]
    at = page(backend, "admin_users")
    at.button(key=f"revoke-{key['id']}").click().run()
    assert [k["status"] for k in admin.list_keys()] == ["active"], "one click revokes nothing"
    assert any("API 키 그룹웨어 연동을 폐기할까요?" in w.value for w in at.warning)
    at.button(key=f"revoke-{key['id']}-no").click().run()
    assert [k["status"] for k in admin.list_keys()] == ["active"]
    at.button(key=f"revoke-{key['id']}").click().run()
    at.button(key=f"revoke-{key['id']}-yes").click().run()
    no_exception(at)
    assert [k["status"] for k in admin.list_keys()] == ["revoked"]


def test_removing_a_term_asks_first(backend: UiBackend) -> None:
    admin = backend.client("admin")
    admin.add_term("한빛클라우드", "NNP")
    at = page(backend, "admin_users")
    at.button(key="remove-term").click().run()
    assert [t["term"] for t in admin.list_terms()] == ["한빛클라우드"]
    at.button(key="remove-term-yes").click().run()
    no_exception(at)
    assert admin.list_terms() == []
    assert any(s.value == "용어 한빛클라우드를 삭제했습니다." for s in at.success)


def test_a_new_key_secret_stays_on_screen_through_other_actions(backend: UiBackend) -> None:
    at = page(backend, "admin_users")
    key_form = _form(at, "키 만들기")
    key_form.text_input[0].set_value("그룹웨어 연동")  # type: ignore[attr-defined]
    key_form.button[0].click()  # type: ignore[attr-defined]
    at.run()
    term_form = _form(at, "용어 추가")  # another action, on another tab, before confirming the copy
    term_form.text_input[0].set_value("DocuFlow")  # type: ignore[attr-defined]
    term_form.button[0].click()  # type: ignore[attr-defined]
    at.run()
    no_exception(at)
    assert [c.value for c in at.code if c.value.startswith(API_KEY_PREFIX)], "the secret is still shown"
    at.button(key="secret_done").click().run()
    assert not [c.value for c in at.code if c.value.startswith(API_KEY_PREFIX)]


def test_the_first_admin_command_shows_only_on_this_machine_while_no_admin_exists(
    backend: UiBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ui.pages import login

    command = "jikji users create-admin"
    at = login_page(backend)
    assert not any(command in i.value for i in at.info), "an admin exists"
    assert not any(command in c.value for c in at.caption)
    with backend.container.sessions.begin() as session:
        session.execute(update(User).where(User.role == "admin").values(role="employee"))
    at = login_page(backend)
    assert not any(command in i.value for i in at.info), "no address: not shown to a remote browser"
    monkeypatch.setattr(login, "browser_address", lambda: "10.1.2.3")
    at = login_page(backend)
    assert not any(command in i.value for i in at.info), "another machine"
    monkeypatch.setattr(login, "browser_address", lambda: "127.0.0.1")
    at = login_page(backend)
    assert any(command in i.value for i in at.info)


def test_loopback_addresses_are_this_machine() -> None:
    from ui.pages.login import on_this_machine

    assert on_this_machine("127.0.0.1") and on_this_machine("::1") and on_this_machine("localhost")
    assert not on_this_machine("10.0.0.5") and not on_this_machine(None) and not on_this_machine("")


def test_tables_show_times_in_seoul_not_utc(backend: UiBackend) -> None:
    at = page(backend, "admin_users")
    no_exception(at)
    table = at.dataframe[0].value
    kim = next(u for u in backend.client("admin").list_users() if u["username"] == "kim")
    shown = table.loc[table["사용자 이름"] == "kim", "만든 날"].iloc[0]
    created = datetime.fromisoformat(str(kim["created_at"]).replace("Z", "+00:00"))
    created = created if created.tzinfo else created.replace(tzinfo=UTC)
    assert shown == (created + timedelta(hours=9)).strftime("%Y-%m-%d %H:%M")  # KST has no DST


def test_uploading_a_file_already_there_offers_a_new_version_or_cancel(backend: UiBackend) -> None:
    from tests.integration.test_ui_pages import RULES

    existing = backend.document_ids()["취업규칙.md"]
    at = page(backend, "admin_documents")
    at.file_uploader[0].set_value([("취업규칙_사본.md", RULES.encode(), "text/markdown")])
    at.run()
    at.button[0].click().run()
    no_exception(at)
    assert any("이미 올라와 있는 문서와 내용이 같은 파일" in w.value for w in at.warning)
    listed = " ".join(m.value for m in at.markdown).replace("\\", "")  # Markdown escapes
    assert "취업규칙_사본.md" in listed and "취업규칙.md" in listed and "전체 공개" in listed
    at.button(key="dup_cancel").click().run()
    no_exception(at)
    assert backend.client("admin").list_documents()["total"] == 2, "cancelled: nothing uploaded"
    assert not at.warning

    at.file_uploader[0].set_value([("취업규칙_사본.md", RULES.encode(), "text/markdown")])
    at.run()
    at.button[0].click().run()
    at.button(key="dup_new").click().run()
    no_exception(at)
    backend.wait_for_jobs()
    documents = backend.client("admin").list_documents()
    assert documents["total"] == 2, "no second identical document"
    assert next(d for d in documents["items"] if d["id"] == existing)["version_number"] == 2


def select_rows(at: AppTest, *file_names: str) -> AppTest:
    """Select the documents table's rows of these files (what a click on their checkboxes does)."""
    files = list(at.dataframe[-1].value["file"])
    rows = [files.index(name) for name in file_names]
    at.session_state["doc_table"] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    return at.run()


def test_a_selected_row_is_renamed_and_deleted_after_confirmation(backend: UiBackend) -> None:
    admin = backend.client("admin")
    document_id = backend.document_ids()["취업규칙.md"]
    at = page(backend, "admin_documents")
    assert any("표에서 문서를 하나 이상 선택하면" in c.value for c in at.caption)
    at = select_rows(at, "취업규칙.md")
    no_exception(at)
    form = _form(at, "제목 바꾸기")
    form.text_input[0].set_value("취업 규칙 (2025)")  # type: ignore[attr-defined]
    form.button[0].click()  # type: ignore[attr-defined]
    at.run()
    no_exception(at)
    assert admin.get_document(document_id)["title"] == "취업 규칙 (2025)"
    assert any(s.value == "제목을 「취업 규칙 (2025)」로 바꿨습니다." for s in at.success), [
        s.value for s in at.success
    ]

    at = select_rows(at, "취업규칙.md")
    at.button(key=f"delete-{document_id}").click().run()
    assert document_id in {d["id"] for d in admin.list_documents()["items"]}, "asks first"
    assert any("되돌릴 수 없습니다" in w.value for w in at.warning)
    at.button(key=f"delete-{document_id}-yes").click().run()
    no_exception(at)
    assert document_id not in {d["id"] for d in admin.list_documents()["items"]}


def test_bulk_actions_on_several_documents(backend: UiBackend) -> None:
    admin = backend.client("admin")
    ids = backend.document_ids()
    at = select_rows(page(backend, "admin_documents"), "취업규칙.md", "보상기준.md")
    no_exception(at)
    assert any(h.value == "선택한 문서 2개" for h in at.subheader)
    form = _form(at, "선택한 문서의 공개 범위 저장")
    form.multiselect[0].set_value(["영업팀"])  # type: ignore[attr-defined]
    form.button[0].click()  # type: ignore[attr-defined]
    at.run()
    no_exception(at)
    for name in ("취업규칙.md", "보상기준.md"):
        document = admin.get_document(ids[name])
        assert [g["name"] for g in document["groups"]] == ["영업팀"] and document["is_public"] is False

    at = select_rows(at, "취업규칙.md", "보상기준.md")
    at.button(key="bulk-reingest").click().run()
    no_exception(at)
    backend.wait_for_jobs()
    assert {admin.get_document(ids[n])["version_number"] for n in ("취업규칙.md", "보상기준.md")} == {2}

    at = select_rows(at, "취업규칙.md", "보상기준.md")
    at.button(key="bulk-delete").click().run()
    assert admin.list_documents()["total"] == 2, "asks first"
    at.button(key="bulk-delete-yes").click().run()
    no_exception(at)
    assert admin.list_documents()["total"] == 0
