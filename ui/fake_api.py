"""An in-memory stand-in for the Jikji API, for UI tests and offline demos of the pages.

:func:`fake_client` returns a real :class:`ui.api_client.ApiClient` whose HTTP transport is a
:class:`FakeBackend` (``httpx.MockTransport``), so the pages, the client and its SSE parsing run
exactly as against the server. The backend keeps users, groups, documents (with group visibility),
conversations, jobs, keys, dictionary terms and evaluation runs, and records every request.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote

import httpx

from ui.api_client import ApiClient

PASSWORD = "password-123456"  # noqa: S105 — the fake accounts' password
NOW = "2026-03-02T09:00:00+00:00"
Handler = Callable[["FakeBackend", httpx.Request, re.Match[str]], httpx.Response]


def _json(body: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def _problem(status: int, code: str, ko: str, en: str) -> httpx.Response:
    return _json({"status": status, "code": code, "message_ko": ko, "message_en": en}, status)


def _not_found() -> httpx.Response:
    return _problem(404, "not_found", "찾을 수 없습니다.", "Not found.")


@dataclass
class FakeBackend:
    """The fake server's state and request handling."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    conversations: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    terms: dict[str, dict[str, Any]] = field(default_factory=dict)
    eval_runs: list[dict[str, Any]] = field(default_factory=list)
    feedback: dict[str, dict[str, Any]] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    answer: str = "연차휴가는 15일입니다 [1]."
    logo: bytes | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def new_id(self, prefix: str) -> str:
        """A fresh id such as ``doc7``."""
        return f"{prefix}{next(self._ids)}"

    # --- seeding ---------------------------------------------------------------------------

    def add_group(self, name: str) -> dict[str, Any]:
        """A group (made once)."""
        for group in self.groups.values():
            if group["name"] == name:
                return group
        group = {
            "id": self.new_id("g"),
            "name": name,
            "description": "",
            "member_count": 0,
            "created_at": NOW,
        }
        self.groups[group["id"]] = group
        return group

    def add_user(
        self, username: str, *, role: str = "employee", groups: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """A user in ``groups``."""
        user: dict[str, Any] = {
            "id": self.new_id("u"),
            "username": username,
            "display_name": username,
            "role": role,
            "is_active": True,
            "groups": [{"id": g["id"], "name": g["name"]} for g in map(self.add_group, groups)],
            "created_at": NOW,
        }
        self.users[user["id"]] = user
        return user

    def add_document(
        self, title: str, file_name: str, *, groups: tuple[str, ...] = (), public: bool = False
    ) -> str:
        """A ready document shared with ``groups`` (or everyone); its id."""
        document_id = self.new_id("doc")
        self.documents[document_id] = {
            "id": document_id,
            "title": title,
            "display_name": file_name,
            "format": file_name.rsplit(".", 1)[-1],
            "is_public": public,
            "groups": [{"id": g["id"], "name": g["name"]} for g in map(self.add_group, groups)],
            "version_number": 1,
            "version_id": f"{document_id}-v1",
            "chunk_count": 3,
            "size_bytes": 100,
            "language": "ko",
            "effective_date": "2025-03-01",
            "uploaded_by": None,
            "created_at": NOW,
            "updated_at": NOW,
            "status": "ready",
            "content": f"# {title}\n".encode(),
        }
        return document_id

    # --- permissions -----------------------------------------------------------------------

    def user_of(self, request: httpx.Request) -> dict[str, Any] | None:
        """The signed-in user of a request (bearer session token)."""
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        user_id = self.sessions.get(token)
        return self.users.get(user_id) if user_id else None

    def visible(self, user: dict[str, Any], document: dict[str, Any]) -> bool:
        """Deny by default: public, shared with one of the user's groups, or the user is an admin."""
        mine = {g["name"] for g in user["groups"]}
        return (
            user["role"] == "admin"
            or document["is_public"]
            or bool(mine & {g["name"] for g in document["groups"]})
        )

    # --- transport -------------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        """Answer one request (the ``httpx.MockTransport`` handler)."""
        path = request.url.path
        self.requests.append((request.method, path))
        for method, pattern, handler, public in ROUTES:
            match = re.fullmatch(pattern, path)
            if match and method == request.method:
                if not public and self.user_of(request) is None:
                    return _problem(
                        401, "unauthenticated", "로그인이 필요합니다.", "Authentication is required."
                    )
                return handler(self, request, match)
        return _problem(404, "not_found", "요청한 주소를 찾을 수 없습니다.", "No such endpoint.")

    def me(self, request: httpx.Request) -> dict[str, Any]:
        """The signed-in user (routes behind the login check)."""
        user = self.user_of(request)
        assert user is not None
        return user


def _body(request: httpx.Request) -> dict[str, Any]:
    return json.loads(request.content or b"{}")


def _query(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}


def _public(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "content"}


# --- handlers ----------------------------------------------------------------------------------


def _branding(b: FakeBackend, _r: httpx.Request, _m: re.Match[str]) -> httpx.Response:
    return _json({"company_name": "테스트회사", "has_logo": b.logo is not None})


def _logo(b: FakeBackend, _r: httpx.Request, _m: re.Match[str]) -> httpx.Response:
    return httpx.Response(200, content=b.logo) if b.logo else _not_found()


def _login(b: FakeBackend, r: httpx.Request, _m: re.Match[str]) -> httpx.Response:
    body = _body(r)
    user = next((u for u in b.users.values() if u["username"] == body.get("username")), None)
    if user is None or body.get("password") != PASSWORD:
        return _problem(
            401, "invalid_credentials", "사용자 이름 또는 비밀번호가 올바르지 않습니다.", "Wrong password."
        )
    token = f"jks_{secrets.token_urlsafe(32)}"  # the shape of a real session token
    b.sessions[token] = user["id"]
    return _json({"token": token, "token_type": "bearer", "expires_at": NOW, "user": user})


def _logout(b: FakeBackend, r: httpx.Request, _m: re.Match[str]) -> httpx.Response:
    b.sessions.pop(r.headers.get("authorization", "").removeprefix("Bearer "), None)
    return httpx.Response(204)


def _auth_me(b: FakeBackend, r: httpx.Request, _m: re.Match[str]) -> httpx.Response:
    return _json({"user": b.me(r), "scopes": ["search", "chat"], "api_key_id": None})


def _conversations(b: FakeBackend, r: httpx.Request, _m: re.Match[str]) -> httpx.Response:
    user = b.me(r)
    if r.method == "POST":
        conversation = {
            "id": b.new_id("c"),
            "title": _body(r).get("title") or "",
            "created_at": NOW,
            "updated_at": NOW,
            "messages": [],
            "owner": user["id"],
        }
        b.conversations[conversation["id"]] = conversation
        return _json(_summary(conversation), 201)
    q = _query(r).get("q", "")
    items = [
        _summary(c)
        for c in reversed(b.conversations.values())
        if c["owner"] == user["id"] and q in c["title"]
    ]
    return _json({"total": len(items), "items": items})


def _summary(conversation: dict[str, Any]) -> dict[str, Any]:
    return {k: conversation[k] for k in ("id", "title", "created_at", "updated_at")}


def _conversation(b: FakeBackend, r: httpx.Request, m: re.Match[str]) -> httpx.Response:
    conversation = b.conversations.get(m.group(1))
    if conversation is None or conversation["owner"] != b.me(r)["id"]:
        return _not_found()
    if r.method == "DELETE":
        del b.conversations[conversation["id"]]
        return httpx.Response(204)
    if r.method == "PATCH":
        conversation["title"] = _body(r)["title"]
        return _json(_summary(conversation))
    return _json({**_summary(conversation), "messages": conversation["messages"]})


def _ask(b: FakeBackend, r: httpx.Request, m: re.Match[str]) -> httpx.Response:
    conversation = b.conversations.get(m.group(1))
    if conversation is None or conversation["owner"] != b.me(r)["id"]:
        return _not_found()
    if m.group(2) == "messages":
        question = _body(r)["content"]
        conversation["messages"].append({"id": b.new_id("m"), "role": "user", "content": question})
        conversation["title"] = conversation["title"] or question[:60]
    else:
        while conversation["messages"] and conversation["messages"][-1]["role"] == "assistant":
            conversation["messages"].pop()
    message = _answer(b, b.me(r))
    conversation["messages"].append(message)
    pieces = re.findall(r"\S+\s*", message["content"])
    frames = [f"event: delta\ndata: {json.dumps({'text': p}, ensure_ascii=False)}\n\n" for p in pieces]
    frames.append(f"event: done\ndata: {json.dumps({'message': message}, ensure_ascii=False)}\n\n")
    return httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content="".join(frames).encode()
    )


