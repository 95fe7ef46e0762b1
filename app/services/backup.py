"""Backup, restore and index rebuild: the operations an admin needs on a bad day.

A backup is one archive (:mod:`app.services.backup_archive`) holding a consistent snapshot of the SQL
database, the stored originals the snapshot refers to, and a manifest with what is needed to verify a
restore (schema revision, embedding model, chunker version, row and chunk counts). It is taken while
the server runs:

- SQLite: the sqlite3 online backup API copies the database in one step, inside one read transaction,
  so the copy is the database as of one moment; WAL writers go on meanwhile.
- PostgreSQL: a logical dump through SQLAlchemy in one ``REPEATABLE READ, READ ONLY`` transaction (one
  snapshot for every table), not ``pg_dump``: it needs no client binaries matching the server's major
  version on the machine that runs ``jikji``, and it restores through the same Alembic migrations as a
  new install, into PostgreSQL or SQLite alike (a SQLite backup also restores into PostgreSQL).

Originals are immutable files named by random keys and deleted only after SQL stops naming them, so
copying those the snapshot names after the snapshot gets each one whole; one that vanished meanwhile
(its document was replaced or deleted after the snapshot) makes the backup start over with a new
snapshot. Chroma and BM25 are derived from the chunk rows in SQL and are not copied: a restore rebuilds
them (:func:`reindex`), which also proves they can be rebuilt.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Connection,
    ForeignKeyConstraint,
    MetaData,
    Table,
    bindparam,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy import (
    column as sql_column,
)
from sqlalchemy import table as sql_table
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.ddl import sort_tables_and_constraints

from app.container import Container, build_container
from app.services.backup_archive import (
    FORMAT,
    FORMAT_VERSION,
    ORIGINALS_DIR,
    SQLITE_MEMBER,
    TABLES_DIR,
    ArchiveWriter,
    BackupError,
    unpack_verified,
    writing_archive,
)
from core.db import make_engine
from core.migrate import alembic_config
from core.models import Chunk, Document, DocumentVersion, IndexState, IngestionJob
from core.private_files import make_private_dir
from core.settings import Settings
from ingest.jobs import JobStatus
from ingest.originals import KEY_RE, OriginalStore
from retrieval.rebuild import (
    REBUILD_BATCH,
    RebuildProgress,
    VectorRebuildReport,
    current_chunk_ids,
    discard_lexical_files,
    drop_vector_collection,
    rebuild_lexical,
    rebuild_vectors,
)
from retrieval.vectors import open_vector_store

Say = Callable[[str], None]
"""Where progress lines go (the CLI prints them)."""

SNAPSHOT_ATTEMPTS = 3
"""Snapshots tried when an original the snapshot names vanishes before it is copied."""
ALEMBIC_TABLE = "alembic_version"
BOOKKEEPING_TABLES = frozenset({ALEMBIC_TABLE, IndexState.__tablename__})
"""Tables a new install fills by itself: rows in them do not make a database "not empty"."""
INSERT_BATCH = 1000
REINDEX_STATE = "reindex-state.json"
"""The marker file of an unfinished ``jikji reindex`` in the data directory (resumed by the next run)."""
BUSY = (JobStatus.QUEUED, JobStatus.RUNNING)


def _quiet(_line: str) -> None:
    """A progress sink that prints nothing."""


# --- backup -------------------------------------------------------------------------------------------


@dataclass(slots=True)
class BackupReport:
    """What :func:`create_backup` wrote."""

    path: Path
    size: int
    manifest: dict[str, Any]
    seconds: float


@dataclass(slots=True)
class _Snapshot:
    """The SQL snapshot's files (to add to the archive) and the facts read from that same snapshot."""

    members: dict[str, Path]
    facts: dict[str, Any]
    required_keys: list[str]
    """Originals restored data cannot do without: current versions' and unfinished jobs' files."""
    other_keys: list[str]
    """Other originals the snapshot names (older or half-written versions): copied when still there."""


def backup_path(dest: Path) -> Path:
    """The archive to write: ``dest`` itself, or a time-stamped name inside ``dest`` when it is a folder."""
    if dest.is_dir():
        return dest / f"jikji-backup-{datetime.now(UTC):%Y%m%d-%H%M%S}.tar.gz"
    return dest


