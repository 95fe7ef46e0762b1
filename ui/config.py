"""The UI's own settings: where the Jikji API is.

The UI is a separate HTTP client of the API and imports nothing of the server, so it reads its one
setting itself, under the settings tree's name: the command line after ``--`` (``streamlit run
ui/app.py -- --api-url URL``, which is what ``jikji serve`` passes, from ``ui.api_url``), else
``JIKJI_UI__API_URL``, else the old ``JIKJI_UI_API_URL`` (with a deprecation message), else the
API's default address. This module is the only place in ``ui/`` that reads any of them.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_API_URL = "http://127.0.0.1:8000"
API_URL_ENV = "JIKJI_UI__API_URL"
LEGACY_API_URL_ENV = "JIKJI_UI_API_URL"


@dataclass(frozen=True, slots=True)
class UiConfig:
    """Settings of the Streamlit front end."""

    api_url: str = DEFAULT_API_URL
    """Base URL of the Jikji API (no trailing slash)."""


def load_config(argv: Sequence[str] | None = None) -> UiConfig:
    """Read ``--api-url`` from the script arguments, else the environment, else the default."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--api-url", default=None)
    known, _unknown = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    url = known.api_url or os.environ.get(API_URL_ENV) or _legacy_url() or DEFAULT_API_URL
    return UiConfig(api_url=url.rstrip("/"))


def _legacy_url() -> str | None:
    url = os.environ.get(LEGACY_API_URL_ENV)
    if url:
        warnings.warn(
            f"{LEGACY_API_URL_ENV} is deprecated; set {API_URL_ENV} instead "
            f"/ {LEGACY_API_URL_ENV} 대신 {API_URL_ENV} 을 쓰십시오",
            FutureWarning,
            stacklevel=3,
        )
    return url
