"""Dependencies down (issue 16 item 8): how fast a request gets its 503, what ``/health`` says, and how
soon Jikji answers again once the dependency is back.

Usage: python -m bench.faults [--requests 20] [--only llm,postgresql,chroma] [--models-dir data/models]

For each dependency a real Jikji app is served by uvicorn (in this process, on a free port) with one
public document and a signed-in employee and admin, and the dependency is really stopped and started
again with the helpers of ``tests/integration/test_outages.py``:

- ``llm``: the embedded llama.cpp server on gemma-3-270m (``max_tokens`` 8), terminated and started again;
  SQLite and embedded Chroma;
- ``postgresql``: a private PostgreSQL cluster, stopped ``immediate`` (as a crash) and started again;
  the extractive fake model (the drill does not need a model server);
- ``chroma``: a ``chroma run`` server, killed and started on the same directory and port; SQLite and the
  extractive fake model.

Per dependency: the latency of each kind of request while it is up (``--up-requests``) and while it is down
(``--requests``, one after another: every answer must be a 503 problem with ``Retry-After``), ``/health``
up and down, and the restart: the dependency is started in a thread while one request (the first kind)
is sent every 50 ms; reported are the time until the dependency's own readiness check passed and until
the first request answered 200. Afterwards every kind must answer 200 and ``/health`` ``ok``. Embeddings
come from the hashing embedder (no model load); rate limits are set out of the way.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx

from app.container import build_container
from bench.common import REPO, machine
from core.settings import AuthSettings, ChromaSettings, DatabaseSettings, EmbeddingSettings, Settings
from retrieval.embedder import HashingEmbedder
from retrieval.evaluation import percentile
from retrieval.tokenizer import KiwiTokenizer
from tests.integration.llm_stack import llama_server
from tests.postgres import fresh_database
from tests.support.containers import make_container
from tests.support.dependencies import ChromaServer, PostgresCluster
from tests.support.outages import Client, served

DEPENDENCIES = ("llm", "postgresql", "chroma")
POLL_S = 0.05
serving = contextmanager(served)
RECOVERY_LIMIT_S = 180.0
OUT_OF_THE_WAY = AuthSettings(rate_limit_per_minute=100_000, chat_rate_limit_per_minute=100_000)

Send = Callable[[], httpx.Response]


@dataclass
class Sample:
    """One request's time and answer."""

    seconds: float
    status: int
    code: str
    retry_after: str

    @classmethod
    def of(cls, send: Send) -> Sample:
        """Send one request and note how long its whole answer took."""
        began = time.perf_counter()
        response = send()
        seconds = time.perf_counter() - began
        code = ""
        if response.headers.get("content-type", "").startswith("application/problem+json"):
            code = str(response.json().get("code", ""))
        elif response.request.url.path == "/health":
            body = response.json()
            code = f"{body['status']}, down {body['down']}"
        return cls(seconds, response.status_code, code, response.headers.get("Retry-After", "-"))


@dataclass
class Drill:
    """What one dependency's outage looked like."""

    dependency: str
    kinds: dict[str, Send]
    up: dict[str, list[Sample]] = field(default_factory=dict)
    down: dict[str, list[Sample]] = field(default_factory=dict)
    health_up: list[Sample] = field(default_factory=list)
    health_down: list[Sample] = field(default_factory=list)
    stop_s: float = 0.0
    ready_s: float = 0.0
    first_ok_s: float = 0.0
    first_ok_request_s: float = 0.0
    refused_while_restarting: int = 0
    after: list[str] = field(default_factory=list)


def run_drill(
    drill: Drill,
    client: Client,
    stop: Callable[[], None],
    start: Callable[[], None],
    args: argparse.Namespace,
) -> Drill:
    """Up, stopped, started again: the samples of ``drill``'s request kinds and of ``/health``."""
    for name, send in drill.kinds.items():
        Sample.of(send)  # warm-up (first Kiwi analysis, connections)
        drill.up[name] = [Sample.of(send) for _ in range(args.up_requests)]
    drill.health_up = [Sample.of(client.health) for _ in range(args.up_requests)]
    began = time.perf_counter()
    stop()
    drill.stop_s = time.perf_counter() - began
    for name, send in drill.kinds.items():
        drill.down[name] = [Sample.of(send) for _ in range(args.requests)]
    drill.health_down = [Sample.of(client.health) for _ in range(args.requests)]
    restart(drill, start)
    drill.after = [f"{name} {Sample.of(send).status}" for name, send in drill.kinds.items()]
    health = Sample.of(client.health)
    drill.after.append(f"/health {health.status} {health.code}")
    return drill