def _answer(b: FakeBackend, user: dict[str, Any]) -> dict[str, Any]:
    """Cite the first document the user may see; nothing visible: the not-found answer."""
    document = next((d for d in b.documents.values() if b.visible(user, d)), None)
    sources = []
    if document is not None:
        sources = [
            {
                "number": 1,
                "document_id": document["id"],
                "version_id": document["version_id"],
                "title": document["title"],
                "file_name": document["display_name"],
                "label": f"{document['title']} 제12조 ②",
                "article": "제12조 ②",
                "page": None,
                "section": "제3장 휴가",
                "snippet": "제12조(연차휴가) ② 1년간 80퍼센트 이상 출근한 직원에게 15일의 유급휴가를 준다.",
                "cited": True,
            }
        ]
    return {
        "id": b.new_id("m"),
        "role": "assistant",
        "content": b.answer if sources else "제공된 문서에서 답을 찾지 못했습니다.",
        "sources": sources,
        "evidence": [{"source": 1, "sentence": "1년간 80퍼센트 이상 출근한 직원에게 15일의 유급휴가를 준다."}]
        if sources
        else [],
        "status": "complete",
        "grounded": bool(sources),
        "feedback": None,
        "created_at": NOW,
    }


def _feedback(b: FakeBackend, r: httpx.Request, m: re.Match[str]) -> httpx.Response:
    body = _body(r)
    b.feedback[m.group(1)] = body
    for conversation in b.conversations.values():
        for message in conversation["messages"]:
            if message["id"] == m.group(1):
                message["feedback"] = body["rating"]
    return _json({"message_id": m.group(1), "rating": body["rating"], "comment": body.get("comment", "")})


