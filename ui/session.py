"""Per-browser-session state: the API client, the signed-in user, the language.

Everything lives in ``st.session_state`` under the keys below, so tests can inject a client
(``st.session_state["api"] = ApiClient(url)`` on a test server) before a page runs.
"""

from __future__ import annotations

import json
import re
from datetime import tzinfo
from typing import Any

import streamlit as st
import streamlit.components.v1 as st_components

from ui import timefmt
from ui.api_client import ApiClient, ApiClientError
from ui.config import load_config
from ui.i18n import DEFAULT_LANGUAGE, LANGUAGES, t

API_KEY = "api"
LANG_KEY = "lang"
FLASH_KEY = "flash"
COOKIE_KEY = "session_cookie"  # a token to store in the browser ("" to clear), written on the next run
RESTORED_KEY = "login_restored"
SESSION_COOKIE = "jikji_session"
# What a session token looks like (see app/auth/tokens.py); anything else in the cookie is ignored,
# and nothing else is ever written into the page's script.
TOKEN_RE = re.compile(r"^jks_[A-Za-z0-9_-]{16,128}$")


def client() -> ApiClient:
    """This session's API client (created on first use from the UI config)."""
    api = st.session_state.get(API_KEY)
    if not isinstance(api, ApiClient):
        api = ApiClient(load_config().api_url)
        st.session_state[API_KEY] = api
    return api


def link_hosts() -> tuple[str, ...]:
    """Hosts whose links in answers stay clickable (``ui.link_hosts``; default none)."""
    return load_config().link_hosts


def timezone() -> tzinfo:
    """The browser's time zone (as it reports it), else the ``ui.timezone`` setting (Asia/Seoul)."""
    try:
        browser = st.context.timezone
    except Exception:  # noqa: BLE001 - outside a browser session (AppTest, bare mode)
        browser = None
    return timefmt.zone(browser, load_config().timezone)


def when(value: object) -> str:
    """An API time as ``2026-12-04 13:40`` in the user's time zone ("" for none)."""
    return timefmt.absolute(value, timezone())


def ago(value: object) -> str:
    """An API time as "3분 전" (in the session's language)."""
    return timefmt.relative(value, timezone(), language())


def language() -> str:
    """The UI language of this session (``ko`` unless switched)."""
    lang = st.session_state.get(LANG_KEY, DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def tr(key: str, **values: Any) -> str:
    """The message ``key`` in this session's language."""
    return t(key, language(), **values)


def current_user() -> dict[str, Any] | None:
    """The signed-in user, or None."""
    api = client()
    return api.user if api.token else None


def is_admin() -> bool:
    """Whether the signed-in user is an admin."""
    user = current_user()
    return bool(user and user.get("role") == "admin")


def restore_login() -> None:
    """After a page reload, sign back in with this browser's session cookie (checked by the API).

    The cookie holds the session token the API issued at login; it lives until the browser closes
    or the user logs out, and the API still ends the session after its lifetime. Tried once per
    browser session, so a bad or expired cookie costs one request.
    """
    api = client()
    if api.token or st.session_state.get(RESTORED_KEY):
        return
    st.session_state[RESTORED_KEY] = True
    token = st.context.cookies.get(SESSION_COOKIE)
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        return
    api.token = token
    try:
        api.me()
    except ApiClientError:
        api.token, api.user = None, None
        remember_login(None)


def remember_login(token: str | None) -> None:
    """Store ``token`` in the browser's session cookie on the next run (None clears it)."""
    st.session_state[COOKIE_KEY] = token or ""


def write_login_cookie() -> None:
    """Set or clear the session cookie when a login or logout asked for it (an invisible script).

    ``SameSite=Strict``, ``Secure`` when the page is served over HTTPS, no lifetime (gone when the
    browser closes). Not ``HttpOnly``: the page sets it, so it must be readable by the page.
    """
    if COOKIE_KEY not in st.session_state:
        return
    token = st.session_state.pop(COOKIE_KEY)
    if token and not TOKEN_RE.match(token):
        return
    value = f"{SESSION_COOKIE}={token}; Path=/; SameSite=Strict" + ("" if token else "; Max-Age=0")
    st_components.html(
        "<script>const page = window.parent;"
        f"page.document.cookie = {json.dumps(value)}"
        " + (page.location.protocol === 'https:' ? '; Secure' : '');</script>",
        height=0,
    )


def flash(kind: str, message: str) -> None:
    """Show ``message`` (``success``/``info``/``warning``/``error``) at the top of the next run."""
    st.session_state[FLASH_KEY] = (kind, message)


def show_flash() -> None:
    """Show and forget the message left by :func:`flash`."""
    pending = st.session_state.pop(FLASH_KEY, None)
    if pending:
        kind, message = pending
        getattr(st, kind, st.info)(message)


def show_error(exc: ApiClientError) -> None:
    """Show an API error in the session's language; an expired session sends the user to log in."""
    if exc.status == 401 and client().token:
        client().token = None
        client().user = None
        remember_login(None)
        flash("warning", tr("auth.expired"))
        st.rerun()
    st.error(exc.message(language()))
