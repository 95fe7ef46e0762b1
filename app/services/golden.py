"""Golden items: questions with a reference answer and the documents (and article) that support it.

An admin writes them by hand, promotes a rated answer into one (:mod:`app.services.feedback_review`)
or imports them; they are the answer set ``jikji eval answers`` reads (:func:`export_lines` writes
its JSONL: ``question``, ``answers``, ``gold_files``, plus this item's own fields, which the loader
ignores). Every item is a chain of immutable versions in ``golden_items``: an edit or a retirement adds
a version and moves ``is_current`` to it, so what an evaluation ran against can always be read back.

An item belongs to groups. It never leaks a document its viewers may not see: every supporting
document must be visible to *each* of its groups (public, or shared with that group), checked on every
write, and refused with a bilingual 422 otherwise. An item without groups is for admins only.
Every change is written to the audit log in the caller's transaction.

An admin key narrowed to some groups works through a :class:`Narrowing`: it reads only the items of its
groups whose every document it sees now (others are missing to it: 404), sees only its own groups among
an item's groups, and writes only items whose groups are its groups (403 otherwise); a document it may
not see is an unknown document to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.services.audit import audit_text, record_event
from app.services.errors import AppError, invalid, not_found
from core.db import in_batches, new_id
from core.models import Document, GoldenItem, Group, document_groups
from retrieval.chunk_store import visible_document_ids
from retrieval.evaluation import normalize_key

ACTIVE = "active"
RETIRED = "retired"
STATUSES = (ACTIVE, RETIRED)
MAX_ANSWERS = 20
MAX_DOCUMENTS = 50


@dataclass(frozen=True, slots=True)
class GoldenDraft:
    """The content of one golden-item version, as a caller gives it."""

    question: str
    answers: tuple[str, ...]
    document_ids: tuple[str, ...] = ()
    article: str | None = None
    group_ids: tuple[str, ...] = ()
    status: str = ACTIVE
    source_feedback_id: str | None = None
    source_message_id: str | None = None

    def cleaned(self) -> GoldenDraft:
        """Whitespace trimmed, duplicates dropped (order kept); 422 when a required part is empty."""
        question = self.question.strip()
        answers = tuple(dict.fromkeys(a.strip() for a in self.answers if a.strip()))
        if not question or not answers:
            raise invalid(
                "질문과 정답(하나 이상)이 필요합니다.",
                "A golden item needs a question and at least one answer.",
            )
        if self.status not in STATUSES:
            raise invalid(
                f"상태는 {'/'.join(STATUSES)} 중 하나입니다.", f"Status is one of {', '.join(STATUSES)}."
            )
        if len(answers) > MAX_ANSWERS or len(set(self.document_ids)) > MAX_DOCUMENTS:
            raise invalid("정답·문서가 너무 많습니다.", "Too many answers or documents.")
        return replace(
            self,
            question=question,
            answers=answers,
            document_ids=tuple(dict.fromkeys(self.document_ids)),
            article=(self.article or "").strip()[:200] or None,
            group_ids=tuple(dict.fromkeys(self.group_ids)),
        )


@dataclass(slots=True)
class ImportSummary:
    """What an import did: items created, items given a new version, lines already up to date."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass(frozen=True, slots=True)
class Narrowing:
    """What an admin key narrowed to some groups may do with golden items: read the items of its
    ``groups`` whose every document is among ``documents`` (those it sees now), write items whose groups
    are its groups only."""

    groups: frozenset[str]
    documents: frozenset[str]

    def shows(self, row: GoldenItem) -> bool:
        """Whether the key may read this item version: one of its groups, every document visible."""
        return self.shows_ids(row.group_ids, row.document_ids)

    def shows_ids(self, group_ids: Iterable[str] | None, document_ids: Iterable[str] | None) -> bool:
        """:meth:`shows` for an item's group and document ids alone (read without the whole row)."""
        return bool(set(group_ids or ()) & self.groups) and set(document_ids or ()) <= self.documents

    def check_groups(self, group_ids: Iterable[str]) -> None:
        """403 unless ``group_ids`` is non-empty and within the key's groups."""
        wanted = set(group_ids)
        if not wanted:
            raise AppError(
                403,
                "golden_group_required",
                "일부 그룹으로 제한된 키는 그 그룹에 속한 골든 항목만 다룰 수 있습니다: "
                "group_ids에 그 그룹을 하나 이상 지정해 주세요.",
                "A key limited to some groups can only handle golden items of those groups: name at least "
                "one of them in group_ids.",
            )
        if not wanted <= self.groups:
            raise group_not_allowed()

    def check_filter(self, group_id: str | None) -> None:
        """403 when a list is filtered by a group the key is not limited to."""
        if group_id is not None and group_id not in self.groups:
            raise group_not_allowed()