def restart(drill: Drill, start: Callable[[], None]) -> None:
    """Start the dependency in a thread and send the first kind of request every ``POLL_S`` until one is
    answered 200."""
    ready = threading.Event()
    began = time.perf_counter()

    def starter() -> None:
        start()
        drill.ready_s = time.perf_counter() - began
        ready.set()

    thread = threading.Thread(target=starter, name=f"start-{drill.dependency}", daemon=True)
    thread.start()
    send = next(iter(drill.kinds.values()))
    while time.perf_counter() - began < RECOVERY_LIMIT_S:
        sample = Sample.of(send)
        if sample.status == 200:
            drill.first_ok_s = time.perf_counter() - began
            drill.first_ok_request_s = sample.seconds
            break
        drill.refused_while_restarting += 1
        time.sleep(POLL_S)
    else:
        raise SystemExit(f"{drill.dependency}: no request answered 200 within {RECOVERY_LIMIT_S:.0f}s")
    thread.join(timeout=RECOVERY_LIMIT_S)
    if not ready.is_set():
        raise SystemExit(f"{drill.dependency}: the dependency did not start")


# --- the three dependencies ------------------------------------------------------------------


def llm_drill(tmp: Path, kiwi: KiwiTokenizer, args: argparse.Namespace) -> Drill:
    """The embedded llama.cpp server stopped and started again (SQLite, embedded Chroma)."""
    with llama_server(tmp, args.models_dir, max_tokens=8, temperature=0.0, prompt_family="chat") as stack:
        server, llm, _ = stack
        settings = Settings(
            data_dir=tmp / "data",
            embedding=EmbeddingSettings(model="hashing"),
            llm=llm.model_copy(update={"base_url": server.base_url}),
            auth=OUT_OF_THE_WAY,
        )
        container = build_container(settings, embedder=HashingEmbedder(), tokenizer=kiwi)  # the real client
        try:
            with serving(settings, container) as client:
                conversation = client.conversation()
                kinds: dict[str, Send] = {
                    "POST /v1/chat/completions": client.complete,
                    "POST /v1/chat/completions (stream)": partial(client.complete, stream=True),
                    "POST /api/v1/conversations/{id}/messages (stream)": partial(
                        client.ask, conversation, stream=True
                    ),
                }
                return run_drill(
                    Drill("llm", kinds), client, server.stop, partial(server.start, watch=False), args
                )
        finally:
            container.close()


def postgresql_drill(tmp: Path, kiwi: KiwiTokenizer, args: argparse.Namespace) -> Drill:
    """A private PostgreSQL cluster stopped and started again (the fake model, embedded Chroma)."""
    cluster = PostgresCluster()
    try:
        cluster.start()
        with fresh_database(cluster.url) as url:
            settings = Settings(
                data_dir=tmp / "data",
                embedding=EmbeddingSettings(model="hashing"),
                database=DatabaseSettings(url=url),
                auth=OUT_OF_THE_WAY,
            )
            container = make_container(settings, kiwi)
            try:
                with serving(settings, container) as client:
                    kinds: dict[str, Send] = {
                        "POST /v1/chat/completions": client.complete,
                        "POST /api/v1/search": client.search,
                    }
                    return run_drill(Drill("postgresql", kinds), client, cluster.stop, cluster.start, args)
            finally:
                container.close()
    finally:
        cluster.remove()


def chroma_drill(tmp: Path, kiwi: KiwiTokenizer, args: argparse.Namespace) -> Drill:
    """A ``chroma run`` server killed and started again (SQLite, the fake model)."""
    chroma = ChromaServer(tmp / "chroma")
    chroma.start()
    try:
        settings = Settings(
            data_dir=tmp / "data",
            embedding=EmbeddingSettings(model="hashing"),
            chroma=ChromaSettings(mode="http", port=chroma.port),
            auth=OUT_OF_THE_WAY,
        )
        container = make_container(settings, kiwi)
        try:
            with serving(settings, container) as client:
                conversation = client.conversation()
                kinds: dict[str, Send] = {
                    "POST /api/v1/search": client.search,
                    "POST /v1/chat/completions": client.complete,
                    "POST /api/v1/conversations/{id}/messages": partial(client.ask, conversation),
                }
                return run_drill(Drill("chroma", kinds), client, chroma.stop, chroma.start, args)
        finally:
            container.close()
    finally:
        chroma.stop()


