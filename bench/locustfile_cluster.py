"""Locust users for ``python -m bench.cluster_load`` (run by it as ``locust --headless -f <this file>``).

``JIKJI_LOAD_CONFIG`` names a JSON file written by the bench: the API base URLs, the accounts (one
password), the groups, the sample documents and where to write the summary. Three kinds of users:

- ``Employee``: signs in once, then searches (``POST /api/v1/search``), asks in a conversation
  (``POST /api/v1/conversations/{id}/messages``) and asks ``/v1/chat/completions`` through the official
  ``openai`` client. Every search result and answer source is checked against the uploads' groups.
- ``Admin``: uploads a sample document made new (renamed, one marker byte string added, so its
  SHA-256 is new), shared with the public or with one group, and polls its job until it ends.
- ``PermissionProbe``: an employee of one group who searches for the other group's uploads by their
  titles and words; any of them in a result is a permission violation (must stay 0).

The load balancer is the client's: each user prefers one API process (users alternate) and sends a
request to the other one when the connection fails (refused or dropped while a process restarts);
``failovers`` counts those. 429 and 503 are the API's deliberate refusals (rate limit, answer queue
full, password checks busy: codes ``rate_limited``, ``server_busy``, ``login_busy``): they are
reported under ``<endpoint> (refused)`` and are not errors (a refused sign-in is tried again after
``Retry-After``); any other status is (statuses are counted with the error's code).
"""

from __future__ import annotations

import io
import itertools
import json
import os
import random
import time
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
import openai
import requests
from locust import User, between, events, task
from locust.env import Environment

CONFIG: dict[str, Any] = json.loads(Path(os.environ["JIKJI_LOAD_CONFIG"]).read_text(encoding="utf-8"))
random.seed(CONFIG.get("seed", 0))  # the same sequence of searches and questions in every run
# 429 and 503 the API sends on purpose, with Retry-After: rate limits, the answer queue, password checks.
REFUSED = ("rate_limited", "server_busy", "login_busy")
LOGIN_TRIES = 30
QUESTIONS = [
    "연차휴가는 며칠인가요?",
    "출장비 정산은 언제까지 하나요?",
    "재택근무는 어떻게 신청하나요?",
    "법인카드로 쓸 수 없는 비용은 무엇인가요?",
    "비밀번호는 얼마나 자주 바꿔야 하나요?",
    "회의실 예약은 어떻게 하나요?",
    "교육훈련 비용은 회사가 지원하나요?",
    "How many days of annual leave do employees get?",
]
SEARCHES = [
    *QUESTIONS,
    "경조사 휴가",
    "차량 운행 일지",
    "안전보건 교육",
    "개인정보 보관 기간",
    "인사평가 등급",
]
POLL_EVERY_S = 2.0
POLL_FOR_S = 900.0  # a job held by a killed worker is taken over by another worker; then it still ends


@dataclass
class Upload:
    """One accepted upload and who may see it."""

    filename: str
    job_id: str
    groups: list[str]
    is_public: bool
    document_id: str | None = None
    status: str = "queued"


@dataclass
class Tally:
    """What the users saw, shared by all users of this process (locust users are greenlets)."""

    statuses: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    failovers: int = 0
    uploads: list[Upload] = field(default_factory=list)
    checked_results: int = 0
    violations: list[str] = field(default_factory=list)
    poll_timeouts: int = 0

    def hidden_from(self, group: str) -> dict[str, Upload]:
        """Uploads (by document id) an employee of ``group`` only may not see."""
        return {
            u.document_id: u
            for u in self.uploads
            if u.document_id and not u.is_public and group not in u.groups
        }

    def check(self, who: str, group: str, document_ids: list[str], where: str) -> None:
        """Count ``document_ids`` shown to ``who`` (of ``group``) and record any it may not see."""
        hidden = self.hidden_from(group)
        self.checked_results += len(document_ids)
        for document_id in document_ids:
            if document_id in hidden:
                upload = hidden[document_id]
                self.violations.append(f"{who} ({group}) saw {upload.filename} {upload.groups} in {where}")


TALLY = Tally(uploads=[Upload(**seeded) for seeded in CONFIG.get("seeded", [])])
NUMBERS = itertools.count()  # users, in start order
UPLOAD_NUMBERS = itertools.count()


