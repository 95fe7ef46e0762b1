"""The ``jikji`` command line: serve, ingest, search, ask, migrate."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from app.cli_dict import add_dict_parser
from app.cli_users import add_users_parser
from app.evaluate import add_eval_parser
from core.settings import Settings, load_settings


def _cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from app.container import build_container

    build_container(settings)
    print(f"데이터베이스가 최신입니다 / database is up to date: {settings.database_url}")
    return 0


def _cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    from app.container import build_container
    from app.ingest_files import discover, ingest_paths, sync_deletions
    from app.serve import print_file_progress

    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"경로를 찾을 수 없습니다 / path not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    files = discover(paths)
    if not files and not args.sync:
        print("색인할 지원 형식 파일이 없습니다 / no supported files found", file=sys.stderr)
        return 1
    container = build_container(settings)
    container.recover()
    groups = tuple(g.strip() for g in (args.groups or "").split(",") if g.strip())
    print(f"{len(files)}개 파일 색인 시작 / ingesting {len(files)} files", flush=True)
    summary = ingest_paths(
        container, files, is_public=args.public, groups=groups, on_file=print_file_progress
    )
    if args.sync:
        summary.deleted = sync_deletions(container, paths, files)
    print(
        f"요약 / summary: 추가 {summary.added}, 갱신 {summary.updated}, 변경 없음 {summary.unchanged}, "
        f"삭제 {summary.deleted}, 실패 {len(summary.failed)} — {summary.seconds:.1f}s"
    )
    return 1 if summary.failed else 0


def _cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    import threading

    from app.container import build_container

    container = build_container(settings)
    report = container.recover()
    print(f"작업자 시작 / worker started (복구 {len(report.requeued_or_failed)}건)", flush=True)
    runner = container.job_runner()
    if args.until_idle:
        count = runner.run_until_idle()
        print(f"대기열이 비었습니다 / queue empty after {count} job(s)")
        return 0
    stop = threading.Event()
    try:
        runner.run_forever(stop, settings.jobs.poll_interval_s)
    except KeyboardInterrupt:
        stop.set()
    return 0


def _cmd_search(settings: Settings, args: argparse.Namespace) -> int:
    from app.container import build_container
    from retrieval.types import AccessScope

    container = build_container(settings)
    hits = container.searcher.search(args.query, AccessScope.admin(), k=args.k)
    if not hits:
        print("검색 결과가 없습니다 / no results")
        return 0
    for rank, hit in enumerate(hits, start=1):
        snippet = " ".join(hit.text.split())[:160]
        print(f"{rank}. [{hit.score:.3f}] {hit.citation_label}  ({hit.display_name})\n   {snippet}")
    return 0


def _cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    from app.ask import ask

    return ask(settings, args.question)


def _cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from app.serve import serve

    serve(settings, ingest_dir=Path(args.ingest) if args.ingest else None, with_ui=not args.no_ui)
    return 0


def _cmd_vllm_command(_settings: Settings, args: argparse.Namespace) -> int:
    from llm.vllm import VllmPlan

    adapters = dict(item.split("=", 1) for item in args.lora or [])
    plan = VllmPlan(
        model=args.model,
        served_name=args.served_name,
        max_model_len=args.max_model_len,
        gpu_memory_gib=args.gpu_memory_gib,
        gpu_memory_utilization=args.gpu_memory_utilization,
        max_num_seqs=args.max_num_seqs,
        lora_modules=adapters,
    )
    print(plan.render())
    return 0


def _add_llm_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    llm = sub.add_parser("llm", help="LLM 서버 도구 / LLM server tools")
    llm_sub = llm.add_subparsers(dest="llm_command", required=True)
    vllm = llm_sub.add_parser("vllm-command", help="print a tuned `vllm serve` command for a SOLAR fine-tune")
    vllm.add_argument("--model", default="upstage/SOLAR-10.7B-Instruct-v1.0", help="HF name or local path")
    vllm.add_argument("--served-name", default="solar-10.7b-jikji")
    vllm.add_argument("--max-model-len", type=int, default=4096)
    vllm.add_argument("--gpu-memory-gib", type=float, default=79.0)
    vllm.add_argument("--gpu-memory-utilization", type=float, default=0.90)
    vllm.add_argument("--max-num-seqs", type=int, default=64)
    vllm.add_argument("--lora", action="append", metavar="NAME=PATH", help="department LoRA adapter")
    vllm.set_defaults(func=_cmd_vllm_command)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="jikji", description="Jikji 사내 지식 도우미 / knowledge assistant")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="데이터베이스 스키마 적용 / apply database migrations").set_defaults(
        func=_cmd_migrate
    )
    ingest = sub.add_parser("ingest", help="파일·폴더 색인 / ingest files or folders")
    ingest.add_argument("paths", nargs="+", help="files or directories")
    ingest.add_argument("--public", action="store_true", help="visible to everyone (default: admins only)")
    ingest.add_argument("--groups", default="", help="comma-separated groups that may see the documents")
    ingest.add_argument(
        "--sync", action="store_true", help="mirror the folders: delete documents whose files are gone"
    )
    ingest.set_defaults(func=_cmd_ingest)
    worker = sub.add_parser("worker", help="색인 작업 처리 프로세스 / run ingestion jobs from the queue")
    worker.add_argument("--until-idle", action="store_true", help="exit when the queue is empty")
    worker.set_defaults(func=_cmd_worker)
    search = sub.add_parser("search", help="문서 검색 / search documents")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=5)
    search.set_defaults(func=_cmd_search)
    ask = sub.add_parser("ask", help="질문하기 (출처 포함 답변) / ask with cited answer")
    ask.add_argument("question")
    ask.set_defaults(func=_cmd_ask)
    _add_llm_parser(sub)
    serve = sub.add_parser("serve", help="LLM 서버 + API + UI 실행 / run LLM server, API and UI")
    serve.add_argument("--ingest", default=None, help="folder to ingest on first start (when empty)")
    serve.add_argument("--no-ui", action="store_true", help="do not start the Streamlit UI")
    serve.set_defaults(func=_cmd_serve)
    add_eval_parser(sub)
    add_users_parser(sub)
    add_dict_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jikji`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    code: int = args.func(settings, args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
