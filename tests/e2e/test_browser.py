"""The product in a real browser: Debian chromium (headless, Playwright) against the real Streamlit UI
and the real API (hashing embedder, a slow extractive fake model, Kiwi BM25, SQLite, Chroma).

Each test opens a fresh browser context (a fresh Streamlit session) and saves screenshots of the pages
it visits under ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from core.models import Feedback
from tests.e2e.conftest import HR, SCREENSHOTS, SECRET_PHRASE, SECRET_TITLE
from tests.e2e.stack import PASSWORD, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 390, "height": 844}
WAIT_MS = 60_000
ERROR_BOX = '[data-testid="stException"]'


def open_page(browser: Any, stack: Stack, viewport: dict[str, int] = DESKTOP) -> Any:
    """A new browser context and page on the UI (a new Streamlit session)."""
    context = browser.new_context(viewport=viewport, accept_downloads=True, locale="ko-KR")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(stack.ui_url)
    page.get_by_label("사용자 이름").wait_for()
    return page


def login(page: Any, username: str, *, shot: str | None = None) -> None:
    """Sign in through the login form and wait for the chat page."""
    if shot:
        save(page, shot)
    page.get_by_label("사용자 이름").fill(username)
    page.get_by_label("비밀번호", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="로그인").click()
    page.get_by_placeholder("무엇이든 물어보세요").wait_for()
    settle(page)


def settle(page: Any) -> None:
    """Wait until Streamlit has finished the current run (no "running" indicator)."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=WAIT_MS)
    page.wait_for_timeout(200)


def save(page: Any, name: str) -> None:
    """A screenshot of the viewport, and the checks every page must pass."""
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    assert page.locator(ERROR_BOX).count() == 0, page.locator(ERROR_BOX).first.inner_text()
    assert page.get_by_text("Deploy", exact=True).count() == 0  # the developer toolbar is hidden


def ask(page: Any, question: str) -> list[str]:
    """Type a question and return the answer's text as it was seen while streaming."""
    page.get_by_placeholder("무엇이든 물어보세요").fill(question)
    page.keyboard.press("Enter")
    streaming = page.locator('[data-testid="stChatMessage"] [data-testid="stMarkdown"]').filter(has_text="▌")
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        texts = streaming.all_inner_texts()  # no waiting: the element may be gone by now
        text = texts[0] if texts else ""
        if text and (not seen or seen[-1] != text):
            seen.append(text)
        if seen and not text:
            break
        page.wait_for_timeout(100)
    settle(page)
    return seen


def messages_text(page: Any) -> str:
    """Everything the chat shows (messages and source cards)."""
    return "\n".join(page.locator('[data-testid="stChatMessage"]').all_inner_texts())


