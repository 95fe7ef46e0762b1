"""Admin: users, groups, API keys (the secret shown once) and the company dictionary."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import Any

import streamlit as st

from ui import components, session
from ui.api_client import ApiClient, ApiClientError
from ui.i18n import MESSAGES
from ui.pages import admin_identity

SCOPES = ["search", "chat", "documents:read", "documents:write", "admin"]
DEFAULT_SCOPES = ["search", "chat"]
ROLES = ["employee", "admin"]
TAGS = ["NNP", "NNG", "SL"]
NEW_KEY_STATE = "new_key_secret"
TAB_KEY = "users_tab"
ROUND_KEY = "_form_round_{}"


def render() -> None:
    """The users page, one tab per kind of thing."""
    api = session.client()
    st.title(session.tr("users.title"))
    session.show_flash()
    _show_new_secret()  # above the tabs: on screen, whichever tab is open, until the admin confirms
    # A key keeps the open tab across the reruns after an action (one key per language: the state is
    # the tab's label).
    users_tab, groups_tab, keys_tab, dictionary_tab = st.tabs(
        [session.tr("users.tab.users"), session.tr("users.tab.groups"), session.tr("users.tab.keys"),
         session.tr("users.tab.dictionary")],
        key=f"{TAB_KEY}_{session.language()}",
        on_change="rerun",
    )  # fmt: skip
    groups = _load(api.list_groups) or []
    users = _load(api.list_users) or []
    with users_tab:
        _users(api, users, groups)
    with groups_tab:
        _groups(api, groups)
    with keys_tab:
        _keys(api, users, groups)
    with dictionary_tab:
        _dictionary(api)
    st.divider()
    admin_identity.render_section(api, users)  # where accounts come from (local / OIDC / LDAP / SCIM)


def _load(fetch: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]] | None:
    try:
        return fetch()
    except ApiClientError as exc:
        session.show_error(exc)
        return None


def _done(action: Callable[[], object], success_key: str, *, form: str | None = None, **values: Any) -> None:
    """Run an API call; on success leave a message, empty ``form`` and rerun; on failure show the
    API's message (the form keeps what was typed)."""
    try:
        action()
    except ApiClientError as exc:
        session.show_error(exc)
        return
    if form:
        _next_round(form)
    session.flash("success", session.tr(success_key, **values))
    st.rerun()


def _form_key(form: str) -> str:
    """The key of ``form`` for this round: a new round (after a success) is a new, empty form."""
    return f"{form}-{int(st.session_state.get(ROUND_KEY.format(form), 0))}"


def _next_round(form: str) -> None:
    key = ROUND_KEY.format(form)
    st.session_state[key] = int(st.session_state.get(key, 0)) + 1


def _table(rows: list[dict[str, Any]]) -> None:
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    else:
        st.caption(session.tr("common.empty"))


def _when(value: object) -> str:
    return session.when(value)


# --- users ----------------------------------------------------------------------------------


def _users(api: ApiClient, users: list[dict[str, Any]], groups: list[dict[str, Any]]) -> None:
    group_names = sorted(str(g["name"]) for g in groups)
    rows = [
        {
            session.tr("users.col.username"): u["username"],
            session.tr("users.col.name"): u.get("display_name") or "",
            session.tr("users.col.role"): session.tr(f"role.{u.get('role', 'employee')}"),
            session.tr("users.col.active"): bool(u.get("is_active", True)),
            session.tr("users.col.groups"): ", ".join(str(g["name"]) for g in u.get("groups") or []),
            session.tr("users.col.created"): _when(u.get("created_at")),
        }
        for u in users
    ]
    _table(rows)
    with (
        st.expander(session.tr("users.new"), icon=":material/add:"),
        st.form(_form_key("new_user")),
    ):
        username = st.text_input(session.tr("users.col.username"))
        display_name = st.text_input(session.tr("users.col.name"))
        password = st.text_input(
            session.tr("users.password"), type="password", help=session.tr("users.password_help")
        )
        role = st.selectbox(
            session.tr("users.col.role"), ROLES, format_func=lambda r: session.tr(f"role.{r}")
        )
        member_of = st.multiselect(
            session.tr("users.col.groups"), group_names, placeholder=session.tr("common.choose")
        )
        if st.form_submit_button(session.tr("users.create"), type="primary"):
            _done(
                lambda: api.create_user(username.strip(), password, role, display_name.strip(), member_of),
                "users.created",
                form="new_user",
                name=username.strip(),
            )
    if users:
        _edit_user(api, users, group_names)


