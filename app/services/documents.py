"""Document use cases: upload, list, read, download, share, re-ingest and delete.

Downloads follow ``ingest.download_policy`` (:func:`download_document`): unrestricted admins get the
original; everyone else the original, a masked text export or 403, as configured.

Every read goes through :func:`retrieval.chunk_store.visible_documents_clause`, so a document the
caller may not see answers exactly like one that does not exist (404). Client filters are added
to that clause and can only narrow it. Writes that other components perform in their own
transactions (queueing jobs, the index, the pipeline) run after this request's session has
committed, so SQLite never waits on its own writer.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, BinaryIO

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.services.accounts import groups_by_name
from app.services.audit import record_event
from app.services.errors import AppError, conflict, invalid, not_found
from app.services.jobs import IN_FLIGHT, job_in_flight
from core.db import new_id, utcnow
from core.models import Chunk, Document, DocumentVersion, Group, IngestionJob, document_groups
from core.settings import DownloadPolicy
from ingest.jobs import JobQueue, JobStatus
from ingest.metadata import display_name
from ingest.ocr import parse_ocr_location
from ingest.originals import OriginalStore
from ingest.pii import mask_pii
from ingest.pipeline import IngestPipeline
from retrieval.chunk_store import visible_documents_clause
from retrieval.index import SearchIndex
from retrieval.types import AccessScope

UPLOAD_KEY_PREFIX = "upload:"
# What an upload does with a file whose content is already a document's current version (the rule of
# `jikji ingest`: the SHA-256 of the bytes): refuse the request (409 duplicate_content, the default) or
# make the file a new version of that document.
DUPLICATE_MODES = ("check", "new_version")
HASH_BLOCK = 1 << 20

# Types a browser will not render inline; everything else (HTML, Markdown, text…) is sent as bytes.
SAFE_MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "hwp": "application/x-hwp",
    "hwpx": "application/hwp+zip",
}
OCTET_STREAM = "application/octet-stream"


def _document_missing() -> AppError:
    return not_found("문서", "document")


# --- upload --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """One file of a multipart upload (the client's name is only ever shown, never used as a path)."""

    filename: str | None
    size: int
    stream: BinaryIO


@dataclass(frozen=True, slots=True)
class UploadLimits:
    """How many files one request may carry, and how large each may be."""

    max_files: int
    max_file_bytes: int


def parse_group_names(values: Sequence[str] | None) -> list[str]:
    """Group names from comma-separated form values, stripped and without duplicates."""
    names = (name.strip() for value in values or () for name in value.split(","))
    return list(dict.fromkeys(name for name in names if name))


def check_uploads(files: Sequence[UploadedFile], limits: UploadLimits) -> list[str]:
    """Validate every file before any is stored; returns their display names (NFC, no path)."""
    if not files:
        raise invalid("업로드할 파일이 없습니다.", "No file was uploaded.")
    if len(files) > limits.max_files:
        raise AppError(
            422,
            "too_many_files",
            f"한 번에 최대 {limits.max_files}개 파일까지 올릴 수 있습니다 ({len(files)}개 받음).",
            f"At most {limits.max_files} files can be uploaded at once ({len(files)} received).",
        )
    names = []
    for upload in files:
        name = display_name(upload.filename or "")
        if upload.size <= 0:
            raise AppError(422, "empty_file", f"빈 파일입니다: {name}", f"The file is empty: {name}")
        if upload.size > limits.max_file_bytes:
            raise AppError(
                413,
                "file_too_large",
                f"파일이 너무 큽니다: {name} (한도 {limits.max_file_bytes:,} 바이트)",
                f"The file is too large: {name} (the limit is {limits.max_file_bytes:,} bytes).",
            )
        names.append(name)
    return names


def _read(upload: UploadedFile, limit: int) -> bytes:
    upload.stream.seek(0)
    return upload.stream.read(limit + 1)


@dataclass(frozen=True, slots=True)
class UploadRequest:
    """Files to store, and who may see the documents they become."""

    files: Sequence[UploadedFile]
    group_names: Sequence[str]
    is_public: bool
    duplicates: str = "check"
    """``check``: refuse when a file's content is already a visible document's (409); ``new_version``:
    upload such a file as a new version of that document (its groups unchanged)."""


class DuplicateContentError(AppError):
    """Files whose content a visible document already has; ``matches`` says which file is which document."""

    def __init__(self, matches: list[dict[str, Any]]) -> None:
        names = ", ".join(str(m["filename"]) for m in matches)
        super().__init__(
            409,
            "duplicate_content",
            f"이미 올라와 있는 문서와 내용이 같은 파일이 있습니다: {names}. 새 버전으로 올리거나 취소하세요.",
            f"These files have the same content as a document already there: {names}. "
            "Upload them as new versions, or cancel.",
        )
        self.matches = matches


def content_hash(upload: UploadedFile, limit: int) -> str:
    """The SHA-256 of the file's bytes (``jikji ingest``'s rule for identical content), read in blocks."""
    digest = hashlib.sha256()
    upload.stream.seek(0)
    remaining = limit + 1
    while remaining > 0 and (block := upload.stream.read(min(HASH_BLOCK, remaining))):
        digest.update(block)
        remaining -= len(block)
    upload.stream.seek(0)
    return digest.hexdigest()


def find_duplicates(
    session: Session, scope: AccessScope, hashes: Sequence[str]
) -> dict[str, tuple[Document, DocumentVersion, str]]:
    """The visible documents whose current version has one of ``hashes``, by hash (one document each).

    Documents the caller may not see are never reported: their files upload as new documents."""
    if not hashes:
        return {}
    rows = session.execute(
        _visible(scope)
        .where(DocumentVersion.content_hash.in_(sorted(set(hashes))))
        .order_by(Document.created_at, Document.id)
    ).all()
    found: dict[str, tuple[Document, DocumentVersion, str]] = {}
    for document, version, status in rows:
        found.setdefault(version.content_hash, (document, version, status))
    return found


def upload_documents(
    session: Session,
    jobs: JobQueue,
    principal: Principal,
    request: UploadRequest,
    limits: UploadLimits,
    client_ip: str | None = None,
) -> list[IngestionJob]:
    """Queue one ingestion job per file (all files are checked first); each becomes a new document.

    A file whose content is already a visible document's current version refuses the whole request
    (:class:`DuplicateContentError`, nothing queued) unless ``request.duplicates`` is ``new_version``:
    then it becomes that document's next version, with the document's own groups."""
    names = check_uploads(request.files, limits)
    if request.duplicates not in DUPLICATE_MODES:
        raise invalid(
            "알 수 없는 중복 처리 방식입니다.", f"duplicates must be one of {', '.join(DUPLICATE_MODES)}."
        )
    groups = sorted(groups_by_name(session, request.group_names), key=lambda g: g.name)
    hashes = [content_hash(upload, limits.max_file_bytes) for upload in request.files]
    existing = find_duplicates(session, principal.access_scope(), hashes)
    targets = [existing.get(digest) for digest in hashes]
    if request.duplicates == "check" and any(targets):
        raise DuplicateContentError(
            [
                {"filename": name, "document": document_view(*target)}
                for name, target in zip(names, targets, strict=True)
                if target is not None
            ]
        )
    for target in targets:
        if target is not None:
            _ensure_idle(session, target[0])
            if target[0].source_key is None:
                target[0].source_key = f"document:{target[0].id}"
    session.commit()
    # Every job is queued (each in its own transaction, one file in memory at a time) before this
    # session writes anything more.
    job_ids = [
        _enqueue_upload(jobs, principal, upload, name, limits, groups, request.is_public, target)
        for name, upload, target in zip(names, request.files, targets, strict=True)
    ]
    for job_id, name, upload in zip(job_ids, names, request.files, strict=True):
        record_event(
            session,
            principal,
            "document.upload",
            target_type="job",
            target_id=job_id,
            detail={
                "filename": name,
                "size": upload.size,
                "groups": [g.name for g in groups],
                "is_public": request.is_public,
            },
            client_ip=client_ip,
        )
    rows = {job.id: job for job in session.scalars(select(IngestionJob).where(IngestionJob.id.in_(job_ids)))}
    return [rows[job_id] for job_id in job_ids]


def _enqueue_upload(
    jobs: JobQueue,
    principal: Principal,
    upload: UploadedFile,
    name: str,
    limits: UploadLimits,
    groups: Sequence[Group],
    is_public: bool,
    target: tuple[Document, DocumentVersion, str] | None,
) -> str:
    """Queue one uploaded file: a new document, or (``target``) the next version of that document."""
    data = _read(upload, limits.max_file_bytes)
    if target is None:
        return jobs.enqueue(
            data,
            name,
            source_key=f"{UPLOAD_KEY_PREFIX}{new_id()}",
            is_public=is_public,
            group_ids=tuple(g.id for g in groups),
            created_by=principal.user_id,
        )
    document = target[0]
    return jobs.enqueue(
        data,
        name,
        source_key=document.source_key,
        is_public=document.is_public,
        group_ids=tuple(g.id for g in document.groups),
        created_by=principal.user_id,
        document_id=document.id,
        force=True,  # the same bytes on purpose: a new version, not "unchanged"
    )


# --- reading -------------------------------------------------------------------------------------


def _latest_job_status() -> Any:
    """The status of the newest job that targets the document in the enclosing query."""
    targets = or_(
        IngestionJob.document_id == Document.id,
        and_(Document.source_key.is_not(None), IngestionJob.source_key == Document.source_key),
    )
    return (
        select(IngestionJob.status)
        .where(targets)
        .order_by(IngestionJob.created_at.desc(), IngestionJob.id.desc())
        .limit(1)
        .correlate(Document)
        .scalar_subquery()
    )


def _status_column() -> ColumnElement[str]:
    """``processing`` while a job is queued or running, ``failed`` if the last one failed, else ``ready``."""
    latest = _latest_job_status()
    return case(
        (latest.in_(IN_FLIGHT), "processing"),
        (latest == JobStatus.FAILED.value, "failed"),
        else_="ready",
    ).label("status")


DocumentRows = Select[Document, DocumentVersion, str]


def _visible(scope: AccessScope) -> DocumentRows:
    """Documents with a current version that ``scope`` may see, with that version and a status."""
    return (
        select(Document, DocumentVersion, _status_column())
        .join(DocumentVersion, DocumentVersion.id == Document.current_version_id)
        .where(visible_documents_clause(scope))
    )


@dataclass(frozen=True, slots=True)
class DocumentQuery:
    """Client filters (they only narrow what the caller may see) and paging."""

    q: str | None = None
    group: str | None = None
    format: str | None = None
    status: str | None = None
    limit: int = 50
    offset: int = 0


def _filtered(stmt: DocumentRows, query: DocumentQuery) -> DocumentRows:
    if query.q and query.q.strip():
        needle = query.q.strip().lower()
        stmt = stmt.where(
            func.lower(Document.title).contains(needle, autoescape=True)
            | func.lower(Document.display_name).contains(needle, autoescape=True)
        )
    if query.group:
        shared = (
            select(document_groups.c.document_id)
            .join(Group, Group.id == document_groups.c.group_id)
            .where(Group.name == query.group.strip())
        )
        stmt = stmt.where(Document.id.in_(shared))
    if query.format:
        stmt = stmt.where(DocumentVersion.format == query.format.strip().lower())
    if query.status:
        stmt = stmt.where(_status_column() == query.status)
    return stmt


def list_documents(
    session: Session, scope: AccessScope, query: DocumentQuery
) -> tuple[int, list[dict[str, Any]]]:
    """Visible documents matching the filters, newest first, with the total count."""
    stmt = _filtered(_visible(scope), query)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(
        stmt.order_by(Document.updated_at.desc(), Document.id).limit(query.limit).offset(query.offset)
    ).all()
    return int(total), [document_view(document, version, status) for document, version, status in rows]


def find_document(
    session: Session, scope: AccessScope, document_id: str
) -> tuple[Document, DocumentVersion, str]:
    """A visible document with its current version and status, or the one 404."""
    row = session.execute(_visible(scope).where(Document.id == document_id)).first()
    if row is None:
        raise _document_missing()
    document, version, status = row
    return document, version, status


def document_view(document: Document, version: DocumentVersion, status: str) -> dict[str, Any]:
    """The public fields of a document and its current version."""
    return {
        "id": document.id,
        "title": document.title,
        "display_name": document.display_name,
        "format": version.format,
        "is_public": document.is_public,
        "groups": [{"id": g.id, "name": g.name} for g in sorted(document.groups, key=lambda g: g.name)],
        "version_number": version.number,
        "version_id": version.id,
        "chunk_count": version.chunk_count,
        "size_bytes": version.size_bytes,
        "language": version.language,
        "effective_date": version.effective_date,
        "uploaded_by": document.uploaded_by,
        "created_at": document.created_at,
        "updated_at": document.updated_at,
        "status": status,
    }


def document_detail(
    session: Session, scope: AccessScope, document_id: str, *, low_confidence: float = 70.0
) -> dict[str, Any]:
    """One visible document with all its versions, newest first, and its current version's OCR'd
    pages (with their confidence) and those below ``low_confidence``, for an admin to replace."""
    document, current, status = find_document(session, scope, document_id)
    recognised = ocr_pages(session, current.id)
    versions = session.scalars(
        select(DocumentVersion)
        .where(DocumentVersion.document_id == document.id)
        .order_by(DocumentVersion.number.desc())
    )
    return {
        **document_view(document, current, status),
        "versions": [
            {
                "id": v.id,
                "number": v.number,
                "format": v.format,
                "size_bytes": v.size_bytes,
                "chunk_count": v.chunk_count,
                "language": v.language,
                "effective_date": v.effective_date,
                "created_at": v.created_at,
                "is_current": v.id == current.id,
            }
            for v in versions
        ],
        "ocr_pages": [{"page": page, "confidence": conf} for page, conf in recognised],
        "low_confidence_pages": [page for page, conf in recognised if conf < low_confidence],
    }


def ocr_pages(session: Session, version_id: str) -> list[tuple[int, float]]:
    """The version's pages read by OCR and their mean word confidence, in page order.

    Read back from the chunks' OCR location (``p.3 (OCR 87%)``, :func:`ingest.ocr.ocr_location`).
    """
    locations = session.scalars(
        select(Chunk.location)
        .where(Chunk.version_id == version_id, Chunk.location.like("p.% (OCR %"))
        .distinct()
    )
    return sorted({page for page in map(parse_ocr_location, locations) if page is not None})


# --- download ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Original:
    """A document's current original, opened, and how to send it."""

    handle: BinaryIO
    size: int
    filename: str
    media_type: str
    variant: str = "original"
    """``original``, or ``masked`` for the text export of :func:`download_document`."""


def read_original(
    session: Session,
    originals: OriginalStore,
    principal: Principal,
    document_id: str,
    client_ip: str | None = None,
) -> Original:
    """The current version's original, opened for streaming (audited as ``document.download``).

    The caller closes ``handle``. The file is opened before the response starts, so a new version
    replacing it meanwhile cannot cut the download short.
    """
    document, version, _ = find_document(session, principal.access_scope(), document_id)
    try:
        handle = originals.open(version.file_key)
    except (FileNotFoundError, ValueError) as exc:
        raise conflict(
            "문서의 원본 파일이 저장소에 없습니다. 관리자에게 문의해 주세요.",
            "The document's original file is missing from storage; contact the administrator.",
        ) from exc
    try:
        size = os.fstat(handle.fileno()).st_size
        _audit_download(session, principal, document.id, {"version_id": version.id, "size": size}, client_ip)
    except BaseException:
        handle.close()
        raise
    return Original(handle, size, document.display_name, media_type_of(version.format))


def _audit_download(
    session: Session, principal: Principal, document_id: str, detail: dict[str, object], client_ip: str | None
) -> None:
    record_event(
        session,
        principal,
        "document.download",
        target_type="document",
        target_id=document_id,
        detail=detail,
        client_ip=client_ip,
    )


MASKED_MEDIA_TYPE = "text/plain; charset=utf-8"
MASKED_SUFFIX = ".masked.txt"
_MAX_OVERLAP_CHARS = 2000
_MIN_OVERLAP_CHARS = 20


def download_document(
    session: Session,
    originals: OriginalStore,
    principal: Principal,
    document_id: str,
    policy: DownloadPolicy,
    client_ip: str | None = None,
) -> Original:
    """What ``principal`` may download of a document under ``policy`` (``ingest.download_policy``).

    Unrestricted admins always get the original; anyone else gets the original (``original``), a
    UTF-8 text export of the indexed text with personal data masked (``masked``), or 403 (``deny``).
    An invisible document is a 404 whatever the policy.
    """
    variant = download_variant(principal, policy)
    if variant == "original":
        return read_original(session, originals, principal, document_id, client_ip)
    document, version, _ = find_document(session, principal.access_scope(), document_id)
    if variant == "denied":
        raise AppError(
            403,
            "download_forbidden",
            "원본 파일은 관리자만 내려받을 수 있습니다. 내용은 검색과 채팅으로 볼 수 있습니다.",
            "Only administrators may download original files; search and chat show their content.",
        )
    data = ("\ufeff" + masked_text(session, version)).encode()
    detail = {"version_id": version.id, "size": len(data), "variant": "masked"}
    _audit_download(session, principal, document.id, detail, client_ip)
    name = f"{PurePath(document.display_name).stem or 'document'}{MASKED_SUFFIX}"
    return Original(io.BytesIO(data), len(data), name, MASKED_MEDIA_TYPE, variant="masked")


def download_variant(principal: Principal, policy: DownloadPolicy) -> str:
    """What a download gives ``principal``: ``original``, ``masked`` (text export) or ``denied``."""
    if principal.is_admin or policy is DownloadPolicy.ORIGINAL:
        return "original"
    return "masked" if policy is DownloadPolicy.MASKED else "denied"


def masked_text(session: Session, version: DocumentVersion) -> str:
    """A version's indexed text in reading order, personal data masked, overlaps between pieces dropped.

    409 while the version has no chunks yet (still being processed, or its processing failed).
    """
    texts = session.scalars(
        select(Chunk.text).where(Chunk.version_id == version.id).order_by(Chunk.ordinal)
    ).all()
    if not texts:
        raise conflict(
            "문서를 아직 처리하지 못해 내려받을 내용이 없습니다. 처리가 끝난 뒤 다시 시도해 주세요.",
            "The document has not been processed yet, so there is nothing to download; try again later.",
        )
    pieces = [mask_pii(texts[0])]
    for previous, text in itertools.pairwise(texts):
        pieces.append(mask_pii(text[_overlap(previous, text) :]))
    return "\n\n".join(piece.strip() for piece in pieces if piece.strip()) + "\n"


def _overlap(previous: str, text: str) -> int:
    """Characters at the start of ``text`` that repeat the end of ``previous`` (a split's overlap)."""
    probe = text[:_MIN_OVERLAP_CHARS]
    if len(probe) < _MIN_OVERLAP_CHARS:
        return 0
    position = previous.find(probe, max(0, len(previous) - _MAX_OVERLAP_CHARS))
    while position != -1:  # the first match is the longest overlap
        if text.startswith(previous[position:]):
            return len(previous) - position
        position = previous.find(probe, position + 1)
    return 0


def media_type_of(file_format: str) -> str:
    """A content type no browser renders inline (HTML, text and Markdown become plain bytes)."""
    return SAFE_MEDIA_TYPES.get(file_format, OCTET_STREAM)


def ascii_filename(name: str) -> str:
    """An ASCII stand-in for ``name`` (for old clients), keeping its extension."""
    path = PurePath(name)
    suffix = "".join(c for c in path.suffix if c.isascii() and (c.isalnum() or c == "."))
    stem = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in path.stem)
    stem = stem.strip("._")
    if not any(c.isalnum() for c in stem):
        stem = "document"
    return f"{stem[:100]}{suffix[:10]}"


