"""``jikji users``: bootstrap the first admin and list accounts from the command line."""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy import select

from app.auth.identity import normalise_username
from app.auth.principal import ROLE_ADMIN
from app.cli.common import fail, open_container
from app.container import Container
from app.services import accounts
from app.services.audit import record_event
from app.services.errors import AppError
from core.models import User
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


def cmd_create_admin(settings: Settings, args: argparse.Namespace) -> int:
    """Create an admin account; refuses a taken name or a weak password (no default password)."""
    name = normalise_username(args.name)
    with open_container(settings) as container:
        with container.sessions() as session:
            if session.scalar(select(User.id).where(User.username == name)) is not None:
                return fail(f"이미 있는 사용자입니다 / user already exists: {name}")
        password = _read_password(args.password_stdin)
        if password is None:
            return 1
        try:
            _create_admin(container, name, password, args.display_name or "")
        except AppError as error:
            return fail(f"{error.message_ko} / {error.message_en}")
    print(f"관리자를 만들었습니다 / admin created: {name}")
    return 0


def _create_admin(container: Container, name: str, password: str, display_name: str) -> None:
    min_length = container.settings.auth.min_password_length
    accounts.check_password_strength(password, min_length)
    with container.sessions.begin() as session:
        user = accounts.create_user(
            session,
            name,
            password,
            role=ROLE_ADMIN,
            display_name=display_name,
            min_password_length=min_length,
        )
        record_event(
            session,
            None,
            "user.create",
            target_type="user",
            target_id=user.id,
            detail={"username": user.username, "role": user.role, "via": "cli"},
        )


def cmd_list(settings: Settings, _args: argparse.Namespace) -> int:
    """Print every account with its role, state and groups."""
    with open_container(settings) as container, container.sessions() as session:
        total, users = accounts.list_users(session, limit=1_000_000)
        for user in users:
            state = "active" if user.is_active else "inactive"
            groups = ",".join(sorted(g.name for g in user.groups)) or "-"
            print(f"{user.username}\t{user.role}\t{state}\t{groups}")
    print(f"사용자 {total}명 / {total} user(s)", file=sys.stderr)
    return 0