def _edit_user(api: ApiClient, users: list[dict[str, Any]], group_names: list[str]) -> None:
    by_id = {str(u["id"]): u for u in users}
    with st.expander(session.tr("users.edit"), icon=":material/edit:"):
        chosen = st.selectbox(
            session.tr("users.choose"),
            list(by_id),
            format_func=lambda i: str(by_id[i]["username"]),
            key="edit_user",
        )
        if chosen is None:
            return
        user = by_id[chosen]
        with st.form(f"edit-user-{chosen}"):
            display_name = st.text_input(session.tr("users.col.name"), value=user.get("display_name") or "")
            role = st.selectbox(
                session.tr("users.col.role"),
                ROLES,
                index=ROLES.index(user.get("role", "employee")),
                format_func=lambda r: session.tr(f"role.{r}"),
            )
            current = [str(g["name"]) for g in user.get("groups") or []]
            member_of = st.multiselect(
                session.tr("users.col.groups"),
                sorted({*group_names, *current}),
                default=current,
                placeholder=session.tr("common.choose"),
            )
            active = st.checkbox(session.tr("users.col.active"), value=bool(user.get("is_active", True)))
            password = st.text_input(session.tr("users.new_password"), type="password")
            if st.form_submit_button(session.tr("common.save"), type="primary"):
                changes: dict[str, Any] = {
                    "display_name": display_name.strip(),
                    "role": role,
                    "groups": member_of,
                    "is_active": active,
                }
                if password:
                    changes["password"] = password
                _done(lambda: api.update_user(chosen, **changes), "users.updated", name=user["username"])


# --- groups ---------------------------------------------------------------------------------


def _groups(api: ApiClient, groups: list[dict[str, Any]]) -> None:
    rows = [
        {
            session.tr("groups.col.name"): g["name"],
            session.tr("groups.col.description"): g.get("description") or "",
            session.tr("groups.col.members"): g.get("member_count", 0),
            session.tr("users.col.created"): _when(g.get("created_at")),
        }
        for g in groups
    ]
    _table(rows)
    with st.form(_form_key("new_group")):
        st.markdown(f"**{session.tr('groups.new')}**")
        name = st.text_input(session.tr("groups.col.name"))
        description = st.text_input(session.tr("groups.col.description"))
        if st.form_submit_button(session.tr("groups.create"), type="primary"):
            _done(
                lambda: api.create_group(name.strip(), description.strip()),
                "groups.created",
                form="new_group",
                name=name.strip(),
            )
    if not groups:
        return
    by_id = {str(g["id"]): g for g in groups}
    with st.expander(session.tr("groups.edit"), icon=":material/edit:"):
        chosen = st.selectbox(
            session.tr("groups.choose"),
            list(by_id),
            format_func=lambda i: str(by_id[i]["name"]),
            key="edit_group",
        )
        if chosen is None:
            return
        group = by_id[chosen]
        with st.form(f"edit-group-{chosen}"):
            new_name = st.text_input(session.tr("groups.col.name"), value=group["name"])
            new_description = st.text_input(
                session.tr("groups.col.description"), value=group.get("description") or ""
            )
            if st.form_submit_button(session.tr("common.save")):
                _done(
                    lambda: api.update_group(
                        chosen, name=new_name.strip(), description=new_description.strip()
                    ),
                    "groups.updated",
                    name=new_name.strip(),
                )
        confirm = st.checkbox(session.tr("groups.delete_confirm"), key=f"confirm-group-{chosen}")
        if st.button(
            session.tr("groups.delete"),
            icon=":material/delete:",
            disabled=not confirm,
            key=f"delete-group-{chosen}",
        ):
            _done(lambda: api.delete_group(chosen), "groups.deleted", name=group["name"])


# --- keys -----------------------------------------------------------------------------------


def _keys(api: ApiClient, users: list[dict[str, Any]], groups: list[dict[str, Any]]) -> None:
    keys = _load(lambda: api.list_keys(all_keys=True)) or []
    names = {str(u["id"]): str(u["username"]) for u in users}
    group_names = {str(g["id"]): str(g["name"]) for g in groups}
    rows = [
        {
            session.tr("keys.col.name"): k["name"],
            session.tr("keys.col.prefix"): f"{k.get('prefix', '')}…",
            session.tr("keys.col.owner"): names.get(str(k.get("owner_id")), k.get("owner_id")),
            session.tr("keys.col.scopes"): ", ".join(scope_label(s) for s in k.get("scopes") or []),
            session.tr("keys.col.groups"): ", ".join(group_names.get(g, g) for g in k.get("group_ids") or [])
            or session.tr("keys.all_groups"),
            session.tr("keys.col.status"): session.tr(f"keys.status.{k.get('status', 'active')}"),
            session.tr("keys.col.expires"): _when(k.get("expires_at")) or "—",
            session.tr("keys.col.last_used"): _when(k.get("last_used_at")) or "—",
        }
        for k in keys
    ]
    _table(rows)
    _new_key(api, users, group_names)
    active = {str(k["id"]): k for k in keys if k.get("status", "active") == "active"}
    if active:
        with st.expander(session.tr("keys.revoke"), icon=":material/block:"):
            chosen = st.selectbox(
                session.tr("keys.choose"),
                list(active),
                format_func=lambda i: f"{active[i]['name']} ({active[i].get('prefix', '')}…)",
                key="revoke_key",
            )
            name = active[chosen]["name"] if chosen else ""
            if chosen and components.confirmed_button(
                f"revoke-{chosen}",
                session.tr("keys.revoke_button"),
                session.tr("keys.revoke_question", name=name),
                session.tr("keys.revoke_confirm"),
                icon=":material/block:",
            ):
                _done(lambda: api.revoke_key(chosen), "keys.revoked", name=name)


