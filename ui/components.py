"""Pieces shared by the pages: branding, language switch, the sidebar footer, source cards, styles."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePath
from typing import Any

import streamlit as st

from ui import session, sso
from ui.api_client import ApiClient, ApiClientError
from ui.i18n import LANGUAGE_NAMES, LANGUAGES, MESSAGES, t
from ui.render import anchor_id, evidence_by_number, plain_label, source_card_html

BRANDING_KEY = "branding"
LOGO_KEY = "logo"
DOC_META_KEY = "document_meta"
LANG_WIDGET_KEY = "_lang_choice"
_OCR_STAGE_RE = re.compile(r"OCR (\d+)/(\d+)")  # ingest.pipeline's page progress

# Our own constant CSS: source cards, and a chat column that stays readable on narrow windows.
PAGE_CSS = """
<style>
.jikji-source-title {font-weight: 600;}
.jikji-source-meta {font-size: 0.85rem; opacity: 0.75; margin-top: 0.1rem;}
.jikji-source-snippet {font-size: 0.92rem; margin-top: 0.35rem; line-height: 1.55; overflow-wrap: anywhere;}
.jikji-source-evidence {font-size: 0.88rem; margin-top: 0.3rem;}
.jikji-source mark {background: #fff1a8; color: inherit; padding: 0 0.1rem; border-radius: 0.15rem;}
.jikji-source {scroll-margin-top: 4.5rem;}
.jikji-source:target {outline: 2px solid #f0b400; outline-offset: 4px; border-radius: 0.3rem;}
.jikji-muted {opacity: 0.75; font-size: 0.9rem;}
[data-testid="stMainBlockContainer"] {padding-top: 2.5rem;}
/* Captions at WCAG AA contrast (Streamlit's faded caption grey is about 3.8:1 on white). */
[data-testid="stCaptionContainer"] {color: inherit !important; opacity: 0.82;}
/* Starter questions left over from the last run while an answer streams: hidden, not greyed out. */
.st-key-starters [data-stale="true"], [data-stale="true"] .st-key-starters {display: none !important;}
/* The selected option of a segmented control (language switch, filters): dark enough to read. */
[data-testid="stButtonGroup"] button[data-selected="true"] p {color: #9f1d1d !important;}
</style>
"""


def page_style() -> None:
    """Inject the UI's stylesheet (a constant: no user or model text)."""
    st.markdown(PAGE_CSS, unsafe_allow_html=True)


def branding(api: ApiClient) -> dict[str, Any]:
    """Company name and logo flag from the API (public), fetched once per session."""
    cached = st.session_state.get(BRANDING_KEY)
    if isinstance(cached, dict):
        return cached
    try:
        result = api.branding()
    except ApiClientError:
        return {"company_name": "Jikji", "has_logo": False}
    st.session_state[BRANDING_KEY] = result
    return result


def logo_image(api: ApiClient) -> bytes | str | None:
    """The company logo (PNG/JPEG bytes or SVG text), fetched once per session; None without one."""
    if LOGO_KEY not in st.session_state:
        logo: bytes | str | None = None
        if branding(api).get("has_logo"):
            try:
                data = api.logo()
            except ApiClientError:
                data = None
            if data is not None:
                head = data[:200].lstrip().lower()
                logo = data.decode("utf-8", "replace") if head.startswith((b"<svg", b"<?xml")) else data
        st.session_state[LOGO_KEY] = logo
    value = st.session_state[LOGO_KEY]
    return value if isinstance(value, bytes | str) else None


def company_name(api: ApiClient) -> str:
    """The company's name as the API reports it."""
    return str(branding(api).get("company_name") or "Jikji")


def language_switch(where: Any = None) -> None:
    """A 한국어/English switch; the choice is kept for the session."""
    target = where if where is not None else st
    current = session.language()
    if st.session_state.get(LANG_WIDGET_KEY) not in LANGUAGES:
        st.session_state[LANG_WIDGET_KEY] = current
    target.segmented_control(
        session.tr("common.language"),
        options=list(LANGUAGES),
        format_func=lambda code: LANGUAGE_NAMES[code],
        key=LANG_WIDGET_KEY,
        on_change=_language_changed,
        label_visibility="collapsed",
    )


def _language_changed() -> None:
    choice = st.session_state.get(LANG_WIDGET_KEY)
    if choice in LANGUAGES:
        st.session_state[session.LANG_KEY] = choice
    else:  # clicking the selected option again clears it: keep the language
        st.session_state[LANG_WIDGET_KEY] = session.language()


def sidebar_footer(api: ApiClient) -> None:
    """Who is signed in, the language switch and the logout button, at the bottom of the sidebar."""
    user = session.current_user() or {}
    with st.sidebar:
        st.divider()
        name = user.get("display_name") or user.get("username") or ""
        role = session.tr("role.admin") if user.get("role") == "admin" else session.tr("role.employee")
        st.caption(f"{plain_label(company_name(api))} · {plain_label(name)} ({role})")
        language_switch()
        st.button(
            session.tr("auth.logout"),
            icon=":material/logout:",
            on_click=logout,
            key="logout",
            width="stretch",
        )


def confirmed_button(key: str, label: str, question: str, confirm: str, *, icon: str | None = None) -> bool:
    """A button for a destructive action that asks first: the first click shows ``question`` with
    ``confirm`` and 취소 buttons; True only on the run where ``confirm`` was clicked."""
    pending = f"_confirm_{key}"
    if not st.session_state.get(pending):
        if st.button(label, icon=icon, key=key):
            st.session_state[pending] = True
            st.rerun()
        return False
    with st.container(border=True):
        st.warning(question, icon=":material/warning:")
        with st.container(horizontal=True):
            yes = st.button(confirm, type="primary", icon=icon, key=f"{key}-yes")
            no = st.button(session.tr("common.cancel"), key=f"{key}-no")
    if yes or no:
        del st.session_state[pending]
    if no:
        st.rerun()
    return yes


def logout() -> None:
    """End the session on the server and forget everything of this user in the browser session."""
    session.client().logout()
    keep = {session.API_KEY, session.LANG_KEY, LANG_WIDGET_KEY, BRANDING_KEY, LOGO_KEY, session.RESTORED_KEY}
    for key in list(st.session_state.keys()):
        if key not in keep:
            del st.session_state[key]
    session.flash("info", session.tr("auth.logged_out"))
    session.remember_login(None)
    sso.remember_provider_logout(session.client())  # then the login page ends the provider's session


# --- source cards ---------------------------------------------------------------------------


def source_cards(
    api: ApiClient,
    sources: Sequence[Mapping[str, Any]],
    evidence: object,
    prefix: str,
) -> None:
    """One bordered card per source: heading, facts, highlighted evidence, and "open original"."""
    sentences = evidence_by_number(evidence)
    for source in sources:
        number = int(source.get("number") or 0)
        with st.container(border=True):
            st.markdown(
                source_card_html(
                    source,
                    sentences.get(number, []),
                    anchor_id=anchor_id(prefix, number),
                    meta=_source_meta(api, source),
                    evidence_label=session.tr("sources.evidence"),
                ),
                unsafe_allow_html=True,
            )
            document_id = str(source.get("document_id") or "")
            file_name = download_file_name(
                _document_meta(api, document_id), str(source.get("file_name") or document_id)
            )
            if document_id and file_name:
                st.download_button(
                    session.tr("sources.open"),
                    data=_downloader(api, document_id),
                    file_name=file_name,
                    key=f"dl-{prefix}-{number}",
                    icon=":material/description:",
                    on_click="ignore",
                )


def _downloader(api: ApiClient, document_id: str) -> Callable[[], bytes]:
    """Fetch the original with the user's token when the button is clicked (not before)."""

    def fetch() -> bytes:
        return api.download_document(document_id).content

    return fetch


def _source_meta(api: ApiClient, source: Mapping[str, Any]) -> list[str]:
    meta = []
    file_name = source.get("file_name")
    if file_name and file_name != source.get("title"):
        meta.append(str(file_name))
    if source.get("page") is not None and not source.get("article"):
        meta.append(f"p.{source['page']}")
    version = _version_date(api, source)
    if version:
        meta.append(session.tr("sources.version", date=version))
    section = source.get("section")
    if section:
        meta.append(str(section)[:80])
    return meta


def _document_meta(api: ApiClient, document_id: str) -> Mapping[str, Any] | None:
    """The document's detail (cached for the session); None when there is none or it cannot be read."""
    if not document_id:
        return None
    cache: dict[str, Any] = st.session_state.setdefault(DOC_META_KEY, {})
    if document_id not in cache:
        try:
            cache[document_id] = api.get_document(document_id)
        except ApiClientError:
            cache[document_id] = None
    document: Mapping[str, Any] | None = cache[document_id]
    return document


def download_file_name(document: Mapping[str, Any] | None, file_name: str) -> str | None:
    """The name a download is saved under: the file's own, ``<stem>.masked.txt`` for the masked text
    export the API sends non-admins (``ingest.download_policy``), None when downloads are denied."""
    variant = (document or {}).get("download", "original")
    if variant == "denied":
        return None
    if variant == "masked":
        return f"{PurePath(file_name).stem or 'document'}.masked.txt"
    return file_name


def _version_date(api: ApiClient, source: Mapping[str, Any]) -> str | None:
    """The date of the cited version: its effective date, else when it was uploaded."""
    for key in ("version_date", "effective_date"):
        if source.get(key):
            return str(source[key])[:10]
    document = _document_meta(api, str(source.get("document_id") or ""))
    if not document:
        return None
    versions = document.get("versions") or []
    version = next((v for v in versions if v.get("id") == source.get("version_id")), None)
    if version is None:
        return None
    return str(version.get("effective_date") or version.get("created_at") or "")[:10] or None


def status_label(status: str) -> str:
    """A job or document status in words."""
    return session.tr(f"status.{status}")


def stage_label(stage: str) -> str:
    """An ingestion stage in words in the session's language (see :func:`stage_text`)."""
    return stage_text(stage, session.language())


def stage_text(stage: str, lang: str) -> str:
    """An ingestion stage in words in ``lang``: OCR's page progress (``OCR 3/12``) as pages read, an
    unknown stage as the server named it."""
    ocr = _OCR_STAGE_RE.fullmatch(stage)
    if ocr:
        return t("stage.ocr", lang, done=int(ocr[1]), total=int(ocr[2]))
    key = f"stage.{stage}"
    return t(key, lang) if key in MESSAGES else stage


def error_text(item: Mapping[str, Any]) -> str:
    """A job's error in the session's language."""
    ko, en = item.get("error_ko"), item.get("error_en")
    return str((ko if session.language() == "ko" else en) or ko or en or item.get("error_code") or "")
