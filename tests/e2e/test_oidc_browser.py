"""Single sign-on in Chromium: the login page's "회사 계정으로 로그인" button, the provider's login form
(a real provider process on Authlib's server side), back to the UI signed in, a question answered
from a document of the group the provider's groups claim maps to, then logout at the provider too."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from app.api.factory import create_app
from app.container import Container
from app.services import accounts
from core.settings import (
    ApiSettings,
    AuthSettings,
    EmbeddingSettings,
    JobSettings,
    OidcProviderSettings,
    OidcSettings,
    Settings,
)
from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.stack import SlowFakeModel, ingest, running_ui
from tests.support.containers import make_container
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, USERS, RunningProvider, running_provider
from tests.support.ports import free_port
from tests.support.servers import _wait_started

pytestmark = pytest.mark.e2e

WAIT_MS = 60_000
FINANCE_DOC = """# 재무팀 결산 안내

제1조(분기 결산) ① 분기 결산 보고서는 분기 종료 후 10일 이내에 재무팀장에게 제출한다.
"""


class SsoStack:
    """Provider, API and UI wired to each other (the ports are chosen before anything starts)."""

    def __init__(self, provider: RunningProvider, api_url: str, ui_url: str, container: Container) -> None:
        self.provider, self.api_url, self.ui_url, self.container = provider, api_url, ui_url, container


@pytest.fixture(scope="module")
def sso_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SsoStack]:
    """The UI starts first (it only needs the API's address), then the API with the UI's address."""
    root = tmp_path_factory.mktemp("sso")
    api_port = free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    callback = f"{api_url}/api/v1/auth/oidc/corp/callback"
    with (
        running_ui(api_url, root / "streamlit.log") as ui_url,
        running_provider([callback], (f"{ui_url}/",)) as idp,
    ):
        provider = OidcProviderSettings(
            name="corp",
            display_name="한빛 SSO",
            issuer=idp.issuer,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,  # type: ignore[arg-type]
            scopes=["openid", "profile", "email", "groups"],
            group_mapping={"finance": "재무팀"},
        )
        settings = Settings(
            data_dir=root / "data",
            embedding=EmbeddingSettings(model="hashing"),
            jobs=JobSettings(poll_interval_s=0.1),
            api=ApiSettings(public_url=api_url),
            auth=AuthSettings(oidc=OidcSettings(providers=[provider], ui_url=f"{ui_url}/")),
        )
        container = make_container(settings, chat_model=SlowFakeModel())
        with container.sessions.begin() as session:
            accounts.create_group(session, "재무팀")
        doc = root / "재무팀_결산.md"
        doc.write_text(FINANCE_DOC, encoding="utf-8")
        ingest(container, [doc], public=False, groups=("재무팀",))
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings, container), host="127.0.0.1", port=api_port, log_level="warning"
            )
        )
        thread = threading.Thread(target=server.run, name="sso-api", daemon=True)
        thread.start()
        try:
            _wait_started(server, thread, 90)
            yield SsoStack(idp, api_url, ui_url, container)
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            container.close()


def settle(page: Any) -> None:
    """Wait until Streamlit has finished the current run."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=WAIT_MS)
    page.wait_for_timeout(200)


def test_sign_in_through_the_provider_and_ask(browser: Any, sso_stack: SsoStack) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ko-KR")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(sso_stack.ui_url)
    button = page.locator("a.jikji-sso", has_text="회사 계정으로 로그인")
    button.wait_for()
    assert "한빛 SSO" in button.inner_text()
    page.screenshot(path=str(Path(SCREENSHOTS) / "sso-01-login.png"))
    button.click()

    page.locator("#username").wait_for()  # the provider's own login form
    assert page.url.startswith(sso_stack.provider.issuer)
    page.locator("#username").fill("kim")
    page.locator("#password").fill(USERS["kim"].password)
    page.locator("#submit").click()

    page.get_by_placeholder("무엇이든 물어보세요").wait_for()  # back in the UI, signed in
    settle(page)
    assert "sso=" not in page.url  # the one-time code left the address bar
    assert "jks_" not in page.url
    page.get_by_placeholder("무엇이든 물어보세요").fill("분기 결산 보고서는 언제까지 제출하나요?")
    page.keyboard.press("Enter")
    card = page.locator(".jikji-source").first
    card.wait_for()
    settle(page)
    assert "재무팀" in card.inner_text()  # a 재무팀-only document: kim's groups claim mapped to 재무팀
    page.screenshot(path=str(Path(SCREENSHOTS) / "sso-02-answer.png"))

    page.get_by_role("button", name="로그아웃").click()
    page.wait_for_url(f"{sso_stack.ui_url}/**")  # via the provider's end_session, back to the UI
    page.get_by_label("사용자 이름").wait_for()
    page.locator("a.jikji-sso").first.click()
    page.locator("#username").wait_for()  # the provider forgot kim: its login form again
    context.close()
