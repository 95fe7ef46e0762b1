"""Owner-only files: the data directory, the SQLite database and stored originals.

They hold every uploaded document and every account, so nothing under them is readable by other
local users whatever the process umask is: directories are made 0700 and files 0600, and
:func:`tighten` corrects a data directory created looser (by an older release or by hand) at
start-up, logging what it changed.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.engine import make_url

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
# SQLite's side files take the database file's permissions when SQLite creates them.
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")

_log = logging.getLogger(__name__)


def make_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) if needed; ``path`` itself ends up 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    if stat.S_IMODE(path.stat().st_mode) != PRIVATE_DIR:
        path.chmod(PRIVATE_DIR)
    return path


def open_private(path: Path) -> BinaryIO:
    """Open ``path`` for writing (created or truncated) with mode 0600, whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
    except OSError:
        os.close(fd)
        raise
    return os.fdopen(fd, "wb")


def touch_private(path: Path) -> None:
    """Create an empty 0600 file unless ``path`` exists (an empty file is an empty SQLite database)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)


def sqlite_file(database_url: str) -> Path | None:
    """The database file of a SQLite URL (None for another database or an in-memory one)."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    if url.database.startswith("file:"):  # a URI filename: its permissions are the operator's business
        return None
    return Path(url.database)


def tighten(data_dir: Path, database: Path | None, originals_dir: Path) -> list[tuple[Path, int]]:
    """Make the data directory 0700, the SQLite files and stored originals 0600 (their folders 0700).

    Returns each changed path with its former mode, after logging one line per changed path of the
    data directory and database and one line for the originals. A path that cannot be changed
    (owned by someone else) is logged as a warning and left as it is.
    """
    changed: list[tuple[Path, int]] = []
    top = [(data_dir, PRIVATE_DIR)]
    if database is not None:
        top += [(Path(f"{database}{suffix}"), PRIVATE_FILE) for suffix in ("", *SQLITE_SIDE_FILES)]
    for path, mode in top:
        if _chmod_if_loose(path.resolve(), mode, changed):
            _log.warning(
                "권한 강화 / tightened permissions of %s from %04o to %04o", path, changed[-1][1], mode
            )
    count = len(changed)
    for path, mode in _originals(originals_dir):
        _chmod_if_loose(path, mode, changed)
    if len(changed) > count:
        _log.warning(
            "권한 강화 / tightened permissions of %d stored originals and their folders under %s "
            "(files %04o, folders %04o)",
            len(changed) - count,
            originals_dir,
            PRIVATE_FILE,
            PRIVATE_DIR,
        )
    return changed


def _originals(root: Path) -> Iterator[tuple[Path, int]]:
    """Every folder and file under ``root``, then ``root`` itself — only while ``root`` is looser than
    0700. Stored originals are created private, so a private root means its tree was tightened (the
    root comes last, so an interrupted pass is done again): start-up need not stat every original."""
    if not root.is_dir() or stat.S_IMODE(root.lstat().st_mode) & ~PRIVATE_DIR == 0:
        return
    for directory, subdirs, files in os.walk(root):
        for name in subdirs:
            yield Path(directory, name), PRIVATE_DIR
        for name in files:
            yield Path(directory, name), PRIVATE_FILE
    yield root, PRIVATE_DIR


def _chmod_if_loose(path: Path, mode: int, changed: list[tuple[Path, int]]) -> bool:
    """chmod ``path`` to ``mode`` when it is more open; records it in ``changed`` (links are left alone)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(info.st_mode):
        return False
    old = stat.S_IMODE(info.st_mode)
    if old & ~mode == 0:
        return False
    try:
        path.chmod(mode)
    except OSError as exc:
        _log.warning("권한을 바꿀 수 없음 / cannot tighten permissions of %s (%04o): %s", path, old, exc)
        return False
    changed.append((path, old))
    return True