DRILLS = {"llm": llm_drill, "postgresql": postgresql_drill, "chroma": chroma_drill}
LABELS = {"llm": "llama.cpp server", "postgresql": "PostgreSQL", "chroma": "Chroma server"}


# --- the report ------------------------------------------------------------------------------


def ms(samples: list[Sample], p: float) -> str:
    return f"{percentile([s.seconds for s in samples], p) * 1000:.0f}"


def answers(samples: list[Sample]) -> str:
    """``20 × 503 llm_unavailable`` (several entries when the answers differ)."""
    counted = Counter((s.status, s.code) for s in samples)
    return ", ".join(f"{n} × {status} {code}".strip() for (status, code), n in counted.most_common())


def retry_after(samples: list[Sample]) -> str:
    return "/".join(sorted({s.retry_after for s in samples}))


def report(drills: list[Drill]) -> None:
    """Three Markdown tables: requests, /health, recovery."""
    print(
        "| dependency down | request | up p50 ms | answers while down | down p50 / p95 / max ms | Retry-After s |"
    )
    print("| --- | --- | ---: | --- | ---: | ---: |")
    for drill in drills:
        for name, down in drill.down.items():
            worst = max(s.seconds for s in down) * 1000
            print(
                f"| {LABELS[drill.dependency]} | `{name}` | {ms(drill.up[name], 50)} | {answers(down)} "
                f"| {ms(down, 50)} / {ms(down, 95)} / {worst:.0f} | {retry_after(down)} |"
            )
    print(
        "\n| dependency down | /health up p50 ms | /health down p50 / p95 ms | /health's answer while down |"
    )
    print("| --- | ---: | ---: | --- |")
    for drill in drills:
        down = drill.health_down
        print(
            f"| {LABELS[drill.dependency]} | {ms(drill.health_up, 50)} | {ms(down, 50)} / {ms(down, 95)} "
            f"| {answers(down)}, Retry-After {retry_after(down)} |"
        )
    print(
        "\n| dependency | stop s | restart → it answers its own check s | restart → first 200 s "
        "| that request's own ms | refused while restarting | afterwards |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for drill in drills:
        print(
            f"| {LABELS[drill.dependency]} | {drill.stop_s:.2f} | {drill.ready_s:.2f} | {drill.first_ok_s:.2f} "
            f"| {drill.first_ok_request_s * 1000:.0f} | {drill.refused_while_restarting} "
            f"| {'; '.join(drill.after)} |"
        )


@contextmanager
def quiet_outage_log() -> Iterator[None]:
    """Each 503 logs a warning; the drills make hundreds of them on purpose."""
    logger = logging.getLogger("app.api.outages")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20, help="Requests of each kind while down.")
    parser.add_argument("--up-requests", type=int, default=5, help="Requests of each kind while up.")
    parser.add_argument("--only", default=",".join(DEPENDENCIES), help="Comma-separated dependencies.")
    parser.add_argument(
        "--models-dir", type=Path, default=REPO / "data" / "models", help="Where the GGUF is (assembled)."
    )
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(DEPENDENCIES)
    if unknown:
        parser.error(f"unknown dependencies {sorted(unknown)}; choose from {', '.join(DEPENDENCIES)}")
    print(machine(), "| load average at start", "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
    began = time.perf_counter()
    kiwi = KiwiTokenizer()
    drills: list[Drill] = []
    with quiet_outage_log():
        for name in chosen:
            with tempfile.TemporaryDirectory(prefix=f"jikji-faults-{name}-") as tmp:
                drills.append(DRILLS[name](Path(tmp), kiwi, args))
            print(
                f"<!-- {name} done after {time.perf_counter() - began:.0f}s -->", file=sys.stderr, flush=True
            )
    print(
        f"wall {time.perf_counter() - began:.0f}s, load average at end",
        "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
    )
    print()
    report(drills)


if __name__ == "__main__":
    main()
