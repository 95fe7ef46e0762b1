"""Page logic with Streamlit's AppTest and the real API client, against the real API.

The API is :func:`app.api.factory.create_app` served over HTTP in a thread, on SQLite, embedded
Chroma and Kiwi, with the hashing embedder and the extractive fake model (tests/support/ui_backend.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

from app.auth.tokens import API_KEY_PREFIX, SESSION_PREFIX
from ingest.ocr import tesseract_available
from retrieval.tokenizer import KiwiTokenizer
from tests.support.ui_backend import PASSWORD, UiBackend, running_backend
from tests.support.ui_backend import keep_main_module_fixture as _keep_main_module  # noqa: F401 - autouse

pytestmark = pytest.mark.integration

APP = (Path(__file__).resolve().parents[2] / "ui" / "app.py").read_text(encoding="utf-8")
TIMEOUT = 30
EVAL_WAIT_S = 120

RULES = """# 취업규칙

- 시행일: 2025년 3월 1일

## 제3장 휴가

### 제12조(연차휴가)

② 1년간 80퍼센트 이상 출근한 직원에게 15일의 유급휴가를 준다.
"""

PAY = """# 보상 기준

## 성과급

성과급은 매년 3월에 전년도 인사평가 등급에 따라 기본급의 최대 200퍼센트까지 지급한다.
"""


@pytest.fixture
def backend(tmp_path: Path, kiwi: KiwiTokenizer) -> Iterator[UiBackend]:
    """kim in 인사팀, park in 영업팀, an admin; one public and one 인사팀-only document."""
    with running_backend(tmp_path, kiwi) as real:
        real.user("kim", groups=("인사팀",))
        real.user("park", groups=("영업팀",))
        real.user("admin", role="admin")
        real.document(RULES, "취업규칙.md", public=True)
        real.document(PAY, "보상기준.md", groups=("인사팀",))
        yield real


def app(backend: UiBackend, username: str | None = None, lang: str | None = None) -> AppTest:
    """The whole app (ui/app.py) with a client on the API, signed in as ``username``."""
    # from_string: AppTest re-detects a pages/ folder next to a script on every run, which would hide
    # the st.navigation pages on reruns; the script's text is the same.
    at = AppTest.from_string(APP, default_timeout=TIMEOUT)
    at.session_state["api"] = backend.client(username)
    if lang:
        at.session_state["lang"] = lang
    return at.run()


def page(backend: UiBackend, module: str, username: str = "admin") -> AppTest:
    """One page's ``render()`` alone, signed in as ``username``."""

    def script(module: str) -> None:
        import importlib

        importlib.import_module(f"ui.pages.{module}").render()

    at = AppTest.from_function(script, args=(module,), default_timeout=TIMEOUT)
    at.session_state["api"] = backend.client(username)
    return at.run()


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question)
    return at.run()


def answer_markdown(at: AppTest) -> str:
    assistant = [m for m in at.chat_message if m.name == "assistant"][-1]
    return "\n".join(str(md.value) for md in assistant.markdown)


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def last_answer_id(backend: UiBackend, username: str = "kim", conversation: int = 0) -> str:
    """The id of the newest message of ``username``'s ``conversation``-th conversation."""
    return str(backend.conversations(username)[conversation]["messages"][-1]["id"])


# --- login --------------------------------------------------------------------------------------


def test_login_gate_rejects_a_wrong_password_then_signs_in(backend: UiBackend) -> None:
    at = app(backend)
    assert at.title[0].value == "테스트회사"
    assert not at.chat_input
    at.text_input(key="login_username").set_value("kim")
    at.text_input[1].set_value("wrong-password")
    at.button[0].click().run()
    assert "비밀번호가 올바르지 않습니다" in at.error[0].value
    at.text_input(key="login_username").set_value("kim")
    at.text_input[1].set_value(PASSWORD)
    at.button[0].click().run()
    no_exception(at)
    assert at.chat_input and at.session_state["api"].user["username"] == "kim"


