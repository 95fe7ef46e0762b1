"""A typed HTTP client for the Jikji API, as the UI uses it (HTTP only: no server-side imports).

One :class:`ApiClient` per browser session holds that user's session token. Every call returns
the API's JSON (``dict``/``list``) or raises :class:`ApiClientError` carrying the Korean and
English messages of the API's problem+json body (or of a connection failure). Chat answers
stream as server-sent events, parsed into :class:`StreamEvent` values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote

import httpx

Json = dict[str, Any]
StreamKind = Literal["delta", "done", "error"]

_FILENAME_STAR_RE = re.compile(r"filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)")
_FILENAME_RE = re.compile(r'filename\s*=\s*"?([^";]+)"?')


class ApiClientError(RuntimeError):
    """The API answered with an error (or could not be reached); carries both languages."""

    def __init__(
        self,
        status: int,
        code: str,
        message_ko: str,
        message_en: str,
        problem: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message_en}")
        self.status, self.code = status, code
        self.message_ko, self.message_en = message_ko, message_en
        self.problem: dict[str, Any] = dict(problem or {})
        """The whole problem+json body (e.g. ``duplicates`` of a 409 ``duplicate_content``)."""

    def message(self, lang: str) -> str:
        """The message in ``lang`` (``ko`` or ``en``)."""
        return self.message_ko if lang == "ko" else self.message_en

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiClientError:
        """Build from a problem+json (or any) error response."""
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        return cls.from_problem(response.status_code, body)

    @classmethod
    def from_problem(cls, status: int, body: Mapping[str, Any]) -> ApiClientError:
        """Build from a problem object (an HTTP error body or an SSE ``error`` event)."""
        return cls(
            int(body.get("status") or status),
            str(body.get("code") or "http_error"),
            str(body.get("message_ko") or body.get("detail") or f"서버 오류가 발생했습니다 ({status})."),
            str(body.get("message_en") or body.get("title") or f"Server error ({status})."),
            problem=body,
        )

    @classmethod
    def unreachable(cls, exc: Exception) -> ApiClientError:
        """The API could not be reached at all."""
        return cls(
            0,
            "unreachable",
            "API 서버에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요.",
            f"Cannot reach the Jikji API ({type(exc).__name__}); please try again shortly.",
        )


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One server-sent event of a streamed answer."""

    kind: StreamKind
    text: str = ""
    """The next piece of the answer (``delta``)."""
    message: Json | None = None
    """The stored assistant message (``done``)."""
    error: ApiClientError | None = None
    """What went wrong (``error``)."""


EventStream = Generator[StreamEvent, None, None]
"""A streamed answer; ``close()`` it (``contextlib.closing``) to hang up, which stops the answer."""


@dataclass(frozen=True, slots=True)
class Download:
    """A downloaded original."""

    filename: str
    content: bytes
    media_type: str


@dataclass(frozen=True, slots=True)
class UploadFile:
    """A file to upload."""

    name: str
    content: bytes
    media_type: str = "application/octet-stream"