def api_login(stack: Stack, username: str) -> dict[str, str]:
    """Bearer headers of a fresh API session for ``username``."""
    response = httpx.post(
        f"{stack.api_url}/api/v1/auth/login", json={"username": username, "password": PASSWORD}, timeout=30
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_employee_asks_sees_streamed_cited_answer_and_opens_the_source(browser: Any, stack: Stack) -> None:
    page = open_page(browser, stack)
    login(page, "kim", shot="01-login")
    starters = page.locator('[data-testid="stButton"]').filter(has_text="의 주요 내용은?")
    assert starters.count() == 3  # two public documents and the 인사팀 one kim may see
    assert page.get_by_role("link", name="문서 관리").count() == 0  # no admin pages for employees
    save(page, "02-chat-start")

    seen = ask(page, "연차휴가는 며칠 전에 신청해야 하나요?")
    assert len(seen) >= 3, seen  # the answer grew on screen, piece by piece
    # It grew overall (a snapshot taken while Streamlit swaps elements can be momentarily shorter).
    # The last read may land on another element mid-swap (once it read the "출처" heading): compare the longest.
    assert max(len(text) for text in seen) > len(seen[0]), seen
    card = page.locator(".jikji-source").first
    card.wait_for()
    assert "취업규칙" in card.inner_text()
    assert page.locator(".jikji-source mark").count() >= 1  # the evidence sentence is highlighted
    link = page.locator('[data-testid="stChatMessage"] a[href^="#src-"]').first
    target = link.get_attribute("href")
    assert target and page.locator(target).count() == 1  # [1] points at its source card
    link.click()
    page.wait_for_timeout(500)
    assert len(page.context.pages) == 1 and page.url.endswith(target)  # same tab, jumps to the card
    save(page, "03-chat-answer")

    with page.expect_download() as download_info:
        page.get_by_role("button", name="원문 열기").first.click()
    download = download_info.value
    # An employee gets the masked text export (ingest.download_policy = masked), never the original.
    assert download.suggested_filename == "취업규칙.masked.txt"
    exported = download.path().read_text(encoding="utf-8")
    assert "제24조(연차유급휴가)" in exported and "15일의 연차유급휴가를 준다" in exported

    page.locator('[data-testid="stFeedback"] button').first.click()  # 👍
    page.get_by_text("의견 감사합니다").wait_for()
    with stack.container.sessions() as session:
        assert session.scalars(select(Feedback.rating)).all() == [1]

    ask(page, "성과급은 연봉의 몇 퍼센트까지 받을 수 있나요?")
    last_answer = page.locator('[data-testid="stChatMessage"]').last
    assert SECRET_TITLE in last_answer.locator(".jikji-source").first.inner_text()  # kim is in 인사팀
    save(page, "03b-chat-group-document")
    page.context.close()


def test_stop_and_regenerate(browser: Any, stack: Stack) -> None:
    page = open_page(browser, stack)
    login(page, "kim")
    page.get_by_placeholder("무엇이든 물어보세요").fill("연차휴가는 며칠인가요?")
    page.keyboard.press("Enter")
    page.get_by_text("▌").wait_for()
    page.get_by_role("button", name="중지").click()
    page.get_by_text("중지된 답변입니다").wait_for()
    settle(page)
    save(page, "04-chat-stopped")

    page.get_by_role("button", name="다시 생성").click()
    page.get_by_text("중지된 답변입니다").wait_for(state="detached")  # the stopped answer is replaced
    page.get_by_text("▌").wait_for(state="detached")
    settle(page)
    page.locator(".jikji-source").first.wait_for()
    assert page.locator('[data-testid="stChatMessage"]').count() == 2  # the question and one answer
    page.context.close()


def test_employee_without_the_group_never_sees_the_document(browser: Any, stack: Stack) -> None:
    page = open_page(browser, stack)
    login(page, "park")
    body = page.locator("body").inner_text()
    assert SECRET_TITLE not in body  # not among the starter questions
    assert page.locator('[data-testid="stButton"]').filter(has_text="의 주요 내용은?").count() == 2
    ask(page, "성과급은 연봉의 몇 퍼센트까지 받을 수 있나요?")
    shown = messages_text(page)
    assert SECRET_TITLE not in shown
    assert "20퍼센트" not in shown
    assert SECRET_PHRASE not in page.locator("body").inner_text()
    save(page, "05-chat-other-group")
    page.context.close()


def test_admin_uploads_a_file_and_its_job_reaches_done(browser: Any, stack: Stack, tmp_path: Any) -> None:
    page = open_page(browser, stack)
    login(page, "admin")
    page.get_by_role("link", name="문서 관리").click()
    page.get_by_text("문서 올리기").wait_for()
    settle(page)
    before = _document_count(page)
    upload = tmp_path / "출장_정산_안내.md"
    upload.write_text(
        "# 출장 정산 안내\n\n제3조(정산) 출장비는 복귀 후 7일 이내에 정산한다.\n", encoding="utf-8"
    )
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
    page.get_by_text("출장_정산_안내.md").wait_for()
    page.locator('[data-testid="stMultiSelect"]').filter(has_text="볼 수 있는 그룹").first.click()
    page.get_by_role("option", name=HR).click()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="올리기").click()
    # .first: while the finished job list reruns the page, Streamlit briefly keeps the old copy too.
    page.get_by_text("출장_정산_안내.md — 완료").first.wait_for(timeout=120_000)
    settle(page)
    assert _document_count(page) == before + 1
    save(page, "06-admin-documents-upload-done")
    page.get_by_text("표에서 문서를 하나 이상 선택하면", exact=False).scroll_into_view_if_needed()
    save(page, "06b-admin-documents-table")

    titles = {
        d["title"]
        for d in httpx.get(
            f"{stack.api_url}/api/v1/documents", headers=api_login(stack, "park"), timeout=30
        ).json()["items"]
    }
    assert "출장 정산 안내" not in titles  # shared with 인사팀 only
    page.context.close()


