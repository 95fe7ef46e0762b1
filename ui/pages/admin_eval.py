"""Admin: run the retrieval question set or the answer set against the current index; metrics and
their history, one tab each."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import session
from ui.api_client import ApiClientError

METRICS = {
    "retrieval": ["R@1", "R@5", "R@10", "MRR@10", "nDCG@10"],
    "answers": ["evidence_hit@1", "evidence_hit@3", "exact_match", "f1", "unsupported_figure_rate"],
}
CHARTED = {
    "retrieval": ("R@1", "R@5", "MRR@10"),
    "answers": ("evidence_hit@1", "f1", "unsupported_figure_rate"),
}
POLL_SECONDS = 2.0


def render() -> None:
    """The evaluation page."""
    api = session.client()
    st.title(session.tr("eval.title"))
    st.caption(session.tr("eval.help"))
    session.show_flash()
    try:
        runs = api.list_eval_runs()
    except ApiClientError as exc:
        session.show_error(exc)
        return
    running = any(r.get("status") == "running" for r in runs)
    kind = (
        st.segmented_control(
            session.tr("eval.kind"),
            ["retrieval", "answers"],
            default="retrieval",
            format_func=lambda value: session.tr(f"eval.kind.{value}"),
            key="eval_kind",
        )
        or "retrieval"
    )
    st.caption(session.tr(f"eval.kind_help.{kind}"))
    with st.form("eval_start"):
        limit = st.number_input(
            session.tr("eval.limit"),
            min_value=0,
            max_value=10000,
            value=0,
            help=session.tr("eval.limit_help"),
        )
        if st.form_submit_button(
            session.tr("eval.run"), type="primary", icon=":material/play_arrow:", disabled=running
        ):
            try:
                start = api.start_answer_eval if kind == "answers" else api.start_retrieval_eval
                start(int(limit) or None)
            except ApiClientError as exc:
                session.show_error(exc)
            else:
                session.flash("info", session.tr("eval.started"))
                st.rerun()
    st.fragment(_results, run_every=POLL_SECONDS if running else None)(kind)


def _results(kind: str) -> None:
    """The latest run's metrics and the history; polls while a run is going, then refreshes."""
    try:
        runs = [r for r in session.client().list_eval_runs() if r.get("kind", "retrieval") == kind]
    except ApiClientError as exc:
        session.show_error(exc)
        return
    running = [r for r in runs if r.get("status") == "running"]
    if running:
        st.info(session.tr("eval.running"), icon=":material/hourglass_top:")
    elif st.session_state.pop("_eval_was_running", False):
        st.rerun()  # finished: re-enable the run button
    st.session_state["_eval_was_running"] = bool(running)
    finished = [r for r in runs if r.get("status") == "succeeded"]
    if not runs:
        st.caption(session.tr("eval.none"))
        return
    if finished:
        _latest(finished, METRICS[kind])
    for failed in (r for r in runs[:1] if r.get("status") == "failed"):
        st.error(_error(failed))
    _history(runs, finished, kind)


def _latest(finished: list[dict[str, Any]], names: list[str]) -> None:
    latest = finished[0]
    previous = finished[1] if len(finished) > 1 else None
    st.subheader(
        session.tr("eval.latest", when=_when(latest.get("created_at")), n=latest.get("n_questions", 0))
    )
    with st.container(horizontal=True):
        for name in names:
            value = (latest.get("metrics") or {}).get(name)
            if value is None:
                continue
            before = (previous.get("metrics") or {}).get(name) if previous else None
            delta = f"{value - before:+.3f}" if isinstance(before, int | float) else None
            st.metric(name, f"{value:.3f}", delta=delta, border=True)
        latency = latest.get("latency_ms") or {}
        st.metric(
            session.tr("eval.latency"),
            f"{latency.get('p50', 0):.1f} / {latency.get('p95', 0):.1f} ms",
            border=True,
        )
    meta = latest.get("meta") or {}
    left_out = meta.get("questions_without_gold_in_index")
    if left_out:
        st.caption(session.tr("eval.left_out", count=left_out, total=meta.get("questions_total", "?")))


def _history(runs: list[dict[str, Any]], finished: list[dict[str, Any]], kind: str) -> None:
    st.subheader(session.tr("eval.history"))
    if len(finished) > 1:
        chart = {
            name: {_when(r.get("created_at")): (r.get("metrics") or {}).get(name) for r in reversed(finished)}
            for name in CHARTED[kind]
        }
        st.line_chart(chart, height=240)
    rows = []
    for run in runs:
        metrics = run.get("metrics") or {}
        latency = run.get("latency_ms") or {}
        row: dict[str, Any] = {
            session.tr("eval.col.when"): _when(run.get("created_at")),
            session.tr("eval.col.status"): session.tr(f"eval.status.{run.get('status', 'failed')}"),
            session.tr("eval.col.by"): run.get("created_by") or "",
            session.tr("eval.col.questions"): run.get("n_questions") or 0,
        }
        row |= {name: metrics.get(name) for name in METRICS[kind]}
        row["p50 ms"] = latency.get("p50")
        row["p95 ms"] = latency.get("p95")
        rows.append(row)
    st.dataframe(rows, hide_index=True, width="stretch")


def _error(run: dict[str, Any]) -> str:
    ko, en = run.get("error_ko"), run.get("error_en")
    message = (ko if session.language() == "ko" else en) or ko or en or ""
    return session.tr("eval.failed", error=message)


def _when(value: object) -> str:
    return session.when(value)