def create_backup(settings: Settings, dest: Path, say: Say = _quiet) -> BackupReport:
    """Write a backup archive of ``settings``' database and originals to ``dest`` (see the module doc).

    Refuses (:class:`BackupError`) an existing file or a missing parent folder. Nothing is left at
    ``dest`` or beside it when this fails.
    """
    started = time.monotonic()
    path = backup_path(dest)
    if path.exists():
        raise BackupError(
            f"이미 있는 파일입니다(덮어쓰지 않습니다): {path}",
            f"the file already exists (a backup never overwrites one): {path}",
            2,
        )
    if not path.parent.is_dir():
        raise BackupError(f"폴더가 없습니다: {path.parent}", f"no such folder: {path.parent}", 2)
    engine = make_engine(settings.database_url)
    try:
        for attempt in range(1, SNAPSHOT_ATTEMPTS + 1):
            manifest = _try_backup(engine, settings, path, say, last=attempt == SNAPSHOT_ATTEMPTS)
            if manifest is not None:
                return BackupReport(path, path.stat().st_size, manifest, time.monotonic() - started)
            say("스냅숏 뒤에 원본이 바뀌어 다시 찍습니다 / originals changed after the snapshot; retrying")
    finally:
        engine.dispose()
    msg = "unreachable: the last attempt always writes the archive"
    raise AssertionError(msg)


def _try_backup(
    engine: Engine, settings: Settings, path: Path, say: Say, *, last: bool
) -> dict[str, Any] | None:
    """One snapshot into the archive; None (nothing written) when a required original vanished meanwhile
    and this is not the ``last`` attempt (which records it in the manifest's ``missing`` list instead)."""
    with tempfile.TemporaryDirectory(prefix=".jikji-backup-", dir=path.parent) as work:
        say(f"SQL 스냅숏 / SQL snapshot ({engine.dialect.name})")
        snapshot = _snapshot(engine, settings, Path(work))
        with writing_archive(path) as writer:
            for name, member in snapshot.members.items():
                writer.add_file(name, member)
            missing = _add_originals(writer, OriginalStore(settings.originals_dir), snapshot, say)
            if missing and not last:
                return None
            manifest = _manifest(settings, snapshot, writer, missing)
            writer.commit(manifest)
            return manifest


def _snapshot(engine: Engine, settings: Settings, work: Path) -> _Snapshot:
    if engine.dialect.name == "sqlite":
        copy = work / "jikji.db"
        _sqlite_online_backup(_sqlite_path(settings.database_url), copy)
        copied = make_engine(f"sqlite:///{copy}")
        try:
            with copied.connect() as connection:
                return _Snapshot({SQLITE_MEMBER: copy}, *_facts(connection))
        finally:
            copied.dispose()
    with engine.connect() as connection:
        snapshot = connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with snapshot.begin():
            members = _dump_tables(snapshot, work)
            return _Snapshot(members, *_facts(snapshot))


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("SQLite 파일 데이터베이스가 아닙니다.", "not a SQLite database file", 2)
    return Path(database)


def _sqlite_online_backup(source: Path, target: Path) -> None:
    """Copy a live SQLite database with the online backup API, all pages in one step (one snapshot)."""
    if not source.exists():
        raise BackupError(f"데이터베이스가 없습니다: {source}", f"no database at {source}", 2)
    with (
        contextlib.closing(sqlite3.connect(source, timeout=30)) as live,
        contextlib.closing(sqlite3.connect(target)) as copy,
    ):
        live.backup(copy, pages=-1)
    target.chmod(0o600)


def _dump_tables(connection: Connection, work: Path) -> dict[str, Path]:
    """Every table but Alembic's, one JSON object per row, read in the caller's snapshot transaction."""
    tables = MetaData()
    tables.reflect(connection)
    folder = work / "tables"
    folder.mkdir()
    members = {}
    for name in sorted(tables.tables):
        if name == ALEMBIC_TABLE:
            continue
        path = folder / f"{name}.jsonl"
        rows = connection.execution_options(stream_results=True, yield_per=INSERT_BATCH).execute(
            select(tables.tables[name])
        )
        with path.open("w", encoding="utf-8") as out:
            for row in rows.mappings():
                out.write(json.dumps({k: _encode(v) for k, v in row.items()}, ensure_ascii=False))
                out.write("\n")
        members[f"{TABLES_DIR}/{name}.jsonl"] = path
    return members


