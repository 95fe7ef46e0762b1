"""Chat for employees: streamed, cited answers, source cards, feedback; history in the sidebar."""

from __future__ import annotations

import random
import time
from contextlib import closing
from typing import Any

import streamlit as st

from ui import components, session, timefmt
from ui.api_client import ApiClient, ApiClientError, EventStream
from ui.browser import close_drawer, copy_button
from ui.render import plain_label, safe_markdown

CONVERSATION_KEY = "conversation_id"
PENDING_KEY = "pending_question"
REGENERATE_KEY = "pending_regenerate"
STOPPED_KEY = "answer_stopped"
STARTERS_KEY = "starter_questions"
STARTER_COUNT = 4
STOP_WAIT_TRIES = 6
STOP_WAIT_S = 0.25
CLOSE_DRAWER_KEY = "_close_drawer"
STARTERS_BOX = "starters"


def render() -> None:
    """The chat page."""
    api = session.client()
    history_sidebar(api)
    if st.session_state.pop(CLOSE_DRAWER_KEY, False):
        close_drawer()
    conversation = _current_conversation(api)
    messages: list[dict[str, Any]] = conversation["messages"] if conversation else []
    title = conversation["title"] if conversation and conversation.get("title") else None
    st.subheader(
        plain_label(title) if title else session.tr("chat.title", company=components.company_name(api))
    )
    session.show_flash()
    # "disable", not "stop": the answer's own 중지 button is the one stop control (it records the stop)
    question = st.chat_input(
        session.tr("chat.placeholder"), key="chat_input", max_chars=4000, submit_mode="disable"
    )
    pending = question or st.session_state.pop(PENDING_KEY, None)
    regenerate = bool(st.session_state.pop(REGENERATE_KEY, False)) and conversation is not None
    _conversation(api, conversation, messages, pending, regenerate=regenerate)


def _conversation(
    api: ApiClient,
    conversation: dict[str, Any] | None,
    messages: list[dict[str, Any]],
    pending: object,
    *,
    regenerate: bool,
) -> None:
    if not messages and not pending:
        _welcome(api)
    last_answer = _last_answer_id(messages)
    for message in messages:
        if regenerate and message["id"] == last_answer:
            continue  # being answered again below
        _message(api, message, is_last=message["id"] == last_answer and not pending)
    if pending:
        _ask(api, conversation, str(pending))
    elif regenerate and conversation is not None:
        _stream(api.regenerate_stream(conversation["id"]))


# --- history --------------------------------------------------------------------------------


def history_sidebar(api: ApiClient) -> None:
    """New, search, pick, rename and delete conversations."""
    with st.sidebar:
        st.button(
            session.tr("chat.new"),
            icon=":material/add:",
            on_click=new_conversation,
            key="new_chat",
            width="stretch",
        )
        query = st.text_input(
            session.tr("chat.search"),
            key="conversation_search",
            placeholder=session.tr("chat.search_placeholder"),
            label_visibility="collapsed",
        )
        try:
            items = api.list_conversations(q=query.strip() or None)
        except ApiClientError as exc:
            session.show_error(exc)
            return
        current = st.session_state.get(CONVERSATION_KEY)
        if not items:
            st.caption(session.tr("chat.no_history" if not query else "chat.no_match"))
        zone = session.timezone()
        by_day: dict[str, list[dict[str, Any]]] = {group: [] for group in timefmt.DAY_GROUPS}
        for item in items:
            by_day[timefmt.day_group(item.get("updated_at") or item.get("created_at"), zone)].append(item)
        for group, entries in by_day.items():
            if entries:
                st.caption(session.tr(f"chat.day.{group}"))
            for item in entries:
                _history_entry(item, current=item["id"] == current)


def _history_entry(item: dict[str, Any], *, current: bool) -> None:
    """A conversation: its title (when, relative; the exact time on hover) and a "⋯" menu."""
    when = item.get("updated_at") or item.get("created_at")
    with st.container(horizontal=True, gap="small", vertical_alignment="center"):
        st.button(
            plain_label(item.get("title") or session.tr("chat.untitled"), 40),
            key=f"conv-{item['id']}",
            on_click=_select,
            args=(item["id"],),
            width="stretch",
            type="primary" if current else "tertiary",
            help=f"{session.ago(when)} · {session.when(when)}",
        )
        with st.popover("⋯", type="tertiary", help=session.tr("chat.manage")):
            _manage(item)


def _manage(conversation: dict[str, Any]) -> None:
    """Rename or delete a conversation (the "⋯" menu of a history entry)."""
    conversation_id = conversation["id"]
    st.text_input(
        session.tr("chat.rename"), value=conversation.get("title") or "", key=f"title-{conversation_id}"
    )
    st.button(
        session.tr("common.save"),
        key=f"rename-{conversation_id}",
        on_click=_rename,
        args=(conversation_id,),
    )
    confirm = st.checkbox(session.tr("chat.delete_confirm"), key=f"confirm-{conversation_id}")
    st.button(
        session.tr("chat.delete"),
        key=f"delete-{conversation_id}",
        disabled=not confirm,
        on_click=_delete,
        args=(conversation_id,),
        icon=":material/delete:",
    )


