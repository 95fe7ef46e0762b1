"""``jikji ingest`` and ``jikji worker``: files into the index, and the job queue's worker process."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from app.cli.common import fail, missing_paths, open_container, print_file_progress
from app.container import Container
from app.services import accounts
from app.services.errors import AppError
from app.services.ingest_files import discover, ingest_paths, sync_deletions
from core.settings import Settings


def _group_ids(container: Container, names: str, *, create: bool) -> tuple[str, ...]:
    with container.sessions.begin() as session:
        return accounts.group_ids_by_name(session, names.split(","), create_missing=create)


def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    """Index files and folders as jobs; with ``--sync`` also delete documents whose files are gone."""
    paths = [Path(p) for p in args.paths]
    if (code := missing_paths(list(paths))) is not None:
        return code
    files = discover(paths)
    if not files and not args.sync:
        return fail("색인할 지원 형식 파일이 없습니다 / no supported files found")
    with open_container(settings, recover=True) as container:
        try:
            group_ids = _group_ids(container, args.groups, create=args.create_groups)
        except AppError as exc:
            hint = "--create-groups 로 새로 만들 수 있습니다 / --create-groups creates them"
            return fail(f"{exc.message_ko} / {exc.message_en}\n{hint}", 2)
        print(f"{len(files)}개 파일 색인 시작 / ingesting {len(files)} files", flush=True)
        summary = ingest_paths(
            container, files, is_public=args.public, group_ids=group_ids, on_file=print_file_progress
        )
        if args.sync:
            summary.deleted = sync_deletions(container, paths, files)
    print(
        f"요약 / summary: 추가 {summary.added}, 갱신 {summary.updated}, 변경 없음 {summary.unchanged}, "
        f"삭제 {summary.deleted}, 실패 {len(summary.failed)} — {summary.seconds:.1f}s"
    )
    return 1 if summary.failed else 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """Run queued ingestion jobs until interrupted (or, with ``--until-idle``, until the queue is empty)."""
    with open_container(settings) as container:
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
