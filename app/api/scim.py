"""``/scim/v2``: SCIM 2.0 provisioning for Entra ID, Okta and other identity providers.

Every route needs the configured bearer token (``auth.scim.token_sha256``; SCIM is off without it)
and answers SCIM JSON (``application/scim+json``), errors as SCIM ``Error`` messages. The routes are
left out of Jikji's OpenAPI document: SCIM describes itself through ``/ServiceProviderConfig``,
``/ResourceTypes`` and ``/Schemas``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    Error,
    ETag,
    Filter,
    ListResponse,
    NotFoundException,
    Patch,
    PatchOp,
    ResourceType,
    Schema,
    SCIMException,
    ServiceProviderConfig,
    Sort,
)
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match

from app.api.deps import get_container
from app.services import scim
from app.services.scim import Group, User

_log = logging.getLogger(__name__)

SCIM_PREFIX = scim.SCIM_PREFIX
MEDIA_TYPE = "application/scim+json"
RESOURCE_MODELS: dict[str, type[User] | type[Group]] = {"User": User, "Group": Group}
Row = TypeVar("Row")


class ScimResponse(Response):
    """A JSON body with the SCIM media type."""

    media_type = MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        """Compact UTF-8 JSON."""
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _error(status: int, detail: str, scim_type: str | None = None) -> ScimResponse:
    body = Error(status=status, scim_type=scim_type, detail=detail).model_dump(scim_ctx=Context.DEFAULT)
    headers = {"WWW-Authenticate": 'Bearer realm="jikji-scim"'} if status == 401 else None
    return ScimResponse(body, status_code=status, headers=headers)


class ScimRoute(APIRoute):
    """Checks the SCIM token before the route and turns errors into SCIM ``Error`` responses."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler wrapped with the token check and error mapping."""
        handler = super().get_route_handler()

        async def scim_handler(request: Request) -> Response:
            settings = get_container(request).settings.auth.scim
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not scim.token_valid(settings, token.strip()):
                return _error(401, "A valid SCIM bearer token is required / SCIM 토큰이 필요합니다")
            try:
                return await handler(request)
            except SCIMException as exc:
                return ScimResponse(
                    exc.to_error().model_dump(scim_ctx=Context.DEFAULT), status_code=exc.status
                )
            except ValidationError as exc:
                return _error(400, _validation_detail(exc), "invalidValue")
            except ValueError as exc:
                return _error(400, str(exc)[:500], "invalidSyntax")

        return scim_handler


def _validation_detail(exc: ValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid value"
    where = ".".join(str(p) for p in errors[0]["loc"])
    return f"{where}: {errors[0]['msg']}"[:500]


router = APIRouter(prefix=SCIM_PREFIX, route_class=ScimRoute, include_in_schema=False, tags=["scim"])


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + SCIM_PREFIX


def _session(request: Request) -> Session:
    return get_container(request).sessions()


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError as exc:
        raise ValueError("The body is not valid JSON / 본문이 올바른 JSON이 아닙니다") from exc


def _page(request: Request) -> tuple[int, int]:
    start = int(request.query_params.get("startIndex", "1") or 1)
    count = int(request.query_params.get("count", str(scim.MAX_RESULTS)) or scim.MAX_RESULTS)
    return max(start, 1), min(max(count, 0), scim.MAX_RESULTS)


def _params(request: Request, model: type[User] | type[Group]) -> Any:
    return scim.response_parameters(
        model, request.query_params.get("attributes"), request.query_params.get("excludedAttributes")
    )


def _resource_body(
    resource: User | Group, request: Request, context: Context, status: int = 200
) -> ScimResponse:
    """One user or group as the response, its ``Location`` in the header."""
    body = resource.model_dump(scim_ctx=context, response_parameters=_params(request, type(resource)))
    location = resource.meta.location if resource.meta else None
    return ScimResponse(body, status_code=status, headers={"Location": location} if location else None)


def _listed(
    request: Request,
    model: type[User] | type[Group],
    paging: tuple[int, int],
    rows: list[Row],
    view: Callable[[Row], User | Group],
) -> ScimResponse:
    """The page of ``rows`` that ``paging`` (startIndex, count) asks for, as a ``ListResponse`` of
    their SCIM views."""
    start, count = paging
    page = [view(row) for row in rows[start - 1 : start - 1 + count]]
    listed = ListResponse[model](  # type: ignore[valid-type]
        total_results=len(rows), start_index=start, items_per_page=len(page), resources=page
    )
    body = listed.model_dump(
        scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=_params(request, model)
    )
    return ScimResponse(body)


# --- discovery ------------------------------------------------------------------------------------


def service_provider_config() -> ServiceProviderConfig:
    """What this server supports."""
    return ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=scim.MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="The token configured in Jikji (auth.scim.token_sha256)",
                primary=True,
            )
        ],
    )


