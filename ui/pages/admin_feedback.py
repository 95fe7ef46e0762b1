"""Feedback review (admin): rated answers with the question, the answer, the comment, the sources and
the evidence; a rated answer becomes a golden item; golden items listed, retired and exported."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import session
from ui.api_client import ApiClient, ApiClientError

RATINGS = {"all": None, "down": -1, "up": 1}


def render() -> None:
    """The feedback review page."""
    api = session.client()
    st.title(session.tr("fbr.title"))
    rated, golden = st.tabs([session.tr("fbr.tab.feedback"), session.tr("fbr.tab.golden")])
    with rated:
        _rated_answers(api)
    with golden:
        _golden_items(api)


def _rated_answers(api: ApiClient) -> None:
    with st.container(horizontal=True):
        choice = st.segmented_control(
            session.tr("fbr.rating"),
            list(RATINGS),
            default="down",
            format_func=lambda r: session.tr(f"fbr.rating.{r}"),
            key="fbr_rating",
        )
        with_comment = st.checkbox(session.tr("fbr.with_comment"), key="fbr_with_comment")
    try:
        page = api.list_feedback(
            rating=RATINGS[str(choice or "all")], has_comment=True if with_comment else None
        )
        groups = {g["name"]: g["id"] for g in api.list_groups()}
    except ApiClientError as exc:
        session.show_error(exc)
        return
    items = page.get("items") or []
    st.caption(session.tr("fbr.count", total=page.get("total", 0)))
    if not items:
        st.caption(session.tr("fbr.none"))
    for item in items:
        _rated_answer(api, item, groups)


def _rated_answer(api: ApiClient, item: dict[str, Any], groups: dict[str, str]) -> None:
    icon = "👍" if item.get("rating", 0) > 0 else "👎"
    with st.expander(f"{icon} {str(item.get('question') or '')[:80]}"):
        at = session.ago(item.get("created_at"))
        by = session.tr("fbr.by", user=item.get("username") or "—", at=at)
        st.caption(by, help=session.when(item.get("created_at")))
        if item.get("comment"):
            st.info(f"{session.tr('fbr.comment')}: {item['comment']}")
        st.markdown(f"**{session.tr('fbr.question')}**")
        st.text(str(item.get("question") or ""))
        st.markdown(f"**{session.tr('fbr.answer')}**")
        st.text(str(item.get("answer") or ""))
        if item.get("withheld"):
            return
        _sources_and_evidence(item)
        if item.get("golden_item_ids"):
            st.success(session.tr("fbr.promoted"))
        _promote_form(api, item, groups)


def _sources_and_evidence(item: dict[str, Any]) -> None:
    sources = item.get("sources") or []
    if sources:
        names = sorted({str(s.get("file_name") or s.get("title") or s.get("document_id")) for s in sources})
        st.caption(f"{session.tr('fbr.sources')}: {', '.join(names)}")
    evidence = [str(e.get("text") or e.get("sentence") or "") for e in item.get("evidence") or []]
    if any(evidence):
        st.caption(f"{session.tr('fbr.evidence')}: {' / '.join(e for e in evidence if e)[:500]}")


def _promote_form(api: ApiClient, item: dict[str, Any], groups: dict[str, str]) -> None:
    feedback_id = str(item["id"])
    answer = st.text_input(session.tr("fbr.correct_answer"), key=f"gold-answer-{feedback_id}")
    chosen = st.multiselect(session.tr("fbr.groups"), list(groups), key=f"gold-groups-{feedback_id}")
    if st.button(session.tr("fbr.make"), key=f"gold-make-{feedback_id}"):
        answers = [answer.strip()] if answer.strip() else []
        try:
            api.promote_feedback(feedback_id, answers, [groups[name] for name in chosen])
        except ApiClientError as exc:
            session.show_error(exc)
            return
        st.success(session.tr("fbr.made"))


def _golden_items(api: ApiClient) -> None:
    status = st.segmented_control(
        session.tr("fbr.status"), ["active", "retired", "all"], default="active", key="fbr_golden_status"
    )
    try:
        items = api.list_golden(str(status or "active"))
    except ApiClientError as exc:
        session.show_error(exc)
        return
    if not items:
        st.caption(session.tr("fbr.no_golden"))
        return
    st.dataframe(
        [
            {
                session.tr("fbr.question"): i.get("question"),
                session.tr("fbr.col.answers"): " | ".join(i.get("answers") or []),
                session.tr("fbr.col.files"): ", ".join(i.get("gold_files") or []),
                session.tr("fbr.status"): i.get("status"),
                session.tr("fbr.col.version"): i.get("version"),
            }
            for i in items
        ],
        hide_index=True,
        width="stretch",
    )
    _retire(api, [i for i in items if i.get("status") == "active"])
    try:
        exported = api.export_golden()
    except ApiClientError as exc:
        session.show_error(exc)
        return
    st.download_button(
        session.tr("fbr.export"),
        exported,
        file_name="golden.jsonl",
        mime="application/x-ndjson",
        key="fbr_export",
    )


def _retire(api: ApiClient, active: list[dict[str, Any]]) -> None:
    if not active:
        return
    labels = {str(i["id"]): str(i.get("question") or "")[:80] for i in active}
    with st.container(horizontal=True):
        item_id = st.selectbox(
            session.tr("fbr.retire_choose"), list(labels), format_func=labels.__getitem__, key="fbr_retire_id"
        )
        if st.button(session.tr("fbr.retire"), key="fbr_retire") and item_id:
            try:
                api.retire_golden(str(item_id))
            except ApiClientError as exc:
                session.show_error(exc)
                return
            st.success(session.tr("fbr.retired"))
