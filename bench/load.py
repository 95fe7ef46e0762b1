"""Overload: answer latency and refusals at 1x, 2x and 4x the answer queue's capacity, and nothing lost.

Usage: python -m bench.load [--max-active 4] [--max-waiting 16] [--per-client 4] [--word-delay 0.03]

A real Jikji API is started in a child process (uvicorn, SQLite, Kiwi-BM25, the hashing embedder)
with the extractive fake model slowed to ``--word-delay`` seconds per word, standing in for a model
server's decoding time (no CPU is spent on it, as with a remote vLLM). The capacity is
``max_active + max_waiting`` (the defaults of ``answer_queue``: 4 + 16 = 20); at each level that many
times the capacity clients, each its own employee, send ``--per-client`` questions one after another,
alternating a question in the client's conversation (streamed every other time) and
``/v1/chat/completions``. Every request must end answered (200) or refused (503 ``server_busy`` with
``Retry-After``); afterwards every stored conversation must hold exactly the answered questions, each
followed by its answer.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import select

from app.api.factory import create_app
from app.container import Container, build_container
from app.services import accounts
from bench.common import machine
from core.models import Message
from core.settings import AnswerQueueSettings, AuthSettings, EmbeddingSettings, JobSettings, Settings
from ingest.pipeline import IngestRequest
from llm.fake import ExtractiveFakeModel
from retrieval.embedder import HashingEmbedder
from retrieval.evaluation import percentile as pct
from tests.support.ports import free_port

PASSWORD = "correct-horse-battery-9"
QUESTIONS = ["결혼하면 경조사비는 얼마인가요?", "연차휴가는 며칠인가요?", "출장비 정산은 언제까지 하나요?"]
DOCUMENTS = {
    "경조사.md": "# 경조사 지원\n\n본인 결혼 시 경조사비 50만 원과 특별휴가 5일을 회사가 지원하며, 신청은 "
    "인사팀에 결혼 30일 전까지 서면으로 한다.\n",
    "연차.md": "# 연차휴가\n\n1년간 80퍼센트 이상 출근한 직원에게는 15일의 유급휴가를 주고, 3년 이상 근속한 "
    "직원에게는 2년마다 1일을 더한다.\n",
    "출장.md": "# 출장비\n\n출장을 마친 직원은 돌아온 날부터 7일 안에 영수증을 붙여 출장비 정산서를 재무팀에 "
    "낸다.\n",
}
LEVELS = (1, 2, 4)


def settings_for(data_dir: Path, max_active: int, max_waiting: int) -> Settings:
    """The served app's settings: the queue under test, rate limits out of the way."""
    return Settings(
        data_dir=data_dir,
        embedding=EmbeddingSettings(model="hashing"),
        answer_queue=AnswerQueueSettings(max_active=max_active, max_waiting=max_waiting),
        auth=AuthSettings(rate_limit_per_minute=100_000, chat_rate_limit_per_minute=100_000),
        jobs=JobSettings(embedded_worker=False),
    )


def container_for(settings: Settings, word_delay: float) -> Container:
    return build_container(settings, embedder=HashingEmbedder(), chat_model=ExtractiveFakeModel(word_delay))


def prepare(settings: Settings, clients: int) -> list[str]:
    """Documents and one signed-in employee per client, written before the server starts; the tokens."""
    container = container_for(settings, 0.0)
    tokens: list[str] = []
    try:
        for name, text in DOCUMENTS.items():
            container.pipeline.ingest(IngestRequest(data=text.encode(), filename=name, is_public=True))
        with container.sessions.begin() as session:
            for i in range(clients):
                user = accounts.create_user(session, f"load{i}", PASSWORD)
                tokens.append(accounts.start_session(session, user, timedelta(hours=2))[0])
    finally:
        container.close()
    return tokens


def serve(args: argparse.Namespace) -> None:
    """The child process: the API on ``--port`` until killed."""
    settings = settings_for(Path(args.data_dir), args.max_active, args.max_waiting)
    app = create_app(settings, container_for(settings, args.word_delay))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