def group_not_allowed() -> AppError:
    """The 403 for a group an admin key narrowed to other groups named."""
    return AppError(
        403,
        "golden_group_not_allowed",
        "이 키가 제한된 그룹이 아닙니다: 그 그룹의 골든 항목과 피드백은 다룰 수 없습니다.",
        "This key is not limited to that group: it cannot handle that group's golden items or feedback.",
    )


def narrowing_for(session: Session, principal: Principal) -> Narrowing | None:
    """The narrowing of an admin key limited to some groups (None: an unrestricted admin)."""
    if principal.is_admin:
        return None
    return Narrowing(principal.group_ids, visible_document_ids(session, principal.access_scope()))


# --- checks ---------------------------------------------------------------------------------------


def check_draft(session: Session, draft: GoldenDraft, narrowing: Narrowing | None = None) -> None:
    """422 unless every group exists, every document is current and visible to each of the groups.

    With a ``narrowing``, 403 unless the groups are the key's, and a document the key does not see is
    unknown (its name is never shown)."""
    if narrowing is not None:
        narrowing.check_groups(draft.group_ids)
    _check_groups(session, draft.group_ids)
    rows = session.execute(
        select(Document.id, Document.display_name, Document.is_public).where(
            Document.id.in_(draft.document_ids), Document.current_version_id.is_not(None)
        )
    ).all()
    known = {row.id: row for row in rows if narrowing is None or row.id in narrowing.documents}
    missing = [d for d in draft.document_ids if d not in known]
    if missing:
        raise invalid(
            f"없는 문서입니다: {', '.join(missing)}", f"These documents do not exist: {', '.join(missing)}"
        )
    shared = _shared_groups(session, draft.document_ids)
    for document_id in draft.document_ids:
        row = known[document_id]
        blind = [g for g in draft.group_ids if not row.is_public and g not in shared.get(document_id, set())]
        if blind:
            raise leak_refused(row.display_name, _group_names(session, blind))


def leak_refused(document: str, groups: Sequence[str]) -> AppError:
    """The 422 for a golden item whose document some of its groups may not see."""
    names = ", ".join(groups)
    return AppError(
        422,
        "golden_document_not_visible",
        f"그룹 {names}에 공개되지 않은 문서라 이 골든 항목에 쓸 수 없습니다: '{document}'. "
        "문서를 그 그룹과 공유하거나 그룹을 빼 주세요.",
        f"The document '{document}' is not visible to the group(s) {names}, so this golden item cannot "
        "use it: share the document with them or remove those groups.",
    )


def _check_groups(session: Session, group_ids: Sequence[str]) -> None:
    found = set(session.scalars(select(Group.id).where(Group.id.in_(group_ids))))
    missing = [g for g in group_ids if g not in found]
    if missing:
        raise invalid(
            f"없는 그룹입니다: {', '.join(missing)}", f"These groups do not exist: {', '.join(missing)}"
        )


def _shared_groups(session: Session, document_ids: Sequence[str]) -> dict[str, set[str]]:
    shared: dict[str, set[str]] = {}
    rows = session.execute(
        select(document_groups.c.document_id, document_groups.c.group_id).where(
            document_groups.c.document_id.in_(document_ids)
        )
    )
    for document_id, group_id in rows:
        shared.setdefault(document_id, set()).add(group_id)
    return shared


def _group_names(session: Session, group_ids: Sequence[str]) -> list[str]:
    names = dict(session.execute(select(Group.id, Group.name).where(Group.id.in_(group_ids))).all())
    return [names.get(g, g) for g in group_ids]


# --- reading --------------------------------------------------------------------------------------


def current_item(session: Session, item_id: str, narrowing: Narrowing | None = None) -> GoldenItem:
    """The current version of an item (404 when there is none, or the ``narrowing`` does not show it)."""
    row = session.scalar(select(GoldenItem).where(GoldenItem.item_id == item_id, GoldenItem.is_current))
    if row is None or (narrowing is not None and not narrowing.shows(row)):
        raise not_found("골든 항목", "golden item")
    return row