def _documents(b: FakeBackend, r: httpx.Request, _m: re.Match[str]) -> httpx.Response:
    user = b.me(r)
    if r.method == "POST":
        return _upload(b, r, user)
    query = _query(r)
    items = [
        _public(d)
        for d in b.documents.values()
        if b.visible(user, d)
        and query.get("q", "") in d["title"] + d["display_name"]
        and query.get("status", d["status"]) == d["status"]
    ]
    return _json({"total": len(items), "items": items})


def _upload(b: FakeBackend, r: httpx.Request, user: dict[str, Any]) -> httpx.Response:
    names = re.findall(rb'name="files"; filename="([^"]+)"', r.content)
    groups = re.search(rb'name="groups"\r\n\r\n([^\r]*)', r.content)
    group_names = tuple(g for g in (groups.group(1).decode() if groups else "").split(",") if g)
    jobs = []
    for raw in names:
        filename = raw.decode()
        document_id = b.add_document(filename.rsplit(".", 1)[0], filename, groups=group_names)
        b.documents[document_id]["uploaded_by"] = user["id"]
        job = {
            "id": b.new_id("j"),
            "filename": filename,
            "status": "succeeded",
            "progress": 1.0,
            "stage": "added",
            "error_code": None,
            "error_ko": None,
            "error_en": None,
            "attempts": 1,
            "document_id": document_id,
            "created_by": user["id"],
            "created_at": NOW,
            "started_at": NOW,
            "finished_at": NOW,
        }
        b.jobs[job["id"]] = job
        jobs.append(job)
    return _json({"jobs": jobs}, 202)


