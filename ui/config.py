"""The UI's own settings: where the Jikji API is.

The UI is a separate HTTP client of the API. The API address comes from the command line after
``--`` (``streamlit run ui/app.py -- --api-url URL``, which is what ``jikji serve`` passes) or,
failing that, from the settings tree (``JIKJI_UI__API_URL``; the old ``JIKJI_UI_API_URL`` still
works, with a deprecation message), else the API's own address. This module is the only place in
``ui/`` that reads either.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from core.settings import load_settings


@dataclass(frozen=True, slots=True)
class UiConfig:
    """Settings of the Streamlit front end."""

    api_url: str
    """Base URL of the Jikji API (no trailing slash)."""


def load_config(argv: Sequence[str] | None = None) -> UiConfig:
    """Read ``--api-url`` from the script arguments, else the settings tree (environment, ``.env``)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--api-url", default=None)
    known, _unknown = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    url = known.api_url or load_settings().ui_api_url
    return UiConfig(api_url=url.rstrip("/"))
