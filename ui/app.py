"""Jikji in the browser: login gate and navigation by role.

Run with ``streamlit run ui/app.py -- --api-url http://127.0.0.1:8000`` (``jikji serve`` does).
The UI is a client of the HTTP API only; see ``ui/api_client.py``.
"""

from __future__ import annotations

import streamlit as st

from ui import components, session
from ui.page_language import set_page_language
from ui.pages import admin_dashboard, admin_documents, admin_eval, admin_feedback, admin_users, chat, login


def main() -> None:
    """One run of the app: the login page, or the pages the user's role may open."""
    api = session.client()
    st.set_page_config(
        page_title=components.company_name(api),
        page_icon=":material/menu_book:",
        layout="wide",
        initial_sidebar_state="auto",
    )
    components.page_style()
    set_page_language(session.language())
    session.restore_login()
    session.write_login_cookie()
    if session.current_user() is None:
        page = st.navigation(_login_pages(), position="hidden")
        page.run()
        return
    if (session.current_user() or {}).get("must_change_password"):
        login.render_password_change()  # the API refuses everything else until then
        return
    logo = components.logo_image(api)
    if logo is not None:
        st.logo(logo)
    page = st.navigation(_pages())
    page.run()
    components.sidebar_footer(api)


PAGE_PATHS = ("chat", "documents", "users", "dashboard", "feedback", "evaluation")
ADMIN_PATHS = PAGE_PATHS[1:]


def _login_pages() -> list[st.Page]:
    """The login page, also at every page's address: a deep link opens that page after login."""
    title = session.tr("nav.login")
    pages = [st.Page(login.render, title=title, icon=":material/lock:", url_path="login", default=True)]
    return pages + [st.Page(login.render, title=title, url_path=path) for path in PAGE_PATHS]


def _pages() -> dict[str, list[st.Page]]:
    tr = session.tr
    pages = {
        tr("nav.section.assistant"): [
            st.Page(chat.render, title=tr("nav.chat"), icon=":material/chat:", url_path="chat", default=True),
        ]
    }
    if session.is_admin():
        pages[tr("nav.section.admin")] = [
            st.Page(
                admin_documents.render,
                title=tr("nav.documents"),
                icon=":material/folder:",
                url_path="documents",
            ),
            st.Page(admin_users.render, title=tr("nav.users"), icon=":material/group:", url_path="users"),
            st.Page(
                admin_dashboard.render,
                title=tr("nav.dashboard"),
                icon=":material/bar_chart:",
                url_path="dashboard",
            ),
            st.Page(
                admin_feedback.render,
                title=tr("nav.feedback"),
                icon=":material/rate_review:",
                url_path="feedback",
            ),
            st.Page(
                admin_eval.render, title=tr("nav.eval"), icon=":material/science:", url_path="evaluation"
            ),
        ]
    return _with_landings(pages)


def _with_landings(pages: dict[str, list[st.Page]]) -> dict[str, list[st.Page]]:
    """Hidden pages at every other address of the app, so no address shows Streamlit's English "Page
    not found": ``/login`` (a reload after signing in) opens the chat; an admin page's address opens
    "권한이 없습니다" for an employee."""
    hidden = [st.Page(chat.render, title=session.tr("nav.chat"), url_path="login", visibility="hidden")]
    if not session.is_admin():
        hidden += [
            st.Page(_forbidden, title=session.tr("forbidden.title"), url_path=path, visibility="hidden")
            for path in ADMIN_PATHS
        ]
    first = next(iter(pages))
    return {**pages, first: [*pages[first], *hidden]}


def _forbidden() -> None:
    """What an employee sees at an admin page's address."""
    st.title(session.tr("forbidden.title"))
    st.info(session.tr("forbidden.body"), icon=":material/lock:")
    chat_page = st.Page(chat.render, title=session.tr("nav.chat"), url_path="chat")
    st.page_link(chat_page, label=session.tr("forbidden.back"), icon=":material/chat:")


main()
