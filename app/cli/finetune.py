"""``jikji finetune``: the training loop's commands. ``export`` writes the supervised data set
(:mod:`app.services.finetune_export`); ``train`` fits an adapter on it."""

from __future__ import annotations

import argparse
import sys

from app.cli.common import fail, open_container
from app.services.finetune_export import ExportScope, build_dataset, group_by_name, write_dataset
from core.settings import Settings


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    """Write ``train.jsonl``, ``heldout.jsonl`` and ``stats.json`` for ``--group`` (its documents and
    public ones), public documents only, or every document with ``--all``; print the statistics."""
    if args.group and args.all:
        return fail("--group과 --all은 함께 쓸 수 없습니다 / --group and --all exclude each other", 2)
    with open_container(settings) as container:
        scope = ExportScope(all_documents=args.all)
        if args.group:
            with container.sessions() as session:
                group_id = group_by_name(session, args.group)
            if group_id is None:
                return fail(f"없는 그룹입니다 / unknown group: {args.group}", 2)
            scope = ExportScope(group_id=group_id, group_name=args.group)
        dataset = build_dataset(
            container,
            scope,
            heldout_fraction=args.heldout,
            golden_weight=args.golden_weight,
            abstain_cap=args.abstain_cap,
        )
    paths = write_dataset(dataset, args.out)
    print(dataset.stats.to_table())
    print(f"데이터셋 / data set: {', '.join(str(p) for p in paths)}", file=sys.stderr)
    if not dataset.train and not dataset.heldout:
        if dataset.stats.skipped["abstain_over_cap"]:
            return fail(
                "답할 수 있는 질문이 없어 기권 질문만 남았습니다 (상한 --abstain-cap) / only abstention "
                "questions: nothing in scope is answerable, and a set of abstentions alone is capped away",
                1,
            )
        return fail("내보낼 항목이 없습니다 / nothing to export (no visible documents or golden items)", 1)
    return 0
