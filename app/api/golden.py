"""``/api/v1/feedback`` (review rated answers, promote one) and ``/api/v1/golden`` (golden items: CRUD,
versions, JSONL export and import), for admins.

An admin key narrowed to some groups (a department's tooling key) gets a filtered view instead of 403:
the golden items of its groups whose documents it sees now, the answers rated by its groups' members
whose documents it sees now; it writes items of its groups only (:class:`app.services.golden.Narrowing`).

The work is :mod:`app.services.feedback_review` and :mod:`app.services.golden`; the export is the
JSONL ``jikji eval answers --dataset`` reads.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from app.api.deps import DbDep, GroupAdminPrincipal, PageLimit, PageOffset
from app.auth.principal import Principal
from app.services import golden
from app.services.feedback_review import (
    FeedbackQuery,
    promote_feedback,
    review_feedback,
    reviewable_feedback_ids,
)
from core.models import GoldenItem

router = APIRouter(prefix="/api/v1", tags=["golden"])
Status = Literal["active", "retired"]
StatusFilter = Literal["active", "retired", "all"]


class RatedAnswer(BaseModel):
    """A rated answer with its question, comment, sources and evidence (``withheld``: none of them)."""

    id: str = Field(description="The feedback's id (promote it with POST /api/v1/feedback/{id}/golden).")
    message_id: str
    conversation_id: str
    rating: int = Field(description="1 (👍) or -1 (👎).")
    comment: str
    created_at: datetime
    user_id: str
    username: str | None
    question: str
    answer: str
    sources: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    model: str | None
    grounded: bool | None
    answered_at: datetime
    withheld: bool = Field(description="The answer depends on a document the reviewer cannot see now.")
    golden_item_ids: list[str] = Field(description="Golden items already promoted from this feedback.")


class RatedAnswerList(BaseModel):
    """A page of rated answers, newest first."""

    total: int
    items: list[RatedAnswer]


class GoldenIn(BaseModel):
    """A new golden item."""

    question: str = Field(min_length=1, max_length=4000)
    answers: list[str] = Field(
        min_length=1, max_length=golden.MAX_ANSWERS, description="Reference answer first."
    )
    document_ids: list[str] = Field(default_factory=list, max_length=golden.MAX_DOCUMENTS)
    article: str | None = Field(default=None, max_length=200, description="e.g. 제24조.")
    group_ids: list[str] = Field(
        default_factory=list,
        description="Groups it belongs to (none: admins only); each must see every document.",
    )
    status: Status = "active"


class GoldenPatch(BaseModel):
    """Changes to a golden item (each adds a version); ``status: retired`` retires it."""

    question: str | None = Field(default=None, min_length=1, max_length=4000)
    answers: list[str] | None = Field(default=None, min_length=1, max_length=golden.MAX_ANSWERS)
    document_ids: list[str] | None = Field(default=None, max_length=golden.MAX_DOCUMENTS)
    article: str | None = Field(default=None, max_length=200)
    group_ids: list[str] | None = None
    status: Status | None = None


class PromoteIn(BaseModel):
    """What to change from the rated answer (a 👎 needs ``answers``)."""

    question: str | None = Field(default=None, max_length=4000)
    answers: list[str] | None = Field(default=None, max_length=golden.MAX_ANSWERS)
    document_ids: list[str] | None = Field(default=None, max_length=golden.MAX_DOCUMENTS)
    article: str | None = Field(default=None, max_length=200)
    group_ids: list[str] = Field(default_factory=list)


class GoldenOut(BaseModel):
    """One version of a golden item."""

    id: str = Field(description="The item's id (the same for all its versions).")
    version: int
    version_id: str
    is_current: bool
    status: Status
    question: str
    answers: list[str]
    document_ids: list[str]
    gold_files: list[str] = Field(description="The documents' file names.")
    article: str | None
    group_ids: list[str]
    source_feedback_id: str | None
    source_message_id: str | None
    created_by: str | None
    created_at: datetime


class GoldenDetail(GoldenOut):
    """The current version with every version, newest first."""

    versions: list[GoldenOut]


class GoldenList(BaseModel):
    """A page of current golden items, newest first."""

    total: int
    items: list[GoldenOut]


class GoldenImport(BaseModel):
    """Lines of an exported JSONL file, one object each (all imported or none)."""

    items: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)


class ImportResult(BaseModel):
    """Item ids created, given a new version, or already up to date."""

    created: list[str]
    updated: list[str]
    unchanged: list[str]


GoldenPrincipal = GroupAdminPrincipal  # admins, and admin keys narrowed to groups (filtered)


def _views(
    db: Session, caller: Principal, narrowing: golden.Narrowing | None, rows: list[GoldenItem]
) -> list[dict[str, Any]]:
    """The items as the caller may see them (a narrowed key: only its groups and the source feedback
    it may review)."""
    names = golden.document_names(db, rows)
    sources = None
    if narrowing is not None:
        wanted = [row.source_feedback_id for row in rows if row.source_feedback_id]
        sources = reviewable_feedback_ids(db, caller.access_scope(), narrowing, wanted)
    return [golden.item_view(row, names, narrowing, sources) for row in rows]


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@router.get("/feedback", response_model=RatedAnswerList)
def list_feedback(
    admin: GoldenPrincipal,
    db: DbDep,
    since: Annotated[datetime | None, Query(description="Rated from this moment (inclusive).")] = None,
    until: Annotated[datetime | None, Query(description="Rated before this moment.")] = None,
    document_id: Annotated[str | None, Query(description="Answers that drew on this document.")] = None,
    group_id: Annotated[str | None, Query(description="Rated by a member of this group.")] = None,
    rating: Annotated[int | None, Query(ge=-1, le=1, description="1 (👍) or -1 (👎).")] = None,
    has_comment: Annotated[
        bool | None, Query(description="Only with (true) or without (false) a comment.")
    ] = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> dict[str, Any]:
    """Rated answers with question, answer, comment, sources and evidence, newest first.

    An admin key narrowed to some groups sees only answers rated by a member of its groups whose
    documents it sees now (others left out and not counted); ``group_id`` must be one of its groups."""
    query = FeedbackQuery(_utc(since), _utc(until), document_id, group_id, rating, has_comment, limit, offset)
    total, items = review_feedback(db, admin.access_scope(), query, golden.narrowing_for(db, admin))
    return {"total": total, "items": items}


@router.post("/feedback/{feedback_id}/golden", response_model=GoldenOut, status_code=201)
def promote(feedback_id: str, body: PromoteIn, admin: GoldenPrincipal, db: DbDep) -> dict[str, Any]:
    """Make a golden item of a rated answer: its question and cited documents, and for a 👍 its answer,
    unless the body says otherwise (a 👎 needs ``answers``). 422 when a document would leak to a group.

    An admin key narrowed to some groups promotes only feedback it may review (others 404) into an
    item of its groups (403 ``golden_group_required`` / ``golden_group_not_allowed``)."""
    narrowing = golden.narrowing_for(db, admin)
    row = promote_feedback(db, admin, feedback_id, body.model_dump(exclude_none=True), narrowing)
    return _views(db, admin, narrowing, [row])[0]


@router.get("/golden", response_model=GoldenList)
def list_golden(
    caller: GoldenPrincipal,
    db: DbDep,
    status: StatusFilter = "active",
    group_id: str | None = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> dict[str, Any]:
    """Current golden items, newest first.

    An admin key narrowed to some groups lists only items of its groups whose documents it sees now
    (``group_id`` must be one of its groups)."""
    narrowing = golden.narrowing_for(db, caller)
    if narrowing is not None:
        narrowing.check_filter(group_id)
    total, rows = golden.list_items(
        db,
        status=None if status == "all" else status,
        group_id=group_id,
        limit=limit,
        offset=offset,
        narrowing=narrowing,
    )
    return {"total": total, "items": _views(db, caller, narrowing, rows)}


@router.post("/golden", response_model=GoldenOut, status_code=201)
def create_golden(body: GoldenIn, admin: GoldenPrincipal, db: DbDep) -> dict[str, Any]:
    """A new golden item (422 when one of its groups may not see one of its documents; for an admin key
    narrowed to some groups, 403 unless its groups are the key's)."""
    draft = golden.GoldenDraft(
        question=body.question,
        answers=tuple(body.answers),
        document_ids=tuple(body.document_ids),
        article=body.article,
        group_ids=tuple(body.group_ids),
        status=body.status,
    )
    narrowing = golden.narrowing_for(db, admin)
    row = golden.create_item(db, admin, draft, narrowing)
    return _views(db, admin, narrowing, [row])[0]


@router.get(
    "/golden/export",
    response_class=Response,
    responses={200: {"content": {"application/x-ndjson": {}}, "description": "One item a line."}},
)
def export_golden(
    caller: GoldenPrincipal, db: DbDep, status: StatusFilter = "active", group_id: str | None = None
) -> Response:
    """The items as JSONL for ``jikji eval answers --dataset`` (``question``, ``answers``, ``gold_files``);
    for an admin key narrowed to some groups, the items it lists."""
    narrowing = golden.narrowing_for(db, caller)
    if narrowing is not None:
        narrowing.check_filter(group_id)
    lines = golden.export_lines(
        db, status=None if status == "all" else status, group_id=group_id, narrowing=narrowing
    )
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    return Response(
        text,
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="golden.jsonl"'},
    )


@router.post("/golden/import", response_model=ImportResult)
def import_golden(body: GoldenImport, admin: GoldenPrincipal, db: DbDep) -> dict[str, Any]:
    """Create or update items from exported lines (an ``id`` of a current item updates it); all or none.

    For an admin key narrowed to some groups every line is checked as its own new or changed item."""
    return golden.import_lines(db, admin, body.items, golden.narrowing_for(db, admin)).to_dict()


@router.get("/golden/{item_id}", response_model=GoldenDetail)
def get_golden(item_id: str, caller: GoldenPrincipal, db: DbDep) -> dict[str, Any]:
    """The current version of an item and all its versions (for an admin key narrowed to some groups:
    404 unless it lists the item, and only the versions of its groups whose documents it sees)."""
    narrowing = golden.narrowing_for(db, caller)
    versions = golden.item_versions(db, item_id, narrowing)
    views = _views(db, caller, narrowing, versions)
    current = next((view for view in views if view["is_current"]), views[0])
    return {**current, "versions": views}


@router.patch("/golden/{item_id}", response_model=GoldenOut)
def update_golden(item_id: str, body: GoldenPatch, admin: GoldenPrincipal, db: DbDep) -> dict[str, Any]:
    """A new version with the given fields changed (none changed: the current version, no new one).

    An admin key narrowed to some groups: 404 for an item it does not list, 403 unless the item's groups,
    before and after, are the key's."""
    narrowing = golden.narrowing_for(db, admin)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    row = golden.update_item(db, admin, item_id, changes, narrowing)
    return _views(db, admin, narrowing, [row])[0]


@router.delete("/golden/{item_id}", response_model=GoldenOut)
def retire_golden(item_id: str, admin: GoldenPrincipal, db: DbDep) -> dict[str, Any]:
    """Retire an item (a new version with ``status: retired``; its history stays); for a narrowed key
    as for a change."""
    narrowing = golden.narrowing_for(db, admin)
    row = golden.update_item(db, admin, item_id, {"status": golden.RETIRED}, narrowing)
    return _views(db, admin, narrowing, [row])[0]