def new_conversation() -> None:
    """Start afresh: the next question opens a new conversation."""
    st.session_state.pop(CONVERSATION_KEY, None)
    st.session_state.pop(STARTERS_KEY, None)


def _select(conversation_id: str) -> None:
    st.session_state[CONVERSATION_KEY] = conversation_id
    st.session_state[CLOSE_DRAWER_KEY] = True  # on a phone, the sidebar drawer closes after a pick


def _rename(conversation_id: str) -> None:
    title = str(st.session_state.get(f"title-{conversation_id}", "")).strip()
    if not title:
        session.flash("warning", session.tr("chat.rename_empty"))
        return
    try:
        session.client().rename_conversation(conversation_id, title)
    except ApiClientError as exc:
        session.flash("error", exc.message(session.language()))
    else:
        session.flash("success", session.tr("chat.renamed"))


def _delete(conversation_id: str) -> None:
    try:
        session.client().delete_conversation(conversation_id)
    except ApiClientError as exc:
        session.flash("error", exc.message(session.language()))
        return
    if st.session_state.get(CONVERSATION_KEY) == conversation_id:
        new_conversation()
    session.flash("success", session.tr("chat.deleted"))


def _current_conversation(api: ApiClient) -> dict[str, Any] | None:
    conversation_id = st.session_state.get(CONVERSATION_KEY)
    if not conversation_id:
        return None
    stopped = st.session_state.pop(STOPPED_KEY, False)
    try:
        conversation = api.get_conversation(conversation_id)
        # After "stop" the server stores what was said so far; give it a moment to do so.
        for _ in range(STOP_WAIT_TRIES if stopped else 0):
            if conversation["messages"] and conversation["messages"][-1]["role"] == "assistant":
                break
            time.sleep(STOP_WAIT_S)
            conversation = api.get_conversation(conversation_id)
    except ApiClientError as exc:
        if exc.status == 404:
            new_conversation()
            return None
        session.show_error(exc)
        return None
    return conversation


def _last_answer_id(messages: list[dict[str, Any]]) -> str | None:
    return next((m["id"] for m in reversed(messages) if m["role"] == "assistant"), None)


# --- starting -------------------------------------------------------------------------------


def _welcome(api: ApiClient) -> None:
    st.markdown(session.tr("chat.welcome"))
    starters = _starter_questions(api)
    if not starters:
        st.caption(session.tr("chat.no_documents"))
        return
    st.caption(session.tr("chat.starters"))
    # Keyed: while the answer to a starter streams, the last run's (stale) starters are hidden by CSS
    # (components.PAGE_CSS) instead of staying on screen, greyed, under the answer.
    with st.container(horizontal=True, key=STARTERS_BOX):
        for number, question in enumerate(starters):
            st.button(
                plain_label(question, 60), key=f"starter-{number}", on_click=_set_pending, args=(question,)
            )


def _starter_questions(api: ApiClient) -> list[str]:
    """Questions about documents the user can see (the API applies the permissions)."""
    cached = st.session_state.get(STARTERS_KEY)
    if isinstance(cached, dict) and cached.get("lang") == session.language():
        return list(cached["questions"])
    try:
        documents = api.list_documents(limit=100, status="ready")["items"]
    except ApiClientError:
        return []
    titles = list(dict.fromkeys(str(d.get("title") or "").strip() for d in documents))
    titles = [title for title in titles if title]
    random.shuffle(titles)
    questions = [session.tr("chat.starter_template", title=title) for title in titles[:STARTER_COUNT]]
    st.session_state[STARTERS_KEY] = {"lang": session.language(), "questions": questions}
    return questions


def _set_pending(question: str) -> None:
    st.session_state[PENDING_KEY] = question


# --- asking ---------------------------------------------------------------------------------


def _ask(api: ApiClient, conversation: dict[str, Any] | None, question: str) -> None:
    question = question.strip()
    if not question:
        return
    with st.chat_message("user"):
        st.markdown(safe_markdown(question, link_hosts=session.link_hosts()))
    try:
        if conversation is None:
            conversation = api.create_conversation()
            st.session_state[CONVERSATION_KEY] = conversation["id"]
    except ApiClientError as exc:
        session.show_error(exc)
        return
    _stream(api.ask_stream(conversation["id"], question))


