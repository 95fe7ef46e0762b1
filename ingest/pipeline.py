"""The ingestion pipeline: bytes → detect → parse → clean → PII policy → chunk → embed → index.

Re-uploading identical content changes nothing; new content becomes a new version that replaces
the old one atomically (see :mod:`retrieval.index`). A failure at any step leaves no trace: the
stored original, the version row and any chunks written so far are removed.

A file goes through three steps: :meth:`IngestPipeline.start` (check, parse, chunk: no side
effects), :meth:`IngestPipeline.embed` (vectors; several files at once share length-sorted
batches, see :mod:`ingest.batching`) and :meth:`IngestPipeline.finish` (the version's write and
its atomic switch, one file at a time). :meth:`IngestPipeline.ingest` runs all three for one file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.models import Document, DocumentVersion, document_groups
from core.settings import IngestSettings
from ingest.batching import embed_pooled
from ingest.chunker import Chunker
from ingest.detect import FileType, detect_file_type
from ingest.document import ParsedDocument, ParseLimits
from ingest.errors import IngestError, LimitExceededError, NoTextError
from ingest.metadata import clean_text, detect_language, display_name, find_effective_date
from ingest.originals import OriginalStore
from ingest.registry import parse_bytes
from ingest.sandbox import ParseSandbox
from ingest.titles import document_title
from retrieval.embedder import Embedder
from retrieval.index import index_text
from retrieval.types import ChunkInput, Vectors

Progress = Callable[[float, str], None]
PARSE_START, EMBED_START, EMBED_END = 0.05, 0.2, 0.85  # where a job's progress bar parses, embeds


class IndexWriter(Protocol):
    """What ingestion needs from the index (implemented by :class:`retrieval.index.SearchIndex`)."""

    embedder: Embedder

    def write_chunks(
        self,
        document_id: str,
        version_id: str,
        title: str,
        chunks: Sequence[ChunkInput],
        progress: Progress | None = None,
        vectors: Vectors | None = None,
    ) -> list[str]:
        """Store an inactive version's chunks (with their vectors when given)."""
        ...

    def activate_version(self, document_id: str, version_id: str) -> str | None:
        """Make a version current atomically."""
        ...

    def purge_version(self, version_id: str) -> None:
        """Remove a version's chunks."""
        ...

    def delete_document(self, document_id: str) -> None:
        """Remove a document's chunks everywhere and its SQL rows."""
        ...


@dataclass(frozen=True, slots=True)
class IngestRequest:
    """One file to ingest and who may see it."""

    data: bytes
    filename: str
    source_key: str | None = None
    is_public: bool = False
    group_ids: tuple[str, ...] = ()
    """Groups that may see a new document, by id; the caller (``app``) resolves and checks names."""
    uploaded_by: str | None = None
    force: bool = False
    """Parse and index again even when the content is unchanged (re-ingestion)."""


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    """What ingesting a file did."""

    status: Literal["added", "updated", "unchanged"]
    document_id: str
    version_id: str
    version_number: int
    title: str
    chunk_count: int
    file_type: str


@dataclass(slots=True)
class _Prepared:
    title: str
    file_type: str
    language: str
    effective_date: object
    chunks: list[ChunkInput]


@dataclass(slots=True)
class PendingIngest:
    """A file read and chunked, waiting for its vectors and its write (nothing stored yet)."""

    request: IngestRequest
    content_hash: str
    prepared: _Prepared
    report: Progress
    vectors: Vectors | None = None

    @property
    def chunk_count(self) -> int:
        """How many chunks the file gave."""
        return len(self.prepared.chunks)