def _document_count(page: Any) -> int:
    caption = page.get_by_text(re.compile(r"^문서 \d+개$")).first
    caption.wait_for()
    return int(re.findall(r"\d+", caption.inner_text())[0])


def test_admin_pages_language_switch_and_evaluation(browser: Any, stack: Stack) -> None:
    page = open_page(browser, stack)
    login(page, "admin")
    page.get_by_role("link", name="사용자·권한").click()
    page.get_by_role("tab", name="API 키").wait_for()
    settle(page)
    save(page, "07-admin-users")
    page.get_by_role("tab", name="API 키").click()
    settle(page)
    page.get_by_text("새 API 키").click()
    settle(page)  # the form must be drawn (and not mid-rerun) before it is filled and sent
    page.get_by_label("이름", exact=True).fill("그룹웨어 연동")
    page.get_by_role("button", name="키 만들기").click()
    secret = page.locator('[data-testid="stCode"]').filter(has_text="jk_").first
    secret.wait_for()
    settle(page)
    assert secret.inner_text().strip().startswith("jk_")
    save(page, "08-admin-key-secret-once")
    page.get_by_role("button", name="복사했습니다").click()
    secret.wait_for(state="detached")

    page.get_by_role("tab", name="회사 사전").click()
    page.get_by_label("용어", exact=True).fill("한빛클라우드")
    page.get_by_role("button", name="용어 추가").click()
    page.get_by_text("용어 한빛클라우드를 추가했습니다.").wait_for()
    settle(page)
    save(page, "08b-admin-dictionary")

    page.get_by_role("link", name="대시보드").click()
    page.get_by_text("일별 질문 수").wait_for()
    settle(page)
    save(page, "09-admin-dashboard")

    page.get_by_role("link", name="검색 품질 평가").click()
    page.get_by_role("button", name="평가 실행").click()
    page.get_by_text("R@5", exact=True).first.wait_for(timeout=180_000)
    settle(page)
    save(page, "10-admin-evaluation")

    page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
    page.get_by_role("button", name="Sign out").wait_for()
    settle(page)
    save(page, "11-admin-evaluation-english")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("User name").wait_for()
    page.context.close()


def test_narrow_window(browser: Any, stack: Stack) -> None:
    page = open_page(browser, stack, viewport=NARROW)
    login(page, "kim", shot="12-narrow-login")
    ask(page, "복리후생 제도에는 무엇이 있나요?")
    page.locator(".jikji-source").first.wait_for()
    assert page.get_by_placeholder("무엇이든 물어보세요").is_visible()
    save(page, "13-narrow-chat")
    page.context.close()


def test_a_reload_keeps_the_user_signed_in_until_logout(browser: Any, stack: Stack) -> None:
    page = open_page(browser, stack)
    login(page, "kim")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["jikji_session"]["sameSite"] == "Strict"
    assert cookies["jikji_session"]["expires"] == -1, "a browser-session cookie"
    page.reload()
    page.get_by_placeholder("무엇이든 물어보세요").wait_for()
    settle(page)
    assert page.get_by_label("사용자 이름").count() == 0
    save(page, "14-after-reload")
    page.get_by_role("button", name="로그아웃").click()
    page.get_by_label("사용자 이름").wait_for()
    settle(page)
    assert "jikji_session" not in {c["name"] for c in page.context.cookies()}
    page.reload()
    page.get_by_label("사용자 이름").wait_for()
    page.context.close()