# --- changes -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sharing:
    """Who may see a document: these groups, and everyone when ``is_public``."""

    group_names: Sequence[str]
    is_public: bool


def change_groups(
    session: Session,
    index: SearchIndex,
    principal: Principal,
    document_id: str,
    sharing: Sharing,
    client_ip: str | None = None,
) -> dict[str, Any]:
    """Replace a document's groups and public flag; search and chat see the change at once."""
    document, version, status = find_document(session, principal.access_scope(), document_id)
    before = {"groups": sorted(g.name for g in document.groups), "is_public": document.is_public}
    document.groups = groups_by_name(session, sharing.group_names)
    document.is_public = sharing.is_public
    document.updated_at = utcnow()
    after = {"groups": sorted(g.name for g in document.groups), "is_public": sharing.is_public}
    record_event(
        session,
        principal,
        "document.groups",
        target_type="document",
        target_id=document.id,
        detail={"before": before, "after": after},
        client_ip=client_ip,
    )
    # Commit before the index records the change, so no reader caches the old visibility under
    # the new ACL version (and SQLite's single writer is free for the index's transaction).
    session.commit()
    index.permissions_changed()
    return document_view(document, version, status)


def rename_document(
    session: Session,
    index: SearchIndex,
    principal: Principal,
    document_id: str,
    title: str,
    client_ip: str | None = None,
) -> dict[str, Any]:
    """Give a document the title people see (kept by later versions: ``title_locked``)."""
    clean = " ".join(title.split())
    if not clean:
        raise invalid("제목을 입력하세요.", "Enter a title.")
    document, version, status = find_document(session, principal.access_scope(), document_id)
    before = document.title
    document.title, document.title_locked = clean, True
    document.updated_at = utcnow()
    record_event(
        session,
        principal,
        "document.rename",
        target_type="document",
        target_id=document.id,
        detail={"before": before, "after": clean},
        client_ip=client_ip,
    )
    session.commit()
    index.permissions_changed()  # search results read titles through the same caches
    return document_view(document, version, status)


