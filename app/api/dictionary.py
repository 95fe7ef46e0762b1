"""``/api/v1/dictionary``: the company dictionary of terms Kiwi keeps whole (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.api.deps import AdminPrincipal, ContainerDep, DbDep
from app.services.audit import record_event
from app.services.errors import AppError, not_found
from core.models import DictionaryTerm
from retrieval import dictionary
from retrieval.dictionary import DictionaryEntry, DictionaryError

router = APIRouter(prefix="/api/v1/dictionary", tags=["dictionary"])

_STATUS = {"duplicate_term": 409, "unknown_term": 404, "busy": 409}


class TermIn(BaseModel):
    """A term to add."""

    term: str = Field(min_length=1, max_length=100, description="e.g. a product name such as 한빛클라우드.")
    tag: str = Field(default="NNP", max_length=10, description="Kiwi part-of-speech tag (NNP: proper noun).")


class TermOut(BaseModel):
    """A stored term."""

    id: str
    term: str
    tag: str
    created_at: datetime


class TermChange(TermOut):
    """A term just added, with how many chunks were re-tokenized for it."""

    retokenized: int


class TermList(BaseModel):
    """Every term, alphabetically."""

    items: list[TermOut]


def _out(entry: DictionaryEntry) -> dict[str, Any]:
    return {"id": entry.id, "term": entry.term, "tag": entry.tag, "created_at": entry.created_at}


def _error(exc: DictionaryError) -> AppError:
    message_ko, _, message_en = str(exc).partition(" / ")
    return AppError(_STATUS.get(exc.code, 422), exc.code, message_ko, message_en or message_ko)


@router.get("", response_model=TermList)
def list_terms(_admin: AdminPrincipal, db: DbDep) -> dict[str, Any]:
    """Every term in the company dictionary."""
    return {"items": [_out(entry) for entry in dictionary.list_terms(db)]}


@router.post("", response_model=TermChange, status_code=201)
def add_term(body: TermIn, admin: AdminPrincipal, container: ContainerDep, db: DbDep) -> dict[str, Any]:
    """Add a term; the chunks that contain it are re-tokenized and every process reloads BM25."""
    try:
        change = dictionary.add_term(container.index, body.term, tag=body.tag, created_by=admin.user_id)
    except DictionaryError as exc:
        raise _error(exc) from exc
    record_event(
        db,
        admin,
        "dictionary.add",
        target_type="dictionary_term",
        target_id=change.entry.id,
        detail={"term": change.entry.term, "retokenized": change.retokenized},
    )
    return {**_out(change.entry), "retokenized": change.retokenized}


@router.delete("/{term_id}", status_code=204)
def remove_term(term_id: str, admin: AdminPrincipal, container: ContainerDep, db: DbDep) -> None:
    """Remove a term; the chunks that contain it are re-tokenized."""
    row = db.get(DictionaryTerm, term_id)
    if row is None:
        raise not_found("용어", "term")
    term = row.term
    db.commit()  # end this read before the change writes elsewhere (SQLite snapshots)
    try:
        change = dictionary.remove_term(container.index, term)
    except DictionaryError as exc:
        raise _error(exc) from exc
    record_event(
        db,
        admin,
        "dictionary.remove",
        target_type="dictionary_term",
        target_id=term_id,
        detail={"term": change.entry.term, "retokenized": change.retokenized},
    )
