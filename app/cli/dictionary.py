"""``jikji dict list|add|remove|retokenize``: the company dictionary (terms Kiwi keeps whole)."""

from __future__ import annotations

import argparse
import sys
from contextlib import closing
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.settings import Settings


def _cmd_list(settings: Settings, _args: argparse.Namespace) -> int:
    from app.container import build_container
    from retrieval.dictionary import list_terms

    with closing(build_container(settings)) as container, container.sessions() as session:
        entries = list_terms(session)
    if not entries:
        print("등록된 용어가 없습니다 / the dictionary is empty")
        return 0
    width = max(len(entry.term) for entry in entries)
    for entry in entries:
        print(f"{entry.term:<{width}}  {entry.tag:<4} {entry.score:+.1f}  {entry.created_at:%Y-%m-%d}")
    return 0


def _cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    from app.container import build_container
    from retrieval.dictionary import DictionaryError, add_term

    try:
        with closing(build_container(settings)) as container:
            change = add_term(container.index, args.term, tag=args.tag, score=args.score)
    except DictionaryError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(
        f"추가됨 / added: {change.entry.term} ({change.entry.tag}); "
        f"청크 {change.retokenized}개 재분석 / {change.retokenized} chunks re-tokenized"
    )
    return 0


def _cmd_remove(settings: Settings, args: argparse.Namespace) -> int:
    from app.container import build_container
    from retrieval.dictionary import DictionaryError, remove_term

    try:
        with closing(build_container(settings)) as container:
            change = remove_term(container.index, args.term)
    except DictionaryError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(
        f"삭제됨 / removed: {change.entry.term}; "
        f"청크 {change.retokenized}개 재분석 / {change.retokenized} chunks re-tokenized"
    )
    return 0


def _cmd_retokenize(settings: Settings, _args: argparse.Namespace) -> int:
    from app.container import build_container
    from retrieval.dictionary import retokenize_all

    def report(done: int, total: int) -> None:
        print(f"  재분석 / re-tokenized {done:,}/{total:,}", flush=True)

    with closing(build_container(settings)) as container:
        done = retokenize_all(container.index, report)
    print(f"완료 / done: 청크 {done:,}개 재분석 / {done:,} chunks re-tokenized")
    return 0


def add_dict_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``jikji dict`` and its subcommands."""
    parser = sub.add_parser("dict", help="회사 용어 사전 / company dictionary for Kiwi")
    commands = parser.add_subparsers(dest="dict_command", required=True)
    commands.add_parser("list", help="등록된 용어 / list terms").set_defaults(func=_cmd_list)
    add = commands.add_parser("add", help="용어 추가 (관련 청크 재분석) / add a term, re-tokenize")
    add.add_argument("term", help="product, team or acronym to keep whole, e.g. 한빛클라우드")
    add.add_argument("--tag", default="NNP", help="Kiwi POS tag: NNP (default), NNG, SL or XR")
    add.add_argument("--score", type=float, default=0.0, help="Kiwi preference score (0.0)")
    add.set_defaults(func=_cmd_add)
    remove = commands.add_parser("remove", help="용어 삭제 (관련 청크 재분석) / remove a term")
    remove.add_argument("term")
    remove.set_defaults(func=_cmd_remove)
    commands.add_parser(
        "retokenize", help="모든 청크 재분석 (업그레이드 후) / re-tokenize every chunk (after an upgrade)"
    ).set_defaults(func=_cmd_retokenize)
