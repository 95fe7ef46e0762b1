"""Single sign-on in the UI: the "회사 계정으로 로그인" buttons, the return from the provider, and
ending the provider's session after logout.

The buttons are plain links to the API's ``/start`` (a top-level navigation in the same tab). The
provider sends the browser back through the API to this UI with ``?sso=<one-time code>``; the code is
exchanged for the API session at once and removed from the address bar. No session token is ever
in a URL.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

import streamlit as st

from ui import session
from ui.api_client import ApiClient, ApiClientError

LOGOUT_URL_KEY = "_sso_logout_url"

TEXTS: dict[str, dict[str, str]] = {
    "button": {"ko": "회사 계정으로 로그인", "en": "Sign in with your company account"},
    "or": {"ko": "또는 사내 계정 비밀번호로 로그인", "en": "or sign in with a local password"},
    "local_off": {
        "ko": "비밀번호 로그인은 꺼져 있습니다 (비상 관리자만).",
        "en": "Password sign-in is disabled (break-glass admins only).",
    },
    "error": {
        "ko": "회사 계정 로그인에 실패했습니다 ({reason}). 다시 시도해 주세요.",
        "en": "Signing in with your company account failed ({reason}). Please try again.",
    },
    "provider_logout": {"ko": "회사 계정에서도 로그아웃", "en": "Also sign out of the company account"},
}


def text(key: str, **values: Any) -> str:
    """A UI text in the session's language."""
    return TEXTS[key][session.language()].format(**values)


def handle_return(api: ApiClient) -> bool:
    """Finish a sign-in the provider sent back (``?sso=`` / ``?sso_error=``); True when signed in now."""
    params = st.query_params
    code, error = params.get("sso"), params.get("sso_error")
    if not code and not error:
        return False
    for name in ("sso", "sso_error"):  # out of the address bar (and the history entry) at once
        if name in params:
            del params[name]
    if error:
        session.flash("error", text("error", reason=str(error)[:60]))
        return False
    try:
        api.sso_exchange(str(code))
    except ApiClientError as exc:
        session.flash("error", exc.message(session.language()))
        return False
    session.remember_login(api.token)
    return True


def providers(api: ApiClient) -> dict[str, Any]:
    """The API's sign-in options (no providers and local login on when it cannot say)."""
    try:
        return api.sso_providers()
    except ApiClientError:
        return {"local_login": True, "providers": []}


def render_buttons(options: dict[str, Any]) -> None:
    """One "회사 계정으로 로그인" link-button per provider (same tab, top-level navigation)."""
    for provider in options.get("providers", []):
        label = f"{text('button')} · {provider.get('display_name') or provider.get('name')}"
        st.html(
            f'<a class="jikji-sso" data-provider="{escape(str(provider.get("name", "")))}" '
            f'href="{escape(str(provider.get("start_url", "")))}" '
            'style="display:block;text-align:center;padding:0.55rem 1rem;border-radius:0.5rem;'
            'background:#1f4e79;color:#fff;text-decoration:none;font-weight:600;margin:0.25rem 0;">'
            f"{escape(label)}</a>"
        )
    if options.get("providers"):
        st.caption(text("or") if options.get("local_login", True) else text("local_off"))


def remember_provider_logout(api: ApiClient) -> None:
    """After logout: keep the provider's logout URL (if any) for the login page to open."""
    if api.logout_url:
        st.session_state[LOGOUT_URL_KEY] = api.logout_url


def provider_logout() -> None:
    """Send the browser on to end the provider's session too (RP-initiated logout), once."""
    url = st.session_state.pop(LOGOUT_URL_KEY, None)
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        return
    st.link_button(text("provider_logout"), url)
    st.html(f"<script>window.location.assign({json.dumps(url)});</script>", unsafe_allow_javascript=True)
