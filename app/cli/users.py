"""``jikji users``: bootstrap the first admin and list accounts from the command line."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.services.errors import AppError
    from core.settings import Settings


def _read_password(from_stdin: bool) -> str | None:
    """The new password from one line of stdin, or typed twice at a hidden prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("새 비밀번호 / new password: ")
    second = getpass.getpass("비밀번호 확인 / repeat password: ")
    if first != second:
        print("비밀번호가 서로 다릅니다 / the passwords do not match", file=sys.stderr)
        return None
    return first


def _fail(error: AppError) -> int:
    print(f"{error.message_ko} / {error.message_en}", file=sys.stderr)
    return 1


def cmd_create_admin(settings: Settings, args: argparse.Namespace) -> int:
    """Create an admin account; refuses a taken name or a weak password (no default password)."""
    from sqlalchemy import select

    from app.auth.identity import normalise_username
    from app.auth.principal import ROLE_ADMIN
    from app.container import build_container
    from app.services import accounts
    from app.services.audit import record_event
    from app.services.errors import AppError
    from core.models import User

    container = build_container(settings)
    name = normalise_username(args.name)
    with container.sessions() as session:
        if session.scalar(select(User.id).where(User.username == name)) is not None:
            print(f"이미 있는 사용자입니다 / user already exists: {name}", file=sys.stderr)
            return 1
    password = _read_password(args.password_stdin)
    if password is None:
        return 1
    try:
        accounts.check_password_strength(password, settings.auth.min_password_length)
        with container.sessions.begin() as session:
            user = accounts.create_user(
                session,
                name,
                password,
                role=ROLE_ADMIN,
                display_name=args.display_name or "",
                min_password_length=settings.auth.min_password_length,
            )
            record_event(
                session,
                None,
                "user.create",
                target_type="user",
                target_id=user.id,
                detail={"username": user.username, "role": user.role, "via": "cli"},
            )
    except AppError as error:
        return _fail(error)
    finally:
        container.close()
    print(f"관리자를 만들었습니다 / admin created: {name}")
    return 0


def cmd_list(settings: Settings, _args: argparse.Namespace) -> int:
    """Print every account with its role, state and groups."""
    from app.container import build_container
    from app.services import accounts

    container = build_container(settings)
    with container.sessions() as session:
        total, users = accounts.list_users(session, limit=1_000_000)
        for user in users:
            state = "active" if user.is_active else "inactive"
            groups = ",".join(sorted(g.name for g in user.groups)) or "-"
            print(f"{user.username}\t{user.role}\t{state}\t{groups}")
    container.close()
    print(f"사용자 {total}명 / {total} user(s)", file=sys.stderr)
    return 0


def add_users_parser(sub: Any) -> None:
    """Register ``users create-admin`` and ``users list`` on an argparse subparsers object."""
    users = sub.add_parser("users", help="계정 관리 / manage accounts")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    create = users_sub.add_parser("create-admin", help="관리자 계정 만들기 / create an admin account")
    create.add_argument("name", help="user name of the new admin")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from one line of stdin"
    )
    create.add_argument("--display-name", default="", help="name shown in the UI")
    create.set_defaults(func=cmd_create_admin)
    users_sub.add_parser("list", help="계정 목록 / list accounts").set_defaults(func=cmd_list)
