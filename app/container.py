"""Builds every long-lived component once, from one settings object, and wires them together."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.auth.identity import IdentityProvider, LocalPasswordProvider
from app.auth.ldap import LdapDirectory
from app.auth.oidc_accounts import purge_stale_logins
from app.services.accounts import purge_expired_sessions
from app.services.adapters import AdapterRouter
from app.services.chat import ChatService, is_bundled_model
from app.services.identity_sync import LdapPasswordProvider, sync_if_due
from core.db import make_engine, make_session_factory
from core.migrate import upgrade_to_head
from core.private_files import make_private_dir, sqlite_file, tighten, touch_private
from core.settings import Settings
from ingest.chunker import Chunker
from ingest.jobs import HOUSEKEEPING_EVERY_S, JobQueue, JobRunner
from ingest.originals import OriginalStore
from ingest.pipeline import IngestPipeline
from ingest.recovery import RecoveryReport, recover
from llm.client import ChatModel, OpenAIChatModel
from llm.paraphrase import NounSimilarity
from retrieval.embedder import Embedder, build_embedder
from retrieval.index import SearchIndex
from retrieval.lexical import LexicalIndex
from retrieval.rerank import build_reranker
from retrieval.search import HybridSearcher
from retrieval.tokenizer import KiwiTokenizer, LexicalTokenizer
from retrieval.vectors import open_vector_store

if TYPE_CHECKING:
    from app.services.eval_runs import EvalRunner, GateRunner


LDAP_CHECK_EVERY_S = 60.0


@dataclass
class Container:
    """The application's components; heavy ones are created on first use."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    embedder_override: Embedder | None = None
    chat_model_override: ChatModel | None = None
    tokenizer_override: LexicalTokenizer | None = None

    @cached_property
    def embedder(self) -> Embedder:
        """The dense embedding model."""
        return self.embedder_override or build_embedder(
            self.settings.embedding, cache_dir=self.settings.models_dir / "onnx"
        )

    @cached_property
    def tokenizer(self) -> LexicalTokenizer:
        """Kiwi morpheme tokenizer for BM25."""
        return self.tokenizer_override or KiwiTokenizer()

    @cached_property
    def index(self) -> SearchIndex:
        """The three-store search index."""
        retrieval = self.settings.retrieval
        index = SearchIndex(
            sessions=self.sessions,
            vectors=open_vector_store(self.settings.chroma, self.settings.data_dir),
            embedder=self.embedder,
            tokenizer=self.tokenizer,
            lexical=LexicalIndex(retrieval.bm25_k1, retrieval.bm25_b),
            lexical_dir=self.settings.bm25_dir,
        )
        index.load_dictionary()  # company terms from SQL into Kiwi before anything is tokenized
        return index

    @cached_property
    def searcher(self) -> HybridSearcher:
        """Hybrid permission-aware search."""
        reranker = build_reranker(self.settings.retrieval, self.settings.embedding.device)
        return HybridSearcher(self.index, self.settings.retrieval, reranker=reranker)

    @cached_property
    def originals(self) -> OriginalStore:
        """Uploaded originals on disk."""
        return OriginalStore(self.settings.originals_dir)

    @cached_property
    def pipeline(self) -> IngestPipeline:
        """The ingestion pipeline writing into the index."""
        chunker = Chunker(self.settings.chunking)
        return IngestPipeline(self.sessions, self.index, self.originals, chunker, self.settings.ingest)

    @cached_property
    def jobs(self) -> JobQueue:
        """The ingestion job queue in SQL."""
        return JobQueue(self.sessions, self.originals, self.settings.jobs)

    def job_runner(self) -> JobRunner:
        """A new worker over the queue (one per thread or process)."""
        ldap = self.settings.auth.ldap
        return JobRunner(
            self.jobs,
            self.pipeline,
            on_idle=self.index.checkpoint,
            housekeeping=self.housekeeping,
            # With a periodic LDAP sync, look every minute whether it is due (the sync keeps its own
            # interval), so it starts within a minute of it rather than at the next 10-minute clean-up.
            housekeeping_every_s=LDAP_CHECK_EVERY_S
            if ldap.enabled and ldap.sync_interval_minutes > 0
            else HOUSEKEEPING_EVERY_S,
        )

    def housekeeping(self) -> int:
        """Clean-up a worker runs while idle: login sessions that ended and single sign-ons abandoned
        more than a day ago; how many.
        Also the periodic LDAP sync when it is due (``auth.ldap.sync_interval_minutes``)."""
        with self.sessions.begin() as session:
            purged = purge_expired_sessions(session)
            purged += purge_stale_logins(session)  # SSO sign-ins abandoned a day ago
        sync_if_due(self.sessions, self.ldap_directory)
        return purged

    def recover(self) -> RecoveryReport:
        """Requeue jobs of dead workers and bring the stores back into agreement."""
        return recover(self.sessions, self.jobs, self.index, self.originals)

    @cached_property
    def chat_model(self) -> ChatModel:
        """The chat model, reached over the OpenAI protocol."""
        return self.chat_model_override or OpenAIChatModel(self.settings.llm, self.llm_base_url)

    @cached_property
    def chat_service(self) -> ChatService:
        """Cited answers: search, context, the model's stream, citations and evidence."""
        llm = self.settings.llm
        bundled = is_bundled_model(llm) and self.chat_model_override is None
        return ChatService(
            self.searcher,
            self.chat_model,
            llm,
            self.settings.ingest.pii_mode,
            small_model=bundled,
            route=self.adapter_router.adapter_for if llm.adapters else None,
            similarity=self.tokenizer if isinstance(self.tokenizer, NounSimilarity) else None,
        )

    @cached_property
    def adapter_router(self) -> AdapterRouter:
        """Which fine-tuned adapter (if any) answers a caller, from the groups' assignments."""
        return AdapterRouter(self.sessions, self.settings.llm)

    @cached_property
    def identity(self) -> IdentityProvider:
        """Checks user names and passwords at login (local accounts, then the LDAP directory if any)."""
        if self.ldap_directory is not None:
            return LdapPasswordProvider(LocalPasswordProvider(), self.ldap_directory)
        return LocalPasswordProvider()

    @cached_property
    def ldap_directory(self) -> LdapDirectory | None:
        """The LDAP / Active Directory server (``auth.ldap``), or None when not configured."""
        return LdapDirectory(self.settings.auth.ldap) if self.settings.auth.ldap.enabled else None

    @cached_property
    def eval_runner(self) -> EvalRunner:
        """Background retrieval evaluations of the live index (admin API)."""
        # Imported here: the evaluation service builds containers of its own (an import cycle otherwise).
        from app.services.eval_runs import EvalRunner

        return EvalRunner(self.settings.data_dir / "eval", self.settings.eval_dataset)

    @cached_property
    def gate_runner(self) -> GateRunner:
        """Background release-gate runs (admin API), kept in SQL; reports under ``<data_dir>/eval/gate``."""
        from app.services.eval_runs import GateRunner

        return GateRunner(self.settings.data_dir / "eval" / "gate")

    def close(self) -> None:
        """Release what this container opened: the parsing helper, Chroma's files, SQL connections.

        Each embedded Chroma client holds about a dozen open files until it is closed.
        """
        built = self.__dict__
        with ExitStack() as closing:  # last registered runs first; one failing does not stop the rest
            closing.callback(self.engine.dispose)
            if "index" in built:
                closing.callback(built["index"].vectors.close)
            if "pipeline" in built:
                closing.callback(built["pipeline"].close)

    @property
    def llm_base_url(self) -> str:
        """The configured server (vLLM) or the embedded llama.cpp server's address."""
        llm = self.settings.llm
        return llm.base_url or f"http://{llm.host}:{llm.port}/v1"


def build_container(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    chat_model: ChatModel | None = None,
    tokenizer: LexicalTokenizer | None = None,
) -> Container:
    """Create the data directory, migrate the database and return the wired components.

    The data directory, the SQLite database and stored originals are owner-only (0700/0600); looser
    ones left by an older release are tightened here, with a log line.
    """
    database = sqlite_file(settings.database_url)
    tighten(settings.data_dir, database, settings.originals_dir)
    make_private_dir(settings.data_dir)
    if database is not None and database.parent.is_dir():
        touch_private(database)
    engine = make_engine(settings.database_url, echo=settings.database.echo)
    upgrade_to_head(engine)
    return Container(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        embedder_override=embedder,
        chat_model_override=chat_model,
        tokenizer_override=tokenizer,
    )