class ApiClient:
    """Talks to ``/api/v1`` over HTTP with the signed-in user's bearer token."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout_s: float = 60.0,
        stream_timeout_s: float = 300.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.user: Json | None = None
        self.logout_url: str | None = None
        self._stream_timeout = httpx.Timeout(stream_timeout_s, connect=5.0)
        self._http = httpx.Client(
            base_url=self.base_url, timeout=httpx.Timeout(timeout_s, connect=5.0), transport=transport
        )

    # --- plumbing ---------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self._headers(), **(kwargs.pop("headers", None) or {})}
        try:
            response = self._http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiClientError.unreachable(exc) from exc
        if response.status_code >= 400:
            raise ApiClientError.from_response(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        return self._json("GET", path, params=clean)

    # --- public and auth --------------------------------------------------------------------

    def health(self) -> Json:
        """``GET /health``."""
        result: Json = self._get("/health")
        return result

    def branding(self) -> Json:
        """``GET /api/v1/branding``: ``{company_name, has_logo}`` (public)."""
        result: Json = self._get("/api/v1/branding")
        return result

    def setup_status(self) -> Json:
        """``GET /api/v1/auth/setup``: ``{needs_admin}`` (public): is the first admin still to be made."""
        result: Json = self._get("/api/v1/auth/setup")
        return result

    def logo(self) -> bytes | None:
        """The company logo image, or None when there is none."""
        try:
            return self._send("GET", "/api/v1/branding/logo").content
        except ApiClientError as exc:
            if exc.status == 404:
                return None
            raise

    def login(self, username: str, password: str, client_address: str | None = None) -> Json:
        """Open a session; the client keeps its token. Returns the signed-in user.

        ``client_address`` (the browser's, as Streamlit sees it) goes in ``X-Forwarded-For`` so the
        API's per-address login limits count each employee's browser rather than the UI server,
        which would otherwise lock every UI user out after one person's wrong passwords. The API's
        uvicorn honours the header only from trusted proxy addresses (127.0.0.1 unless
        ``FORWARDED_ALLOW_IPS`` says otherwise).
        """
        headers = {"X-Forwarded-For": client_address} if client_address else None
        body: Json = self._json(
            "POST",
            "/api/v1/auth/login",
            json={"username": username, "password": password},
            headers=headers,
        )
        self.token = str(body["token"])
        self.user = dict(body["user"])
        return self.user

    def logout(self) -> None:
        """End the session on the server (best effort) and forget the token.

        A session opened through single sign-on leaves ``logout_url``: where the browser ends the
        provider's session too (RP-initiated logout), when the provider supports it.
        """
        self.logout_url = None
        try:
            if self.token:
                ended = self._json("POST", "/api/v1/auth/oidc/logout")
                self.logout_url = ended.get("logout_url") if isinstance(ended, dict) else None
        except ApiClientError:
            pass
        finally:
            self.token, self.user = None, None

    def sso_providers(self) -> Json:
        """``GET /api/v1/auth/oidc/providers``: ``{local_login, providers: [{name, display_name,
        start_url}]}`` (public)."""
        result: Json = self._get("/api/v1/auth/oidc/providers")
        return result

    def sso_exchange(self, code: str) -> Json:
        """Redeem the one-time code single sign-on left in the UI's URL; keeps the session like
        :meth:`login`. Returns the signed-in user."""
        body: Json = self._json("POST", "/api/v1/auth/oidc/exchange", json={"code": code})
        self.token = str(body["token"])
        self.user = dict(body["user"])
        return self.user

    def identity_sources(self) -> Json:
        """``GET /api/v1/identity/sources`` (admin): sources, health, last sync, users per origin."""
        result: Json = self._get("/api/v1/identity/sources")
        return result

    def change_password(self, current: str, new: str) -> None:
        """``POST /api/v1/auth/password``: this session stays; the user's others and keys end."""
        self._send("POST", "/api/v1/auth/password", json={"current_password": current, "new_password": new})
        if self.user is not None:
            self.user["must_change_password"] = False

    def me(self) -> Json:
        """``GET /api/v1/auth/me``: ``{user, scopes, api_key_id}``."""
        result: Json = self._get("/api/v1/auth/me")
        self.user = dict(result["user"])
        return result

    # --- conversations ----------------------------------------------------------------------

    def list_conversations(self, q: str | None = None, limit: int = 100) -> list[Json]:
        """The caller's conversations, newest first (optionally filtered by ``q``)."""
        body: Json = self._get("/api/v1/conversations", {"q": q, "limit": limit})
        return list(body["items"])

    def create_conversation(self, title: str | None = None) -> Json:
        """A new empty conversation."""
        result: Json = self._json("POST", "/api/v1/conversations", json={"title": title} if title else {})
        return result

    def get_conversation(self, conversation_id: str) -> Json:
        """One conversation with its messages."""
        result: Json = self._get(f"/api/v1/conversations/{conversation_id}")
        return result

    def rename_conversation(self, conversation_id: str, title: str) -> Json:
        """Change a conversation's title."""
        result: Json = self._json("PATCH", f"/api/v1/conversations/{conversation_id}", json={"title": title})
        return result

    def delete_conversation(self, conversation_id: str) -> None:
        """Delete a conversation with its messages."""
        self._send("DELETE", f"/api/v1/conversations/{conversation_id}")

    def ask_stream(self, conversation_id: str, content: str) -> EventStream:
        """Ask in a conversation; yields ``delta`` events, then ``done`` (or ``error``).

        Closing the iterator (``contextlib.closing``) closes the connection, which stops the answer.
        """
        return self._stream(
            f"/api/v1/conversations/{conversation_id}/messages", {"content": content, "stream": True}
        )

    def regenerate_stream(self, conversation_id: str) -> EventStream:
        """Answer the last question of a conversation again, streamed like :meth:`ask_stream`."""
        return self._stream(f"/api/v1/conversations/{conversation_id}/regenerate", {"stream": True})

    def _stream(self, path: str, body: Json) -> EventStream:
        try:
            with self._http.stream(
                "POST", path, json=body, headers=self._headers(), timeout=self._stream_timeout
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ApiClientError.from_response(response)
                yield from parse_sse(response.iter_lines())
        except httpx.HTTPError as exc:
            raise ApiClientError.unreachable(exc) from exc

    def send_feedback(self, message_id: str, rating: int, comment: str | None = None) -> Json | None:
        """👍 (``1``) or 👎 (``-1``) on an answer, with an optional comment."""
        body: Json = {"rating": rating}
        if comment:
            body["comment"] = comment
        result: Json | None = self._json("POST", f"/api/v1/messages/{message_id}/feedback", json=body)
        return result

    # --- documents and jobs -----------------------------------------------------------------

    def list_documents(
        self,
        q: str | None = None,
        *,
        group: str | None = None,
        fmt: str | None = None,
        status: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> Json:
        """Visible documents: ``{total, items}``."""
        params = {"q": q, "group": group, "format": fmt, "status": status, "limit": limit, "offset": offset}
        result: Json = self._get("/api/v1/documents", params)
        return result

    def get_document(self, document_id: str) -> Json:
        """One document with its versions."""
        result: Json = self._get(f"/api/v1/documents/{document_id}")
        return result

    def download_document(self, document_id: str) -> Download:
        """The current original of a document, fetched with the user's rights."""
        response = self._send("GET", f"/api/v1/documents/{document_id}/download")
        return Download(
            filename=content_disposition_filename(response.headers.get("content-disposition", ""))
            or f"{document_id}",
            content=response.content,
            media_type=response.headers.get("content-type", "application/octet-stream").split(";")[0],
        )

    def upload_documents(
        self, files: Iterable[UploadFile], groups: Iterable[str], is_public: bool, duplicates: str = "check"
    ) -> list[Json]:
        """Upload files in one request; returns the queued jobs. A file whose content is already a
        document's raises 409 ``duplicate_content`` (``problem["duplicates"]``) unless ``duplicates`` is
        ``new_version``."""
        parts = [("files", (f.name, f.content, f.media_type)) for f in files]
        data = {
            "groups": ",".join(groups),
            "is_public": "true" if is_public else "false",
            "duplicates": duplicates,
        }
        body: Json = self._json("POST", "/api/v1/documents", files=parts, data=data)
        return list(body["jobs"])

    def set_document_groups(self, document_id: str, groups: list[str], is_public: bool) -> Json:
        """Change who may see a document."""
        result: Json = self._json(
            "PUT", f"/api/v1/documents/{document_id}/groups", json={"groups": groups, "is_public": is_public}
        )
        return result

    def reingest_document(self, document_id: str) -> Json:
        """Re-parse a document's current original; returns the job."""
        body: Json = self._json("POST", f"/api/v1/documents/{document_id}/reingest")
        return dict(body.get("job", body))

    def rename_document(self, document_id: str, title: str) -> Json:
        """``PATCH /api/v1/documents/{id}``: the title people see (kept by later versions)."""
        result: Json = self._json("PATCH", f"/api/v1/documents/{document_id}", json={"title": title})
        return result

    def delete_document(self, document_id: str) -> None:
        """Remove a document everywhere."""
        self._send("DELETE", f"/api/v1/documents/{document_id}")

    def list_jobs(self, status: str | None = None, limit: int = 50) -> list[Json]:
        """Ingestion jobs, newest first."""
        body: Json = self._get("/api/v1/jobs", {"status": status, "limit": limit})
        return list(body["items"])

    def get_job(self, job_id: str) -> Json:
        """One ingestion job."""
        result: Json = self._get(f"/api/v1/jobs/{job_id}")
        return result

    # --- users, groups, keys, dictionary ----------------------------------------------------

    def list_users(self) -> list[Json]:
        """Every user (admin)."""
        return _items(self._get("/api/v1/users", {"limit": 200}))

    def create_user(
        self, username: str, password: str, role: str, display_name: str, groups: list[str]
    ) -> Json:
        """Create a user (admin)."""
        body = {
            "username": username,
            "password": password,
            "role": role,
            "display_name": display_name,
            "groups": groups,
        }
        result: Json = self._json("POST", "/api/v1/users", json=body)
        return result

    def update_user(self, user_id: str, **changes: Any) -> Json:
        """Change a user's ``display_name``, ``role``, ``groups``, ``is_active`` or ``password``."""
        result: Json = self._json("PATCH", f"/api/v1/users/{user_id}", json=changes)
        return result

    def list_groups(self) -> list[Json]:
        """Groups (admins: all; others: their own)."""
        return _items(self._get("/api/v1/groups", {"limit": 200}))

    def create_group(self, name: str, description: str = "") -> Json:
        """Create a group (admin)."""
        result: Json = self._json("POST", "/api/v1/groups", json={"name": name, "description": description})
        return result

    def update_group(self, group_id: str, **changes: Any) -> Json:
        """Change a group's ``name`` or ``description`` (admin)."""
        result: Json = self._json("PATCH", f"/api/v1/groups/{group_id}", json=changes)
        return result

    def delete_group(self, group_id: str) -> None:
        """Delete a group (admin)."""
        self._send("DELETE", f"/api/v1/groups/{group_id}")

    def list_keys(self, *, all_keys: bool = False) -> list[Json]:
        """API keys (the caller's; admins may ask for every key)."""
        return _items(self._get("/api/v1/keys", {"all": "true" if all_keys else None}))

    def create_key(
        self,
        name: str,
        scopes: list[str],
        *,
        group_ids: list[str] | None = None,
        expires_at: str | None = None,
        owner_id: str | None = None,
    ) -> Json:
        """Create an API key: ``{key, secret}`` — the secret is shown only now."""
        body: Json = {"name": name, "scopes": scopes}
        optional = {"group_ids": group_ids, "expires_at": expires_at, "owner_id": owner_id}
        body.update({k: v for k, v in optional.items() if v})
        result: Json = self._json("POST", "/api/v1/keys", json=body)
        return result

    def revoke_key(self, key_id: str) -> None:
        """Revoke an API key."""
        self._send("DELETE", f"/api/v1/keys/{key_id}")

    def list_terms(self) -> list[Json]:
        """The company dictionary (admin)."""
        return _items(self._get("/api/v1/dictionary"))

    def add_term(self, term: str, tag: str | None = None) -> Json:
        """Add a term to the company dictionary (admin)."""
        body: Json = {"term": term}
        if tag:
            body["tag"] = tag
        result: Json = self._json("POST", "/api/v1/dictionary", json=body)
        return result

    def remove_term(self, term_id: str) -> None:
        """Remove a dictionary term (admin)."""
        self._send("DELETE", f"/api/v1/dictionary/{term_id}")

    # --- dashboard and evaluation -----------------------------------------------------------

    def admin_stats(self, days: int = 30) -> Json:
        """``GET /api/v1/admin/stats`` (admin)."""
        result: Json = self._get("/api/v1/admin/stats", {"days": days})
        return result

    def start_retrieval_eval(self, limit: int | None = None) -> Json:
        """Start a retrieval evaluation of the dev set against the current index; returns the run."""
        body: Json = {"limit": limit} if limit else {}
        result: Json = self._json("POST", "/api/v1/eval/retrieval", json=body)
        return dict(result.get("run", result))

    def start_answer_eval(self, limit: int | None = None) -> Json:
        """Start an answer evaluation (the configured answer set through the chat service); the run."""
        body: Json = {"limit": limit} if limit else {}
        result: Json = self._json("POST", "/api/v1/eval/answers", json=body)
        return dict(result.get("run", result))

    def list_eval_runs(self, limit: int = 50) -> list[Json]:
        """Past and running evaluation runs, newest first."""
        return _items(self._get("/api/v1/eval/runs", {"limit": limit}))

    def start_gate(
        self, candidate: Json, pairs: list[str], group_id: str | None = None, limit: int | None = None
    ) -> Json:
        """Start a release-gate run of a candidate (settings overrides); the queued run."""
        body: Json = {"candidate": candidate, "set": pairs, "group_id": group_id, "limit": limit}
        return dict(self._json("POST", "/api/v1/eval/gate", json=body))

    def list_gate_runs(self, limit: int = 50) -> list[Json]:
        """Release-gate runs (admin page and CLI), newest first."""
        return _items(self._get("/api/v1/eval/gate", {"limit": limit}))

    def get_gate_run(self, run_id: str) -> Json:
        """One release-gate run with every item that got worse."""
        return dict(self._get(f"/api/v1/eval/gate/{run_id}"))

    # --- feedback review and golden items ---------------------------------------------------

    def list_feedback(
        self, rating: int | None = None, has_comment: bool | None = None, limit: int = 50
    ) -> Json:
        """``GET /api/v1/feedback`` (admin): ``{total, items}`` of rated answers, newest first."""
        params = {"rating": rating, "has_comment": has_comment, "limit": limit}
        result: Json = self._get("/api/v1/feedback", params)
        return result

    def promote_feedback(self, feedback_id: str, answers: list[str], group_ids: list[str]) -> Json:
        """Make a golden item of a rated answer (empty ``answers``: a 👍 answer's own text)."""
        body: Json = {"group_ids": group_ids}
        if answers:
            body["answers"] = answers
        result: Json = self._json("POST", f"/api/v1/feedback/{feedback_id}/golden", json=body)
        return result

    def list_golden(self, status: str = "active") -> list[Json]:
        """Current golden items of ``status`` (``all``: any), newest first (admin)."""
        return _items(self._get("/api/v1/golden", {"status": status, "limit": 200}))

    def retire_golden(self, item_id: str) -> Json:
        """Retire a golden item (a new version with ``status: retired``)."""
        result: Json = self._json("DELETE", f"/api/v1/golden/{item_id}")
        return result

    def export_golden(self) -> str:
        """The active golden items as JSONL (the answer-set format of ``jikji eval answers``)."""
        return self._send("GET", "/api/v1/golden/export").text


def _items(body: Any) -> list[Json]:
    """The ``items`` of a list response (or the body itself when it is already a list)."""
    if isinstance(body, list):
        return body
    return list(body.get("items", []))


def parse_sse(lines: Iterable[str]) -> Iterator[StreamEvent]:
    """Turn server-sent event lines into :class:`StreamEvent` values (unknown events are skipped)."""
    event, data = "message", list[str]()
    for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            if data:
                parsed = _event(event, "\n".join(data))
                if parsed is not None:
                    yield parsed
            event, data = "message", list[str]()
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
    if data:
        parsed = _event(event, "\n".join(data))
        if parsed is not None:
            yield parsed


def _event(event: str, data: str) -> StreamEvent | None:
    try:
        payload = json.loads(data)
    except json.JSONDecodeError:
        return None
    if not isinstance(payload, dict):
        return None
    if event == "delta":
        return StreamEvent("delta", text=str(payload.get("text", "")))
    if event == "done":
        message = payload.get("message", payload)
        return StreamEvent("done", message=dict(message) if isinstance(message, dict) else {})
    if event == "error":
        problem = payload.get("error", payload)
        return StreamEvent("error", error=ApiClientError.from_problem(500, problem))
    return None


def content_disposition_filename(header: str) -> str | None:
    """The file name of a ``Content-Disposition`` header (RFC 5987 ``filename*`` preferred)."""
    star = _FILENAME_STAR_RE.search(header)
    if star:
        return unquote(star.group(1).strip())
    plain = _FILENAME_RE.search(header)
    return plain.group(1).strip() if plain else None
