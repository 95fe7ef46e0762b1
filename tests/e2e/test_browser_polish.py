"""The polished UI in Chromium (issue 18): Korean all the way, landings instead of "Page not found".

Uses the session's stack and browser (tests/e2e/conftest.py) and the helpers of test_browser.py;
screenshots go to ``test-artifacts/screenshots/`` like the other browser tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.stack import Stack
from tests.e2e.test_browser import login, open_page, save, settle

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

NOT_FOUND = "Page not found"


def no_streamlit_english(page: Any) -> None:
    """None of Streamlit's own English texts is on screen or in an aria-label."""
    body = page.locator("body").inner_text()
    for english in (
        NOT_FOUND,
        "Drag and drop",
        "per file",
        "Press Enter",
        "Press Ctrl+Enter",
        "Browse files",
    ):
        assert english not in body, english
    for label in ("Thumbs up", "Thumbs down", "Show password", "Collapse sidebar", "Close"):
        assert page.locator(f'[aria-label="{label}"]').count() == 0, label


def test_korean_pages_and_landings_for_unknown_or_forbidden_addresses(browser: Any, stack: Stack) -> None:
    page = open_page(browser, stack)
    assert page.locator("html").get_attribute("lang") == "ko"
    page.locator('[aria-label="비밀번호 보기"]').wait_for()  # the password field's eye, in Korean
    page.get_by_label("사용자 이름").fill("ki")
    page.get_by_text("Enter 키를 누르면 제출됩니다").wait_for()
    no_streamlit_english(page)
    save(page, "20-login-korean")
    page.get_by_label("사용자 이름").fill("")
    login(page, "kim")

    page.goto(f"{stack.ui_url}/documents")  # an admin page's address, as an employee
    page.get_by_text("권한이 없습니다").first.wait_for()
    settle(page)
    assert page.get_by_text(NOT_FOUND).count() == 0
    no_streamlit_english(page)
    save(page, "21-employee-admin-address")
    page.get_by_role("link", name="질문하기로 돌아가기").click()
    page.get_by_placeholder("무엇이든 물어보세요").wait_for()

    for address in ("chat", "login"):
        page.goto(f"{stack.ui_url}/{address}")  # a reload while signed in
        page.get_by_placeholder("무엇이든 물어보세요").wait_for()
        settle(page)
        assert page.get_by_text(NOT_FOUND).count() == 0, address
    assert page.locator("html").get_attribute("lang") == "ko"
    page.context.close()


def test_admin_pages_show_streamlit_texts_in_korean(browser: Any, stack: Stack) -> None:
    page = open_page(browser, stack)
    login(page, "admin")
    page.get_by_role("link", name="문서 관리").click()
    page.get_by_text("문서 올리기").wait_for()
    settle(page)
    uploader = page.locator('[data-testid="stFileUploaderDropzone"]')
    assert "파일 선택" in uploader.inner_text()
    assert "파일당 최대 100MB" in uploader.inner_text()
    no_streamlit_english(page)
    save(page, "22-admin-documents-korean")

    page.get_by_role("link", name="사용자·권한").click()
    page.get_by_role("tab", name="API 키").click()
    settle(page)
    page.get_by_text("새 API 키").click()
    settle(page)
    form = page.locator('[data-testid="stForm"]').filter(has_text="키 만들기")
    assert "질문·답변" in form.inner_text() and "검색" in form.inner_text()  # scopes in words
    no_streamlit_english(page)

    page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
    page.get_by_role("button", name="Sign out").wait_for()
    settle(page)
    assert page.locator("html").get_attribute("lang") == "en"
    page.context.close()


def test_users_and_access_stays_on_the_open_tab_and_keeps_the_secret(browser: Any, stack: Stack) -> None:
    page = open_page(browser, stack)
    login(page, "admin")
    page.get_by_role("link", name="사용자·권한").click()
    page.get_by_role("tab", name="API 키").click()
    settle(page)
    page.get_by_text("새 API 키").click()
    settle(page)
    page.get_by_label("이름", exact=True).fill("탭 유지 확인")
    page.get_by_role("button", name="키 만들기").click()
    secret = page.locator('[data-testid="stCode"]').filter(has_text="jk_").first
    secret.wait_for()
    settle(page)
    assert page.get_by_role("tab", name="API 키").get_attribute("aria-selected") == "true"

    page.get_by_role("tab", name="회사 사전").click()
    settle(page)
    page.get_by_label("용어", exact=True).fill("탭유지")
    page.get_by_role("button", name="용어 추가").click()
    page.get_by_text("용어 탭유지를 추가했습니다.").wait_for()
    settle(page)
    assert page.get_by_role("tab", name="회사 사전").get_attribute("aria-selected") == "true"
    assert secret.is_visible(), "the one-time secret stays until the admin confirms the copy"
    save(page, "23-admin-users-tab-kept")

    page.get_by_role("button", name="용어 삭제").click()  # asks first
    page.get_by_text("회사 사전에서 삭제할까요?").wait_for()
    settle(page)
    save(page, "24-admin-users-confirm-removal")
    page.get_by_role("button", name="삭제합니다").click()
    page.get_by_text("용어 탭유지를 삭제했습니다.").wait_for()
    settle(page)
    assert page.get_by_role("tab", name="회사 사전").get_attribute("aria-selected") == "true"
    page.get_by_role("button", name="복사했습니다").click()
    secret.wait_for(state="detached")
    page.context.close()