def _resource_type(name: str, base: str) -> ResourceType:
    resource_type = ResourceType.from_resource(RESOURCE_MODELS[name])
    resource_type.meta = _discovery_meta("ResourceType", f"{base}/ResourceTypes/{name}")
    return resource_type


def _schema(name: str, base: str) -> Schema:
    schema = RESOURCE_MODELS[name].to_schema()
    schema.meta = _discovery_meta("Schema", f"{base}/Schemas/{schema.id}")
    return schema


def _discovery_meta(kind: str, location: str) -> Any:
    from scim2_models import Meta

    return Meta(resource_type=kind, location=location)


@router.get("/ServiceProviderConfig")
def get_service_provider_config(request: Request) -> ScimResponse:
    """The service provider configuration."""
    config = service_provider_config()
    config.meta = _discovery_meta("ServiceProviderConfig", f"{_base(request)}/ServiceProviderConfig")
    return ScimResponse(config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


def _all_listed(kind: type[ResourceType] | type[Schema], items: list[Any]) -> ScimResponse:
    """Every discovery resource of ``kind`` on one page."""
    listed = ListResponse[kind](  # type: ignore[valid-type]
        total_results=len(items), start_index=1, items_per_page=len(items), resources=items
    )
    return ScimResponse(listed.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@router.get("/ResourceTypes")
def list_resource_types(request: Request) -> ScimResponse:
    """User and Group."""
    return _all_listed(ResourceType, [_resource_type(name, _base(request)) for name in RESOURCE_MODELS])


@router.get("/ResourceTypes/{name}")
def get_resource_type(name: str, request: Request) -> ScimResponse:
    """One resource type."""
    if name not in RESOURCE_MODELS:
        raise NotFoundException(detail="Unknown resource type")
    return ScimResponse(
        _resource_type(name, _base(request)).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    )


@router.get("/Schemas")
def list_schemas(request: Request) -> ScimResponse:
    """The User and Group schemas, with exactly the attributes Jikji keeps."""
    return _all_listed(Schema, [_schema(name, _base(request)) for name in RESOURCE_MODELS])


@router.get("/Schemas/{schema_id}")
def get_schema(schema_id: str, request: Request) -> ScimResponse:
    """One schema by URN."""
    for name, model in RESOURCE_MODELS.items():
        if model.__schema__ == schema_id:
            return ScimResponse(
                _schema(name, _base(request)).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
            )
    raise NotFoundException(detail="Unknown schema")


# --- users ----------------------------------------------------------------------------------------


def _user_body(row: Any, request: Request, context: Context, status: int = 200) -> ScimResponse:
    return _resource_body(scim.user_resource(row, _base(request)), request, context, status)


@router.get("/Users")
def list_users(request: Request) -> ScimResponse:
    """Users, optionally filtered (``filter=userName eq "kim@corp.example"``), paged."""
    paging = _page(request)
    with _session(request) as session:
        rows = scim.list_users(session, request.query_params.get("filter"))
        return _listed(request, User, paging, rows, lambda row: scim.user_resource(row, _base(request)))


@router.get("/Users/{user_id}")
def get_user(user_id: str, request: Request) -> ScimResponse:
    """One user."""
    with _session(request) as session:
        return _user_body(scim.get_scim_user(session, user_id), request, Context.RESOURCE_QUERY_RESPONSE)


@router.post("/Users")
async def create_user(request: Request) -> ScimResponse:
    """Provision a user (409 ``uniqueness`` when the user name is taken)."""
    body = await _json(request)

    def run() -> ScimResponse:
        resource = User.model_validate(
            scim.with_active(scim.supported_only(body, "User")), scim_ctx=Context.RESOURCE_CREATION_REQUEST
        )
        with get_container(request).sessions.begin() as session:
            row = scim.create_user(session, resource)
            return _user_body(row, request, Context.RESOURCE_CREATION_RESPONSE, 201)

    return await run_in_threadpool(run)


@router.put("/Users/{user_id}")
async def replace_user(user_id: str, request: Request) -> ScimResponse:
    """Replace a user's attributes (``active: false`` deactivates: sessions end, keys are revoked)."""
    body = await _json(request)

    def run() -> ScimResponse:
        resource = User.model_validate(
            scim.with_active(scim.supported_only(body, "User")), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST
        )
        with get_container(request).sessions.begin() as session:
            row = scim.get_scim_user(session, user_id)
            scim.write_user(session, row, resource)
            return _user_body(row, request, Context.RESOURCE_REPLACEMENT_RESPONSE)

    return await run_in_threadpool(run)


@router.patch("/Users/{user_id}")
async def patch_user(user_id: str, request: Request) -> ScimResponse:
    """Patch a user (Entra ID sends ``replace active false`` to deprovision)."""
    body = await _json(request)

    def run() -> ScimResponse:
        patch = PatchOp[User].model_validate(
            scim.supported_operations(body, "User"), scim_ctx=Context.RESOURCE_PATCH_REQUEST
        )
        with get_container(request).sessions.begin() as session:
            row = scim.get_scim_user(session, user_id)
            scim.patch_user(session, row, patch, _base(request))
            return _user_body(row, request, Context.RESOURCE_PATCH_RESPONSE)

    return await run_in_threadpool(run)


@router.delete("/Users/{user_id}", status_code=204)
def delete_user(user_id: str, request: Request) -> Response:
    """Delete a user (their sessions and keys end)."""
    with get_container(request).sessions.begin() as session:
        scim.delete_user(session, scim.get_scim_user(session, user_id))
    return Response(status_code=204)


# --- groups ---------------------------------------------------------------------------------------


def _group_body(
    session: Session, row: Any, request: Request, context: Context, status: int = 200
) -> ScimResponse:
    return _resource_body(scim.group_resource(session, row, _base(request)), request, context, status)


@router.get("/Groups")
def list_groups(request: Request) -> ScimResponse:
    """Groups, optionally filtered (``filter=displayName eq "재무팀"``), paged."""
    paging = _page(request)
    with _session(request) as session:
        rows = scim.list_groups(session, request.query_params.get("filter"), _base(request))
        return _listed(
            request, Group, paging, rows, lambda row: scim.group_resource(session, row, _base(request))
        )


@router.get("/Groups/{group_id}")
def get_group(group_id: str, request: Request) -> ScimResponse:
    """One group with its members."""
    with _session(request) as session:
        return _group_body(
            session, scim.get_scim_group(session, group_id), request, Context.RESOURCE_QUERY_RESPONSE
        )


@router.post("/Groups")
async def create_group(request: Request) -> ScimResponse:
    """Provision a group with members (409 ``uniqueness`` when the name is taken)."""
    body = await _json(request)

    def run() -> ScimResponse:
        resource = Group.model_validate(
            scim.supported_only(body, "Group"), scim_ctx=Context.RESOURCE_CREATION_REQUEST
        )
        with get_container(request).sessions.begin() as session:
            row = scim.create_group(session, resource)
            return _group_body(session, row, request, Context.RESOURCE_CREATION_RESPONSE, 201)

    return await run_in_threadpool(run)


@router.put("/Groups/{group_id}")
async def replace_group(group_id: str, request: Request) -> ScimResponse:
    """Replace a group's name and members."""
    body = await _json(request)

    def run() -> ScimResponse:
        resource = Group.model_validate(
            scim.supported_only(body, "Group"), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST
        )
        with get_container(request).sessions.begin() as session:
            row = scim.get_scim_group(session, group_id)
            scim.write_group(session, row, resource)
            return _group_body(session, row, request, Context.RESOURCE_REPLACEMENT_RESPONSE)

    return await run_in_threadpool(run)


@router.patch("/Groups/{group_id}")
async def patch_group(group_id: str, request: Request) -> ScimResponse:
    """Patch a group (members added or removed take effect on the members' next request)."""
    body = await _json(request)

    def run() -> ScimResponse:
        patch = PatchOp[Group].model_validate(
            scim.entra_member_removals(body), scim_ctx=Context.RESOURCE_PATCH_REQUEST
        )
        with get_container(request).sessions.begin() as session:
            row = scim.get_scim_group(session, group_id)
            scim.patch_group(session, row, patch, _base(request))
            return _group_body(session, row, request, Context.RESOURCE_PATCH_RESPONSE)

    return await run_in_threadpool(run)


@router.delete("/Groups/{group_id}", status_code=204)
def delete_group(group_id: str, request: Request) -> Response:
    """Delete a group (its memberships and document shares go with it)."""
    with get_container(request).sessions.begin() as session:
        scim.delete_group(session, scim.get_scim_group(session, group_id))
    return Response(status_code=204)


# --- anything else --------------------------------------------------------------------------------


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str, request: Request) -> ScimResponse:
    """Bulk and cross-type searches are not supported (501); a known path with another method is
    405; every other path is a SCIM 404."""
    if rest.rstrip("/").endswith(".search") or rest.rstrip("/") == "Bulk":
        return _error(501, "Not supported by Jikji / 지원하지 않는 요청입니다")
    for route in router.routes:
        if route is not _catch_all and route.matches(request.scope)[0] == Match.PARTIAL:
            return _error(405, "Method not allowed / 허용되지 않는 메서드입니다")
    return _error(404, "Unknown SCIM endpoint / 알 수 없는 SCIM 경로입니다")


_catch_all = router.routes[-1]