def _facts(connection: Connection) -> tuple[dict[str, Any], list[str], list[str]]:
    """Schema revision, row counts and index facts of the snapshot; the originals it names."""
    tables = sorted(inspect(connection).get_table_names())
    rows = {name: _row_count(connection, name) for name in tables}
    revision = connection.scalar(select(sql_column("version_num")).select_from(sql_table(ALEMBIC_TABLE)))
    current = Chunk.version_id == Document.current_version_id
    current_chunks = select(func.count()).select_from(Chunk).join(Document, Document.id == Chunk.document_id)
    facts = {
        "alembic_revision": revision,
        "rows": rows,
        "index_state": dict(connection.execute(select(IndexState.name, IndexState.version)).all()),
        "documents": rows.get("documents", 0),
        "current_documents": int(
            connection.scalar(
                select(func.count()).select_from(Document).where(Document.current_version_id.is_not(None))
            )
            or 0
        ),
        "chunks": rows.get("chunks", 0),
        "current_chunks": int(connection.scalar(current_chunks.where(current)) or 0),
    }
    required = set(
        connection.scalars(
            select(DocumentVersion.file_key).join(Document, Document.current_version_id == DocumentVersion.id)
        )
    )
    required |= {
        key
        for key in connection.scalars(select(IngestionJob.file_key).where(IngestionJob.status.in_(BUSY)))
        if key
    }
    named = set(connection.scalars(select(DocumentVersion.file_key)))
    return facts, sorted(required), sorted(named - required)


def _row_count(connection: Connection, name: str) -> int:
    return int(connection.scalar(select(func.count()).select_from(sql_table(name))) or 0)


def _add_originals(
    writer: ArchiveWriter, originals: OriginalStore, snapshot: _Snapshot, say: Say
) -> list[str]:
    """Copy the snapshot's originals into the archive; the required ones that were not there."""
    missing = []
    total = len(snapshot.required_keys)
    for done, key in enumerate(snapshot.required_keys, start=1):
        if not _add_original(writer, originals, key):
            missing.append(key)
        if done % 100 == 0 or done == total:
            say(f"  원본 / originals [{done}/{total}]")
    for key in snapshot.other_keys:
        _add_original(writer, originals, key)
    return missing


def _add_original(writer: ArchiveWriter, originals: OriginalStore, key: str) -> bool:
    if not KEY_RE.match(key):
        return False
    try:
        with originals.open(key) as handle:  # an open file stays readable if it is deleted meanwhile
            writer.add_stream(f"{ORIGINALS_DIR}/{key[:2]}/{key}", handle, os.fstat(handle.fileno()).st_size)
    except FileNotFoundError:
        return False
    return True


def _manifest(
    settings: Settings, snapshot: _Snapshot, writer: ArchiveWriter, missing: list[str]
) -> dict[str, Any]:
    facts = snapshot.facts
    stored = [d for name, d in writer.files.items() if name.startswith(f"{ORIGINALS_DIR}/")]
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(),
        "jikji_version": _jikji_version(),
        "database": {
            "dialect": "sqlite" if SQLITE_MEMBER in snapshot.members else "postgresql",
            "method": "sqlite-online-backup"
            if SQLITE_MEMBER in snapshot.members
            else "sqlalchemy-repeatable-read",
            "alembic_revision": facts["alembic_revision"],
            "rows": facts["rows"],
        },
        "index": {
            "embedding_model": settings.embedding.model,
            "chroma_collection": settings.chroma.collection,
            "chunker_version": facts["index_state"].get("chunker"),
            "index_state": facts["index_state"],
            "documents": facts["documents"],
            "current_documents": facts["current_documents"],
            "chunks": facts["chunks"],
            "current_chunks": facts["current_chunks"],
        },
        "originals": {
            "count": len(stored),
            "bytes": sum(d.size for d in stored),
            "missing": missing,
        },
    }


def _jikji_version() -> str:
    try:
        return package_metadata.version("jikji")
    except package_metadata.PackageNotFoundError:
        return "unknown"


def _encode(value: Any) -> Any:
    """A column value as JSON; types JSON lacks are tagged (``{"$dt": …}``) so they come back as they were."""
    if isinstance(value, datetime):
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return {"$dt": aware.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, bytes | memoryview):
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict | list):
        return {"$json": value}
    return value


