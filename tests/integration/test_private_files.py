"""The data directory, the SQLite database and stored originals are owner-only whatever the umask."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from app.container import build_container
from core.private_files import open_private, tighten
from core.settings import Settings
from ingest.originals import OriginalStore

pytestmark = pytest.mark.integration


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def stored_paths(root: Path) -> list[Path]:
    return sorted(root.rglob("*"))


def test_a_fresh_data_directory_is_owner_only_under_a_permissive_umask(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with umask(0o000):
        container = build_container(Settings(data_dir=data_dir))
        try:
            key = container.originals.put("기밀 원본".encode())
            db = data_dir / "jikji.db"
            assert mode(data_dir) == 0o700
            assert mode(db) == 0o600
            for side in (Path(f"{db}-wal"), Path(f"{db}-shm")):
                if side.exists():
                    assert mode(side) == 0o600, side
            originals = data_dir / "originals"
            assert mode(originals) == 0o700
            assert mode(originals / key[:2]) == 0o700
            assert mode(originals / key[:2] / key) == 0o600
        finally:
            container.close()


def test_loose_permissions_left_by_an_older_release_are_tightened_at_start_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    build_container(Settings(data_dir=data_dir)).close()
    store = OriginalStore(data_dir / "originals")
    key = store.put(b"original")
    db = data_dir / "jikji.db"
    blob = data_dir / "originals" / key[:2] / key
    loose = {data_dir: 0o755, db: 0o644, data_dir / "originals": 0o777, blob.parent: 0o755, blob: 0o644}
    for path, loose_mode in loose.items():
        path.chmod(loose_mode)

    with caplog.at_level(logging.WARNING, logger="core.private_files"):
        build_container(Settings(data_dir=data_dir)).close()

    assert (mode(data_dir), mode(db)) == (0o700, 0o600)
    assert [mode(p) for p in (data_dir / "originals", blob.parent, blob)] == [0o700, 0o700, 0o600]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"tightened permissions of {data_dir.resolve()} from 0755 to 0700" in logged
    assert f"tightened permissions of {db.resolve()} from 0644 to 0600" in logged
    assert "tightened permissions of 3 stored originals and their folders" in logged


def test_tighten_leaves_stricter_modes_and_reports_nothing_when_all_is_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    read_only = data_dir / "jikji.db"
    read_only.write_bytes(b"")
    read_only.chmod(0o400)
    assert tighten(data_dir, read_only, data_dir / "originals") == []
    assert mode(read_only) == 0o400


def test_open_private_writes_0600_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "blob"
    with umask(0o000), open_private(target) as handle:
        handle.write(b"x")
    assert mode(target) == 0o600
    target.chmod(0o666)
    with open_private(target) as handle:  # an existing file is narrowed too
        handle.write(b"y")
    assert (mode(target), target.read_bytes()) == (0o600, b"y")


def test_start_up_walks_the_originals_only_while_their_folder_is_loose(tmp_path: Path) -> None:
    """Originals are created private, so a private originals folder is not walked at every start-up
    (at 100k documents that is 100k stat calls); a loose one is, and is tightened last."""
    data_dir = tmp_path / "data"
    build_container(Settings(data_dir=data_dir)).close()
    store = OriginalStore(data_dir / "originals")
    blob = data_dir / "originals" / store.put(b"original")[:2]
    blob.chmod(0o755)
    assert tighten(data_dir, None, data_dir / "originals") == []  # the folder is 0700: not walked
    (data_dir / "originals").chmod(0o755)
    changed = [path for path, _ in tighten(data_dir, None, data_dir / "originals")]
    assert changed == [blob, data_dir / "originals"]
    assert mode(blob) == 0o700
