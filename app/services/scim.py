"""SCIM 2.0 provisioning (RFC 7643/7644) of users and groups, with scim2-models for the protocol.

SCIM manages only what it provisioned: users and groups with ``origin='scim'``. A user name or group
name already held by a local, LDAP or OIDC account/group is a uniqueness conflict (409), so an
identity provider can never take over an account it did not create. The published schemas list
exactly the attributes Jikji keeps (user: userName, displayName, active, externalId, groups;
group: displayName, externalId, members), so what a client writes is what it reads back.

Deactivating (``active: false``) or deleting a user ends their sessions and revokes their API keys;
group membership changes apply to the next request (permissions are read per request).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, TypeVar, cast

from pydantic import Field
from scim2_models import (
    CaseExact,
    ComplexAttribute,
    Context,
    ListResponse,
    Meta,
    Mutability,
    NotFoundException,
    PatchOp,
    Reference,
    Required,
    Resource,
    ResponseParameters,
    ScimFilter,
    Uniqueness,
    UniquenessException,
)
from scim2_models.urn import URN
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from app.auth.identity import normalise_username
from app.auth.tokens import hash_secret
from app.services import accounts
from app.services.audit import record_event
from core import models as db
from core.settings import ScimSettings

SCIM = "scim"
SCIM_PREFIX = "/scim/v2"
MAX_RESULTS = 200
Row = TypeVar("Row", db.User, db.Group)


def token_valid(settings: ScimSettings, token: str | None) -> bool:
    """Whether ``token`` is the configured SCIM bearer token (compared as hashes, constant time)."""
    if not settings.token_sha256 or not token:
        return False
    return hmac.compare_digest(hash_secret(token), settings.token_sha256)


# --- the resources Jikji serves -------------------------------------------------------------------


class GroupRef(ComplexAttribute):
    """A group the user belongs to (read-only: membership is written through the group)."""

    value: Annotated[str | None, Mutability.read_only, CaseExact.true] = None
    ref: Annotated[Reference["Group"] | None, Mutability.read_only] = Field(  # noqa: UP037 - a SCIM type name
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    display: Annotated[str | None, Mutability.read_only] = None


class User(Resource[Any]):
    """A person provisioned by the identity provider."""

    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:User")

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    display_name: str | None = None
    # Required in what Jikji publishes: an account is always active or not (absent on create or
    # replace means active, see :func:`with_active`), so it cannot be removed.
    active: Annotated[bool | None, Required.true] = None
    groups: Annotated[list[GroupRef] | None, Mutability.read_only] = None


class Member(ComplexAttribute):
    """A user in a group."""

    value: Annotated[str | None, Mutability.immutable, CaseExact.true] = None
    ref: Annotated[Reference["User"] | None, Mutability.immutable] = Field(  # noqa: UP037 - a SCIM type name
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    type: Annotated[str | None, Mutability.immutable] = Field(None, examples=["User"])


class Group(Resource[Any]):
    """A group provisioned by the identity provider; documents are shared with it in Jikji."""

    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:Group")

    display_name: Annotated[str | None, Required.true] = None
    members: list[Member] | None = None


# --- rows ↔ resources -----------------------------------------------------------------------------


def _meta(kind: str, row_id: str, created: datetime, base_url: str) -> Meta:
    return Meta(
        resource_type=kind,
        created=created,
        last_modified=created,
        location=f"{base_url}/{kind}s/{row_id}",
    )


def user_resource(user: db.User, base_url: str) -> User:
    """The SCIM view of a user row."""
    return User(
        id=user.id,
        external_id=user.external_id,
        user_name=user.username,
        display_name=user.display_name or None,
        active=user.is_active,
        groups=[
            GroupRef(value=g.id, ref=cast(Any, f"{base_url}/Groups/{g.id}"), display=g.name)
            for g in sorted(user.groups, key=lambda g: g.name)
            if g.origin == SCIM
        ]
        or None,
        meta=_meta("User", user.id, user.created_at, base_url),
    )


def _scim_members(session: Session, group: db.Group) -> list[db.User]:
    rows = session.scalars(
        select(db.User)
        .join(db.user_groups, db.user_groups.c.user_id == db.User.id)
        .where(db.user_groups.c.group_id == group.id, db.User.origin == SCIM)
        .order_by(db.User.username)
    )
    return list(rows)


def group_resource(session: Session, group: db.Group, base_url: str) -> Group:
    """The SCIM view of a group row (its SCIM-provisioned members)."""
    members = [
        Member(value=u.id, ref=cast(Any, f"{base_url}/Users/{u.id}"), type="User")
        for u in _scim_members(session, group)
    ]
    return Group(
        id=group.id,
        external_id=group.external_id,
        display_name=group.name,
        members=members or None,
        meta=_meta("Group", group.id, group.created_at, base_url),
    )


def dump(resource: Resource[Any] | ListResponse[Any], context: Context, request_params: Any = None) -> Any:
    """The JSON body of a response."""
    return resource.model_dump(scim_ctx=context, response_parameters=request_params)


def response_parameters(
    model: type[Resource[Any]], attributes: str | None, excluded: str | None
) -> ResponseParameters[Any] | None:
    """The ``attributes`` / ``excludedAttributes`` query parameters, validated against ``model``."""
    if not attributes and not excluded:
        return None
    values = {"attributes": attributes, "excludedAttributes": excluded}
    return ResponseParameters[model].model_validate({k: v for k, v in values.items() if v})  # type: ignore[valid-type]


def with_active(body: Any) -> Any:
    """A create or replace body with ``active: true`` when the client left it out (RFC 7643: the
    default is the service provider's; Jikji's is an active account)."""
    if isinstance(body, dict) and not any(str(k).lower() == "active" for k in body):
        return {**body, "active": True}
    return body


SUPPORTED = {
    "User": {"schemas", "id", "externalid", "meta", "username", "displayname", "active", "groups"},
    "Group": {"schemas", "id", "externalid", "meta", "displayname", "members"},
}
CORE_SCHEMAS = {
    "User": "urn:ietf:params:scim:schemas:core:2.0:User",
    "Group": "urn:ietf:params:scim:schemas:core:2.0:Group",
}


def _attribute_of(path: str, kind: str) -> str:
    """The top-level attribute a PATCH path names, lower-case ('' for another schema's attribute)."""
    core = CORE_SCHEMAS[kind].lower() + ":"
    lowered = path.strip().lower()
    if lowered.startswith(core):
        lowered = lowered[len(core) :]
    elif lowered.startswith("urn:"):
        return ""
    return lowered.split("[", 1)[0].split(".", 1)[0]


def supported_only(body: Any, kind: str) -> Any:
    """A create or replace body without the attributes Jikji does not keep (Entra ID and Okta send
    e-mails, names, the enterprise extension …): ignored, as SCIM servers do with what they do not
    support, rather than refused."""
    if not isinstance(body, dict):
        return body
    kept = {k: v for k, v in body.items() if str(k).lower() in SUPPORTED[kind]}
    if isinstance(kept.get("schemas"), list):
        kept["schemas"] = [u for u in kept["schemas"] if str(u).lower() == CORE_SCHEMAS[kind].lower()]
    return kept


def supported_operations(body: Any, kind: str) -> Any:
    """A PatchOp body without operations on attributes Jikji does not keep (see :func:`supported_only`)."""
    if not isinstance(body, dict) or not isinstance(body.get("Operations"), list):
        return body
    operations = []
    for operation in body["Operations"]:
        if not isinstance(operation, dict):
            operations.append(operation)
        elif operation.get("path"):
            if _attribute_of(str(operation["path"]), kind) in SUPPORTED[kind]:
                operations.append(operation)
        elif isinstance(operation.get("value"), dict):
            value = {
                k: v for k, v in operation["value"].items() if _attribute_of(str(k), kind) in SUPPORTED[kind]
            }
            if value:
                operations.append({**operation, "value": value})
        else:
            operations.append(operation)
    return {**body, "Operations": operations}


def entra_member_removals(body: Any) -> Any:
    """Entra ID removes group members as ``{"op": "Remove", "path": "members", "value": [{"value":
    id}]}`` (a value on a remove, which RFC 7644 does not have): rewritten as one
    ``members[value eq "id"]`` removal per member, the RFC form."""
    if not isinstance(body, dict) or not isinstance(body.get("Operations"), list):
        return body
    operations: list[Any] = []
    for operation in body["Operations"]:
        values = operation.get("value") if isinstance(operation, dict) else None
        is_removal = isinstance(operation, dict) and str(operation.get("op", "")).lower() == "remove"
        if is_removal and str(operation.get("path", "")).lower() == "members" and isinstance(values, list):
            operations.extend(
                {"op": "remove", "path": f"members[value eq {ScimFilter.quote(str(v.get('value', '')))}]"}
                for v in values
                if isinstance(v, dict)
            )
        else:
            operations.append(operation)
    return {**body, "Operations": operations}


# --- users ----------------------------------------------------------------------------------------


def _scim_row(session: Session, model: type[Row], row_id: str, missing: str) -> Row:
    """The SCIM-provisioned row of ``model``, else the SCIM 404 with ``missing`` as its detail."""
    row = session.get(model, row_id)
    if row is None or row.origin != SCIM:
        raise NotFoundException(detail=missing)
    return row


def _unique_name(
    session: Session, column: Any, clean: str, row_id: str | None, attribute: str, korean: str
) -> str:
    """``clean`` when it is a usable name not held in ``column`` by another row (SCIM 409 otherwise;
    ``attribute`` and ``korean`` name it in the message)."""
    if not clean or len(clean) > 200:
        raise UniquenessException(detail=f"{attribute} is empty or too long / {korean}이 올바르지 않습니다")
    taken = session.scalar(select(column.class_.id).where(column == clean))
    if taken is not None and taken != row_id:
        raise UniquenessException(detail=f"{attribute} is taken / 이미 있는 {korean}입니다")
    return clean


def get_scim_user(session: Session, user_id: str) -> db.User:
    """A SCIM-provisioned user, else the SCIM 404."""
    return _scim_row(session, db.User, user_id, "User not found / 사용자를 찾을 수 없습니다")


def _check_user_name(session: Session, name: str, user_id: str | None) -> str:
    return _unique_name(
        session, db.User.username, normalise_username(name), user_id, "userName", "사용자 이름"
    )


def _check_external_id(
    session: Session, model: type[Any], external_id: str | None, row_id: str | None
) -> None:
    if external_id is None:
        return
    taken = session.scalar(select(model.id).where(model.origin == SCIM, model.external_id == external_id))
    if taken is not None and taken != row_id:
        raise UniquenessException(detail="externalId is taken / 이미 있는 externalId입니다")


def create_user(session: Session, resource: User) -> db.User:
    """A new SCIM user (no password: they sign in through single sign-on)."""
    name = _check_user_name(session, resource.user_name or "", None)
    _check_external_id(session, db.User, resource.external_id, None)
    user = db.User(
        username=name,
        display_name=(resource.display_name or "")[:200],
        password_hash=None,
        is_active=resource.active is not False,
    )
    user.origin, user.external_id = SCIM, resource.external_id
    session.add(user)
    session.flush()
    record_event(session, None, "scim.user_create", target_type="user", target_id=user.id)
    return user


def write_user(session: Session, user: db.User, resource: User) -> None:
    """Apply a replaced or patched resource to the row; deactivation ends sessions and keys."""
    user.username = _check_user_name(session, resource.user_name or "", user.id)
    _check_external_id(session, db.User, resource.external_id, user.id)
    user.external_id = resource.external_id
    user.display_name = (resource.display_name or "")[:200]
    if resource.active is False and user.is_active:
        accounts.deprovision_user(session, user, source=SCIM, reason="deactivated")
    elif resource.active is not False and not user.is_active:
        user.is_active = True
    session.flush()


def patch_user(session: Session, user: db.User, patch: PatchOp[User], base_url: str) -> None:
    """Apply a PATCH request to the user."""
    resource = user_resource(user, base_url)
    patch.patch(resource)
    write_user(session, user, resource)


def delete_user(session: Session, user: db.User) -> None:
    """Delete a SCIM user: sessions and keys end first; conversations and audit stay anonymous."""
    accounts.deprovision_user(session, user, source=SCIM, reason="deleted")
    session.delete(user)
    session.flush()


def _matching(
    session: Session, model: type[Row], matcher: ScimFilter[Any] | None, view: Callable[[Row], Resource[Any]]
) -> list[Row]:
    """The SCIM rows of ``model``, oldest first; with a filter, those whose SCIM ``view`` it matches."""
    rows = list(session.scalars(select(model).where(model.origin == SCIM).order_by(model.created_at)))
    if matcher is None:
        return rows
    return [row for row in rows if matcher.match(view(row))]


def list_users(session: Session, query: str | None) -> list[db.User]:
    """SCIM users matching a filter (evaluated on the SCIM view)."""
    matcher = ScimFilter[User](query) if query else None
    return _matching(session, db.User, matcher, lambda row: user_resource(row, ""))


# --- groups ---------------------------------------------------------------------------------------


def get_scim_group(session: Session, group_id: str) -> db.Group:
    """A SCIM-provisioned group, else the SCIM 404."""
    return _scim_row(session, db.Group, group_id, "Group not found / 그룹을 찾을 수 없습니다")


def _check_group_name(session: Session, name: str, group_id: str | None) -> str:
    return _unique_name(session, db.Group.name, name.strip(), group_id, "displayName", "그룹 이름")


def _member_ids(session: Session, members: Sequence[Member] | None) -> set[str]:
    """The user ids of ``members``; each must be a SCIM user."""
    wanted = {m.value for m in members or () if m.value}
    if not wanted:
        return set()
    found = set(session.scalars(select(db.User.id).where(db.User.id.in_(wanted), db.User.origin == SCIM)))
    missing = wanted - found
    if missing:
        raise NotFoundException(detail=f"Unknown members / 없는 구성원: {', '.join(sorted(missing))}")
    return found


def _set_members(session: Session, group: db.Group, user_ids: set[str]) -> None:
    """Make the group's SCIM members exactly ``user_ids`` (members of other origins stay)."""
    current = {u.id for u in _scim_members(session, group)}
    gone, new = current - user_ids, user_ids - current
    if gone:
        session.execute(
            delete(db.user_groups).where(
                db.user_groups.c.group_id == group.id, db.user_groups.c.user_id.in_(sorted(gone))
            )
        )
    if new:
        session.execute(insert(db.user_groups), [{"user_id": u, "group_id": group.id} for u in sorted(new)])
    session.expire_all()
    if gone or new:
        record_event(
            session,
            None,
            "scim.group_members",
            target_type="group",
            target_id=group.id,
            detail={"added": sorted(new), "removed": sorted(gone)},
        )


def create_group(session: Session, resource: Group) -> db.Group:
    """A new SCIM group with its members."""
    name = _check_group_name(session, resource.display_name or "", None)
    _check_external_id(session, db.Group, resource.external_id, None)
    members = _member_ids(session, resource.members)
    group = db.Group(name=name, description="SCIM")
    group.origin, group.external_id = SCIM, resource.external_id
    session.add(group)
    session.flush()
    _set_members(session, group, members)
    record_event(session, None, "scim.group_create", target_type="group", target_id=group.id)
    return group


def write_group(session: Session, group: db.Group, resource: Group) -> None:
    """Apply a replaced or patched resource to the group (name, external id, members)."""
    group.name = _check_group_name(session, resource.display_name or "", group.id)
    _check_external_id(session, db.Group, resource.external_id, group.id)
    group.external_id = resource.external_id
    session.flush()
    _set_members(session, group, _member_ids(session, resource.members))


def patch_group(session: Session, group: db.Group, patch: PatchOp[Group], base_url: str) -> None:
    """Apply a PATCH request (e.g. Entra's add/remove ``members``) to the group."""
    resource = group_resource(session, group, base_url)
    patch.patch(resource)
    write_group(session, group, resource)


def delete_group(session: Session, group: db.Group) -> None:
    """Delete a SCIM group: its memberships and document shares go with it."""
    record_event(session, None, "scim.group_delete", target_type="group", target_id=group.id)
    accounts.delete_group(session, group)


def list_groups(session: Session, query: str | None, base_url: str) -> list[db.Group]:
    """SCIM groups matching a filter (evaluated on the SCIM view)."""
    matcher = ScimFilter[Group](query) if query else None
    return _matching(session, db.Group, matcher, lambda row: group_resource(session, row, base_url))