def _decode(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    (tag, inner), *_ = value.items()
    decoders: dict[str, Callable[[Any], Any]] = {
        "$dt": datetime.fromisoformat,
        "$date": date.fromisoformat,
        "$dec": Decimal,
        "$b64": base64.b64decode,
        "$json": lambda v: v,
    }
    return decoders[tag](inner)


# --- restore ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class RestoreReport:
    """What :func:`restore_backup` restored and rebuilt."""

    manifest: dict[str, Any]
    originals: int = 0
    vectors: VectorRebuildReport = field(default_factory=VectorRebuildReport)
    lexical_rows: int = 0
    seconds: float = 0.0


def restore_backup(
    settings: Settings, archive: Path, *, force: bool = False, say: Say = _quiet
) -> RestoreReport:
    """Restore ``archive`` into ``settings``' data directory and database, then rebuild the indexes.

    The target must be empty (no rows in the database beyond what an install writes by itself, no
    originals, no vectors); ``force`` replaces what is there. Every checksum is verified before
    anything in the target is touched.
    """
    started = time.monotonic()
    if not archive.is_file():
        raise BackupError(f"백업 파일이 없습니다: {archive}", f"no backup file at {archive}", 2)
    occupied = occupied_parts(settings)
    if occupied and not force:
        raise BackupError(
            "복원할 곳이 비어 있지 않습니다: "
            + ", ".join(occupied)
            + ". 지금 데이터를 지우고 복원하려면 --force 를 붙이십시오.",
            "the restore target is not empty: "
            + ", ".join(occupied)
            + ". Add --force to delete that data and restore over it.",
            2,
        )
    make_private_dir(settings.data_dir)
    staging = settings.data_dir / f".restore-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        say(f"체크섬 확인 / verifying {archive.name}")
        manifest = unpack_verified(archive, staging)
        revision = str(manifest["database"]["alembic_revision"])
        _check_revision_known(settings, revision)
        say("기존 데이터 정리 / clearing the target" if occupied else "복원 / restoring")
        _clear_target(settings)
        _restore_database(settings, staging, revision)
        report = RestoreReport(manifest, originals=_move_originals(staging, settings.originals_dir))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    say(f"SQL·원본 복원 완료 / database and {report.originals} originals restored; rebuilding the indexes")
    with contextlib.closing(build_container(settings)) as container:
        result = reindex(container, fresh=True, say=say)
        report.vectors, report.lexical_rows = result.vectors, result.lexical_rows
        _check_counts(container, manifest)
    report.seconds = time.monotonic() - started
    return report


def occupied_parts(settings: Settings) -> list[str]:
    """What in the restore target holds data (empty when a restore may go ahead without --force)."""
    parts = []
    rows = _data_rows(settings)
    if rows:
        parts.append(f"database ({rows} rows)")
    originals = len(OriginalStore(settings.originals_dir).all_keys())
    if originals:
        parts.append(f"{settings.originals_dir} ({originals} originals)")
    vectors = _vector_count(settings)
    if vectors:
        parts.append(f"Chroma collection {settings.chroma.collection!r} ({vectors} vectors)")
    return parts


def _data_rows(settings: Settings) -> int:
    """Rows in the target database outside the bookkeeping tables (0 when there is no database yet)."""
    url = settings.database_url
    if url.startswith("sqlite") and not _sqlite_path(url).exists():
        return 0
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            names = inspect(connection).get_table_names()
            return sum(_row_count(connection, name) for name in names if name not in BOOKKEEPING_TABLES)
    finally:
        engine.dispose()


def _vector_count(settings: Settings) -> int:
    if settings.chroma.mode != "http" and not settings.chroma_dir.exists():
        return 0  # opening the embedded store would create it
    store = open_vector_store(settings.chroma, settings.data_dir)
    try:
        return store.count()
    finally:
        store.close()


def _check_revision_known(settings: Settings, revision: str) -> None:
    script = ScriptDirectory.from_config(alembic_config(settings.database_url))
    try:
        known = script.get_revision(revision) is not None
    except Exception:  # noqa: BLE001 (alembic raises several kinds for an unknown revision)
        known = False
    if not known:
        raise BackupError(
            f"이 Jikji가 모르는 스키마({revision})의 백업입니다. 백업을 만든 버전 이상으로 "
            "업그레이드하십시오.",
            f"the backup's schema ({revision}) is unknown to this Jikji; upgrade to the version "
            "that made it.",
            2,
        )


def _clear_target(settings: Settings) -> None:
    """Remove the database, originals, vectors and BM25 files (empty or --force: checked by the caller)."""
    url = settings.database_url
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        _drop_all_tables(url)
    shutil.rmtree(settings.originals_dir, ignore_errors=True)
    _drop_vectors(settings)
    discard_lexical_files(settings.bm25_dir)
    (settings.data_dir / REINDEX_STATE).unlink(missing_ok=True)


def _drop_all_tables(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for name in inspect(connection).get_table_names():
                quoted = connection.dialect.identifier_preparer.quote(name)
                connection.execute(text(f"DROP TABLE IF EXISTS {quoted} CASCADE"))
    finally:
        engine.dispose()


def _drop_vectors(settings: Settings) -> None:
    drop_vector_collection(settings.chroma, settings.data_dir)


def _restore_database(settings: Settings, staging: Path, revision: str) -> None:
    """The snapshot into the (cleared) target: a file copy SQLite to SQLite, else row by row."""
    sqlite_copy = staging / SQLITE_MEMBER
    url = settings.database_url
    if url.startswith("sqlite") and sqlite_copy.exists():
        target = _sqlite_path(url)
        make_private_dir(target.parent)
        shutil.move(sqlite_copy, target)
        target.chmod(0o600)
        return
    engine = make_engine(url)
    try:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        with engine.begin() as connection:
            if sqlite_copy.exists():
                _load_rows(connection, _rows_of_sqlite(sqlite_copy))
            else:
                _load_rows(connection, _rows_of_jsonl(staging / TABLES_DIR))
    finally:
        engine.dispose()


TableRows = Callable[[str], Iterable[dict[str, Any]]]
"""The rows of one table by name (an empty iterable for a table the snapshot lacks)."""


@contextlib.contextmanager
def _sqlite_source(path: Path) -> Iterator[Connection]:
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _rows_of_sqlite(path: Path) -> TableRows:
    """Rows of a SQLite snapshot (restoring a SQLite backup into PostgreSQL)."""

    def rows(name: str) -> Iterator[dict[str, Any]]:
        with _sqlite_source(path) as connection:
            source = MetaData()
            source.reflect(connection, only=lambda table, _meta: table == name)
            if name not in source.tables:
                return
            for row in connection.execute(select(source.tables[name])).mappings():
                yield {k: _decode(_encode(v)) for k, v in row.items()}  # naive SQLite times are UTC

    return rows


def _rows_of_jsonl(folder: Path) -> TableRows:
    def rows(name: str) -> Iterator[dict[str, Any]]:
        path = folder / f"{name}.jsonl"
        if not path.exists():
            return
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                yield {k: _decode(v) for k, v in json.loads(line).items()}

    return rows


def _load_rows(connection: Connection, rows_of: TableRows) -> None:
    """Insert every table's rows parents first; foreign keys in a cycle are filled in afterwards."""
    target = MetaData()
    target.reflect(connection)
    tables = [t for t in target.tables.values() if t.name != ALEMBIC_TABLE]
    ordered = _parents_first(tables)
    cyclic = [fk for table, fks in ordered if table is None for fk in fks]
    deferred: dict[str, set[str]] = {}
    for fk in cyclic:
        deferred.setdefault(fk.parent.name, set()).update(fk.column_keys)
    pending = []
    for table, _ in ordered:
        if table is None or table.name == ALEMBIC_TABLE:
            continue
        connection.execute(table.delete())  # rows a migration wrote (e.g. seeded state) give way
        later = _insert_rows(connection, table, rows_of(table.name), deferred.get(table.name, set()))
        pending.append((table, later))
    for table, later in pending:  # every referred row exists now
        _fill_deferred(connection, table, later)


def _parents_first(tables: list[Table]) -> list[tuple[Table | None, list[ForeignKeyConstraint]]]:
    """Tables in insert order; a cycle (documents ↔ document_versions) is broken at its nullable keys."""
    first = sort_tables_and_constraints(tables)
    in_cycles = {
        t.name for table, fks in first if table is None for fk in fks for t in (fk.parent, fk.referred_table)
    }

    def break_at_nullable(fk: ForeignKeyConstraint) -> bool | None:
        if fk.parent.name in in_cycles and fk.referred_table.name in in_cycles:
            return all(column.nullable for column in fk.columns)
        return None

    return sort_tables_and_constraints(tables, filter_fn=break_at_nullable)


def _insert_rows(
    connection: Connection, table: Table, rows: Iterable[dict[str, Any]], deferred: set[str]
) -> list[dict[str, Any]]:
    """Insert in batches with ``deferred`` columns empty; the (key, deferred values) to set later."""
    keys = [column.name for column in table.primary_key.columns]
    later: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    for row in rows:
        held = {c: row[c] for c in deferred if row.get(c) is not None}
        if held:
            later.append({**{f"pk_{k}": row[k] for k in keys}, **held})
        batch.append({**row, **dict.fromkeys(held)} if held else row)
        if len(batch) >= INSERT_BATCH:
            connection.execute(table.insert(), batch)
            batch = []
    if batch:
        connection.execute(table.insert(), batch)
    return later


def _fill_deferred(connection: Connection, table: Table, later: list[dict[str, Any]]) -> None:
    if not later:
        return
    keys = [column.name for column in table.primary_key.columns]
    for column in sorted({c for row in later for c in row if not c.startswith("pk_")}):
        rows = [{**{f"pk_{k}": r[f"pk_{k}"] for k in keys}, "value": r[column]} for r in later if column in r]
        statement = table.update().values({column: bindparam("value")})
        for key in keys:
            statement = statement.where(table.c[key] == bindparam(f"pk_{key}"))
        connection.execute(statement, rows)


def _move_originals(staging: Path, originals_dir: Path) -> int:
    count = 0
    make_private_dir(originals_dir)
    for path in sorted((staging / ORIGINALS_DIR).glob("*/*")):
        if not KEY_RE.match(path.name):
            continue
        target = originals_dir / path.name[:2] / path.name
        make_private_dir(target.parent)
        path.replace(target)
        count += 1
    return count


def _check_counts(container: Container, manifest: dict[str, Any]) -> None:
    """The restored index must hold what the backup's manifest says (else a BackupError)."""
    expected = int(manifest["index"]["current_chunks"])
    chunks = len(current_chunk_ids(container.sessions))
    vectors = container.index.vectors.count()
    if chunks != expected or vectors != expected:
        raise BackupError(
            f"복원 뒤 청크 수가 백업과 다릅니다: 백업 {expected}, SQL {chunks}, 벡터 {vectors}",
            f"after the restore the chunk counts differ from the backup: {expected} in the backup, "
            f"{chunks} in SQL, {vectors} vectors",
        )


# --- reindex ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class ReindexReport:
    """What :func:`reindex` did."""

    resumed: bool
    vectors: VectorRebuildReport
    lexical_rows: int


def busy_jobs(sessions: sessionmaker[Session]) -> int:
    """Ingestion jobs queued or running (a rebuild waits until there are none)."""
    with sessions() as session:
        count = session.scalar(
            select(func.count()).select_from(IngestionJob).where(IngestionJob.status.in_(BUSY))
        )
    return int(count or 0)


def reindex(
    container: Container,
    *,
    fresh: bool = False,
    say: Say = _quiet,
    progress: RebuildProgress | None = None,
    batch: int = REBUILD_BATCH,
) -> ReindexReport:
    """Rebuild Chroma and BM25 from the chunks in SQL; resumable after an interruption.

    ``fresh`` first drops the vector collection (another embedding model, a damaged collection).
    An unfinished run leaves a marker in the data directory; the next run resumes it (without
    dropping again) and embeds only the chunks that still have no vector. Call it before the
    container's index is used: the saved BM25 files are discarded and BM25 is read again from SQL.
    """
    settings = container.settings
    marker = settings.data_dir / REINDEX_STATE
    state = _read_marker(marker)
    resumed = state is not None
    if state is None:
        state = {"fresh": fresh, "dropped": False, "started_at": datetime.now(UTC).isoformat()}
        _write_marker(marker, state)
    else:
        say(f"중단된 재색인을 이어서 합니다 / resuming the reindex started {state.get('started_at')}")
        if fresh and not state.get("fresh"):  # e.g. the model changed: the interrupted run could not go on
            state.update(fresh=True, dropped=False)
    if state.get("fresh") and not state.get("dropped"):
        say(f"벡터 컬렉션 삭제 / dropping the vector collection {settings.chroma.collection!r}")
        _drop_vectors(settings)
        state["dropped"] = True
        _write_marker(marker, state)
    discard_lexical_files(settings.bm25_dir)

    def report(done: int, total: int) -> None:
        say(f"  벡터 / vectors [{done}/{total}]")
        if progress is not None:
            progress(done, total)

    vectors = rebuild_vectors(container.index, report, batch)
    say("BM25 다시 만들기 / rebuilding BM25 from SQL")
    lexical_rows = rebuild_lexical(container.index)
    marker.unlink(missing_ok=True)
    return ReindexReport(resumed, vectors, lexical_rows)


def _read_marker(path: Path) -> dict[str, Any] | None:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"fresh": True, "dropped": False}  # unreadable: start over the safe way
    return state if isinstance(state, dict) else {"fresh": True, "dropped": False}


def _write_marker(path: Path, state: dict[str, Any]) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(state), encoding="utf-8")
    temp.replace(path)