def reingest_document(
    session: Session,
    jobs: JobQueue,
    originals: OriginalStore,
    principal: Principal,
    document_id: str,
    client_ip: str | None = None,
) -> IngestionJob:
    """Queue a job that parses the current original again (409 while another job is on it)."""
    document, version, _ = find_document(session, principal.access_scope(), document_id)
    _ensure_idle(session, document)
    try:
        data = originals.read(version.file_key)
    except (FileNotFoundError, ValueError) as exc:
        raise conflict(
            "문서의 원본 파일이 저장소에 없어 다시 처리할 수 없습니다.",
            "The document's original file is missing, so it cannot be processed again.",
        ) from exc
    if document.source_key is None:
        document.source_key = f"document:{document.id}"
    session.commit()
    job_id = jobs.enqueue(
        data,
        document.display_name,
        source_key=document.source_key,
        is_public=document.is_public,
        group_ids=tuple(g.id for g in document.groups),
        created_by=principal.user_id,
        document_id=document.id,
        force=True,
    )
    record_event(
        session,
        principal,
        "document.reingest",
        target_type="document",
        target_id=document.id,
        detail={"job_id": job_id, "version_id": version.id},
        client_ip=client_ip,
    )
    return session.get_one(IngestionJob, job_id)


def delete_document(
    session: Session,
    pipeline: IngestPipeline,
    principal: Principal,
    document_id: str,
    client_ip: str | None = None,
) -> None:
    """Remove a document's original, SQL rows, vectors and BM25 entries (409 while a job is on it)."""
    document, _, _ = find_document(session, principal.access_scope(), document_id)
    _ensure_idle(session, document)
    title, name = document.title, document.display_name
    session.commit()
    if not pipeline.delete_document(document_id):
        raise _document_missing()
    record_event(
        session,
        principal,
        "document.delete",
        target_type="document",
        target_id=document_id,
        detail={"title": title, "display_name": name},
        client_ip=client_ip,
    )


def _ensure_idle(session: Session, document: Document) -> None:
    if job_in_flight(session, document.id, document.source_key):
        raise conflict(
            "이 문서에 대한 처리 작업이 아직 진행 중입니다. 작업이 끝난 뒤 다시 시도해 주세요.",
            "A job is still processing this document; try again when it has finished.",
        )