def _document(b: FakeBackend, r: httpx.Request, m: re.Match[str]) -> httpx.Response:
    document = b.documents.get(m.group(1))
    if document is None or not b.visible(b.me(r), document):
        return _not_found()
    action = m.group(2)
    if action == "/download":
        disposition = f"attachment; filename*=UTF-8''{quote(document['display_name'])}"
        return httpx.Response(200, content=document["content"], headers={"content-disposition": disposition})
    if action == "/groups":
        body = _body(r)
        document["groups"] = [{"id": g["id"], "name": g["name"]} for g in map(b.add_group, body["groups"])]
        document["is_public"] = body["is_public"]
        return _json(_public(document))
    if action == "/reingest":
        return _json({"job": {"id": b.new_id("j"), "status": "queued"}}, 202)
    if r.method == "DELETE":
        del b.documents[document["id"]]
        return httpx.Response(204)
    versions = [
        {"id": document["version_id"], "number": 1, "effective_date": "2025-03-01", "created_at": NOW}
    ]
    return _json({**_public(document), "versions": versions})


def _jobs(b: FakeBackend, _r: httpx.Request, _m: re.Match[str]) -> httpx.Response:
    items = list(reversed(b.jobs.values()))
    return _json({"total": len(items), "items": items})


def _job(b: FakeBackend, _r: httpx.Request, m: re.Match[str]) -> httpx.Response:
    job = b.jobs.get(m.group(1))
    return _json(job) if job else _not_found()


def _users(b: FakeBackend, r: httpx.Request, _m: re.Match[str]) -> httpx.Response:
    if r.method == "POST":
        body = _body(r)
        user = b.add_user(body["username"], role=body["role"], groups=tuple(body["groups"]))
        return _json(user, 201)
    return _json({"total": len(b.users), "items": list(b.users.values())})


def _user(b: FakeBackend, r: httpx.Request, m: re.Match[str]) -> httpx.Response:
    user = b.users.get(m.group(1))
    if user is None:
        return _not_found()
    body = _body(r)
    if "groups" in body:
        user["groups"] = [{"id": g["id"], "name": g["name"]} for g in map(b.add_group, body.pop("groups"))]
    user.update({k: v for k, v in body.items() if k != "password"})
    return _json(user)


def _groups(b: FakeBackend, r: httpx.Request, _m: re.Match[str]) -> httpx.Response:
    if r.method == "POST":
        body = _body(r)
        if any(g["name"] == body["name"] for g in b.groups.values()):
            return _problem(409, "conflict", "이미 있는 이름입니다.", "The name is taken.")
        group = b.add_group(body["name"])
        group["description"] = body.get("description", "")
        return _json(group, 201)
    return _json({"total": len(b.groups), "items": list(b.groups.values())})


def _group(b: FakeBackend, r: httpx.Request, m: re.Match[str]) -> httpx.Response:
    group = b.groups.get(m.group(1))
    if group is None:
        return _not_found()
    if r.method == "DELETE":
        del b.groups[group["id"]]
        return httpx.Response(204)
    group.update(_body(r))
    return _json(group)


def _keys(b: FakeBackend, r: httpx.Request, _m: re.Match[str]) -> httpx.Response:
    if r.method == "POST":
        body = _body(r)
        key = {
            "id": b.new_id("k"),
            "name": body["name"],
            "prefix": "jk_abcd",
            "owner_id": body.get("owner_id") or b.me(r)["id"],
            "scopes": body["scopes"],
            "group_ids": body.get("group_ids"),
            "status": "active",
            "created_at": NOW,
        }
        b.keys[key["id"]] = key
        return _json({"key": key, "secret": f"jk_secret_{key['id']}"}, 201)
    return _json({"total": len(b.keys), "items": list(b.keys.values())})


def _key(b: FakeBackend, _r: httpx.Request, m: re.Match[str]) -> httpx.Response:
    key = b.keys.get(m.group(1))
    if key is None:
        return _not_found()
    key["status"] = "revoked"
    return httpx.Response(204)


def _terms(b: FakeBackend, r: httpx.Request, _m: re.Match[str]) -> httpx.Response:
    if r.method == "POST":
        body = _body(r)
        term = {"id": b.new_id("d"), "term": body["term"], "tag": body.get("tag", "NNP"), "created_at": NOW}
        b.terms[term["id"]] = term
        return _json(term, 201)
    return _json({"items": list(b.terms.values())})


