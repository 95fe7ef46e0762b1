"""Where the repository's test inputs live: the sample corpus and the third-party format fixtures."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES_DIR = REPO_ROOT / "samples" / "documents"
FIXTURES_DIR = REPO_ROOT / "tests" / "data" / "fixtures"
HWP_FIXTURES = FIXTURES_DIR / "hwp"
HWPX_FIXTURES = FIXTURES_DIR / "hwpx"
