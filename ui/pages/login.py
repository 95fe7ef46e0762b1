"""The login page: company name and logo, user name and password, language switch."""

from __future__ import annotations

import ipaddress

import streamlit as st

from ui import components, session, sso
from ui.api_client import ApiClientError
from ui.render import plain_label


def browser_address() -> str | None:
    """The signing-in browser's IP address as Streamlit sees it (None in tests or when unknown)."""
    try:
        address = st.context.ip_address
    except Exception:  # noqa: BLE001 - outside a browser session (AppTest, bare mode)
        return None
    return str(address) if address else None


def on_this_machine(address: str | None) -> bool:
    """Whether the browser runs on the UI's own machine (a loopback address)."""
    try:
        return address is not None and ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return address == "localhost"


def _needs_first_admin() -> bool:
    """Whether to show the server command that makes the first admin: only while the API says no admin
    exists, and only to a browser on the machine itself."""
    if not on_this_machine(browser_address()):
        return False
    try:
        return bool(session.client().setup_status().get("needs_admin"))
    except ApiClientError:
        return False


def render() -> None:
    """Sign in with a local account (the API opens a session; a reload keeps it, see ``session``)."""
    api = session.client()
    if sso.handle_return(api):  # back from the company sign-in with a one-time code
        st.rerun()
    _left, middle, _right = st.columns([1, 2, 1])
    with middle:
        components.language_switch()
        logo = components.logo_image(api)
        if logo is not None:
            st.image(logo, width=160)
        st.title(plain_label(components.company_name(api)))
        st.caption(session.tr("login.subtitle"))
        session.show_flash()
        sso.provider_logout()
        sso.render_buttons(sso.providers(api))
        with st.form("login", enter_to_submit=True):
            username = st.text_input(
                session.tr("login.username"), key="login_username", autocomplete="username"
            )
            password = st.text_input(  # no key: the password is not kept in the session state
                session.tr("login.password"), type="password", autocomplete="current-password"
            )
            submitted = st.form_submit_button(session.tr("login.submit"), type="primary", width="stretch")
        if submitted:
            _login(username.strip(), password)
        st.caption(session.tr("login.help"))
        if _needs_first_admin():
            st.info(session.tr("login.first_admin"), icon=":material/terminal:")


def render_password_change() -> None:
    """The only page for a user who must first replace a password someone else chose."""
    _left, middle, _right = st.columns([1, 2, 1])
    with middle:
        st.title(session.tr("password.title"))
        st.info(session.tr("password.required"))
        with st.form("password_change"):
            current = st.text_input(
                session.tr("password.current"), type="password", autocomplete="current-password"
            )
            new = st.text_input(session.tr("password.new"), type="password", autocomplete="new-password")
            submitted = st.form_submit_button(session.tr("password.submit"), type="primary")
        if submitted:
            try:
                session.client().change_password(current, new)
            except ApiClientError as exc:
                session.show_error(exc)
                return
            session.flash("success", session.tr("password.changed"))
            st.rerun()


def _login(username: str, password: str) -> None:
    if not username or not password:
        st.warning(session.tr("login.missing"))
        return
    try:
        session.client().login(username, password, client_address=browser_address())
    except ApiClientError as exc:
        st.error(exc.message(session.language()))
        return
    session.remember_login(session.client().token)
    st.rerun()
