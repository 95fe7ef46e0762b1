"""Admin: run the retrieval question set or the answer set against the current index; metrics and
their history, one tab each. The third tab is the release gate (릴리스 게이트): start a run with a
candidate, see pass/fail with the metrics side by side and the items that got worse, and quality over
time from past runs."""

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
GATE_CHARTED = ("f1", "evidence_hit@1", "unsupported_figure_rate")


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
            ["retrieval", "answers", "gate"],
            default="retrieval",
            format_func=lambda value: session.tr(f"eval.kind.{value}"),
            key="eval_kind",
        )
        or "retrieval"
    )
    st.caption(session.tr(f"eval.kind_help.{kind}"))
    if kind == "gate":
        _gate(api)
        return
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


# --- release gate ------------------------------------------------------------------------------------


def _gate(api: Any) -> None:
    """The gate's form: candidate overrides as KEY=VALUE lines and a question limit."""
    try:
        runs = api.list_gate_runs()
    except ApiClientError as exc:
        session.show_error(exc)
        return
    busy = any(r.get("status") in {"queued", "running"} for r in runs)
    with st.form("gate_start"):
        text = st.text_area(
            session.tr("gate.candidate"),
            placeholder="llm.model=solar-hr",
            help=session.tr("gate.candidate_help"),
        )
        limit = st.number_input(session.tr("eval.limit"), min_value=0, max_value=10000, value=0)
        if st.form_submit_button(
            session.tr("gate.run"), type="primary", icon=":material/rule:", disabled=busy
        ):
            pairs = [line.strip() for line in text.splitlines() if line.strip()]
            try:
                api.start_gate({}, pairs, limit=int(limit) or None)
            except ApiClientError as exc:
                session.show_error(exc)
            else:
                session.flash("info", session.tr("gate.started"))
                st.rerun()
    st.fragment(_gate_results, run_every=POLL_SECONDS if busy else None)()


def _gate_results() -> None:
    """The latest run's verdict, metrics and what got worse, then quality over time; polls while busy."""
    api = session.client()
    try:
        runs = api.list_gate_runs()
    except ApiClientError as exc:
        session.show_error(exc)
        return
    busy = [r for r in runs if r.get("status") in {"queued", "running"}]
    if busy:
        st.info(session.tr("gate.running"), icon=":material/hourglass_top:")
    elif st.session_state.pop("_gate_was_running", False):
        st.rerun()
    st.session_state["_gate_was_running"] = bool(busy)
    done = [r for r in runs if r.get("status") in {"passed", "failed", "error"}]
    if not runs:
        st.caption(session.tr("gate.none"))
        return
    if done:
        try:
            latest = api.get_gate_run(done[0]["id"])
        except ApiClientError as exc:
            session.show_error(exc)
            return
        _gate_latest(latest)
    _gate_history(runs, done)


def _message(run: dict[str, Any]) -> str:
    ko, en = run.get("message_ko") or "", run.get("message_en") or ""
    return (ko if session.language() == "ko" else en) or ko or en


def _gate_latest(run: dict[str, Any]) -> None:
    st.subheader(session.tr("gate.latest", when=_when(run.get("created_at")), label=run.get("label", "")))
    status = run.get("status")
    if status == "passed":
        st.success(_message(run), icon=":material/check_circle:")
    elif status == "failed":
        st.error(_message(run), icon=":material/cancel:")
    else:
        st.warning(_message(run), icon=":material/error:")
    metrics = run.get("metrics") or {}
    if metrics.get("answers"):
        st.markdown(f"**{session.tr('gate.answers')}** ({run.get('n_questions', 0)})")
        st.dataframe(_metric_rows(metrics["answers"]), hide_index=True, width="stretch")
    for name, side in (metrics.get("retrieval") or {}).items():
        st.markdown(f"**{session.tr('gate.retrieval', name=name)}**")
        if "skipped" in side:
            st.caption(session.tr("gate.skipped", why=side["skipped"]))
        else:
            st.dataframe(_metric_rows(side.get("metrics") or []), hide_index=True, width="stretch")
    worse = run.get("regressions") or []
    if not worse:
        st.caption(session.tr("gate.none_worse"))
        return
    st.markdown(f"**{session.tr('gate.worse', n=len(worse))}**")
    rows = [
        {
            session.tr("gate.col.kind"): f"{row.get('kind', '')}/{row.get('set', '')}",
            session.tr("gate.col.question"): row.get("question", ""),
            session.tr("gate.col.reasons"): "; ".join(row.get("reasons") or []),
            session.tr("gate.col.current"): row.get("current_answer", ""),
            session.tr("gate.col.candidate"): row.get("candidate_answer", ""),
        }
        for row in worse
    ]
    st.dataframe(rows, hide_index=True, width="stretch")


def _metric_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            session.tr("gate.col.metric"): row.get("metric"),
            session.tr("gate.col.current"): row.get("current"),
            session.tr("gate.col.candidate"): row.get("candidate"),
            session.tr("gate.col.delta"): row.get("delta"),
            session.tr("gate.col.tolerance"): row.get("tolerance"),
            session.tr("gate.col.regressed"): "✗" if row.get("regressed") else "",
        }
        for row in rows
    ]


def _gate_history(runs: list[dict[str, Any]], done: list[dict[str, Any]]) -> None:
    st.subheader(session.tr("gate.history"))
    finished = [r for r in done if (r.get("metrics") or {}).get("answers")]
    if finished:
        chart: dict[str, dict[str, Any]] = {}
        for name in GATE_CHARTED:
            chart[name] = {}
            for run in reversed(finished):
                row = next((m for m in run["metrics"]["answers"] if m.get("metric") == name), None)
                if row is not None:
                    chart[name][_when(run.get("created_at"))] = row.get("candidate")
        st.line_chart({k: v for k, v in chart.items() if v}, height=240)
    rows = [
        {
            session.tr("eval.col.when"): _when(run.get("created_at")),
            session.tr("gate.col.result"): session.tr(f"gate.status.{run.get('status', 'error')}"),
            session.tr("gate.col.candidate_label"): run.get("label", ""),
            session.tr("gate.col.origin"): run.get("origin", ""),
            session.tr("eval.col.by"): run.get("created_by") or "",
            session.tr("eval.col.questions"): run.get("n_questions") or 0,
        }
        for run in runs
    ]
    st.dataframe(rows, hide_index=True, width="stretch")
