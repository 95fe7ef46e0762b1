"""Admin: where accounts come from — local, OIDC, LDAP, SCIM — whether each answers, the last directory
sync, the group mapping, and each user's origin (a section of the users page)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import session
from ui.api_client import ApiClient, ApiClientError
from ui.render import plain_label

TEXTS: dict[str, dict[str, str]] = {
    "title": {"ko": "신원 소스 (로그인 방식)", "en": "Identity sources (how people sign in)"},
    "source": {"ko": "소스", "en": "Source"},
    "kind": {"ko": "종류", "en": "Kind"},
    "configured": {"ko": "설정됨", "en": "Configured"},
    "health": {"ko": "상태", "en": "Health"},
    "users": {"ko": "사용자 수", "en": "Users"},
    "last_sync": {"ko": "마지막 동기화", "en": "Last sync"},
    "detail": {"ko": "비고", "en": "Detail"},
    "mapping": {"ko": "그룹 매핑", "en": "Group mapping"},
    "external": {"ko": "외부 그룹", "en": "External group"},
    "jikji": {"ko": "직지 그룹", "en": "Jikji group"},
    "same_name": {
        "ko": "매핑에 없는 그룹은 같은 이름의 직지 그룹으로 연결됩니다. 없는 그룹: {mode}.",
        "en": "Groups not listed map to the Jikji group of the same name. Unknown groups: {mode}.",
    },
    "admins": {"ko": "관리자 그룹: {groups}", "en": "Admin groups: {groups}"},
    "origins": {"ko": "사용자별 출처", "en": "Each user's origin"},
    "origin": {"ko": "출처", "en": "Origin"},
    "name": {"ko": "사용자", "en": "User"},
    "ok": {"ko": "정상", "en": "OK"},
    "down": {"ko": "오류", "en": "Error"},
    "unknown": {"ko": "알 수 없음", "en": "Unknown"},
    "yes": {"ko": "예", "en": "Yes"},
    "no": {"ko": "아니요", "en": "No"},
}


def _t(key: str, **values: Any) -> str:
    return TEXTS[key][session.language()].format(**values)


def _health(value: object) -> str:
    return {True: "🟢 " + _t("ok"), False: "🔴 " + _t("down")}.get(value, "⚪ " + _t("unknown"))  # type: ignore[call-overload]


def _sync(sync: dict[str, Any] | None) -> str:
    if not sync:
        return "-"
    when = str(sync.get("last_run_at") or "-")[:16].replace("T", " ")
    error = f" · {sync['error']}" if sync.get("error") else ""
    return f"{when} ({sync.get('status')}){error}"


def render_section(api: ApiClient, users: list[dict[str, Any]] | None = None) -> None:
    """The identity section: sources table, each source's group mapping, users by origin."""
    st.subheader(_t("title"))
    try:
        body = api.identity_sources()
    except ApiClientError as exc:
        st.error(exc.message(session.language()))
        return
    sources: list[dict[str, Any]] = body.get("sources", [])
    rows = [
        {
            _t("source"): plain_label(s.get("display_name") or s.get("name") or ""),
            _t("kind"): s.get("kind"),
            _t("configured"): _t("yes") if s.get("configured") else _t("no"),
            _t("health"): _health(s.get("healthy")) if s.get("configured") else "-",
            _t("users"): s.get("users", 0),
            _t("last_sync"): _sync(s.get("last_sync")),
            _t("detail"): plain_label(str(s.get("detail") or "")),
        }
        for s in sources
    ]
    st.dataframe(rows, hide_index=True, width="stretch", key="identity_sources")
    for source in sources:
        if source.get("kind") == "local" or not source.get("configured"):
            continue
        _mapping(source)
    if users:
        st.markdown(f"**{_t('origins')}**")
        st.dataframe(
            [{_t("name"): u.get("username"), _t("origin"): u.get("origin", "local")} for u in users],
            hide_index=True,
            width="stretch",
            key="identity_user_origins",
        )


def _mapping(source: dict[str, Any]) -> None:
    name = plain_label(source.get("display_name") or source.get("name") or "")
    with st.expander(f"{_t('mapping')} · {name}"):
        mapping = source.get("group_mapping") or {}
        if mapping:
            st.dataframe(
                [{_t("external"): k, _t("jikji"): v} for k, v in sorted(mapping.items())],
                hide_index=True,
                width="stretch",
            )
        st.caption(_t("same_name", mode=source.get("unknown_groups") or "ignore"))
        if source.get("admin_groups"):
            st.caption(_t("admins", groups=", ".join(source["admin_groups"])))