class Api:
    """One user's way to the cluster: a preferred API process, the other one on a connection error.

    Each call is reported to locust under its endpoint name with the time until the final answer
    (a failed-over call includes the failed connection attempt)."""

    def __init__(self, environment: Environment, prefer: int) -> None:
        urls: list[str] = CONFIG["apis"]
        self.urls = urls[prefer % len(urls) :] + urls[: prefer % len(urls)]
        self.environment = environment
        self.session = requests.Session()
        self.token = ""

    def _report(
        self, name: str, started: float, status: int | str, length: int, ok: bool, code: str = ""
    ) -> None:
        """Report one call to locust; a deliberate refusal under ``<name> (refused)``, not as a failure."""
        refused = code in REFUSED
        label = f"{name} (refused)" if refused else name
        TALLY.statuses[name][f"{status} {code}".strip() if not ok else str(status)] += 1
        self.environment.events.request.fire(
            request_type="HTTP",
            name=label,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=length,
            exception=None if ok or refused else RuntimeError(f"status {status} {code}"),
            context={},
        )

    def call(
        self, name: str, method: str, path: str, expect: int = 200, **kwargs: Any
    ) -> requests.Response | None:
        """Send the request (to the other API process when the connection fails); the response, or None
        when no API process answered."""
        started = time.perf_counter()
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        for i, url in enumerate(self.urls):
            try:
                response = self.session.request(method, url + path, headers=headers, timeout=600, **kwargs)
            except requests.ConnectionError:
                if i + 1 < len(self.urls):
                    TALLY.failovers += 1
                continue
            ok = response.status_code == expect
            code = "" if ok else error_code(response)
            self._report(name, started, response.status_code, len(response.content), ok, code)
            return response
        self._report(name, started, "no connection", 0, False)
        return None

    def completion(self, question: str) -> None:
        """Ask ``/v1/chat/completions`` through the official ``openai`` client (failing over likewise)."""
        name = "POST /v1/chat/completions"
        started = time.perf_counter()
        for i, url in enumerate(self.urls):
            client = openai.OpenAI(base_url=f"{url}/v1", api_key=self.token, max_retries=0, timeout=600)
            try:
                completion = client.chat.completions.create(
                    model=CONFIG["model"], messages=[{"role": "user", "content": question}]
                )
            except openai.APIConnectionError:
                if i + 1 < len(self.urls):
                    TALLY.failovers += 1
                continue
            except openai.APIStatusError as exc:
                body = exc.body if isinstance(exc.body, dict) else {}
                self._report(name, started, exc.status_code, 0, False, str(body.get("code", "")))
                return
            finally:
                client.close()
            text = completion.choices[0].message.content or ""
            self._report(name, started, 200 if text else "200 empty content", len(text), True)
            return
        self._report(name, started, "no connection", 0, False)

    def login(self, username: str) -> None:
        """Sign in once (again after ``Retry-After`` when refused); later calls carry the session token."""
        body = {"username": username, "password": CONFIG["password"]}
        for _ in range(LOGIN_TRIES):
            response = self.call("POST /api/v1/auth/login", "POST", "/api/v1/auth/login", json=body)
            if response is not None and response.status_code == 200:
                self.token = response.json()["token"]
                return
            if response is None or error_code(response) not in REFUSED:
                return
            gevent.sleep(float(response.headers.get("Retry-After", "1")))


