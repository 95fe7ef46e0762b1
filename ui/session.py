"""Per-browser-session state: the API client, the signed-in user, the language.

Everything lives in ``st.session_state`` under the keys below, so tests can inject a client
(``st.session_state["api"] = ApiClient(..., transport=fake)``) before a page runs.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.api_client import ApiClient, ApiClientError
from ui.config import load_config
from ui.i18n import DEFAULT_LANGUAGE, LANGUAGES, t

API_KEY = "api"
LANG_KEY = "lang"
FLASH_KEY = "flash"


def client() -> ApiClient:
    """This session's API client (created on first use from the UI config)."""
    api = st.session_state.get(API_KEY)
    if not isinstance(api, ApiClient):
        api = ApiClient(load_config().api_url)
        st.session_state[API_KEY] = api
    return api


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
        flash("warning", tr("auth.expired"))
        st.rerun()
    st.error(exc.message(language()))
