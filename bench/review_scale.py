"""The admin review lists at scale: ``GET /api/v1/feedback`` and ``GET /api/v1/golden`` over many rated
answers and golden items, on a SQLite file and on PostgreSQL.

Usage: python -m bench.review_scale [--sizes 1000,10000] [--db sqlite|postgresql|both] [--repeat 15]
                                    [--baseline REV] [--postgres-url URL]

For each size N a fresh database gets N rated answers over realistic conversations (2-6 turns each,
answers citing 3-5 documents with their snippets, history documents recorded, one conversation in ten
stored before they were, as old answers are), 8 groups, users in one or two of them, 300 documents
(public, shared with one or two groups, a few deleted) and N golden items (some with an older version,
some promoted from a rating). Then the route functions of app/api/golden.py (``list_feedback``,
``list_golden``: what a request runs, without HTTP) are timed, a new session per call as per request,
for the first page and a deep page (90 % of the total) of: the full admin unfiltered and with a
``document_id``; an admin key narrowed to two groups, unfiltered and with that ``document_id``; the
golden list for both.

``--baseline REV`` also runs the same calls through app/services/golden.py,
app/services/feedback_review.py and app/api/golden.py as they were at git revision ``REV`` (read
with ``git show``), on the same database, and checks that both give the same total and items.
Without ``--postgres-url`` a throwaway PostgreSQL server is started as in the tests.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
import types
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.orm import Session, sessionmaker

import app.api.golden as golden_api
from app.auth.principal import ALL_SCOPES, Principal
from bench.common import REPO, machine
from core.db import make_engine, make_session_factory, new_id
from core.migrate import upgrade_to_head
from core.models import (
    Conversation,
    Document,
    DocumentVersion,
    Feedback,
    GoldenItem,
    Group,
    Message,
    User,
    document_groups,
    user_groups,
)
from retrieval.evaluation import percentile as pct
from tests.postgres import fresh_database, postgres_server

GROUPS = ("인사팀", "재무팀", "영업팀", "개발팀", "법무팀", "총무팀", "마케팅팀", "구매팀")
DOCUMENTS = 300
NARROWED_TO = 2  # the narrowed key's groups: the first two
LIMIT = 50
MODULES = ("app.services.golden", "app.services.feedback_review", "app.api.golden")
START = datetime(2026, 1, 1, tzinfo=UTC)
SNIPPET = "제12조(연차휴가) ① 1년간 80퍼센트 이상 출근한 근로자에게는 15일의 유급휴가를 준다. " * 3


# --- the data ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class World:
    """What the timed calls need to know about the generated data."""

    admin_id: str
    groups: list[str]
    document_id: str  # a document of the narrowed key's first group that many answers cite


def _documents(session: Session, rng: random.Random, groups: list[str]) -> dict[str, Any]:
    """300 documents: 15 % public, the rest shared with one group (a fifth of them with two), 3 %
    deleted. Returns the document ids visible to each group (public ones included) and the public ids."""
    docs, versions, shares = [], [], []
    by_group: dict[str, list[str]] = {g: [] for g in groups}
    public: list[str] = []
    for number in range(DOCUMENTS):
        doc_id, version_id = new_id(), new_id()
        is_public = rng.random() < 0.15
        deleted = rng.random() < 0.03
        docs.append(
            {
                "id": doc_id,
                "title": f"규정 {number}",
                "display_name": f"규정_{number}.pdf",
                "is_public": is_public,
                "current_version_id": None,
                "created_at": START,
                "updated_at": START,
            }
        )
        versions.append(
            {
                "id": version_id,
                "document_id": doc_id,
                "number": 1,
                "content_hash": new_id(),
                "file_key": new_id(),
                "format": "pdf",
                "size_bytes": 1000,
                "chunk_count": 10,
                "created_at": START,
                "deleted": deleted,
            }
        )
        if is_public:
            public.append(doc_id)
        else:
            shared = rng.sample(groups, 2 if rng.random() < 0.2 else 1)
            shares += [{"document_id": doc_id, "group_id": g} for g in shared]
            for g in shared:
                by_group[g].append(doc_id)
    session.execute(insert(Document), docs)
    session.execute(
        insert(DocumentVersion), [{k: v for k, v in r.items() if k != "deleted"} for r in versions]
    )
    current = [
        {"id": doc["id"], "current_version_id": version["id"]}
        for doc, version in zip(docs, versions, strict=True)
        if not version["deleted"]
    ]
    session.execute(update(Document), current)
    session.execute(insert(document_groups), shares)
    return {"by_group": by_group, "public": public}


def _users(session: Session, rng: random.Random, groups: list[str], count: int) -> dict[str, list[str]]:
    """``count`` employees, each in one group (three in ten in two); their groups by user id."""
    users, members = [], []
    groups_of: dict[str, list[str]] = {}
    for number in range(count):
        user_id = new_id()
        users.append({"id": user_id, "username": f"user{number}", "role": "employee", "created_at": START})
        groups_of[user_id] = rng.sample(groups, 2 if rng.random() < 0.3 else 1)
        members += [{"user_id": user_id, "group_id": g} for g in groups_of[user_id]]
    session.execute(insert(User), users)
    session.execute(insert(user_groups), members)
    return groups_of


def _answer_sources(rng: random.Random, visible: list[str]) -> list[dict[str, Any]]:
    picked = rng.sample(visible, min(len(visible), rng.randint(3, 5)))
    cited = rng.randint(1, 2)
    return [
        {
            "number": n,
            "chunk_id": new_id(),
            "document_id": doc,
            "version_id": new_id(),
            "title": "취업규칙",
            "file_name": "취업규칙.pdf",
            "label": "취업규칙 제12조",
            "article": "제12조",
            "page": 3,
            "location": None,
            "section": "제3장 > 제12조",
            "snippet": SNIPPET[:240],
            "score": 0.5,
            "cited": n <= cited,
        }
        for n, doc in enumerate(picked, start=1)
    ]


def _conversations(
    session: Session,
    rng: random.Random,
    groups_of: dict[str, list[str]],
    documents: dict[str, Any],
    size: int,
) -> list[dict[str, Any]]:
    """Conversations until ``size`` answers are rated; the feedback rows (also inserted)."""
    users = list(groups_of)
    conversations: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    feedback: list[dict[str, Any]] = []
    while len(feedback) < size:
        user = rng.choice(users)
        topic = rng.choice(groups_of[user])
        # what the user saw then: mostly the topic's documents, some public and other groups' ones
        mine = [d for g in groups_of[user] for d in documents["by_group"][g]]
        visible = documents["by_group"][topic] * 3 + mine + documents["public"]
        conversation_id = new_id()
        began = START + timedelta(minutes=rng.randrange(365 * 24 * 60))
        conversations.append(
            {
                "id": conversation_id,
                "user_id": user,
                "title": "연차 문의",
                "created_at": began,
                "updated_at": began,
            }
        )
        legacy = rng.random() < 0.1
        earlier: set[str] = set()
        at = began
        for turn in range(rng.randint(2, 6)):
            at += timedelta(minutes=1)
            messages.append(
                _message(conversation_id, "user", f"연차휴가는 며칠인가요? ({turn})", at, [], [], None)
            )
            sources = _answer_sources(rng, visible)
            own = {s["document_id"] for s in sources}
            earlier |= own
            at += timedelta(seconds=5)
            evidence = [{"source": 1, "sentence": SNIPPET[:80], "score": 0.8}]
            context = None if legacy else sorted(earlier)
            answer = _message(conversation_id, "assistant", SNIPPET + " [1]", at, sources, evidence, context)
            messages.append(answer)
            if rng.random() < 0.6 and len(feedback) < size:
                feedback.append(
                    {
                        "id": new_id(),
                        "message_id": answer["id"],
                        "user_id": user,
                        "rating": 1 if rng.random() < 0.7 else -1,
                        "comment": "정확해요" if rng.random() < 0.4 else "",
                        "created_at": at + timedelta(minutes=rng.randint(0, 600)),
                    }
                )
    for rows, table in ((conversations, Conversation), (messages, Message), (feedback, Feedback)):
        for start in range(0, len(rows), 5000):
            session.execute(insert(table), rows[start : start + 5000])
    return feedback


def _message(
    conversation_id: str,
    role: str,
    content: str,
    at: datetime,
    sources: list[dict[str, Any]],
    evidence: list[dict[str, Any]],
    context: list[str] | None,
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "conversation_id": conversation_id,
        "role": role,
        "content": content,
        "sources": sources,
        "evidence": evidence,
        "model": "solar" if role == "assistant" else None,
        "status": "complete",
        "grounded": True if role == "assistant" else None,
        "context_document_ids": context,
        "created_at": at,
    }


def _golden(
    session: Session,
    rng: random.Random,
    groups: list[str],
    documents: dict[str, Any],
    feedback: list[dict[str, Any]],
    size: int,
) -> None:
    """``size`` golden items: one or two groups (one in ten: none), documents every group sees, a few
    promoted from a rating, one in ten with an older version of another group."""
    rows = []
    for number in range(size):
        item_id = new_id()
        own = rng.sample(groups, 1 if rng.random() < 0.8 else 2)
        item_groups = [] if rng.random() < 0.1 else own
        pool = documents["public"] if len(item_groups) != 1 else documents["by_group"][item_groups[0]]
        source = rng.choice(feedback) if rng.random() < 0.3 else None
        created = START + timedelta(minutes=number)
        common = {
            "item_id": item_id,
            "status": "active" if rng.random() < 0.9 else "retired",
            "question": f"연차휴가는 며칠인가요? {number}",
            "answers": ["15일"],
            "document_ids": rng.sample(pool, min(len(pool), rng.randint(1, 3))),
            "article": "제12조",
            "source_feedback_id": source["id"] if source else None,
            "source_message_id": source["message_id"] if source else None,
            "created_at": created,
        }
        if rng.random() < 0.1:
            older = {**common, "group_ids": rng.sample(groups, 1), "created_at": created - timedelta(days=1)}
            rows.append({**older, "id": new_id(), "version": 1, "is_current": False})
            rows.append(
                {**common, "group_ids": item_groups, "id": new_id(), "version": 2, "is_current": True}
            )
        else:
            rows.append(
                {**common, "group_ids": item_groups, "id": new_id(), "version": 1, "is_current": True}
            )
    for start in range(0, len(rows), 5000):
        session.execute(insert(GoldenItem), rows[start : start + 5000])


def fill(sessions: sessionmaker[Session], size: int, seed: int = 7) -> World:
    """A database with ``size`` rated answers and ``size`` golden items (see the module docstring)."""
    rng = random.Random(seed)
    with sessions.begin() as session:
        groups = [new_id() for _ in GROUPS]
        session.execute(
            insert(Group),
            [{"id": g, "name": n, "created_at": START} for g, n in zip(groups, GROUPS, strict=True)],
        )
        admin_id = new_id()
        session.execute(
            insert(User), [{"id": admin_id, "username": "admin", "role": "admin", "created_at": START}]
        )
        documents = _documents(session, rng, groups)
        groups_of = _users(session, rng, groups, max(50, size // 40))
        feedback = _conversations(session, rng, groups_of, documents, size)
        _golden(session, rng, groups, documents, feedback, size)
        cited: Counter[str] = Counter()
        for (sources,) in session.query(Message.sources).filter(Message.role == "assistant"):
            cited.update({s["document_id"] for s in sources})
        first = set(documents["by_group"][groups[0]])
        document_id = max(first, key=lambda d: (cited[d], d))
    return World(admin_id, groups, document_id)


# --- the calls --------------------------------------------------------------------------------------


def load_revision(rev: str) -> types.ModuleType:
    """app/api/golden.py as it was at ``rev``, over that revision's golden and feedback_review services
    (the current modules are put back afterwards)."""
    saved = {name: sys.modules[name] for name in MODULES}
    loaded: dict[str, types.ModuleType] = {}

    def install(name: str, module: types.ModuleType) -> None:
        sys.modules[name] = module
        parent, _, child = name.rpartition(".")
        setattr(sys.modules[parent], child, module)

    try:
        for name in MODULES:
            path = name.replace(".", "/") + ".py"
            source = subprocess.run(
                ["git", "show", f"{rev}:{path}"], cwd=REPO, check=True, capture_output=True, text=True
            ).stdout
            module = types.ModuleType(name)
            module.__file__ = str(REPO / path)
            install(name, module)
            exec(compile(source, f"{rev}:{path}", "exec"), module.__dict__)
            loaded[name] = module
    finally:
        for name, module in saved.items():
            install(name, module)
    return loaded["app.api.golden"]


Call = Callable[[types.ModuleType, Session, int], dict[str, Any]]


def cases(world: World) -> dict[str, tuple[Principal, Call]]:
    """Each list timed: the caller and the route call (module, session, offset) → response body."""
    admin = Principal(world.admin_id, "admin", "admin", frozenset(), frozenset(ALL_SCOPES))
    narrowed = Principal(
        world.admin_id,
        "admin",
        "admin",
        frozenset(world.groups[:NARROWED_TO]),
        frozenset(ALL_SCOPES),
        api_key_id="bench",
        groups_narrowed=True,
    )

    def feedback(caller: Principal, document_id: str | None) -> Call:
        def call(api: types.ModuleType, db: Session, offset: int) -> dict[str, Any]:
            return api.list_feedback(  # type: ignore[no-any-return]
                caller, db, None, None, document_id, None, None, None, LIMIT, offset
            )

        return call

    def golden(caller: Principal) -> Call:
        def call(api: types.ModuleType, db: Session, offset: int) -> dict[str, Any]:
            return api.list_golden(caller, db, "active", None, LIMIT, offset)  # type: ignore[no-any-return]

        return call

    return {
        "feedback, admin": (admin, feedback(admin, None)),
        "feedback, admin, document_id": (admin, feedback(admin, world.document_id)),
        "feedback, narrowed key": (narrowed, feedback(narrowed, None)),
        "feedback, narrowed key, document_id": (narrowed, feedback(narrowed, world.document_id)),
        "golden, admin": (admin, golden(admin)),
        "golden, narrowed key": (narrowed, golden(narrowed)),
    }


def timed(
    sessions: sessionmaker[Session],
    api: types.ModuleType,
    call: Call,
    offset: int,
    repeat: int,
    budget_s: float,
) -> tuple[list[float], dict[str, Any]]:
    """Milliseconds per call (a new session each, as per request; at least 3 calls, then up to
    ``repeat`` within ``budget_s``) and the last response."""
    times: list[float] = []
    body: dict[str, Any] = {}
    began = time.perf_counter()
    while len(times) < repeat and (len(times) < 3 or time.perf_counter() - began < budget_s):
        started = time.perf_counter()
        with sessions() as db:
            body = call(api, db, offset)
        times.append((time.perf_counter() - started) * 1000)
    return times, body


def run_size(
    label: str, sessions: sessionmaker[Session], size: int, args: argparse.Namespace, baseline: Any
) -> None:
    began = time.perf_counter()
    world = fill(sessions, size)
    print(f"\n{label}, N={size}: filled in {time.perf_counter() - began:.1f} s")
    apis = {"after": golden_api} if baseline is None else {"before": baseline, "after": golden_api}
    for name, (_caller, call) in cases(world).items():
        with sessions() as db:
            total = int(call(golden_api, db, 0)["total"])
        for page, offset in (("first", 0), ("deep", max(0, int(total * 0.9) // LIMIT * LIMIT))):
            figures, bodies = [], {}
            for which, api in apis.items():
                with sessions() as db:  # warm
                    call(api, db, offset)
                times, bodies[which] = timed(sessions, api, call, offset, args.repeat, args.budget)
                figures.append(f"{which} p50 {pct(times, 50):8.1f} p95 {pct(times, 95):8.1f}")
            same = (
                ""
                if len(bodies) < 2
                else ("  same" if bodies["before"] == bodies["after"] else "  DIFFERENT")
            )
            print(
                f"  {name:<36} {page:<5} (offset {offset:>5}, total {total:>5})  {' | '.join(figures)} ms{same}"
            )


@contextmanager
def database(
    kind: str, work: Path, stack: ExitStack, server_url: str | None
) -> Iterator[sessionmaker[Session]]:
    if kind == "sqlite":
        url = f"sqlite:///{work / f'review-{time.monotonic_ns()}.db'}"
    else:
        url = stack.enter_context(fresh_database(server_url or stack.enter_context(postgres_server())))
    engine = make_engine(url)
    upgrade_to_head(engine)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--sizes", default="1000,10000", help="rated answers (and golden items), comma-separated"
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=15, help="calls per list and page (at most)")
    parser.add_argument(
        "--budget", type=float, default=20.0, help="seconds per list and page (after 3 calls)"
    )
    parser.add_argument("--baseline", default=None, help="a git revision to time side by side")
    parser.add_argument("--postgres-url", default=None, help="a server where databases may be created")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    baseline = load_revision(args.baseline) if args.baseline else None
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    labels = {"sqlite": "SQLite file (WAL)", "postgresql": "PostgreSQL (Unix socket)"}
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        server = args.postgres_url
        if "postgresql" in kinds and server is None:
            server = stack.enter_context(postgres_server())
        for kind in kinds:
            for size in (int(s) for s in args.sizes.split(",")):
                with ExitStack() as inner, database(kind, work, inner, server) as sessions:
                    run_size(labels[kind], sessions, size, args, baseline)


if __name__ == "__main__":
    main()
