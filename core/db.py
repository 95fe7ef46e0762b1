"""SQL plumbing shared by every package: declarative base, engine and session factories."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with an explicit constraint naming convention (stable Alembic diffs)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


IN_LIST_BATCH = 1000
"""The most ids one ``IN (…)`` list carries (SQLite's and PostgreSQL's parameter limits stay far away)."""


def in_batches(ids: Sequence[str], size: int = IN_LIST_BATCH) -> list[Sequence[str]]:
    """``ids`` cut into runs of at most ``size``, for queries that take them as an ``IN`` list."""
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def new_id() -> str:
    """A new random primary key (32 hex characters)."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


PG_CONNECT_TIMEOUT_S = 5
"""Seconds to wait for a PostgreSQL connection."""


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout for concurrent processes."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # Connections are checked before use (a restarted server is used again at once) and a server that
    # does not answer fails the connection after a few seconds instead of the OS's minutes.
    connect_args = {} if "connect_timeout" in url else {"connect_timeout": PG_CONNECT_TIMEOUT_S}
    return create_engine(url, echo=echo, pool_pre_ping=True, connect_args=connect_args)


def upsert_for(session: Session) -> Callable[..., Any]:
    """The ``insert`` construct of the session's dialect, which has ``on_conflict_do_*``."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with factory() as session, session.begin():
        yield session


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database.

    SQLite stores no offset and hands back naive values; this type stores UTC and always returns an
    aware datetime, so API responses carry a proper RFC 3339 offset everywhere.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        """Store in UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        """Read back as aware UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
