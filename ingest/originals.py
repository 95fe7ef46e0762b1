"""Uploaded originals on disk, stored under generated ids (never under the uploaded file name).

Folders are created 0700 and blobs 0600 whatever the umask: only the service's own user reads them.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import BinaryIO

from core.private_files import make_private_dir, open_private

KEY_RE = re.compile(r"^[0-9a-f]{32}$")


class OriginalStore:
    """A directory of immutable blobs addressed by random keys."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, data: bytes) -> str:
        """Store ``data`` durably (written to a temp file, fsynced, renamed); returns its key."""
        key = uuid.uuid4().hex
        path = self._path(key)
        make_private_dir(self.root)
        make_private_dir(path.parent)
        tmp = path.with_suffix(".tmp")
        with open_private(tmp) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
        return key

    def read(self, key: str) -> bytes:
        """The bytes stored under ``key``."""
        return self._path(key).read_bytes()

    def open(self, key: str) -> BinaryIO:
        """The blob stored under ``key``, opened for reading (stays readable if it is deleted meanwhile)."""
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        """Remove a blob (missing is fine)."""
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        """Whether a blob is stored under ``key``."""
        return self._path(key).exists()

    def all_keys(self) -> list[str]:
        """All stored keys (for consistency checks)."""
        return [path.name for path in self.root.glob("*/*") if KEY_RE.match(path.name)]

    def _path(self, key: str) -> Path:
        if not KEY_RE.match(key):
            msg = f"invalid original key: {key!r}"
            raise ValueError(msg)
        return self.root / key[:2] / key