@dataclass
class Outcome:
    """What happened to the requests of one level."""

    statuses: Counter[int] = field(default_factory=Counter)
    answered_s: list[float] = field(default_factory=list)
    refused_s: list[float] = field(default_factory=list)
    retry_after: list[int] = field(default_factory=list)
    conversation_answers: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, response: httpx.Response, seconds: float) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code == 200:
                self.answered_s.append(seconds)
            elif response.status_code in {429, 503}:
                self.refused_s.append(seconds)
                self.retry_after.append(int(response.headers.get("Retry-After", "0")))


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def one_client(
    base: str, index: int, token: str, per_client: int, outcome: Outcome, start: threading.Barrier
) -> None:
    with httpx.Client(base_url=base, timeout=300) as http:
        headers = auth(token)
        conversation = http.post("/api/v1/conversations", json={}, headers=headers).json()["id"]
        answered = 0
        start.wait()
        for turn in range(per_client):
            question = QUESTIONS[(index + turn) % len(QUESTIONS)]
            began = time.perf_counter()
            if turn % 2 == 0:
                body: dict[str, Any] = {"content": question, "stream": turn % 4 == 0}
                response = http.post(
                    f"/api/v1/conversations/{conversation}/messages", json=body, headers=headers
                )
                answered += response.status_code == 200
            else:
                body = {"messages": [{"role": "user", "content": question}]}
                response = http.post("/v1/chat/completions", json=body, headers=headers)
            response.read()
            outcome.note(response, time.perf_counter() - began)
    with outcome.lock:
        outcome.conversation_answers[conversation] = answered


def run_level(base: str, tokens: list[str], per_client: int) -> Outcome:
    outcome = Outcome()
    start = threading.Barrier(len(tokens))
    threads = [
        threading.Thread(target=one_client, args=(base, i, token, per_client, outcome, start))
        for i, token in enumerate(tokens)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome


def inconsistencies(settings: Settings, outcome: Outcome) -> list[str]:
    """Conversations whose stored turns differ from what the clients were told."""
    engine_container = build_container(settings, embedder=HashingEmbedder())
    problems: list[str] = []
    try:
        with engine_container.sessions() as session:
            for conversation, answered in outcome.conversation_answers.items():
                rows = session.execute(
                    select(Message.role, Message.status)
                    .where(Message.conversation_id == conversation)
                    .order_by(Message.created_at, Message.id)
                ).all()
                expected = [("user", "complete"), ("assistant", "complete")] * answered
                if [(role, status) for role, status in rows] != expected:
                    problems.append(f"{conversation}: {rows}")
    finally:
        engine_container.close()
    return problems


def wait_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the API process exited")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the API did not start")


def ms(values: list[float], p: float) -> str:
    return f"{pct(values, p) * 1000:.0f}" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    defaults = AnswerQueueSettings()
    parser.add_argument("--max-active", type=int, default=defaults.max_active)
    parser.add_argument("--max-waiting", type=int, default=defaults.max_waiting)
    parser.add_argument("--per-client", type=int, default=4, help="Questions each client sends in turn.")
    parser.add_argument("--word-delay", type=float, default=0.03, help="Seconds per streamed word.")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return
    capacity = args.max_active + args.max_waiting
    with tempfile.TemporaryDirectory(prefix="jikji-load-") as tmp:
        data_dir = Path(tmp) / "data"
        settings = settings_for(data_dir, args.max_active, args.max_waiting)
        tokens = prepare(settings, capacity * max(LEVELS))
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "bench.load",
            "--serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
        ]
        command += ["--max-active", str(args.max_active), "--max-waiting", str(args.max_waiting)]
        process = subprocess.Popen([*command, "--word-delay", str(args.word_delay)])
        base = f"http://127.0.0.1:{port}"
        try:
            wait_up(base, process)
            warm_up = {"messages": [{"role": "user", "content": QUESTIONS[0]}]}  # Kiwi and the index load
            httpx.post(f"{base}/v1/chat/completions", json=warm_up, headers=auth(tokens[0]), timeout=300)
            print(machine())
            print(
                f"answer queue: max_active {args.max_active}, max_waiting {args.max_waiting} (capacity {capacity});"
                f" {args.per_client} questions per client; model {args.word_delay * 1000:.0f} ms per word\n"
            )
            print("| load | clients | requests | answered | refused 503/429 | other | answered p50/p95 ms "
                  "| refused p50/p95 ms | Retry-After s | stored turns wrong |")  # fmt: skip
            print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
            for level in LEVELS:
                clients = capacity * level
                began = time.perf_counter()
                outcome = run_level(base, tokens[:clients], args.per_client)
                wall = time.perf_counter() - began
                refused = outcome.statuses[503] + outcome.statuses[429]
                other = sum(n for status, n in outcome.statuses.items() if status not in {200, 429, 503})
                wrong = inconsistencies(settings, outcome)
                retry = (
                    f"{min(outcome.retry_after)}-{max(outcome.retry_after)}" if outcome.retry_after else "-"
                )
                print(
                    f"| {level}x | {clients} | {sum(outcome.statuses.values())} | {outcome.statuses[200]} "
                    f"| {refused} | {other} | {ms(outcome.answered_s, 50)} / {ms(outcome.answered_s, 95)} "
                    f"| {ms(outcome.refused_s, 50)} / {ms(outcome.refused_s, 95)} | {retry} | {len(wrong)} |",
                    flush=True,
                )
                for problem in wrong[:5]:
                    print(f"    inconsistent: {problem}")
                print(f"<!-- {level}x wall {wall:.1f}s -->", flush=True)
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
