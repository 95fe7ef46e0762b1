"""The polished UI in Chromium (issue 18): Korean all the way, landings instead of "Page not found".

Uses the session's stack and browser (tests/e2e/conftest.py) and the helpers of test_browser.py;
screenshots go to ``test-artifacts/screenshots/`` like the other browser tests.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.stack import Stack
from tests.e2e.test_browser import NARROW, login, open_page, save, settle

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

NOT_FOUND = "Page not found"
WIDE = {"width": 1440, "height": 900}


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

    page.get_by_label("삭제할 용어").click()
    page.get_by_label("삭제할 용어").fill("탭유지")
    page.keyboard.press("Enter")
    settle(page)
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


# --- streaming polish (item 8) -------------------------------------------------------------------


def test_streaming_has_no_ghost_starters_one_stop_and_one_click_copy(browser: Any, stack: Stack) -> None:
    page = open_page(browser, stack)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.ui_url)
    login(page, "kim")
    starters = page.locator('[data-testid="stButton"]').filter(has_text="의 주요 내용은?")
    starters.first.click()
    page.get_by_text("▌").wait_for()
    shown = [i for i in range(starters.count()) if starters.nth(i).is_visible()]
    assert shown == [], "no ghosted starter buttons under the streaming answer"
    assert page.get_by_role("button", name="중지").count() == 1, "one stop control"
    save(page, "25-chat-streaming")
    page.get_by_text("▌").wait_for(state="detached")
    settle(page)
    answer = page.locator('[data-testid="stChatMessage"]').last.locator('[data-testid="stMarkdown"]').first
    page.locator("button.jikji-copy").last.click()  # one click
    page.get_by_text("복사했습니다").wait_for()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied and copied.split()[0] in answer.inner_text()
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert sidebar.get_by_text("오늘", exact=True).count() == 1, "history grouped by day"
    sidebar.get_by_role("button", name="⋯").first.click()
    page.get_by_label("대화 이름").wait_for()
    save(page, "26-chat-history-menu")
    page.context.close()


# --- mobile and accessibility (item 9) -----------------------------------------------------------


def test_on_a_phone_the_drawer_closes_after_picking_a_conversation(browser: Any, stack: Stack) -> None:
    page = open_page(browser, stack, viewport=NARROW)
    login(page, "kim")
    field = page.get_by_placeholder("무엇이든 물어보세요")
    clipped = page.evaluate(
        """(el) => { const c = document.createElement('canvas').getContext('2d');
        const s = getComputedStyle(el); c.font = `${s.fontSize} ${s.fontFamily}`;
        const room = el.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
        return c.measureText(el.placeholder).width > room; }""",
        field.element_handle(),
    )
    assert not clipped, "the placeholder fits the phone's input"
    field.fill("연차휴가는 며칠인가요?")
    page.keyboard.press("Enter")
    page.locator(".jikji-source").first.wait_for()
    settle(page)
    page.locator('[data-testid="stExpandSidebarButton"]').click()
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_role("button", name="새 대화").click()
    settle(page)
    if sidebar.get_attribute("aria-expanded") == "false":
        page.locator('[data-testid="stExpandSidebarButton"]').click()
        page.wait_for_timeout(500)
    save(page, "27-narrow-drawer-open")
    sidebar.get_by_role("button", name="연차휴가는 며칠인가요?").first.click()
    settle(page)
    page.wait_for_timeout(800)
    assert sidebar.get_attribute("aria-expanded") == "false" or not sidebar.is_visible()
    save(page, "27-narrow-after-pick")
    page.context.close()


SERIOUS = ("serious", "critical")
ALLOWED_LATIN = {
    # product, format and file-type names, units and metric names that are the same in Korean
    "jikji", "docuflow", "api", "pdf", "word", "powerpoint", "excel", "hwp", "hwpx", "html", "htm", "markdown",
    "md", "csv", "tsv", "txt", "text", "docx", "pptx", "xlsx", "png", "jpg", "jpeg", "tif", "tiff", "bmp", "webp",
    "english", "mb", "kb", "ocr", "nnp", "nng", "sl", "jsonl", "mrr", "ndcg", "em", "f1", "ms", "p50", "p95",
    "r", "jk", "enter", "ctrl", "it", "faq", "oidc", "ldap", "scim", "sso",
    "admin", "kim",  # the test accounts' user names, shown as names
    "s",  # seconds, after a number
}  # fmt: skip
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9@._-]*")


def english_ui_words(page: Any) -> list[str]:
    """Latin-script words of the page's visible UI text, without the conversation, code, tables and
    icon ligatures (their content is the documents' and users' words)."""
    text = page.evaluate(
        """() => { const skip = '[data-testid="stChatMessage"], [data-testid="stCode"], '
          + '[data-testid="stDataFrame"], [data-testid="stIconMaterial"], .jikji-source, '
          + '[data-testid="stSidebarNav"] [data-testid="stIconMaterial"]';
          const out = []; const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const el = n.parentElement; if (!el || el.closest(skip) || el.closest('script, style')) continue;
            if (getComputedStyle(el).fontFamily.includes('Material')) continue;  // an icon's ligature
            if (!el.offsetParent && getComputedStyle(el).position !== 'fixed') continue;
            out.push(n.nodeValue); }
          return out.join(' '); }"""
    )
    words = LATIN_WORD.findall(text)
    return sorted({w for w in words if w.lower().strip("._-").split("@")[0] not in ALLOWED_LATIN})


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page (id, impact, first targets)."""
    from axe_playwright_python.sync_playwright import Axe

    page.evaluate(Axe().axe_script)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {[str(n['target'])[-90:] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v.get("impact") in SERIOUS
    ]


def check_page(page: Any, name: str, problems: dict[str, list[str]]) -> None:
    settle(page)
    save(page, name)
    found = serious_violations(page) + [f"English UI text: {w}" for w in english_ui_words(page)]
    if found:
        problems[name] = found


@pytest.mark.parametrize("viewport", [WIDE, NARROW], ids=["1440x900", "390x844"])
def test_every_page_is_korean_accessible_and_photographed(
    browser: Any, stack: Stack, viewport: dict[str, int]
) -> None:
    width = f"{viewport['width']}"
    problems: dict[str, list[str]] = {}
    page = open_page(browser, stack, viewport=viewport)
    check_page(page, f"30-{width}-login", problems)
    login(page, "admin")
    check_page(page, f"31-{width}-chat", problems)
    for number, (path, ready) in enumerate(
        [
            ("documents", "문서 올리기"),
            ("users", "사용자·권한"),
            ("dashboard", "일별 질문 수"),
            ("feedback", "피드백 검토"),
            ("evaluation", "검색 품질 평가"),
        ],
        start=32,
    ):
        page.goto(f"{stack.ui_url}/{path}")
        page.get_by_text(ready).first.wait_for()
        check_page(page, f"{number}-{width}-{path}", problems)
    page.context.close()
    page = open_page(browser, stack, viewport=viewport)
    login(page, "kim")
    page.goto(f"{stack.ui_url}/users")
    page.get_by_text("권한이 없습니다").first.wait_for()
    check_page(page, f"37-{width}-forbidden", problems)
    page.context.close()
    assert problems == {}, "\n".join(f"{name}: {found}" for name, found in problems.items())
