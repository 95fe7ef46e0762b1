"""The backup archive format: written atomically and owner-only, read only by names and checksums it knows."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from app.services.backup_archive import (
    FORMAT,
    FORMAT_VERSION,
    BackupError,
    unpack_verified,
    writing_archive,
)

KEY = "0123456789abcdef0123456789abcdef"
MEMBER = f"originals/01/{KEY}"


def _write(dest: Path, data: bytes = b"original bytes") -> Path:
    source = dest.parent / "source.bin"
    source.write_bytes(data)
    with writing_archive(dest) as writer:
        writer.add_file(MEMBER, source)
        writer.commit({"format": FORMAT, "format_version": FORMAT_VERSION})
    return dest


def test_a_committed_archive_is_owner_only_and_unpacks_verified(tmp_path: Path) -> None:
    archive = _write(tmp_path / "backup.tar.gz")
    assert archive.stat().st_mode & 0o777 == 0o600
    manifest = unpack_verified(archive, tmp_path / "staging")
    assert list(manifest["files"]) == [MEMBER]
    assert (tmp_path / "staging" / MEMBER).read_bytes() == b"original bytes"


def test_a_failure_before_commit_leaves_nothing_behind(tmp_path: Path) -> None:
    dest = tmp_path / "out" / "backup.tar.gz"
    dest.parent.mkdir()
    source = tmp_path / "source.bin"
    source.write_bytes(b"x" * 100_000)

    def fail_midway() -> None:
        with writing_archive(dest) as writer:
            writer.add_file(MEMBER, source)
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        fail_midway()
    assert list(dest.parent.iterdir()) == []


def _tar_with(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _manifest(files: dict[str, bytes]) -> bytes:
    listed = {name: [hashlib.sha256(data).hexdigest(), len(data)] for name, data in files.items()}
    return json.dumps({"format": FORMAT, "format_version": FORMAT_VERSION, "files": listed}).encode()


def test_a_member_outside_the_known_names_is_refused_and_not_written(tmp_path: Path) -> None:
    evil = {"../../escaped.txt": b"pwned"}
    archive = _tar_with(tmp_path / "evil.tar.gz", {**evil, "manifest.json": _manifest(evil)})
    with pytest.raises(BackupError) as refused:
        unpack_verified(archive, tmp_path / "a" / "b" / "staging")
    assert "unexpected member" in refused.value.message_en
    assert not (tmp_path / "a" / "escaped.txt").exists() and not (tmp_path / "escaped.txt").exists()


def test_changed_bytes_missing_members_and_foreign_files_are_refused(tmp_path: Path) -> None:
    files = {MEMBER: b"original bytes"}
    altered = _tar_with(
        tmp_path / "altered.tar.gz", {MEMBER: b"altered bytes", "manifest.json": _manifest(files)}
    )
    with pytest.raises(BackupError, match="checksums do not match"):
        unpack_verified(altered, tmp_path / "s1")
    missing = _tar_with(tmp_path / "missing.tar.gz", {"manifest.json": _manifest(files)})
    with pytest.raises(BackupError, match="checksums do not match"):
        unpack_verified(missing, tmp_path / "s2")
    foreign = _tar_with(tmp_path / "foreign.tar.gz", {"manifest.json": b'{"format": "other"}'})
    with pytest.raises(BackupError, match="not a Jikji backup") as refused:
        unpack_verified(foreign, tmp_path / "s3")
    assert refused.value.exit_code == 2
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(_write(tmp_path / "whole.tar.gz").read_bytes()[:60])
    with pytest.raises(BackupError, match="cannot be read"):
        unpack_verified(truncated, tmp_path / "s4")
