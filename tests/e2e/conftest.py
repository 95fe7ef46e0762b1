"""Fixtures for browser tests: the running stack (API + UI) and headless Debian chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import Stack, add_user, browser_container, ingest, running_api, running_ui
from tests.support.paths import REPO_ROOT, SAMPLES_DIR

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
HR, SALES = "인사팀", "영업팀"
SECRET_TITLE = "인사팀 보상 기준"
SECRET_PHRASE = "성과급 지급 한도"
SECRET_DOC = f"""# {SECRET_TITLE}

제1조(성과급) ① {SECRET_PHRASE}는 연봉의 최대 20퍼센트로 한다.
② 성과급은 매년 3월 급여일에 함께 지급한다.
"""


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker of this tier."""
    config.addinivalue_line("markers", "e2e: drives the real UI and API in a headless browser")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Users (admin; kim in 인사팀; park in 영업팀), public samples, one 인사팀-only document, API and UI."""
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian chromium is not installed at /usr/bin/chromium (scripts/install-system-packages.sh)"
        )
    root = tmp_path_factory.mktemp("e2e")
    container = browser_container(root / "data")
    add_user(container, "admin", role="admin")
    add_user(container, "kim", groups=(HR,))
    add_user(container, "park", groups=(SALES,))
    ingest(container, [SAMPLES_DIR / "취업규칙.md", SAMPLES_DIR / "복리후생_안내.md"], public=True)
    secret = root / "인사팀_보상기준.md"
    secret.write_text(SECRET_DOC, encoding="utf-8")
    ingest(container, [secret], public=False, groups=(HR,))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with running_api(container) as api_url, running_ui(api_url, root / "streamlit.log") as ui_url:
            yield Stack(api_url=api_url, ui_url=ui_url, container=container)
    finally:
        container.engine.dispose()


@pytest.fixture(scope="session")
def browser(stack: Stack) -> Iterator[object]:
    """Headless Debian chromium through Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        yield launched
        launched.close()