def test_the_login_page_shows_the_company_logo(backend: UiBackend) -> None:
    backend.set_logo(b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>')
    at = app(backend)
    no_exception(at)
    assert len(at.image) == 1


def test_an_expired_session_returns_to_the_login_page(backend: UiBackend) -> None:
    at = app(backend, "kim")
    backend.end_sessions()
    at.run()
    assert not at.chat_input
    assert "로그인이 만료되었습니다" in at.warning[0].value


def test_logout_forgets_the_session(backend: UiBackend) -> None:
    at = app(backend, "kim")
    at.button(key="logout").click().run()
    assert not at.chat_input
    assert not backend.live_sessions()
    assert "로그아웃했습니다" in at.info[0].value


# --- staying signed in across a reload -----------------------------------------------------------


@pytest.fixture
def cookie_scripts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The scripts the app gives the browser to set or clear its session cookie."""
    written: list[str] = []
    monkeypatch.setattr("ui.session.st_components.html", lambda html, **_: written.append(html))
    return written


def reload_with_cookie(monkeypatch: pytest.MonkeyPatch, backend: UiBackend, cookie: str) -> AppTest:
    """A new browser session (no token in memory) whose request carries ``jikji_session``."""
    import streamlit

    monkeypatch.setattr(streamlit, "context", SimpleNamespace(cookies={"jikji_session": cookie}))
    return app(backend)


def test_login_sets_the_session_cookie_and_a_reload_signs_back_in(
    backend: UiBackend, cookie_scripts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    at = app(backend)
    at.text_input(key="login_username").set_value("kim")
    at.text_input[1].set_value(PASSWORD)
    at.button[0].click().run()
    token = at.session_state["api"].token
    assert (
        len(cookie_scripts) == 1 and f'"jikji_session={token}; Path=/; SameSite=Strict"' in cookie_scripts[0]
    )
    assert "Max-Age" not in cookie_scripts[0], "a browser-session cookie, gone when the browser closes"

    again = reload_with_cookie(monkeypatch, backend, token)
    no_exception(again)
    assert again.chat_input and again.session_state["api"].user["username"] == "kim"


def test_an_ended_or_forged_cookie_shows_the_login_page(
    backend: UiBackend, cookie_scripts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ended = reload_with_cookie(monkeypatch, backend, SESSION_PREFIX + "x" * 43)  # well-formed, not a session
    assert not ended.chat_input and ended.session_state["api"].token is None
    assert "Max-Age=0" in cookie_scripts[-1], "the dead cookie is cleared"
    calls = len(backend.requests)
    forged = reload_with_cookie(monkeypatch, backend, 'jks_"; alert(1); "')
    assert not forged.chat_input and forged.session_state["api"].token is None
    assert ("GET", "/api/v1/auth/me") not in backend.requests[calls:], "a malformed cookie is not even tried"
    assert all("alert" not in script for script in cookie_scripts), "the cookie never reaches the page"


def test_logout_clears_the_session_cookie(backend: UiBackend, cookie_scripts: list[str]) -> None:
    at = app(backend, "kim")
    at.button(key="logout").click().run()
    assert "jikji_session=; Path=/; SameSite=Strict; Max-Age=0" in cookie_scripts[-1]


# --- chat ---------------------------------------------------------------------------------------


def test_starter_questions_come_only_from_documents_the_user_may_see(backend: UiBackend) -> None:
    kim = app(backend, "kim")
    park = app(backend, "park")
    kim_starters = sorted(b.label for b in kim.button if b.key and b.key.startswith("starter-"))
    park_starters = [b.label for b in park.button if b.key and b.key.startswith("starter-")]
    assert kim_starters == ["보상 기준의 주요 내용은?", "취업규칙의 주요 내용은?"]
    assert park_starters == ["취업규칙의 주요 내용은?"]


def test_a_starter_question_is_asked_when_clicked(backend: UiBackend) -> None:
    at = app(backend, "park")
    at.button(key="starter-0").click().run()
    no_exception(at)
    user = [m for m in at.chat_message if m.name == "user"]
    assert user[0].markdown[0].value == "취업규칙의 주요 내용은?"


def test_an_answer_links_its_citation_to_a_source_card_with_highlighted_evidence(
    backend: UiBackend,
) -> None:
    at = ask(app(backend, "kim"), "연차휴가는 며칠인가요?")
    no_exception(at)
    text = answer_markdown(at)
    assistant = next(m for m in at.chat_message if m.name == "assistant")
    message_id = last_answer_id(backend)
    assert f"(#src-{message_id}-1)" in text  # [1] is a link to the card
    card = next(md.value for md in assistant.markdown if 'class="jikji-source"' in str(md.value))
    assert f'id="src-{message_id}-1"' in card
    # the evidence sentence; the article heading belongs to the clause it opens (llm/evidence.py)
    assert (
        "<mark>제12조(연차휴가) ② 1년간 80퍼센트 이상 출근한 직원에게 15일의 유급휴가를 준다.</mark>" in card
    )
    assert "취업규칙 제12조" in card  # the source's label
    assert "2025-03-01 판" in card  # the version date, from the document's versions
    assert assistant.download_button[0].label == "원문 열기"
    conversation_id = backend.conversations("kim")[0]["id"]
    assert at.sidebar.button(key=f"conv-{conversation_id}").label == "연차휴가는 며칠인가요?"


def test_no_cited_source_shows_the_not_found_state(backend: UiBackend) -> None:
    admin = backend.client("admin")
    for document in admin.list_documents()["items"]:
        if document["is_public"]:
            admin.delete_document(document["id"])
    at = ask(app(backend, "park"), "성과급은 얼마인가요?")
    no_exception(at)
    assert "문서에서 답을 찾지 못했습니다" in at.warning[0].value
    assert not any('class="jikji-source"' in str(md.value) for md in at.markdown)


def test_model_output_is_rendered_without_html_images_or_script_links(backend: UiBackend) -> None:
    backend.model.answer = (
        '<script>alert("x")</script> <img src=http://evil.test/a.png> ![t](http://evil.test/b.png) '
        "[클릭](javascript:alert(1)) 연차는 15일 [1]"
    )
    at = ask(app(backend, "kim"), "연차?")
    text = answer_markdown(at)
    assert "<script" not in text and "<img" not in text
    assert "&lt;script" in text
    assert "evil.test/b.png" not in text
    assert "javascript:" not in text
    assert all(
        not md.allow_html or "jikji-source" in str(md.value) or "<style>" in str(md.value)
        for md in at.markdown
    )


def test_a_figure_the_sources_do_not_hold_is_marked(backend: UiBackend) -> None:
    backend.model.answer = "연차휴가는 1년에 25일입니다 [1]."
    at = ask(app(backend, "kim"), "연차휴가는 며칠인가요?")
    warnings = [w.value for w in at.warning]
    assert any("출처에 없는 수치: 25일" in w for w in warnings), warnings


def test_feedback_and_comment_are_sent(backend: UiBackend) -> None:
    at = ask(app(backend, "kim"), "연차휴가는 며칠인가요?")
    message_id = last_answer_id(backend)
    at.feedback(key=f"fb-{message_id}").set_value(1).run()
    assert backend.feedback(message_id) == {"rating": 1}
    assert "의견 감사합니다" in at.success[0].value
    at.text_area(key=f"comment-{message_id}").set_value("정확합니다")
    at.button(key=f"comment-send-{message_id}").click().run()
    assert backend.feedback(message_id) == {"rating": 1, "comment": "정확합니다"}


def test_regenerate_replaces_the_last_answer(backend: UiBackend) -> None:
    at = ask(app(backend, "kim"), "연차휴가는 며칠인가요?")
    message_id = last_answer_id(backend)
    at.button(key=f"regen-{message_id}").click().run()
    no_exception(at)
    conversation_id = backend.conversations("kim")[0]["id"]
    assert ("POST", f"/api/v1/conversations/{conversation_id}/regenerate") in backend.requests
    assert [m.name for m in at.chat_message] == ["user", "assistant"]
    assert last_answer_id(backend) != message_id, "the answer was replaced"
    assert at.button(key=f"regen-{last_answer_id(backend)}")


def test_history_new_search_rename_and_delete(backend: UiBackend) -> None:
    at = ask(app(backend, "kim"), "연차휴가는 며칠인가요?")
    at.button(key="new_chat").click().run()
    assert not at.chat_message  # a new, empty conversation
    at = ask(at, "출장비는 어떻게 정산하나요?")
    first, second = (c["id"] for c in backend.conversations("kim"))
    at.sidebar.text_input(key="conversation_search").set_value("출장").run()
    listed = [b.key for b in at.sidebar.button if b.key and b.key.startswith("conv-")]
    assert listed == [f"conv-{second}"]
    at.sidebar.text_input(key="conversation_search").set_value("").run()
    at.sidebar.text_input(key=f"title-{second}").set_value("출장 정산")
    at.sidebar.button(key=f"rename-{second}").click().run()
    assert backend.conversations("kim")[1]["title"] == "출장 정산"
    at.sidebar.checkbox(key=f"confirm-{second}").check().run()
    at.sidebar.button(key=f"delete-{second}").click().run()
    assert [c["id"] for c in backend.conversations("kim")] == [first]
    assert not at.chat_message  # back to a fresh start


# --- language -----------------------------------------------------------------------------------


def test_the_language_switch_changes_every_label(backend: UiBackend) -> None:
    at = app(backend, "kim")
    assert at.sidebar.button(key="logout").label == "로그아웃"
    at.sidebar.button_group[0].set_value("en").run()
    no_exception(at)
    assert at.sidebar.button(key="logout").label == "Sign out"
    assert at.subheader[0].value == "테스트회사 knowledge assistant"
    assert at.chat_input[0].placeholder.startswith("Ask anything")
    assert app(backend, "kim", lang="en").sidebar.button(key="new_chat").label == "New conversation"


# --- admin pages --------------------------------------------------------------------------------

TRAVEL = "# 출장규정\n\n출장비는 출장 후 5일 이내에 영수증을 첨부하여 정산한다.\n"
SECURITY = "보안 서약서는 입사 첫날 작성하여 정보보안팀에 제출한다.\n"


def test_admin_uploads_files_with_groups_and_sees_their_jobs(backend: UiBackend) -> None:
    at = page(backend, "admin_documents")
    no_exception(at)
    uploader = at.file_uploader[0]
    assert uploader.accept_multiple_files
    uploader.set_value(
        [
            ("출장규정.md", TRAVEL.encode(), "text/markdown"),
            ("보안.txt", SECURITY.encode(), "text/plain"),
        ]
    )
    at.run()
    at.multiselect(key="upload_groups").set_value(["인사팀"])
    at.button[0].click().run()
    no_exception(at)
    backend.wait_for_jobs()
    at.run()  # what the page's polling would show once the jobs are done
    no_exception(at)
    uploaded = {d["display_name"]: d for d in backend.client("admin").list_documents()["items"]}
    assert {"출장규정.md", "보안.txt"} <= set(uploaded)
    assert [g["name"] for g in uploaded["출장규정.md"]["groups"]] == ["인사팀"]
    assert any("출장규정" in s.value and "완료" in s.value for s in at.success)
    assert "문서 4개" in [c.value for c in at.caption]


def test_admin_changes_groups_and_deletes_a_document(backend: UiBackend) -> None:
    at = page(backend, "admin_documents")
    document_id = backend.document_ids()["취업규칙.md"]
    select_document(at, "취업규칙.md")
    form = next(f for f in at.get("form") if any(b.label == "공개 범위 저장" for b in f.button))
    form.multiselect[0].set_value(["영업팀"])
    form.checkbox[0].uncheck()
    form.button[0].click()
    at.run()
    no_exception(at)
    admin = backend.client("admin")
    document = admin.get_document(document_id)
    assert [g["name"] for g in document["groups"]] == ["영업팀"]
    assert document["is_public"] is False
    select_document(at, "취업규칙.md")
    at.button(key=f"delete-{document_id}").click().run()
    at.button(key=f"delete-{document_id}-yes").click().run()  # the page asks first
    assert document_id not in {d["id"] for d in admin.list_documents()["items"]}


def select_document(at: AppTest, file_name: str) -> AppTest:
    """Select the documents table's row of ``file_name`` (a click on its checkbox)."""
    rows = [list(at.dataframe[-1].value["file"]).index(file_name)]
    at.session_state["doc_table"] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    return at.run()


@pytest.mark.skipif(not tesseract_available(), reason="needs tesseract-ocr and tesseract-ocr-kor")
def test_admin_sees_the_low_confidence_ocr_pages_of_a_document(backend: UiBackend) -> None:
    from PIL import ImageFilter

    from ingest.pipeline import IngestRequest
    from tests.support.scans import REGULATION, image_bytes, render_page

    blurred = render_page(REGULATION, dpi=150).filter(ImageFilter.GaussianBlur(3.5))  # confidence ~40
    request = IngestRequest(image_bytes(blurred, dpi=150), "흐린스캔.png", source_key="흐린스캔.png")
    backend.container.pipeline.ingest(request)
    at = page(backend, "admin_documents")
    select_document(at, "흐린스캔.png")
    no_exception(at)
    assert any("신뢰도가 낮은 쪽: 1" in w.value for w in at.warning)


def test_admin_creates_a_user_and_a_key_whose_secret_is_shown_once(backend: UiBackend) -> None:
    at = page(backend, "admin_users")
    no_exception(at)
    form = at.get("form")[0]
    form.text_input[0].set_value("lee")
    form.text_input[2].set_value("long-password-1")
    form.multiselect[0].set_value(["영업팀"])
    form.button[0].click()
    at.run()
    lee = next(u for u in backend.client("admin").list_users() if u["username"] == "lee")
    assert [g["name"] for g in lee["groups"]] == ["영업팀"]

    key_form = next(f for f in at.get("form") if any(b.label == "키 만들기" for b in f.button))
    key_form.text_input[0].set_value("그룹웨어 연동")
    key_form.button[0].click()
    at.run()
    no_exception(at)
    secrets = [c.value for c in at.code if c.value.startswith(API_KEY_PREFIX)]
    assert len(secrets) == 1
    key_client = backend.client()
    key_client.token = secrets[0]
    assert key_client.me()["user"]["username"] == "admin", "the secret shown is the new key's"
    at.button(key="secret_done").click().run()
    assert not any(c.value.startswith(API_KEY_PREFIX) for c in at.code)


def test_admin_adds_a_dictionary_term(backend: UiBackend) -> None:
    at = page(backend, "admin_users")
    term_form = next(f for f in at.get("form") if any(b.label == "용어 추가" for b in f.button))
    term_form.text_input[0].set_value("DocuFlow")
    term_form.button[0].click()
    at.run()
    assert [t["term"] for t in backend.client("admin").list_terms()] == ["DocuFlow"]


def test_dashboard_shows_the_stats(backend: UiBackend) -> None:
    rules = backend.document_ids()["취업규칙.md"]
    answers = [  # (latency ms, cited, rating): 7 questions, 5 citing 취업규칙, 3 up and 1 down
        (400, True, 1),
        (500, True, 1),
        (700, True, 1),
        (850, True, -1),
        (1000, True, None),
        (1500, False, None),
        (2400, None, None),
    ]
    for number, (latency, cited, rating) in enumerate(answers):
        question = "주차 요금은?" if cited is None else f"질문 {number}"
        backend.record_answer(question, latency_ms=latency, cited=rules if cited else None, rating=rating)
    at = page(backend, "admin_dashboard")
    no_exception(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {
        "질문 수": "7",
        "답변 시간 (중앙값)": "850ms",
        "답변 시간 (p95)": "2.4s",
        "부정 평가 비율": "25.0%",
    }
    assert len(at.dataframe) == 2  # never cited, unanswered


def test_evaluation_runs_and_shows_metrics_and_history(backend: UiBackend) -> None:
    backend.write_eval_set(
        [  # four find their gold file first, the last does not: R@1 = 0.8
            ("연차휴가는 며칠인가요?", "취업규칙.md"),
            ("유급휴가 15일은 누가 받나요?", "취업규칙.md"),
            ("성과급은 언제 지급하나요?", "보상기준.md"),
            ("성과급은 기본급의 몇 퍼센트인가요?", "보상기준.md"),
            ("80퍼센트 이상 출근한 직원의 연차휴가", "보상기준.md"),
        ]
    )
    at = page(backend, "admin_eval")
    assert "아직 평가 기록이 없습니다." in [c.value for c in at.caption]
    for _ in range(2):
        at.button[0].click().run()
        backend.container.eval_runner.wait(EVAL_WAIT_S)
        at.run()  # what the page's polling would show once the run is done
    no_exception(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["R@1"] == "0.800"
    assert at.metric[0].delta == "+0.000"  # compared with the previous run
    assert len(backend.container.eval_runner.runs()) == 2


def test_answer_evaluation_is_a_tab_of_its_own(backend: UiBackend) -> None:
    backend.write_answer_set([("연차휴가는 며칠인가요?", "15일", "취업규칙.md")])
    at = page(backend, "admin_eval")
    at.button_group[0].set_value("answers").run()
    assert "답변 세트의 질문에 실제로 답하고" in " ".join(c.value for c in at.caption)
    at.button[0].click().run()
    backend.container.eval_runner.wait(EVAL_WAIT_S)
    at.run()
    no_exception(at)
    metrics = {m.label: m.value for m in at.metric}
    assert "evidence_hit@1" in metrics and "f1" in metrics, metrics
    [run] = backend.container.eval_runner.runs()
    assert run["kind"] == "answers" and run["status"] == "succeeded", run
