"""Admin: upload documents, follow their jobs, and govern the documents (groups, re-ingest, delete)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from ui import components, session
from ui.api_client import ApiClient, ApiClientError, UploadFile
from ui.render import plain_label

OFFICE_TYPES = ["pdf", "docx", "pptx", "xlsx", "hwp", "hwpx"]
TEXT_TYPES = ["html", "htm", "md", "markdown", "csv", "tsv", "txt", "text"]
IMAGE_TYPES = ["png", "jpg", "jpeg", "tif", "tiff", "bmp", "webp"]  # read by OCR (ingest.ocr)
ACCEPTED_TYPES = OFFICE_TYPES + TEXT_TYPES + IMAGE_TYPES
UPLOADER_ROUND_KEY = "uploader_round"
ACTIVE_JOB_STATES = {"queued", "running"}
POLL_SECONDS = 1.5
RECENT_JOBS = 20
WATCHED_KEY = "watched_jobs"
WAS_ACTIVE_KEY = "_jobs_were_active"
DUPLICATES_KEY = "upload_duplicates"
TABLE_KEY = "doc_table"


def render() -> None:
    """The documents page."""
    api = session.client()
    st.title(session.tr("docs.title"))
    session.show_flash()
    group_names = _group_names(api)
    _upload(api, group_names)
    _jobs(api)
    st.divider()
    selected = _document_table(api, group_names)
    if len(selected) == 1:
        _manage(api, selected[0], group_names)
    elif selected:
        _bulk(api, selected, group_names)
    else:
        st.caption(session.tr("docs.select_hint"))


def _group_names(api: ApiClient) -> list[str]:
    try:
        return sorted(str(g["name"]) for g in api.list_groups())
    except ApiClientError as exc:
        session.show_error(exc)
        return []


# --- upload and jobs ------------------------------------------------------------------------


def _upload(api: ApiClient, group_names: list[str]) -> None:
    st.subheader(session.tr("docs.upload"))
    round_number = int(st.session_state.get(UPLOADER_ROUND_KEY, 0))
    files = st.file_uploader(
        session.tr("docs.files"),
        type=ACCEPTED_TYPES,
        accept_multiple_files=True,
        key=f"uploader-{round_number}",
        help=session.tr("docs.files_help"),
    )
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    groups = left.multiselect(
        session.tr("docs.groups"), group_names, key="upload_groups", placeholder=session.tr("common.choose")
    )
    public = right.checkbox(
        session.tr("docs.public"), key="upload_public", help=session.tr("docs.public_help")
    )
    if not groups and not public:
        st.caption(session.tr("docs.admins_only"))
    if not files:
        st.session_state.pop(DUPLICATES_KEY, None)
    duplicates = st.session_state.get(DUPLICATES_KEY)
    if duplicates and files:
        _ask_about_duplicates(api, duplicates, files, groups, public)
        return
    if st.button(
        session.tr("docs.upload_button"), type="primary", icon=":material/upload:", disabled=not files
    ):
        _send(api, files or [], groups, public, "check")


def _send(api: ApiClient, files: list[Any], groups: list[str], public: bool, duplicates: str) -> None:
    """Upload the files; a file already there (409 duplicate_content) asks the admin what to do."""
    uploads = [UploadFile(f.name, f.getvalue(), f.type or "application/octet-stream") for f in files]
    try:
        jobs = api.upload_documents(uploads, groups, public, duplicates=duplicates)
    except ApiClientError as exc:
        if exc.code == "duplicate_content" and exc.problem.get("duplicates"):
            st.session_state[DUPLICATES_KEY] = list(exc.problem["duplicates"])
            st.rerun()
        session.show_error(exc)
        return
    _clear_uploader()
    st.session_state[WATCHED_KEY] = [str(job["id"]) for job in jobs]
    session.flash("success", session.tr("docs.uploaded", count=len(jobs)))
    st.rerun()


def _clear_uploader() -> None:
    st.session_state[UPLOADER_ROUND_KEY] = int(st.session_state.get(UPLOADER_ROUND_KEY, 0)) + 1
    st.session_state.pop(DUPLICATES_KEY, None)


def _ask_about_duplicates(
    api: ApiClient, duplicates: list[dict[str, Any]], files: list[Any], groups: list[str], public: bool
) -> None:
    """Which files are already there (as which document, seen by which groups): new version or cancel."""
    with st.container(border=True):
        st.warning(session.tr("docs.duplicate_title"), icon=":material/content_copy:")
        for item in duplicates:
            document = item.get("document") or {}
            st.markdown(
                "- "
                + session.tr(
                    "docs.duplicate_item",
                    file=_text(item.get("filename")),
                    title=_text(document.get("title")),
                    name=_text(document.get("display_name")),
                    version=document.get("version_number") or 1,
                    groups=_text(_groups_text(document)),
                )
            )
        st.caption(session.tr("docs.duplicate_help"))
        with st.container(horizontal=True):
            if st.button(
                session.tr("docs.duplicate_new_version"),
                type="primary",
                icon=":material/upload:",
                key="dup_new",
            ):
                _send(api, files, groups, public, "new_version")
            if st.button(session.tr("common.cancel"), key="dup_cancel"):
                _clear_uploader()
                session.flash("info", session.tr("docs.duplicate_cancelled"))
                st.rerun()


def _jobs(api: ApiClient) -> None:
    try:
        jobs = api.list_jobs(limit=RECENT_JOBS)
    except ApiClientError as exc:
        session.show_error(exc)
        return
    active = any(job.get("status") in ACTIVE_JOB_STATES for job in jobs)
    st.fragment(_job_list, run_every=POLL_SECONDS if active else None)()


def _job_list() -> None:
    """The jobs of the last upload (progress to done or a readable error), then recent jobs.

    Polls while any job is queued or running; when they are all finished it refreshes the whole
    page once, so the documents table shows the new documents and polling stops.
    """
    api = session.client()
    try:
        jobs = api.list_jobs(limit=RECENT_JOBS)
        watched = [api.get_job(job_id) for job_id in st.session_state.get(WATCHED_KEY, [])]
    except ApiClientError as exc:
        session.show_error(exc)
        return
    if watched:
        st.subheader(session.tr("docs.upload_progress"))
        for job in watched:
            _job_progress(job)
    with st.expander(session.tr("docs.jobs"), expanded=not watched):
        _job_table(jobs)
    active = any(j.get("status") in ACTIVE_JOB_STATES for j in [*jobs, *watched])
    if st.session_state.get(WAS_ACTIVE_KEY) and not active:
        st.session_state[WAS_ACTIVE_KEY] = False
        st.rerun()  # all done: refresh the documents table and stop polling
    st.session_state[WAS_ACTIVE_KEY] = active


def _job_progress(job: dict[str, Any]) -> None:
    status = str(job.get("status") or "")
    name = _text(job.get("filename"))
    label = f"{name} — {components.status_label(status)}"
    if status == "failed":
        st.error(f"{label}: {components.error_text(job)}", icon=":material/error:")
    elif status == "succeeded":
        st.success(
            f"{label} ({components.stage_label(str(job.get('stage') or ''))})", icon=":material/check_circle:"
        )
    else:
        stage = components.stage_label(str(job.get("stage") or ""))  # none while queued
        st.progress(float(job.get("progress") or 0.0), text=f"{label} · {stage}" if stage else label)


def _job_table(jobs: list[dict[str, Any]]) -> None:
    if not jobs:
        st.caption(session.tr("docs.no_jobs"))
        return
    st.dataframe(
        [_job_row(job) for job in jobs],
        hide_index=True,
        width="stretch",
        column_config={
            "file": st.column_config.TextColumn(session.tr("docs.col.file")),
            "status": st.column_config.TextColumn(session.tr("docs.col.status")),
            "progress": st.column_config.ProgressColumn(
                session.tr("docs.col.progress"), min_value=0.0, max_value=1.0, format="percent"
            ),
            "stage": st.column_config.TextColumn(session.tr("docs.col.stage")),
            "error": st.column_config.TextColumn(session.tr("docs.col.error"), width="large"),
            "created": st.column_config.TextColumn(session.tr("docs.col.created")),
        },
    )


def _job_row(job: dict[str, Any]) -> dict[str, Any]:
    status = str(job.get("status") or "")
    return {
        "file": job.get("filename"),
        "status": components.status_label(status),
        "progress": 1.0 if status == "succeeded" else float(job.get("progress") or 0.0),
        "stage": components.stage_label(str(job.get("stage") or "")),
        "error": components.error_text(job) if status == "failed" else "",
        "created": _when(job.get("created_at")),
    }


def _when(value: object) -> str:
    return session.when(value)


def _text(value: object) -> str:
    return plain_label(value or "", 120)


# --- documents ------------------------------------------------------------------------------


def _document_table(api: ApiClient, group_names: list[str]) -> list[dict[str, Any]]:
    st.subheader(session.tr("docs.list"))
    cols = st.columns([3, 2, 2, 2])
    query = cols[0].text_input(
        session.tr("docs.search"), key="doc_q", placeholder=session.tr("docs.search_hint")
    )
    any_label = session.tr("common.all")
    group = cols[1].selectbox(session.tr("docs.group"), [any_label, *group_names], key="doc_group")
    fmt = cols[2].selectbox(session.tr("docs.format"), [any_label, *sorted(set(_FORMATS))], key="doc_format")
    status = cols[3].selectbox(
        session.tr("docs.status"),
        [any_label, "ready", "processing", "failed"],
        key="doc_status",
        format_func=lambda s: s if s == any_label else components.status_label(s),
    )
    try:
        page = api.list_documents(
            query.strip() or None,
            group=None if group == any_label else group,
            fmt=None if fmt == any_label else fmt,
            status=None if status == any_label else status,
        )
    except ApiClientError as exc:
        session.show_error(exc)
        return []
    documents: list[dict[str, Any]] = page["items"]
    st.caption(session.tr("docs.count", count=page.get("total", len(documents))))
    if not documents:
        st.info(session.tr("docs.none"))
        return []
    users = _usernames(api)
    table = st.dataframe(
        [_row(d, users) for d in documents],
        hide_index=True,
        width="stretch",
        column_config=_columns(),
        key=TABLE_KEY,
        on_select="rerun",
        selection_mode="multi-row",
    )
    rows = [i for i in table.selection.rows if 0 <= i < len(documents)]
    return [documents[i] for i in rows]


_FORMATS = ["pdf", "docx", "pptx", "xlsx", "hwp", "hwpx", "html", "markdown", "csv", "text", "image"]


def _usernames(api: ApiClient) -> dict[str, str]:
    try:
        return {str(u["id"]): str(u.get("display_name") or u["username"]) for u in api.list_users()}
    except ApiClientError:
        return {}


def _groups_text(document: dict[str, Any]) -> str:
    """Who may see a document, in words: 전체 공개, its groups, or 관리자만."""
    groups = ", ".join(str(g.get("name")) for g in document.get("groups") or [])
    if document.get("is_public"):
        groups = f"{session.tr('docs.everyone')}{', ' + groups if groups else ''}"
    return groups or session.tr("docs.admins_only_short")


def _row(document: dict[str, Any], users: dict[str, str]) -> dict[str, Any]:
    groups = _groups_text(document)
    return {
        "title": document.get("title"),
        "file": document.get("display_name"),
        "format": document.get("format"),
        "version": document.get("version_number"),
        "chunks": document.get("chunk_count"),
        "groups": groups,
        "uploader": users.get(str(document.get("uploaded_by")), document.get("uploaded_by") or "—"),
        "created": _when(document.get("created_at")),
        "updated": _when(document.get("updated_at")),
        "status": components.status_label(str(document.get("status") or "")),
    }


def _columns() -> dict[str, Any]:
    names = (
        "title", "file", "format", "version", "chunks", "groups", "uploader", "created", "updated", "status",
    )  # fmt: skip
    return {name: st.column_config.Column(session.tr(f"docs.col.{name}")) for name in names}


def _manage(api: ApiClient, document: dict[str, Any], group_names: list[str]) -> None:
    """Row actions for the one selected document: rename, access, re-index, download, delete."""
    chosen_id = str(document["id"])
    st.subheader(session.tr("docs.manage_one", title=_text(document.get("title"))))
    _low_confidence(api, chosen_id)
    with st.form(f"title-{chosen_id}"):
        title = st.text_input(
            session.tr("docs.col.title"), value=str(document.get("title") or ""), max_chars=300
        )
        if st.form_submit_button(session.tr("docs.rename"), icon=":material/edit:"):
            _call(lambda: api.rename_document(chosen_id, title), "docs.renamed", title=title.strip())
    current = [str(g.get("name")) for g in document.get("groups") or []]
    with st.form(f"groups-{chosen_id}"):
        groups = st.multiselect(
            session.tr("docs.groups"),
            sorted({*group_names, *current}),
            default=current,
            placeholder=session.tr("common.choose"),
        )
        public = st.checkbox(session.tr("docs.public"), value=bool(document.get("is_public")))
        if st.form_submit_button(session.tr("docs.save_groups"), icon=":material/save:"):
            _call(lambda: api.set_document_groups(chosen_id, groups, public), "docs.groups_saved")
    with st.container(horizontal=True):
        if st.button(session.tr("docs.reingest"), icon=":material/autorenew:", key=f"reingest-{chosen_id}"):
            _call(lambda: api.reingest_document(chosen_id), "docs.reingest_queued")
        st.download_button(
            session.tr("sources.open"),
            data=lambda: api.download_document(chosen_id).content,
            file_name=str(document.get("display_name") or chosen_id),
            icon=":material/description:",
            key=f"download-{chosen_id}",
            on_click="ignore",
        )
    if components.confirmed_button(
        f"delete-{chosen_id}",
        session.tr("docs.delete"),
        session.tr("docs.delete_question", title=_text(document.get("title"))),
        session.tr("docs.delete_confirm_button"),
        icon=":material/delete:",
    ):
        _call(lambda: api.delete_document(chosen_id), "docs.deleted")


def _bulk(api: ApiClient, selected: list[dict[str, Any]], group_names: list[str]) -> None:
    """Actions for several selected documents at once: access, re-index, delete (asks first)."""
    ids = [str(d["id"]) for d in selected]
    titles = ", ".join(_text(d.get("title")) for d in selected[:5]) + (" …" if len(selected) > 5 else "")
    st.subheader(session.tr("docs.manage_many", count=len(selected)))
    st.caption(titles)
    with st.form("bulk-groups"):
        groups = st.multiselect(
            session.tr("docs.groups"), group_names, placeholder=session.tr("common.choose")
        )
        public = st.checkbox(session.tr("docs.public"))
        if st.form_submit_button(session.tr("docs.bulk_save_groups"), icon=":material/save:"):
            _call(
                lambda: [api.set_document_groups(i, groups, public) for i in ids],
                "docs.bulk_groups_saved",
                count=len(ids),
            )
    if st.button(session.tr("docs.bulk_reingest"), icon=":material/autorenew:", key="bulk-reingest"):
        _call(lambda: [api.reingest_document(i) for i in ids], "docs.bulk_reingest_queued", count=len(ids))
    if components.confirmed_button(
        "bulk-delete",
        session.tr("docs.bulk_delete", count=len(ids)),
        session.tr("docs.bulk_delete_question", count=len(ids), titles=titles),
        session.tr("docs.delete_confirm_button"),
        icon=":material/delete:",
    ):
        _call(lambda: _each(api.delete_document, ids), "docs.bulk_deleted", count=len(ids))


def _each(action: Callable[[str], object], ids: list[str]) -> None:
    for document_id in ids:
        action(document_id)


def _low_confidence(api: ApiClient, document_id: str) -> None:
    """Warn about the document's OCR'd pages below ``ingest.ocr_low_confidence``."""
    try:
        pages = api.get_document(document_id).get("low_confidence_pages") or []
    except ApiClientError:
        return
    if pages:
        st.warning(session.tr("docs.low_confidence", pages=", ".join(str(p) for p in pages)))


def _call(action: Callable[[], object], success_key: str, **values: Any) -> None:
    try:
        action()
    except ApiClientError as exc:
        session.show_error(exc)
        return
    session.flash("success", session.tr(success_key, **values))
    st.session_state.pop(TABLE_KEY, None)  # the rows may have changed: start with no selection
    st.rerun()
