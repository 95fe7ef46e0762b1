"""The UI's own settings: where the Jikji API is.

The UI is a separate HTTP client of the API, so it does not read the server's settings tree. The
API address comes from the command line after ``--`` (``streamlit run ui/app.py -- --api-url URL``,
which is what ``jikji serve`` passes) or, failing that, from ``JIKJI_UI_API_URL``; this module is
the only place in ``ui/`` that reads either.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_API_URL = "http://127.0.0.1:8000"
API_URL_ENV = "JIKJI_UI_API_URL"


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
    url = known.api_url or os.environ.get(API_URL_ENV) or DEFAULT_API_URL
    return UiConfig(api_url=url.rstrip("/"))
