"""The backup archive: one gzipped tar of named members, a manifest with checksums, written atomically.

Members (nothing else is accepted when reading):

- ``database/jikji.db``: a SQLite snapshot (the online backup API), or
- ``database/tables/<table>.jsonl``: one JSON object per row (PostgreSQL, a logical snapshot);
- ``originals/<xx>/<key>``: the stored originals under their keys;
- ``manifest.json`` (last): format, database and index facts, and the SHA-256 and size of every other
  member.

The archive is written to a hidden temporary name next to the destination, flushed to disk and renamed
onto it only when complete, so a failed or interrupted backup leaves nothing that looks like a backup.
It holds password and key hashes and every document: it is created readable by its owner only (0600).
Reading never extracts by the names in the file: each member's name is checked against the patterns
above and written to a path built from it, so a crafted archive cannot write outside the staging folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

FORMAT = "jikji-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/jikji.db"
TABLES_DIR = "database/tables"
ORIGINALS_DIR = "originals"
MEMBER_RE = re.compile(
    r"^(?:database/jikji\.db|database/tables/[A-Za-z0-9_]{1,63}\.jsonl|originals/[0-9a-f]{2}/[0-9a-f]{32})$"
)
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
CHUNK = 1024 * 1024
COMPRESS_LEVEL = 6  # level 9 costs about twice the CPU for a percent or two on these contents


class BackupError(Exception):
    """A backup or restore a person must act on, with a Korean and an English message."""

    def __init__(self, message_ko: str, message_en: str, exit_code: int = 1) -> None:
        super().__init__(message_en)
        self.message_ko, self.message_en, self.exit_code = message_ko, message_en, exit_code

    def __str__(self) -> str:
        return f"{self.message_ko} / {self.message_en}"


@dataclass(frozen=True, slots=True)
class MemberDigest:
    """A member's SHA-256 (hex) and size in bytes."""

    sha256: str
    size: int


class _HashingReader(io.RawIOBase):
    """Reads through ``source`` and hashes what passes."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self.digest.update(data)
        return data


class ArchiveWriter:
    """Adds members to a temporary archive; :meth:`commit` writes the manifest and renames it in place."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.temp = dest.with_name(f".{dest.name}.partial-{os.getpid()}-{time.monotonic_ns()}")
        self.files: dict[str, MemberDigest] = {}
        descriptor = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._raw: BinaryIO = os.fdopen(descriptor, "wb")
        self._tar = tarfile.open(  # noqa: SIM115 (closed in commit/abort)
            fileobj=self._raw, mode="w:gz", compresslevel=COMPRESS_LEVEL, format=tarfile.PAX_FORMAT
        )

    def add_file(self, name: str, path: Path) -> MemberDigest:
        """Add the file at ``path`` as member ``name``; its digest."""
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            return self._add(name, handle, size)

    def add_stream(self, name: str, handle: IO[bytes], size: int) -> MemberDigest:
        """Add ``size`` bytes read from ``handle`` as member ``name``; its digest."""
        return self._add(name, handle, size)

    def _add(self, name: str, handle: IO[bytes], size: int) -> MemberDigest:
        if not MEMBER_RE.match(name) or name in self.files:
            msg = f"not a backup member name, or added twice: {name!r}"
            raise ValueError(msg)
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o600, int(time.time())
        reader = _HashingReader(handle)
        self._tar.addfile(info, reader)  # type: ignore[arg-type]  # reads exactly info.size bytes
        digest = MemberDigest(reader.digest.hexdigest(), size)
        self.files[name] = digest
        return digest

    def commit(self, manifest: dict[str, Any]) -> Path:
        """Write ``manifest`` (with every member's digest) last, sync, and rename onto the destination."""
        document = {**manifest, "files": {n: [d.sha256, d.size] for n, d in sorted(self.files.items())}}
        data = json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
        self._tar.addfile(info, io.BytesIO(data))
        self._tar.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        self.temp.replace(self.dest)
        _sync_directory(self.dest.parent)
        return self.dest

    def abort(self) -> None:
        """Close and remove the temporary archive (after a failure)."""
        with contextlib.suppress(OSError, tarfile.TarError):
            self._tar.close()
        with contextlib.suppress(OSError):
            self._raw.close()
        self.temp.unlink(missing_ok=True)