def item_versions(session: Session, item_id: str, narrowing: Narrowing | None = None) -> list[GoldenItem]:
    """Every version of an item, newest first (404 when there is none).

    With a ``narrowing``: 404 unless it shows the current version, and only the versions it shows (an
    earlier version may have belonged to another group or cited another document)."""
    rows = list(
        session.scalars(
            select(GoldenItem).where(GoldenItem.item_id == item_id).order_by(GoldenItem.version.desc())
        )
    )
    if not rows:
        raise not_found("골든 항목", "golden item")
    if narrowing is not None:
        if not any(row.is_current and narrowing.shows(row) for row in rows):
            raise not_found("골든 항목", "golden item")
        rows = [row for row in rows if narrowing.shows(row)]
    return rows


def list_items(
    session: Session,
    *,
    status: str | None = ACTIVE,
    group_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
    narrowing: Narrowing | None = None,
) -> tuple[int, list[GoldenItem]]:
    """Current versions (of one status, ``None``: any), newest first, with the total count.

    ``group_id`` keeps the items of that group, a ``narrowing`` the items it shows (both filtered after
    reading their group and document ids, which are JSON lists; only the page is read in full); the
    total counts only those.
    """
    stmt = select(GoldenItem).where(GoldenItem.is_current)
    if status:
        stmt = stmt.where(GoldenItem.status == status)
    stmt = stmt.order_by(GoldenItem.created_at.desc(), GoldenItem.id)
    if group_id is None and narrowing is None:
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        return int(total), list(session.scalars(stmt.limit(limit).offset(offset)))
    light = session.execute(
        stmt.with_only_columns(GoldenItem.id, GoldenItem.group_ids, GoldenItem.document_ids)
    )
    kept = [
        row.id
        for row in light
        if (group_id is None or group_id in (row.group_ids or []))
        and (narrowing is None or narrowing.shows_ids(row.group_ids, row.document_ids))
    ]
    wanted = kept[offset : offset + limit]
    found: dict[str, GoldenItem] = {}
    for batch in in_batches(wanted):  # an export reads every item
        found.update(
            (row.id, row) for row in session.scalars(select(GoldenItem).where(GoldenItem.id.in_(batch)))
        )
    return len(kept), [found[i] for i in wanted]


def item_view(
    row: GoldenItem,
    names: Mapping[str, str] | None = None,
    narrowing: Narrowing | None = None,
    feedback_ids: frozenset[str] | None = None,
) -> dict[str, Any]:
    """An item version as the API shows it (``names``: document id → file name, when known).

    With a ``narrowing`` only the key's groups are listed, and the source feedback and message only when
    that feedback is among ``feedback_ids`` (those the key may review)."""
    view = {
        "id": row.item_id,
        "version": row.version,
        "version_id": row.id,
        "is_current": row.is_current,
        "status": row.status,
        "question": row.question,
        "answers": list(row.answers or []),
        "document_ids": list(row.document_ids or []),
        "gold_files": [names.get(d, d) for d in row.document_ids or []] if names is not None else [],
        "article": row.article,
        "group_ids": list(row.group_ids or []),
        "source_feedback_id": row.source_feedback_id,
        "source_message_id": row.source_message_id,
        "created_by": row.created_by,
        "created_at": row.created_at,
    }
    if narrowing is not None:
        view["group_ids"] = [g for g in row.group_ids or [] if g in narrowing.groups]
        if row.source_feedback_id not in (feedback_ids or frozenset()):
            view.update(source_feedback_id=None, source_message_id=None)
    return view


def document_names(session: Session, rows: Iterable[GoldenItem]) -> dict[str, str]:
    """Document id → file name for the documents of ``rows``."""
    ids = sorted({d for row in rows for d in row.document_ids or []})
    if not ids:
        return {}
    return dict(session.execute(select(Document.id, Document.display_name).where(Document.id.in_(ids))).all())


# --- writing --------------------------------------------------------------------------------------


def create_item(
    session: Session, principal: Principal | None, draft: GoldenDraft, narrowing: Narrowing | None = None
) -> GoldenItem:
    """A new item at version 1 (422 when its documents would leak to its groups; with a ``narrowing``,
    403 unless its groups are the key's)."""
    draft = draft.cleaned()
    check_draft(session, draft, narrowing)
    row = _new_version(session, principal, new_id(), 1, draft)
    _audit(session, principal, "golden.create", row)
    return row