def _stream(events: EventStream) -> None:
    """Show the answer as it streams; a rerun (stop, new question) closes the connection."""
    error: ApiClientError | None = None
    with st.chat_message("assistant"):
        stop_slot = st.empty()
        stop_slot.button(
            session.tr("chat.stop"), key="stop_answer", icon=":material/stop_circle:", on_click=_stopped
        )
        placeholder = st.empty()
        placeholder.markdown(f"_{session.tr('chat.searching')}_")
        text = ""
        try:
            with closing(events) as stream:
                for event in stream:
                    if event.kind == "delta":
                        text += event.text
                        placeholder.markdown(safe_markdown(text, link_hosts=session.link_hosts()) + " ▌")
                    elif event.kind == "error":
                        error = event.error
        except ApiClientError as exc:
            error = exc
        placeholder.markdown(safe_markdown(text, link_hosts=session.link_hosts()))
        stop_slot.empty()
        if error is not None:
            if not text:
                placeholder.empty()
            session.show_error(error)
            return
    st.rerun()


def _stopped() -> None:
    st.session_state[STOPPED_KEY] = True
    session.flash("info", session.tr("chat.stopped"))


# --- showing --------------------------------------------------------------------------------


def _message(api: ApiClient, message: dict[str, Any], *, is_last: bool) -> None:
    with st.chat_message(message["role"]):
        if message["role"] != "assistant":
            st.markdown(safe_markdown(message.get("content") or "", link_hosts=session.link_hosts()))
            return
        _answer(api, message)
        _actions(message, is_last=is_last)


def _answer(api: ApiClient, message: dict[str, Any]) -> None:
    sources: list[dict[str, Any]] = message.get("sources") or []
    cited = [s for s in sources if s.get("cited")]
    prefix = f"src-{message['id']}"
    content = message.get("content") or ""
    status = message.get("status")
    if status == "error":
        st.error(session.tr("chat.answer_error"))
        if content:
            st.caption(safe_markdown(content, link_hosts=session.link_hosts()))
    elif cited:
        numbers = [int(s.get("number") or 0) for s in cited]
        st.markdown(
            safe_markdown(content, anchor_prefix=prefix, numbers=numbers, link_hosts=session.link_hosts())
        )
    elif status == "stopped":
        st.markdown(safe_markdown(content, link_hosts=session.link_hosts()))
    else:  # nothing cited: say so plainly, and show what the model said only as a muted note
        st.warning(session.tr("chat.not_found"), icon=":material/search_off:")
        if content:
            st.caption(safe_markdown(content, link_hosts=session.link_hosts()))
    if status == "stopped":
        st.caption(session.tr("chat.stopped_note"))
    _faithfulness_notes(message.get("faithfulness"))
    if cited:
        st.markdown(f"**{session.tr('sources.title')}**")
        components.source_cards(api, cited, message.get("evidence"), prefix)
    others = [s for s in sources if not s.get("cited")]
    if others:
        with st.expander(session.tr("sources.others", count=len(others))):
            components.source_cards(api, others, message.get("evidence"), prefix)


def _faithfulness_notes(report: dict[str, Any] | None) -> None:
    """Figures the cited sources do not hold, and sentences no source supports, said plainly."""
    if not report:
        return
    figures = list(dict.fromkeys(str(item.get("text", "")) for item in report.get("unsupported") or []))
    if figures:
        note = session.tr("chat.unsupported_figures", figures=", ".join(figures))
        st.warning(note, icon=":material/report:")
    sentences = report.get("uncited_sentences") or []
    if sentences:
        st.caption(session.tr("chat.uncited_sentences", count=len(sentences)))


def _actions(message: dict[str, Any], *, is_last: bool) -> None:
    message_id = message["id"]
    rating = message.get("feedback")
    with st.container(horizontal=True, gap="small"):
        copy_button(message.get("content") or "", session.tr("chat.copy"), session.tr("chat.copied"))
        if is_last:
            st.button(
                session.tr("chat.regenerate"),
                key=f"regen-{message_id}",
                icon=":material/refresh:",
                on_click=_regenerate,
            )
        st.feedback(
            "thumbs",
            key=f"fb-{message_id}",
            default={1: 1, -1: 0}.get(rating) if isinstance(rating, int) else None,
            on_change=_rate,
            args=(message_id,),
        )
        if isinstance(rating, int):
            with st.popover(session.tr("chat.comment"), icon=":material/comment:"):
                st.text_area(session.tr("chat.comment_label"), key=f"comment-{message_id}", max_chars=2000)
                st.button(
                    session.tr("chat.comment_send"),
                    key=f"comment-send-{message_id}",
                    on_click=_comment,
                    args=(message_id, rating),
                )


def _regenerate() -> None:
    st.session_state[REGENERATE_KEY] = True


def _rate(message_id: str) -> None:
    value = st.session_state.get(f"fb-{message_id}")
    if value is None:
        return
    _send_feedback(message_id, 1 if value == 1 else -1, None)


def _comment(message_id: str, rating: int) -> None:
    comment = str(st.session_state.get(f"comment-{message_id}", "")).strip()
    _send_feedback(message_id, rating, comment or None)


def _send_feedback(message_id: str, rating: int, comment: str | None) -> None:
    try:
        session.client().send_feedback(message_id, rating, comment)
    except ApiClientError as exc:
        session.flash("error", exc.message(session.language()))
    else:
        session.flash("success", session.tr("chat.feedback_thanks"))
