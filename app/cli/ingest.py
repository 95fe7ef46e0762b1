"""``jikji ingest`` and ``jikji worker``: files into the index, and the job queue's worker process."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from sqlalchemy import func, select

from app.cli.common import fail, missing_paths, open_container, print_file_progress
from app.container import Container
from app.services import accounts
from app.services.errors import AppError
from app.services.ingest_files import discover, ingest_paths, sync_deletions
from core.models import IngestionJob
from core.settings import Settings
from ingest.chunker import CHUNKER_VERSION
from ingest.jobs import JobStatus
from ingest.reindex import index_chunker_version, rechunk_index


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


def cmd_rechunk(settings: Settings, args: argparse.Namespace) -> int:
    """Cut every document again with the current chunker (a new version each; permissions kept)."""
    with open_container(settings, recover=True) as container:
        version = index_chunker_version(container.sessions)
        if version >= CHUNKER_VERSION and not args.force:
            print(f"이미 최신 청크입니다 / already cut by chunker v{CHUNKER_VERSION} (--force to redo)")
            return 0
        with container.sessions() as session:
            busy = session.scalar(
                select(func.count())
                .select_from(IngestionJob)
                .where(IngestionJob.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
            )
        if busy:
            return fail(f"색인 작업 {busy}건이 진행 중입니다. 끝난 뒤 다시 실행하십시오 / {busy} job(s) busy")

        def progress(done: int, total: int, title: str) -> None:
            print(f"  [{done}/{total}] {title}", flush=True)

        print(f"청크 다시 자르기 / re-chunking (v{version} → v{CHUNKER_VERSION})", flush=True)
        report = rechunk_index(container.sessions, container.pipeline, container.originals, progress)
        container.index.checkpoint()
    print(
        f"완료 / done: 문서 {report.documents}, 청크 {report.chunks_before} → {report.chunks_after}, "
        f"실패 {len(report.failed)}"
    )
    for document_id, why in report.failed.items():
        print(f"  실패 / failed {document_id}: {why}")
    return 1 if report.failed else 0
