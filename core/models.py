"""The SQL schema (SQLAlchemy 2.0 typed ORM), grouped by aggregate.

Documents: a document has versions; exactly one is current (``Document.current_version_id``), and
search only returns chunks of current versions, so switching versions is one atomic SQL update.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UtcDateTime, new_id, utcnow

# --- identity -----------------------------------------------------------------------------------

user_groups = Table(
    "user_groups",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
)

document_groups = Table(
    "document_groups",
    Base.metadata,
    Column("document_id", ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
)


class Group(Base):
    """A department or team; documents are shared with groups."""

    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("origin", "external_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Where the group is managed: local (admins), ldap (mapped directory group), scim (provisioned).
    # ``external_id`` is the source's id for it (a DN, a SCIM externalId), unique per origin.
    origin: Mapped[str] = mapped_column(String(20), default="local", server_default="local")
    external_id: Mapped[str | None] = mapped_column(String(500), nullable=True)


class User(Base):
    """A person who signs in (admin or employee)."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("origin", "external_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(200), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(500), nullable=True)
    role: Mapped[str] = mapped_column(String(20), default="employee")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set for a password someone else chose (the generated first admin): every route but changing
    # it, /auth/me and logout answers 403 until the user picks their own.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Where the account comes from: local (password here), oidc, ldap, scim. ``external_id`` is the
    # source's stable id for the person (OIDC issuer+subject, LDAP entryUUID/objectGUID or DN, SCIM
    # externalId or id), unique per origin; NULL for local accounts.
    origin: Mapped[str] = mapped_column(String(20), default="local", server_default="local", index=True)
    external_id: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # The e-mail address the identity source gives (OIDC ``email`` claim); informational.
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)

    groups: Mapped[list[Group]] = relationship(secondary=user_groups, lazy="selectin")


class AuthSession(Base):
    """A signed-in browser or client session; the token itself is never stored, only its hash."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class OidcLogin(Base):
    """One sign-in through an OpenID Connect provider, from the redirect to the session it opened.

    ``state_hash`` and ``browser_hash`` (SHA-256 of the ``state`` parameter and of the cookie that binds
    the sign-in to the browser that started it) are matched at the callback; the PKCE verifier and nonce
    are kept only until then. The callback sets ``handoff_hash``: the one-time code the UI exchanges
    for the session (``used_at``, ``session_id``).
    """

    __tablename__ = "oidc_logins"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    provider: Mapped[str] = mapped_column(String(40))
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    browser_hash: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str | None] = mapped_column(String(100), nullable=True)
    code_verifier: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    handoff_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    session_id: Mapped[str | None] = mapped_column(
        ForeignKey("auth_sessions.id", ondelete="SET NULL"), nullable=True, index=True
    )


class ApiKey(Base):
    """A named, scoped key for an internal tool; only the secret's hash is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(20), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The key this one was made through (None: made in a login session); revoking a key revokes
    # every key below it.
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True, index=True
    )
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    group_ids: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


# --- documents ----------------------------------------------------------------------------------


class Document(Base):
    """A logical document; its content lives in versions."""

    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(500))
    display_name: Mapped[str] = mapped_column(String(500))
    source_key: Mapped[str | None] = mapped_column(String(1000), unique=True, nullable=True)
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    title_locked: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    """An admin renamed it: new versions keep that title instead of the one read from the file."""
    current_version_id: Mapped[str | None] = mapped_column(
        ForeignKey("document_versions.id", use_alter=True, ondelete="SET NULL"), nullable=True
    )
    uploaded_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    groups: Mapped[list[Group]] = relationship(secondary=document_groups, lazy="selectin")


class DocumentVersion(Base):
    """One immutable upload of a document's content."""

    __tablename__ = "document_versions"
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    file_key: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(20))
    size_bytes: Mapped[int] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(10), nullable=True)
    effective_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Chunk(Base):
    """A retrievable piece of a document version, with where it came from."""

    __tablename__ = "chunks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[str] = mapped_column(
        ForeignKey("document_versions.id", ondelete="CASCADE"), index=True
    )
    ordinal: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    section_path: Mapped[str] = mapped_column(Text, default="")
    article: Mapped[str | None] = mapped_column(String(200), nullable=True)
    page: Mapped[int | None] = mapped_column(Integer, nullable=True)
    location: Mapped[str | None] = mapped_column(String(500), nullable=True)
    token_count: Mapped[int] = mapped_column(Integer, default=0)
    lexical_tokens: Mapped[str] = mapped_column(Text, default="")
    terms_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0", index=True)
    """The company-dictionary version whose change last re-cut ``lexical_tokens`` (0: as written).

    A process whose BM25 holds terms of dictionary version *d* re-reads only the chunks above *d*.
    """


class IndexState(Base):
    """A monotonically increasing version per index, so processes know when to reload."""

    __tablename__ = "index_state"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


# --- jobs ---------------------------------------------------------------------------------------


