"""``/api/v1/documents``: upload, list, read, download, share, re-ingest and delete documents.

A document the caller may not see answers exactly like one that does not exist (404).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any, BinaryIO, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from app.api.auth import GroupOut
from app.api.deps import (
    ContainerDep,
    DbDep,
    PageLimit,
    PageOffset,
    ReaderPrincipal,
    ScopeDep,
    WriterPrincipal,
)
from app.api.errors import problem
from app.api.jobs import JobOut
from app.services import documents
from app.services.jobs import job_view

router = APIRouter(prefix="/api/v1/documents", tags=["documents"])

DOWNLOAD_CHUNK_BYTES = 256 * 1024
DocumentStatus = Literal["ready", "processing", "failed"]


class DocumentOut(BaseModel):
    """A document and its current version."""

    id: str
    title: str
    display_name: str = Field(description="The uploaded file's name (NFC), as shown and downloaded.")
    format: str = Field(description="Detected format: pdf, docx, pptx, xlsx, hwp, hwpx, html, markdown…")
    is_public: bool
    groups: list[GroupOut]
    version_number: int
    version_id: str
    chunk_count: int
    size_bytes: int
    language: str | None
    effective_date: date | None
    uploaded_by: str | None = Field(description="Id of the user who uploaded it.")
    created_at: datetime
    updated_at: datetime
    status: DocumentStatus = Field(description="From its latest job: ready, processing or failed.")


class VersionOut(BaseModel):
    """One upload of a document's content."""

    id: str
    number: int
    format: str
    size_bytes: int
    chunk_count: int
    language: str | None
    effective_date: date | None
    created_at: datetime
    is_current: bool


class OcrPageOut(BaseModel):
    """A page of the current version whose text was recognised by OCR."""

    page: int
    confidence: float = Field(description="Mean word confidence from Tesseract, 0-100.")


class DocumentDetail(DocumentOut):
    """A document with every version, newest first."""

    versions: list[VersionOut]
    ocr_pages: list[OcrPageOut] = Field(
        default_factory=list, description="Pages of the current version read by OCR (scans, images)."
    )
    low_confidence_pages: list[int] = Field(
        default_factory=list,
        description="OCR'd pages whose confidence is below `ingest.ocr_low_confidence`: worth a better scan.",
    )
    download: Literal["original", "masked", "denied"] = Field(
        description="What the caller's download gives: the original, a masked text export "
        "(`<name>.masked.txt`) or 403 — `ingest.download_policy`; admins always get the original."
    )


class DocumentPage(BaseModel):
    """A page of documents, most recently changed first."""

    total: int
    items: list[DocumentOut]


class UploadResponse(BaseModel):
    """One queued job per uploaded file, in upload order."""

    jobs: list[JobOut]


class JobResponse(BaseModel):
    """The queued job."""

    job: JobOut


class GroupsChange(BaseModel):
    """Who may see the document from now on (replaces the current setting)."""

    groups: list[str] = Field(max_length=500, description="Names of the groups it is shared with.")
    is_public: bool = Field(description="Visible to every signed-in user.")


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _document_json(view: dict[str, Any]) -> dict[str, Any]:
    return DocumentOut.model_validate(view).model_dump(mode="json")


def _size_of(upload: UploadFile) -> int:
    """The size the multipart parser counted (measured when a server did not record it)."""
    if upload.size is not None:
        return upload.size
    upload.file.seek(0, 2)
    return upload.file.tell()


@router.post("", status_code=202, response_model=UploadResponse)
@router.post("/", status_code=202, response_model=UploadResponse, include_in_schema=False)
def upload(
    request: Request,
    principal: WriterPrincipal,
    db: DbDep,
    container: ContainerDep,
    files: Annotated[list[UploadFile], File(description="One or many files.")],
    groups: Annotated[
        list[str] | None, Form(description="Comma-separated group names (unknown names: 422).")
    ] = None,
    is_public: Annotated[bool, Form(description="Visible to every signed-in user.")] = False,
    duplicates: Annotated[
        Literal["check", "new_version"],
        Form(
            description="A file whose content (SHA-256) is already a visible document's current version: "
            "`check` refuses the request with `409 duplicate_content` listing `duplicates: [{filename, "
            "document}]`; `new_version` uploads it as that document's next version (its groups unchanged)."
        ),
    ] = "check",
) -> Any:
    """Store each file and queue an ingestion job for it (poll `/api/v1/jobs/{id}`)."""
    settings = container.settings
    try:
        queued = documents.upload_documents(
            db,
            container.jobs,
            principal,
            documents.UploadRequest(
                files=[documents.UploadedFile(f.filename, _size_of(f), f.file) for f in files],
                group_names=documents.parse_group_names(groups),
                is_public=is_public,
                duplicates=duplicates,
            ),
            documents.UploadLimits(settings.api.max_upload_files, settings.ingest.max_file_bytes),
            client_ip=_client_ip(request),
        )
    except documents.DuplicateContentError as exc:
        found = [{"filename": m["filename"], "document": _document_json(m["document"])} for m in exc.matches]
        return problem(exc.status, exc.code, exc.message_ko, exc.message_en, duplicates=found)
    return {"jobs": [job_view(job) for job in queued]}


