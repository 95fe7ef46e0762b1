"""``jikji dict list|add|remove|retokenize``: the company dictionary (terms Kiwi keeps whole)."""

from __future__ import annotations

import argparse

from app.cli.common import fail, open_container
from core.settings import Settings
from retrieval.dictionary import DictionaryError, add_term, list_terms, remove_term, retokenize_all


def cmd_list(settings: Settings, _args: argparse.Namespace) -> int:
    """Print every company term with its tag, score and date."""
    with open_container(settings) as container, container.sessions() as session:
        entries = list_terms(session)
    if not entries:
        print("등록된 용어가 없습니다 / the dictionary is empty")
        return 0
    width = max(len(entry.term) for entry in entries)
    for entry in entries:
        print(f"{entry.term:<{width}}  {entry.tag:<4} {entry.score:+.1f}  {entry.created_at:%Y-%m-%d}")
    return 0


def cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    """Add a term and re-cut the chunks that contain it."""
    try:
        with open_container(settings) as container:
            change = add_term(container.index, args.term, tag=args.tag, score=args.score)
    except DictionaryError as exc:
        return fail(str(exc))
    print(
        f"추가됨 / added: {change.entry.term} ({change.entry.tag}); "
        f"청크 {change.retokenized}개 재분석 / {change.retokenized} chunks re-tokenized"
    )
    return 0


def cmd_remove(settings: Settings, args: argparse.Namespace) -> int:
    """Remove a term and re-cut the chunks that contain it."""
    try:
        with open_container(settings) as container:
            change = remove_term(container.index, args.term)
    except DictionaryError as exc:
        return fail(str(exc))
    print(
        f"삭제됨 / removed: {change.entry.term}; "
        f"청크 {change.retokenized}개 재분석 / {change.retokenized} chunks re-tokenized"
    )
    return 0


def cmd_retokenize(settings: Settings, _args: argparse.Namespace) -> int:
    """Re-cut every chunk's BM25 terms (after a Kiwi upgrade), with progress."""

    def report(done: int, total: int) -> None:
        print(f"  재분석 / re-tokenized {done:,}/{total:,}", flush=True)

    with open_container(settings) as container:
        done = retokenize_all(container.index, report)
    print(f"완료 / done: 청크 {done:,}개 재분석 / {done:,} chunks re-tokenized")
    return 0
