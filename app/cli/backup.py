"""``jikji backup``, ``jikji restore`` and ``jikji reindex``: the operations of a bad day."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli.common import fail, open_container
from app.services.backup import busy_jobs, create_backup, reindex, restore_backup
from app.services.backup_archive import BackupError
from core.settings import Settings
from retrieval.vectors import EmbedderMismatchError


def _say(line: str) -> None:
    print(line, flush=True)


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    """Write one archive: a consistent SQL snapshot, the originals and the index manifest."""
    try:
        report = create_backup(settings, Path(args.dest), say=_say)
    except BackupError as exc:
        return fail(str(exc), exc.exit_code)
    index, originals = report.manifest["index"], report.manifest["originals"]
    print(
        f"백업 완료 / backup written: {report.path} ({report.size / 1e6:.1f} MB, {report.seconds:.1f}s) — "
        f"문서 {index['current_documents']}, 청크 {index['current_chunks']}, 원본 {originals['count']}"
    )
    if originals["missing"]:
        print(
            f"경고 / warning: 원본 {len(originals['missing'])}개가 저장소에 없었습니다 / "
            f"{len(originals['missing'])} current original(s) were missing from storage: "
            + ", ".join(originals["missing"][:5])
        )
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    """Restore an archive into an empty data directory and database, then rebuild the indexes."""
    try:
        report = restore_backup(settings, Path(args.archive), force=args.force, say=_say)
    except BackupError as exc:
        return fail(str(exc), exc.exit_code)
    index = report.manifest["index"]
    print(
        f"복원 완료 / restored: 문서 {index['current_documents']}, 청크 {report.vectors.chunks}, "
        f"원본 {report.originals}, 벡터 {report.vectors.embedded}, BM25 {report.lexical_rows} "
        f"({report.seconds:.1f}s)"
    )
    if index.get("embedding_model") != settings.embedding.model:
        print(
            f"참고 / note: 백업은 '{index.get('embedding_model')}' 로 색인되었고, 벡터는 지금 설정된 "
            f"'{settings.embedding.model}' 로 다시 만들었습니다 / "
            "vectors were rebuilt with the configured model"
        )
    return 0


def cmd_reindex(settings: Settings, args: argparse.Namespace) -> int:
    """Rebuild the Chroma vectors and the BM25 index from the chunks in SQL (resumable)."""
    with open_container(settings) as container:
        busy = busy_jobs(container.sessions)
        if busy:
            return fail(f"색인 작업 {busy}건이 진행 중입니다. 끝난 뒤 다시 실행하십시오 / {busy} job(s) busy")
        try:
            report = reindex(container, fresh=args.fresh, say=_say)
        except EmbedderMismatchError as exc:
            hint = (
                "`jikji reindex --fresh` 로 컬렉션을 새로 만들 수 있습니다 / --fresh rebuilds the collection"
            )
            return fail(f"{exc}\n{hint}", 2)
    vectors = report.vectors
    print(
        f"재색인 완료 / reindexed{' (resumed)' if report.resumed else ''}: 청크 {vectors.chunks}, "
        f"새로 임베딩 {vectors.embedded}, 이미 있음 {vectors.already_present}, "
        f"고아 벡터 삭제 {vectors.stray_removed}, BM25 {report.lexical_rows}"
    )
    return 0