def error_code(response: requests.Response) -> str:
    """The problem+json ``code`` of an error response ('' when it has none)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""


def result_documents(response: requests.Response | None, key: str) -> list[str]:
    """Document ids in a search response's results (``key`` = results) or a message's sources."""
    if response is None or response.status_code != 200:
        return []
    return [item["document_id"] for item in response.json().get(key, []) if item.get("document_id")]


class Employee(User):
    """Searches and chats (both chat APIs) as an employee of one group."""

    fixed_count = int(CONFIG["users"]["employees"])
    wait_time = between(1, 4)

    def on_start(self) -> None:
        n = next(NUMBERS)
        self.account = CONFIG["employees"][n % len(CONFIG["employees"])]
        self.api = Api(self.environment, n)
        self.api.login(self.account["username"])
        self.conversation: str | None = None

    def _check(self, documents: list[str], where: str) -> None:
        TALLY.check(self.account["username"], self.account["group"], documents, where)

    @task(6)
    def search(self) -> None:
        body = {"query": random.choice(SEARCHES), "k": 10}
        response = self.api.call("POST /api/v1/search", "POST", "/api/v1/search", json=body)
        self._check(result_documents(response, "results"), "search")

    @task(1)
    def ask_in_conversation(self) -> None:
        if self.conversation is None:
            response = self.api.call(
                "POST /api/v1/conversations", "POST", "/api/v1/conversations", 201, json={}
            )
            if response is None or response.status_code != 201:
                return
            self.conversation = response.json()["id"]
        path = f"/api/v1/conversations/{self.conversation}/messages"
        response = self.api.call(
            "POST /api/v1/conversations/{id}/messages",
            "POST",
            path,
            json={"content": random.choice(QUESTIONS)},
        )
        self._check(result_documents(response, "sources"), "chat sources")

    @task(1)
    def ask_completions(self) -> None:
        self.api.completion(random.choice(QUESTIONS))


def new_copy(path: Path, number: int) -> tuple[str, bytes]:
    """The sample renamed and made new: a marker the parsers ignore or read as a last line, so its
    content hash is new (zip formats: the archive comment; PDF: a comment line after the end)."""
    marker = f"load-{number:04d}-{time.time_ns()}"
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix in {".docx", ".xlsx", ".pptx"}:
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
            for item in source.infolist():
                target.writestr(item, source.read(item.filename))
            target.comment = marker.encode()
        data = out.getvalue()
    elif suffix == ".pdf":
        data += f"\n%{marker}\n".encode()
    else:
        data += f"\n\n{marker}\n".encode()
    return f"{path.stem}-{marker[:9]}{path.suffix}", data


class Admin(User):
    """Uploads new documents (public or for one group) and follows each job to its end."""

    fixed_count = int(CONFIG["users"]["admins"])
    wait_time = between(2, 5)

    def on_start(self) -> None:
        n = next(NUMBERS)
        self.api = Api(self.environment, n)
        self.api.login(CONFIG["admins"][n % len(CONFIG["admins"])])

    @task
    def upload(self) -> None:
        number = next(UPLOAD_NUMBERS)
        # the n-th upload is the same document for the same audience in every run (phases compare)
        name, data = new_copy(Path(random.Random(number).choice(CONFIG["documents"])), number)
        audience = [[], *([g] for g in CONFIG["groups"])][number % (1 + len(CONFIG["groups"]))]
        form = {"groups": ",".join(audience)} if audience else {"is_public": "true"}
        response = self.api.call(
            "POST /api/v1/documents",
            "POST",
            "/api/v1/documents",
            202,
            files={"files": (name, data)},
            data=form,
        )
        if response is None or response.status_code != 202:
            return
        job = response.json()["jobs"][0]
        upload = Upload(name, job["id"], audience, not audience, job.get("document_id"))
        TALLY.uploads.append(upload)
        self._follow(upload)

    def _follow(self, upload: Upload) -> None:
        deadline = time.monotonic() + POLL_FOR_S
        while time.monotonic() < deadline:
            gevent.sleep(POLL_EVERY_S)
            response = self.api.call("GET /api/v1/jobs/{id}", "GET", f"/api/v1/jobs/{upload.job_id}")
            if response is None or response.status_code != 200:
                continue
            job = response.json()
            upload.document_id = job.get("document_id") or upload.document_id
            upload.status = job["status"]
            if upload.status in {"succeeded", "failed"}:
                return
        TALLY.poll_timeouts += 1


class PermissionProbe(User):
    """An employee of one group looking for the other groups' uploads by their titles and words."""

    fixed_count = int(CONFIG["users"]["probes"])
    wait_time = between(1, 3)

    def on_start(self) -> None:
        n = next(NUMBERS)
        self.account = CONFIG["employees"][n % len(CONFIG["employees"])]
        self.api = Api(self.environment, n)
        self.api.login(self.account["username"])

    @task
    def probe(self) -> None:
        hidden = list(TALLY.hidden_from(self.account["group"]).values())
        if not hidden:
            gevent.sleep(1)
            return
        target = random.choice(hidden)
        query = Path(target.filename).stem.split("-load-")[0].replace("_", " ")
        response = self.api.call(
            "POST /api/v1/search", "POST", "/api/v1/search", json={"query": query, "k": 20}
        )
        TALLY.check(
            self.account["username"], self.account["group"], result_documents(response, "results"), "probe"
        )


def percentiles(environment: Environment) -> dict[str, dict[str, float]]:
    """Per endpoint: requests, failures, p50/p95/p99 and max in ms (locust's rounded histogram)."""
    table: dict[str, dict[str, float]] = {}
    for (name, _method), entry in sorted(environment.stats.entries.items()):
        table[name] = {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "p50": entry.get_response_time_percentile(0.5),
            "p95": entry.get_response_time_percentile(0.95),
            "p99": entry.get_response_time_percentile(0.99),
            "max": entry.max_response_time,
        }
    return table


@events.quitting.add_listener
def write_summary(environment: Environment, **_kwargs: Any) -> None:
    """Write what was measured and seen to the summary file the bench reads."""
    total = environment.stats.total
    seconds = (total.last_request_timestamp or total.start_time) - total.start_time
    summary = {
        "seconds": seconds,
        "requests": total.num_requests,
        "endpoints": percentiles(environment),
        "statuses": {name: dict(counts) for name, counts in TALLY.statuses.items()},
        "failovers": TALLY.failovers,
        "uploads": [u.__dict__ for u in TALLY.uploads],
        "checked_results": TALLY.checked_results,
        "violations": TALLY.violations,
        "poll_timeouts": TALLY.poll_timeouts,
    }
    Path(CONFIG["summary"]).write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