@router.get("", response_model=DocumentPage)
@router.get("/", response_model=DocumentPage, include_in_schema=False)
def list_documents(
    _principal: ReaderPrincipal,
    scope: ScopeDep,
    db: DbDep,
    q: Annotated[str | None, Query(max_length=200, description="Words in the title or file name.")] = None,
    group: Annotated[str | None, Query(max_length=200, description="Shared with this group.")] = None,
    format: Annotated[str | None, Query(max_length=20, description="e.g. `pdf`, `hwpx`.")] = None,
    status: Annotated[DocumentStatus | None, Query()] = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> dict[str, Any]:
    """Documents the caller may see; the filters only narrow that set."""
    query = documents.DocumentQuery(q, group, format, status, limit, offset)
    total, items = documents.list_documents(db, scope, query)
    return {"total": total, "items": items}


@router.get("/{document_id}", response_model=DocumentDetail)
def get_document(
    document_id: str, principal: ReaderPrincipal, scope: ScopeDep, db: DbDep, container: ContainerDep
) -> dict[str, Any]:
    """One document with its versions."""
    download = documents.download_variant(principal, container.settings.ingest.download_policy)
    threshold = container.settings.ingest.ocr_low_confidence
    detail = documents.document_detail(db, scope, document_id, low_confidence=threshold)
    return {**detail, "download": download}


@router.get(
    "/{document_id}/download",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The original file."}},
)
def download(
    document_id: str, request: Request, principal: ReaderPrincipal, db: DbDep, container: ContainerDep
) -> Response:
    """The current version as an attachment: the original file for admins; for anyone else what
    `ingest.download_policy` says (default a masked `.masked.txt` text export; `deny`: 403)."""
    policy = container.settings.ingest.download_policy
    original = documents.download_document(
        db, container.originals, principal, document_id, policy, client_ip=_client_ip(request)
    )
    # The audit row is committed and the connection freed before the (maybe long) transfer: DbDep
    # ends with the route function, not with the response.
    return StreamingResponse(
        _chunks_of(original.handle),
        media_type=original.media_type,
        headers={
            "Content-Length": str(original.size),
            "Content-Disposition": content_disposition(original.filename),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
            "X-Jikji-Download": original.variant,
        },
    )


def _chunks_of(handle: BinaryIO) -> Iterator[bytes]:
    """The file in pieces (never the whole of a large original in memory); closes it at the end."""
    with handle:
        while piece := handle.read(DOWNLOAD_CHUNK_BYTES):
            yield piece


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the exact UTF-8 name (RFC 6266 / RFC 5987)."""
    fallback = documents.ascii_filename(filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.put("/{document_id}/groups", response_model=DocumentOut)
def change_groups(
    document_id: str,
    body: GroupsChange,
    request: Request,
    principal: WriterPrincipal,
    db: DbDep,
    container: ContainerDep,
) -> dict[str, Any]:
    """Replace who may see the document; search and chat apply it at once."""
    sharing = documents.Sharing(body.groups, body.is_public)
    return documents.change_groups(
        db, container.index, principal, document_id, sharing, client_ip=_client_ip(request)
    )


class TitleChange(BaseModel):
    """The title people see (search results, sources, lists)."""

    title: str = Field(min_length=1, max_length=300)


@router.patch("/{document_id}", response_model=DocumentOut)
def rename(
    document_id: str,
    body: TitleChange,
    request: Request,
    principal: WriterPrincipal,
    db: DbDep,
    container: ContainerDep,
) -> dict[str, Any]:
    """Rename the document; later versions keep this title instead of the one read from the file."""
    return documents.rename_document(
        db, container.index, principal, document_id, body.title, client_ip=_client_ip(request)
    )


@router.post("/{document_id}/reingest", status_code=202, response_model=JobResponse)
def reingest(
    document_id: str, request: Request, principal: WriterPrincipal, db: DbDep, container: ContainerDep
) -> dict[str, Any]:
    """Parse the current original again (409 while a job is already on this document)."""
    job = documents.reingest_document(
        db, container.jobs, container.originals, principal, document_id, client_ip=_client_ip(request)
    )
    return {"job": job_view(job)}


@router.delete("/{document_id}", status_code=204)
def delete(
    document_id: str, request: Request, principal: WriterPrincipal, db: DbDep, container: ContainerDep
) -> None:
    """Remove the document: original, SQL rows, vectors and BM25 entries (409 while a job is on it)."""
    documents.delete_document(db, container.pipeline, principal, document_id, client_ip=_client_ip(request))