class IngestPipeline:
    """Turns uploaded files into indexed, versioned documents."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        writer: IndexWriter,
        originals: OriginalStore,
        chunker: Chunker,
        settings: IngestSettings,
        sandbox: ParseSandbox | None = None,
    ) -> None:
        self._sessions = sessions
        self._writer = writer
        self._originals = originals
        self._chunker = chunker
        self._settings = settings
        self._limits = ParseLimits(
            max_decompressed_bytes=settings.max_decompressed_bytes,
            max_pages=settings.max_pages,
            ocr=settings.ocr.value,
            ocr_max_pages=settings.ocr_max_pages,
            ocr_dpi=settings.ocr_dpi,
            ocr_languages=settings.ocr_languages,
            ocr_workers=settings.ocr_workers,
        )
        # One helper process for the pipeline's lifetime, started on the first sandboxed parse.
        self._sandbox = sandbox or ParseSandbox()

    def ingest(self, request: IngestRequest, progress: Progress | None = None) -> IngestOutcome:
        """Ingest one file; raises :class:`ingest.errors.IngestError` with a readable message."""
        started = self.start(request, progress)
        if isinstance(started, IngestOutcome):
            return started
        return self.finish(self.embed([started])[0])

    def start(
        self, request: IngestRequest, progress: Progress | None = None
    ) -> IngestOutcome | PendingIngest:
        """Check, parse and chunk one file, storing nothing; the outcome already if it is unchanged."""
        report = progress or _silent
        self._check_size(request.data)
        content_hash = hashlib.sha256(request.data).hexdigest()
        unchanged = None if request.force else self._find_unchanged(request, content_hash)
        if unchanged is not None:
            report(1.0, "unchanged")
            return unchanged
        report(PARSE_START, "parsing")
        prepared = self.prepare(request.data, request.filename, report)
        report(EMBED_START, "embedding")
        return PendingIngest(request, content_hash, prepared, report)

    def embed(self, pending: Sequence[PendingIngest]) -> Sequence[PendingIngest]:
        """Compute the vectors of several files' chunks together (length-sorted batches); returns them."""

        def report(fraction: float) -> None:
            for item in pending:
                item.report(EMBED_START + (EMBED_END - EMBED_START) * fraction, "embedding")

        groups = [[index_text(p.prepared.title, chunk) for chunk in p.prepared.chunks] for p in pending]
        for item, vectors in zip(pending, embed_pooled(self._writer.embedder, groups, report), strict=True):
            item.vectors = vectors
        return pending

    def finish(self, pending: PendingIngest) -> IngestOutcome:
        """Write an embedded file's version and make it current, unless its content is now stored."""
        request, report = pending.request, pending.report
        if not request.force:  # a twin of this file may have been stored since :meth:`start`
            unchanged = self._find_unchanged(request, pending.content_hash)
            if unchanged is not None:
                report(1.0, "unchanged")
                return unchanged
        report(EMBED_END, "indexing")
        return self._store(request, pending.content_hash, pending.prepared, pending.vectors, report)

    def prepare(self, data: bytes, filename: str, progress: Progress | None = None) -> _Prepared:
        """Detect, parse, clean, apply the PII policy and chunk (no side effects)."""
        file_type = detect_file_type(data, filename)
        parsed = self._clean(self._parse(data, file_type, progress))
        if not parsed.text.strip():
            raise NoTextError(
                "no_text",
                "문서에서 텍스트를 찾지 못했습니다.",
                "No text could be extracted from the document.",
            )
        drafts = self._chunker.chunk(parsed)
        chunks = [
            ChunkInput(d.text, d.section_path, d.article, d.page, d.location, d.token_count) for d in drafts
        ]
        return _Prepared(
            title=_title_of(parsed, filename),
            file_type=file_type.value,
            language=detect_language(parsed.text),
            effective_date=find_effective_date(parsed.text),
            chunks=chunks,
        )

    def _parse(self, data: bytes, file_type: FileType, progress: Progress | None = None) -> ParsedDocument:
        if not self._settings.sandbox:
            return parse_bytes(data, file_type, self._limits)

        def on_pages(done: int, total: int) -> None:  # OCR: the parsing share of the bar, page by page
            if progress is not None:
                progress(PARSE_START + (EMBED_START - PARSE_START) * done / total, f"OCR {done}/{total}")

        return self._sandbox.parse(
            data,
            file_type,
            self._limits,
            timeout_s=self._settings.parse_timeout_s,
            memory_mb=self._settings.parse_memory_mb,
            on_pages=on_pages,
        )

    def close(self) -> None:
        """Stop the parsing helper process (a later sandboxed parse starts it again)."""
        self._sandbox.close()

    def _clean(self, parsed: ParsedDocument) -> ParsedDocument:
        from ingest.pii import apply_pii_policy

        blocks = [
            replace(b, text=apply_pii_policy(clean_text(b.text), self._settings.pii_mode))
            for b in parsed.blocks
        ]
        title = clean_text(parsed.title).strip() if parsed.title else None
        return ParsedDocument(blocks=blocks, title=title or None, metadata=parsed.metadata)

    def _check_size(self, data: bytes) -> None:
        limit = self._settings.max_file_bytes
        if len(data) > limit:
            raise LimitExceededError(
                "file_too_large",
                f"파일이 너무 큽니다 ({len(data):,} 바이트, 한도 {limit:,} 바이트).",
                f"The file is too large ({len(data):,} bytes; the limit is {limit:,}).",
            )

    def _find_unchanged(self, request: IngestRequest, content_hash: str) -> IngestOutcome | None:
        with self._sessions() as session:
            query = (
                select(Document, DocumentVersion)
                .join(DocumentVersion, DocumentVersion.id == Document.current_version_id)
                .where(DocumentVersion.content_hash == content_hash)
            )
            if request.source_key is not None:
                query = query.where(Document.source_key == request.source_key)
            row = session.execute(query.limit(1)).first()
        if row is None:
            return None
        document, version = row
        return IngestOutcome(
            "unchanged",
            document.id,
            version.id,
            version.number,
            document.title,
            version.chunk_count,
            version.format,
        )

    def _store(
        self,
        request: IngestRequest,
        content_hash: str,
        prepared: _Prepared,
        vectors: Vectors | None,
        report: Progress,
    ) -> IngestOutcome:
        file_key = self._originals.put(request.data)
        document_id, version_id, number, created = self._create_version(
            request, content_hash, prepared, file_key
        )
        try:
            self._writer.write_chunks(
                document_id,
                version_id,
                prepared.title,
                prepared.chunks,
                progress=lambda fraction, _stage: report(EMBED_END + 0.14 * fraction, "indexing"),
                vectors=vectors,
            )
            previous = self._writer.activate_version(document_id, version_id)
        except BaseException:
            self._undo(document_id, version_id, file_key, created=created)
            raise
        if previous:
            self._drop_original_of(previous)
        report(1.0, "done")
        status: Literal["added", "updated"] = "added" if created else "updated"
        return IngestOutcome(
            status, document_id, version_id, number, prepared.title, len(prepared.chunks), prepared.file_type
        )

    def _create_version(
        self, request: IngestRequest, content_hash: str, prepared: _Prepared, file_key: str
    ) -> tuple[str, str, int, bool]:
        with transaction(self._sessions) as session:
            document = None
            if request.source_key is not None:
                document = session.scalar(select(Document).where(Document.source_key == request.source_key))
            created = document is None
            if document is None:
                document = Document(
                    title=prepared.title,
                    display_name=display_name(request.filename),
                    source_key=request.source_key,
                    is_public=request.is_public,
                    uploaded_by=request.uploaded_by,
                )
                session.add(document)
                session.flush()
                _share(session, document.id, request.group_ids)
            else:
                if not document.title_locked:  # an admin's rename stays
                    document.title = prepared.title
                document.display_name = display_name(request.filename)
            number = (
                session.scalar(
                    select(func.max(DocumentVersion.number)).where(DocumentVersion.document_id == document.id)
                )
                or 0
            ) + 1
            version = DocumentVersion(
                document_id=document.id,
                number=number,
                content_hash=content_hash,
                file_key=file_key,
                format=prepared.file_type,
                size_bytes=len(request.data),
                language=prepared.language,
                effective_date=prepared.effective_date,
            )
            session.add(version)
            session.flush()
            return document.id, version.id, number, created

    def _undo(self, document_id: str, version_id: str, file_key: str, *, created: bool) -> None:
        try:
            self._writer.purge_version(version_id)  # its SQL rows go even if a Chroma server is down
        finally:
            with transaction(self._sessions) as session:
                version = session.get(DocumentVersion, version_id)
                if version is not None:
                    session.delete(version)
                document = session.get(Document, document_id)
                if created and document is not None and document.current_version_id is None:
                    session.delete(document)
            self._originals.delete(file_key)

    def delete_document(self, document_id: str) -> bool:
        """Delete a document: its chunks in every store, its SQL rows and all its stored originals."""
        with self._sessions() as session:
            keys = list(
                session.scalars(
                    select(DocumentVersion.file_key).where(DocumentVersion.document_id == document_id)
                )
            )
            exists = session.get(Document, document_id) is not None
        if not exists:
            return False
        self._writer.delete_document(document_id)
        for key in keys:
            self._originals.delete(key)
        return True

    def _drop_original_of(self, version_id: str) -> None:
        with self._sessions() as session:
            version = session.get(DocumentVersion, version_id)
            file_key = version.file_key if version else None
        if file_key:
            self._originals.delete(file_key)


def _silent(_fraction: float, _stage: str) -> None:
    """A progress callback that reports nowhere."""


def _share(session: Session, document_id: str, group_ids: Sequence[str]) -> None:
    """Link a new document to its groups by id; a group deleted since the upload fails the file."""
    rows = [{"document_id": document_id, "group_id": gid} for gid in dict.fromkeys(group_ids)]
    if not rows:
        return
    try:
        session.execute(insert(document_groups), rows)
    except IntegrityError as exc:  # the transaction rolls back: no document without its groups
        raise IngestError(
            "unknown_group",
            "문서를 공유할 그룹이 더 이상 없습니다. 그룹을 확인하고 다시 올려 주십시오.",
            "A group this document was to be shared with no longer exists; check the groups, upload again.",
        ) from exc


def _title_of(parsed: ParsedDocument, filename: str) -> str:
    """The document's own title, else its first real heading, else the file name (ingest.titles)."""
    return document_title(parsed, filename)