def update_item(
    session: Session,
    principal: Principal | None,
    item_id: str,
    changes: Mapping[str, Any],
    narrowing: Narrowing | None = None,
) -> GoldenItem:
    """A new version of an item with ``changes`` applied (fields of :class:`GoldenDraft`).

    Retiring is ``{"status": "retired"}``. The result is checked like a new item; an edit that changes
    nothing returns the current version without adding one. With a ``narrowing``: 404 for an item it
    does not show, 403 for one that also belongs to a group outside the key's.
    """
    current = current_item(session, item_id, narrowing)
    if narrowing is not None:
        narrowing.check_groups(current.group_ids or ())
    draft = replace(_draft_of(current), **_as_draft_fields(changes)).cleaned()
    if draft == _draft_of(current):
        return current
    check_draft(session, draft, narrowing)
    current.is_current = False
    session.flush()
    row = _new_version(session, principal, item_id, current.version + 1, draft)
    action = "golden.retire" if draft.status == RETIRED and current.status != RETIRED else "golden.update"
    _audit(session, principal, action, row)
    return row


def _as_draft_fields(changes: Mapping[str, Any]) -> dict[str, Any]:
    fields = dict(changes)
    for key in ("answers", "document_ids", "group_ids"):
        if key in fields and fields[key] is not None:
            fields[key] = tuple(fields[key])
    return fields


def _draft_of(row: GoldenItem) -> GoldenDraft:
    return GoldenDraft(
        question=row.question,
        answers=tuple(row.answers or ()),
        document_ids=tuple(row.document_ids or ()),
        article=row.article,
        group_ids=tuple(row.group_ids or ()),
        status=row.status,
        source_feedback_id=row.source_feedback_id,
        source_message_id=row.source_message_id,
    )


def _new_version(
    session: Session, principal: Principal | None, item_id: str, version: int, draft: GoldenDraft
) -> GoldenItem:
    row = GoldenItem(
        item_id=item_id,
        version=version,
        is_current=True,
        status=draft.status,
        question=draft.question,
        answers=list(draft.answers),
        document_ids=list(draft.document_ids),
        article=draft.article,
        group_ids=list(draft.group_ids),
        source_feedback_id=draft.source_feedback_id,
        source_message_id=draft.source_message_id,
        created_by=principal.user_id if principal else None,
    )
    session.add(row)
    session.flush()
    return row


def _audit(session: Session, principal: Principal | None, action: str, row: GoldenItem) -> None:
    record_event(
        session,
        principal,
        action,
        target_type="golden_item",
        target_id=row.item_id,
        detail={
            "version": row.version,
            "status": row.status,
            "question": audit_text(row.question, 200),
            "document_ids": list(row.document_ids),
            "group_ids": list(row.group_ids),
            "source_feedback_id": row.source_feedback_id,
        },
    )


# --- JSONL ----------------------------------------------------------------------------------------


def export_lines(
    session: Session,
    *,
    status: str | None = ACTIVE,
    group_id: str | None = None,
    narrowing: Narrowing | None = None,
) -> list[dict]:
    """Current items as the objects of ``jikji eval answers`` JSONL (``question``, ``answers``,
    ``gold_files``), with the item's id, version, documents, article, groups and status.

    With a ``narrowing``: only the items it shows, with only the key's groups."""
    _total, rows = list_items(session, status=status, group_id=group_id, limit=1_000_000, narrowing=narrowing)
    rows.sort(key=lambda row: (row.created_at, row.item_id))
    names = document_names(session, rows)
    groups = dict(session.execute(select(Group.id, Group.name)).all())
    mine = groups if narrowing is None else {g: n for g, n in groups.items() if g in narrowing.groups}
    return [
        {
            "id": row.item_id,
            "question": row.question,
            "answers": list(row.answers),
            "gold_files": [names[d] for d in row.document_ids if d in names],
            "document_ids": list(row.document_ids),
            "article": row.article,
            "groups": [groups.get(g, g) for g in row.group_ids if g in mine],
            "group_ids": [g for g in row.group_ids if g in mine],
            "status": row.status,
            "version": row.version,
        }
        for row in rows
    ]