@contextlib.contextmanager
def writing_archive(dest: Path) -> Iterator[ArchiveWriter]:
    """An :class:`ArchiveWriter` that is removed unless it was committed when the block ends."""
    writer = ArchiveWriter(dest)
    try:
        yield writer
    finally:
        if writer.temp.exists():
            writer.abort()


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a no-op where directories cannot be opened)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def unpack_verified(archive: Path, staging: Path) -> dict[str, Any]:
    """Unpack ``archive`` into ``staging`` checking every member against the manifest; the manifest.

    Raises :class:`BackupError` (nothing is left to trust in ``staging`` then) when the archive is
    unreadable, not a Jikji backup, of a newer format, has unexpected or missing members, or a member's
    checksum or size differs from the manifest's.
    """
    found: dict[str, MemberDigest] = {}
    manifest_bytes: bytes | None = None
    try:
        with tarfile.open(archive, mode="r|*") as tar:
            for member in tar:
                if member.name == MANIFEST and member.isfile() and manifest_bytes is None:
                    manifest_bytes = _read_manifest(tar, member)
                    continue
                if not member.isfile() or not MEMBER_RE.match(member.name) or member.name in found:
                    raise _corrupt(f"unexpected member {member.name!r}")
                found[member.name] = _extract(tar, member, staging / member.name)
    except (tarfile.TarError, EOFError, OSError, UnicodeDecodeError) as exc:
        raise _corrupt(str(exc)) from exc
    if manifest_bytes is None:
        raise _corrupt("no manifest.json")
    manifest = _parse_manifest(manifest_bytes)
    expected = {name: MemberDigest(str(v[0]), int(v[1])) for name, v in manifest["files"].items()}
    if expected != found:
        bad = sorted(n for n in expected.keys() | found.keys() if expected.get(n) != found.get(n))
        raise BackupError(
            f"백업 파일의 체크섬이 맞지 않습니다(손상되었거나 바뀐 파일): {', '.join(bad[:5])}",
            f"the backup's checksums do not match (a damaged or altered file): {', '.join(bad[:5])}",
        )
    return manifest


def _read_manifest(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    if member.size > MAX_MANIFEST_BYTES:
        raise _corrupt("manifest too large")
    handle = tar.extractfile(member)
    if handle is None:
        raise _corrupt("unreadable manifest")
    return handle.read()


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> MemberDigest:
    handle = tar.extractfile(member)
    if handle is None:
        raise _corrupt(f"unreadable member {member.name!r}")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest = hashlib.sha256()
    size = 0
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        while block := handle.read(CHUNK):
            digest.update(block)
            size += len(block)
            out.write(block)
    return MemberDigest(digest.hexdigest(), size)


def _parse_manifest(data: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _corrupt(f"manifest is not JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(
            "Jikji 백업 파일이 아닙니다.", "this is not a Jikji backup (no jikji-backup manifest).", 2
        )
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BackupError(
            f"더 새로운 Jikji가 만든 백업입니다(형식 {version}). Jikji를 업그레이드한 뒤 복원하십시오.",
            f"the backup was made by a newer Jikji (format {version}); upgrade Jikji, then restore.",
            2,
        )
    if not isinstance(manifest.get("files"), dict):
        raise _corrupt("manifest without a file list")
    return manifest


def _corrupt(detail: str) -> BackupError:
    return BackupError(
        f"백업 파일을 읽을 수 없습니다(손상되었거나 잘린 파일): {detail}",
        f"the backup cannot be read (a damaged or truncated file): {detail}",
    )
