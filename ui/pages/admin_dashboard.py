"""Admin dashboard: questions per day, answer latency, 👎 rate, cited and never-cited documents,
and the questions the assistant could not ground (the documents that are missing)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import session
from ui.api_client import ApiClientError

PERIODS = [7, 30, 90]


def render() -> None:
    """The dashboard page."""
    api = session.client()
    st.title(session.tr("dash.title"))
    days = st.segmented_control(
        session.tr("dash.period"),
        PERIODS,
        default=30,
        format_func=lambda d: session.tr("dash.days", days=d),
        key="dash_days",
    )
    try:
        stats = api.admin_stats(days=int(days or 30))
    except ApiClientError as exc:
        session.show_error(exc)
        return
    _headline(stats)
    _questions_per_day(stats)
    left, right = st.columns(2)
    with left:
        _most_cited(stats)
    with right:
        _never_cited(stats)
    _unanswered(stats)


def _headline(stats: dict[str, Any]) -> None:
    per_day = stats.get("questions_per_day") or []
    latency = stats.get("latency_ms") or {}
    feedback = stats.get("feedback") or {}
    with st.container(horizontal=True):
        st.metric(session.tr("dash.questions"), sum(int(d.get("count") or 0) for d in per_day), border=True)
        st.metric(session.tr("dash.latency_p50"), _ms(latency.get("p50")), border=True)
        st.metric(session.tr("dash.latency_p95"), _ms(latency.get("p95")), border=True)
        st.metric(
            session.tr("dash.down_rate"),
            f"{float(feedback.get('down_rate') or 0.0) * 100:.1f}%",
            help=session.tr("dash.feedback_counts", up=feedback.get("up", 0), down=feedback.get("down", 0)),
            border=True,
        )


def _ms(value: object) -> str:
    if value is None:
        return "—"
    seconds = float(value) / 1000  # type: ignore[arg-type]
    return f"{seconds:.1f}s" if seconds >= 1 else f"{float(value):.0f}ms"  # type: ignore[arg-type]


def _questions_per_day(stats: dict[str, Any]) -> None:
    st.subheader(session.tr("dash.per_day"))
    per_day = stats.get("questions_per_day") or []
    if not per_day:
        st.caption(session.tr("dash.no_questions"))
        return
    label = session.tr("dash.questions")
    day = session.tr("dash.day")  # named columns: the chart's tooltip shows these names, not "index"
    data = {day: [str(d["day"])[:10] for d in per_day], label: [int(d.get("count") or 0) for d in per_day]}
    st.bar_chart(data, x=day, y=label, x_label=day, y_label=label, height=260)


def _most_cited(stats: dict[str, Any]) -> None:
    st.subheader(session.tr("dash.most_cited"))
    cited = stats.get("most_cited") or []
    if not cited:
        st.caption(session.tr("dash.nothing_cited"))
        return
    label = session.tr("dash.citations")
    title = session.tr("docs.col.title")
    data = {
        title: [str(d.get("title") or d.get("document_id")) for d in cited[:10]],
        label: [int(d.get("citations") or 0) for d in cited[:10]],
    }
    st.bar_chart(data, x=title, y=label, horizontal=True, y_label="", x_label=label, height=300)


def _never_cited(stats: dict[str, Any]) -> None:
    st.subheader(session.tr("dash.never_cited"))
    never = stats.get("never_cited") or []
    if not never:
        st.caption(session.tr("dash.all_cited"))
        return
    st.dataframe(
        [{session.tr("docs.col.title"): d.get("title")} for d in never], hide_index=True, width="stretch"
    )


def _unanswered(stats: dict[str, Any]) -> None:
    st.subheader(session.tr("dash.unanswered"))
    st.caption(session.tr("dash.unanswered_help"))
    rows = stats.get("unanswered") or []
    if not rows:
        st.caption(session.tr("dash.none_unanswered"))
        return
    st.dataframe(
        [
            {
                session.tr("dash.question"): r.get("question"),
                session.tr("dash.asked_at"): session.when(r.get("created_at")),
            }
            for r in rows
        ],
        hide_index=True,
        width="stretch",
    )