class IngestionJob(Base):
    """One file's trip through the ingestion pipeline."""

    __tablename__ = "ingestion_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    filename: Mapped[str] = mapped_column(String(500))
    file_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    source_key: Mapped[str | None] = mapped_column(String(1000), nullable=True, index=True)
    document_id: Mapped[str | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL"), nullable=True, index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str] = mapped_column(String(50), default="")
    error_code: Mapped[str | None] = mapped_column(String(50), nullable=True)
    error_ko: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_en: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


# --- chat ---------------------------------------------------------------------------------------


class Conversation(Base):
    """A chat thread of one user."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Message(Base):
    """One turn in a conversation, with the sources an answer cited and its cost."""

    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text)
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="complete")
    grounded: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    search_query: Mapped[str | None] = mapped_column(Text, nullable=True)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    faithfulness: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    context_document_ids: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    """An answer's documents: its sources and those of the earlier answers the model was given as
    history (None for answers stored before it was recorded: read as depending on every earlier one)."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Feedback(Base):
    """An employee's 👍/👎 on an answer, with an optional comment (one per user and message)."""

    __tablename__ = "message_feedback"
    __table_args__ = (UniqueConstraint("message_id", "user_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class GoldenItem(Base):
    """One version of a golden item: a question with its reference answer and supporting documents.

    An item (``item_id``) is a chain of immutable versions; editing or retiring one adds a version and
    moves ``is_current`` to it. ``group_ids`` are the groups it belongs to: every document in
    ``document_ids`` is visible to each of them (checked on every write).
    """

    __tablename__ = "golden_items"
    __table_args__ = (UniqueConstraint("item_id", "version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    item_id: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[int] = mapped_column(Integer)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    question: Mapped[str] = mapped_column(Text)
    answers: Mapped[list[str]] = mapped_column(JSON, default=list)
    document_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    article: Mapped[str | None] = mapped_column(String(200), nullable=True)
    group_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    source_feedback_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    source_message_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class GateRun(Base):
    """One release-gate run: the current configuration against a candidate (settings overrides).

    ``status`` is queued, running, passed, failed (a metric fell beyond its tolerance) or error;
    ``passed`` is set once it finished (None before and on error). ``candidate`` is the overrides as a
    settings tree, e.g. ``{"llm": {"adapter": "인사팀"}}``; ``metrics`` holds each evaluation side by side
    (``{"answers": [...], "retrieval": {...}}``), ``regressions`` the items that got worse (each with
    the ``group_ids`` of its golden item, so reports can be narrowed to a viewer's groups).
    """

    __tablename__ = "gate_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    origin: Mapped[str] = mapped_column(String(20), default="api")  # api or cli
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    candidate: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    label: Mapped[str] = mapped_column(String(200), default="")
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    regressions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    tolerances: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    n_questions: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class AdapterAssignment(Base):
    """Which fine-tuned adapter (a name from ``llm.adapters``) answers a group's questions.

    Switched on only by a gate run that passed with the adapter as its candidate (``gate_run_id``) or by
    an admin override with a reason (``override_reason``, also in the audit log); ``enabled`` false keeps
    the row as history after it was switched off. One row per group.
    """

    __tablename__ = "adapter_assignments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    group_id: Mapped[str] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), unique=True)
    adapter: Mapped[str] = mapped_column(String(100), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    gate_run_id: Mapped[str | None] = mapped_column(ForeignKey("gate_runs.id", ondelete="SET NULL"))
    override_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    changed_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


# --- governance ---------------------------------------------------------------------------------


class DictionaryTerm(Base):
    """A company term (product, team, acronym) Kiwi must keep whole."""

    __tablename__ = "dictionary_terms"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    term: Mapped[str] = mapped_column(String(100), unique=True)
    tag: Mapped[str] = mapped_column(String(10), default="NNP")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class AuditEvent(Base):
    """Who did what to which object, for admins to query (search, ask, download, changes)."""

    __tablename__ = "audit_events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    user_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    api_key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    action: Mapped[str] = mapped_column(String(50), index=True)
    target_type: Mapped[str | None] = mapped_column(String(50), nullable=True)
    target_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    outcome: Mapped[str] = mapped_column(String(20), default="ok")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    client_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)


class UsageEvent(Base):
    """One metered request (search or chat) with its tokens, for per-user/key/day usage."""

    __tablename__ = "usage_events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    day: Mapped[date] = mapped_column(Date, index=True)
    user_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    api_key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    kind: Mapped[str] = mapped_column(String(20))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)


class IdentitySync(Base):
    """The last run of one directory sync source (``ldap``, ``scim``): when, how it went, what changed."""

    __tablename__ = "identity_sync"

    source: Mapped[str] = mapped_column(String(50), primary_key=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="never")  # never, ok, error, running
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class RateCounter(Base):
    """Requests counted in one rate-limit window, shared by every API process (one row per window)."""

    __tablename__ = "rate_counters"

    scope: Mapped[str] = mapped_column(String(20), primary_key=True)  # api, chat, login
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of user, key or name
    window_index: Mapped[int] = mapped_column(Integer, primary_key=True)  # start time // window length
    hits: Mapped[int] = mapped_column(Integer, default=0)