def _new_key(api: ApiClient, users: list[dict[str, Any]], group_names: dict[str, str]) -> None:
    me = (session.current_user() or {}).get("id")
    owners = {str(u["id"]): str(u["username"]) for u in users if u.get("is_active", True)}
    with st.expander(session.tr("keys.new"), icon=":material/key:"), st.form(_form_key("new_key")):
        name = st.text_input(session.tr("keys.col.name"), placeholder=session.tr("keys.name_hint"))
        owner_ids = list(owners)
        owner = st.selectbox(
            session.tr("keys.col.owner"),
            owner_ids,
            index=owner_ids.index(me) if me in owner_ids else 0,
            format_func=lambda i: owners[i],
        ) if owner_ids else None  # fmt: skip
        scopes = st.multiselect(
            session.tr("keys.col.scopes"),
            SCOPES,
            default=DEFAULT_SCOPES,
            format_func=scope_label,
            placeholder=session.tr("common.choose"),
        )
        limit_groups = st.multiselect(
            session.tr("keys.col.groups"),
            list(group_names),
            format_func=lambda i: group_names[i],
            help=session.tr("keys.groups_help"),
            placeholder=session.tr("common.choose"),
        )
        expires = st.date_input(session.tr("keys.col.expires"), value=None)
        if st.form_submit_button(session.tr("keys.create"), type="primary"):
            expires_at = datetime.combine(expires, time(23, 59), tzinfo=UTC).isoformat() if expires else None
            try:
                created = api.create_key(
                    name.strip(),
                    scopes,
                    group_ids=limit_groups or None,
                    expires_at=expires_at,
                    owner_id=owner,
                )
            except ApiClientError as exc:
                session.show_error(exc)
                return
            st.session_state[NEW_KEY_STATE] = {"name": created["key"]["name"], "secret": created["secret"]}
            _next_round("new_key")
            st.rerun()


def scope_label(scope: str) -> str:
    """An API key scope in words (an unknown one as the server named it)."""
    key = f"scope.{scope.replace(':', '_')}"
    return session.tr(key) if key in MESSAGES else scope


def _show_new_secret() -> None:
    """The secret of a key just made: shown once, until dismissed."""
    created = st.session_state.get(NEW_KEY_STATE)
    if not created:
        return
    with st.container(border=True):
        st.success(session.tr("keys.created", name=created["name"]))
        st.warning(session.tr("keys.secret_once"))
        st.code(created["secret"], language=None)
        if st.button(session.tr("keys.secret_done"), key="secret_done"):
            del st.session_state[NEW_KEY_STATE]
            st.rerun()


# --- dictionary -----------------------------------------------------------------------------


def _dictionary(api: ApiClient) -> None:
    st.caption(session.tr("dictionary.help"))
    try:
        terms = api.list_terms()
    except ApiClientError as exc:
        if exc.status == 404:  # the list itself never 404s: the server has no dictionary endpoint
            st.info(session.tr("dictionary.unavailable"))
        else:
            session.show_error(exc)
        return
    rows = [
        {
            session.tr("dictionary.col.term"): t["term"],
            session.tr("dictionary.col.tag"): t.get("tag") or "",
            session.tr("users.col.created"): _when(t.get("created_at")),
        }
        for t in terms
    ]
    _table(rows)
    with st.form(_form_key("new_term")):
        left, right = st.columns([3, 1])
        term = left.text_input(session.tr("dictionary.col.term"))
        tag = right.selectbox(session.tr("dictionary.col.tag"), TAGS, help=session.tr("dictionary.tag_help"))
        if st.form_submit_button(session.tr("dictionary.add"), type="primary"):
            word = term.strip()
            _done(lambda: api.add_term(word, tag), "dictionary.added", form="new_term", term=word)
    if terms:
        by_id = {str(t["id"]): t for t in terms}
        chosen = st.selectbox(
            session.tr("dictionary.choose"),
            list(by_id),
            format_func=lambda i: str(by_id[i]["term"]),
            key="term_pick",
        )
        term_name = by_id[chosen]["term"] if chosen else ""
        # One key whatever term is chosen: a click that races the rerun of a new choice is not lost, and
        # the question and the removal always name the term chosen now.
        if chosen and components.confirmed_button(
            "remove-term",
            session.tr("dictionary.remove"),
            session.tr("dictionary.remove_question", term=term_name),
            session.tr("dictionary.remove_confirm"),
            icon=":material/delete:",
        ):
            _done(lambda: api.remove_term(chosen), "dictionary.removed", term=term_name)
