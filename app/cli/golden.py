"""``jikji golden export|import``: golden items as the JSONL ``jikji eval answers --dataset`` reads."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cli.common import fail, open_container
from app.services import golden
from app.services.errors import AppError
from core.models import Group
from core.settings import Settings


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    """Write the golden items (``--status``, ``--group``) as JSONL to ``--out`` or stdout."""
    status = None if args.status == "all" else args.status
    with open_container(settings) as container, container.sessions() as session:
        group_id = _group_id(session, args.group) if args.group else None
        if args.group and group_id is None:
            return fail(f"없는 그룹입니다 / unknown group: {args.group}", 2)
        lines = golden.export_lines(session, status=status, group_id=group_id)
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"골든 항목 {len(lines)}개 / {len(lines)} golden items → {args.out}", file=sys.stderr)
    return 0


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    """Create or update golden items from a JSONL file, all or nothing (audited without a user)."""
    try:
        items = _read_jsonl(args.file)
    except (OSError, ValueError) as exc:
        return fail(f"읽을 수 없는 파일 / unreadable file: {exc}", 2)
    try:
        with open_container(settings) as container, container.sessions.begin() as session:
            summary = golden.import_lines(session, None, items)
    except AppError as exc:
        return fail(f"{exc.message_ko} / {exc.message_en}")
    print(
        f"추가 {len(summary.created)} · 갱신 {len(summary.updated)} · 그대로 {len(summary.unchanged)} / "
        f"created {len(summary.created)}, updated {len(summary.updated)}, unchanged {len(summary.unchanged)}"
    )
    return 0


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        item = json.loads(line)
        if not isinstance(item, dict):
            msg = f"{path}:{number}: not a JSON object"
            raise ValueError(msg)
        items.append(item)
    return items


def _group_id(session: Session, name: str) -> str | None:
    found: str | None = session.scalar(select(Group.id).where(Group.name == name))
    return found