def import_lines(
    session: Session,
    principal: Principal | None,
    items: Sequence[Mapping[str, Any]],
    narrowing: Narrowing | None = None,
) -> ImportSummary:
    """Create or update items from exported objects, all or nothing (422 naming the first bad line).

    A line whose ``id`` is a current item updates it (a new version when anything differs); others
    create items. Documents come from ``document_ids`` or else ``gold_files`` (file names); groups
    from ``group_ids`` or else ``groups`` (names). Every item is checked like one made by hand. With a
    ``narrowing``, an item it does not show is as unknown as a missing one (the line creates an item),
    and file and group names are looked up among the documents it sees and the key's groups only.
    """
    summary = ImportSummary()
    for number, item in enumerate(items, start=1):
        try:
            draft = _draft_from_line(session, item, narrowing)
            existing = item.get("id") and session.scalar(
                select(GoldenItem).where(GoldenItem.item_id == str(item["id"]), GoldenItem.is_current)
            )
            if existing and (narrowing is None or narrowing.shows(existing)):
                before = existing.version
                row = update_item(session, principal, existing.item_id, _fields(draft), narrowing)
                (summary.updated if row.version != before else summary.unchanged).append(row.item_id)
            else:
                summary.created.append(create_item(session, principal, draft, narrowing).item_id)
        except AppError as exc:
            raise AppError(
                exc.status, exc.code, f"{number}번째 줄: {exc.message_ko}", f"Line {number}: {exc.message_en}"
            ) from exc
    return summary


def _fields(draft: GoldenDraft) -> dict[str, Any]:
    return {
        "question": draft.question,
        "answers": draft.answers,
        "document_ids": draft.document_ids,
        "article": draft.article,
        "group_ids": draft.group_ids,
        "status": draft.status,
    }


def _draft_from_line(
    session: Session, item: Mapping[str, Any], narrowing: Narrowing | None = None
) -> GoldenDraft:
    answers = item.get("answers")
    answers_list = answers if isinstance(answers, list) else [answers] if answers else []
    return GoldenDraft(
        question=str(item.get("question") or ""),
        answers=tuple(str(a.get("text", "")) if isinstance(a, dict) else str(a) for a in answers_list),
        document_ids=tuple(_line_documents(session, item, narrowing)),
        article=str(item["article"]) if item.get("article") else None,
        group_ids=tuple(_line_groups(session, item, narrowing)),
        status=str(item.get("status") or ACTIVE),
    )


def _as_list(value: object) -> list[str]:
    items = value if isinstance(value, list) else [value] if value else []
    return [str(v) for v in items]


def _line_documents(session: Session, item: Mapping[str, Any], narrowing: Narrowing | None) -> list[str]:
    if item.get("document_ids"):
        return _as_list(item["document_ids"])
    wanted = [normalize_key(name) for name in _as_list(item.get("gold_files"))]
    if not wanted:
        return []
    rows = session.execute(
        select(Document.id, Document.display_name).where(Document.current_version_id.is_not(None))
    ).all()
    by_key: dict[str, list[str]] = {}
    for document_id, name in rows:
        if narrowing is not None and document_id not in narrowing.documents:
            continue
        by_key.setdefault(normalize_key(name), []).append(document_id)
    missing = [key for key in wanted if key not in by_key]
    if missing:
        raise invalid(
            f"없는 문서입니다: {', '.join(missing)}", f"These documents do not exist: {', '.join(missing)}"
        )
    return [document_id for key in wanted for document_id in sorted(by_key[key])]


def _line_groups(session: Session, item: Mapping[str, Any], narrowing: Narrowing | None) -> list[str]:
    if item.get("group_ids"):
        return _as_list(item["group_ids"])
    names = _as_list(item.get("groups"))
    if not names:
        return []
    found = dict(session.execute(select(Group.name, Group.id).where(Group.name.in_(names))).all())
    # with a narrowing, another group's name is refused like its id (never "does not exist")
    if narrowing is not None and not (set(names) <= set(found) and set(found.values()) <= narrowing.groups):
        raise group_not_allowed()
    missing = [name for name in names if name not in found]
    if missing:
        raise invalid(
            f"없는 그룹입니다: {', '.join(missing)}", f"These groups do not exist: {', '.join(missing)}"
        )
    return [found[name] for name in names]