def _term(b: FakeBackend, _r: httpx.Request, m: re.Match[str]) -> httpx.Response:
    return httpx.Response(204) if b.terms.pop(m.group(1), None) else _not_found()


def _stats(b: FakeBackend, _r: httpx.Request, _m: re.Match[str]) -> httpx.Response:
    return _json(b.stats)


def _eval_start(b: FakeBackend, _r: httpx.Request, _m: re.Match[str]) -> httpx.Response:
    run = {
        "id": b.new_id("e"),
        "status": "succeeded",
        "dataset": "devset_ko.jsonl",
        "created_at": f"2026-03-0{len(b.eval_runs) + 2}T09:00:00+00:00",
        "created_by": "admin",
        "n_questions": 40,
        "metrics": {"R@1": 0.8, "R@5": 0.95, "R@10": 1.0, "MRR@10": 0.87, "nDCG@10": 0.9},
        "latency_ms": {"p50": 5.0, "p95": 12.0},
        "meta": {"questions_total": 214, "questions_without_gold_in_index": 174},
    }
    b.eval_runs.insert(0, run)
    return _json({"run": run}, 202)


def _eval_runs(b: FakeBackend, _r: httpx.Request, _m: re.Match[str]) -> httpx.Response:
    return _json({"total": len(b.eval_runs), "items": b.eval_runs})


ROUTES: list[tuple[str, str, Handler, bool]] = [
    ("GET", r"/api/v1/branding", _branding, True),
    ("GET", r"/api/v1/branding/logo", _logo, True),
    ("POST", r"/api/v1/auth/login", _login, True),
    ("POST", r"/api/v1/auth/logout", _logout, False),
    ("GET", r"/api/v1/auth/me", _auth_me, False),
    ("GET", r"/api/v1/conversations", _conversations, False),
    ("POST", r"/api/v1/conversations", _conversations, False),
    *[(m, r"/api/v1/conversations/(\w+)", _conversation, False) for m in ("GET", "PATCH", "DELETE")],
    ("POST", r"/api/v1/conversations/(\w+)/(messages|regenerate)", _ask, False),
    ("POST", r"/api/v1/messages/(\w+)/feedback", _feedback, False),
    ("GET", r"/api/v1/documents", _documents, False),
    ("POST", r"/api/v1/documents", _documents, False),
    *[(m, r"/api/v1/documents/(\w+)(/download|/groups|/reingest)?", _document, False)
      for m in ("GET", "PUT", "POST", "DELETE")],
    ("GET", r"/api/v1/jobs", _jobs, False),
    ("GET", r"/api/v1/jobs/(\w+)", _job, False),
    ("GET", r"/api/v1/users", _users, False),
    ("POST", r"/api/v1/users", _users, False),
    ("PATCH", r"/api/v1/users/(\w+)", _user, False),
    ("GET", r"/api/v1/groups", _groups, False),
    ("POST", r"/api/v1/groups", _groups, False),
    *[(m, r"/api/v1/groups/(\w+)", _group, False) for m in ("PATCH", "DELETE")],
    ("GET", r"/api/v1/keys", _keys, False),
    ("POST", r"/api/v1/keys", _keys, False),
    ("DELETE", r"/api/v1/keys/(\w+)", _key, False),
    ("GET", r"/api/v1/dictionary", _terms, False),
    ("POST", r"/api/v1/dictionary", _terms, False),
    ("DELETE", r"/api/v1/dictionary/(\w+)", _term, False),
    ("GET", r"/api/v1/admin/stats", _stats, False),
    ("POST", r"/api/v1/eval/retrieval", _eval_start, False),
    ("GET", r"/api/v1/eval/runs", _eval_runs, False),
]  # fmt: skip


def fake_client(backend: FakeBackend, username: str | None = None) -> ApiClient:
    """A real client over ``backend``; signed in as ``username`` when given."""
    client = ApiClient("http://jikji.test", transport=httpx.MockTransport(backend))
    if username is not None:
        client.login(username, PASSWORD)
    return client
