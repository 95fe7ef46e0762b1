"""The UI's own settings: where the Jikji API is.

The UI is a separate HTTP client of the API and imports nothing of the server, so it reads its one
setting itself, under the settings tree's name: the command line after ``--`` (``streamlit run
ui/app.py -- --api-url URL``, which is what ``jikji serve`` passes, from ``ui.api_url``), else
``JIKJI_UI__API_URL``, else the old ``JIKJI_UI_API_URL`` (with a deprecation message), else the
API's default address. Likewise ``--link-hosts`` / ``JIKJI_UI__LINK_HOSTS`` (``ui.link_hosts``) and
``--timezone`` / ``JIKJI_UI__TIMEZONE`` (``ui.timezone``). This
module is the only place in ``ui/`` that reads any of them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_API_URL = "http://127.0.0.1:8000"
API_URL_ENV = "JIKJI_UI__API_URL"
LEGACY_API_URL_ENV = "JIKJI_UI_API_URL"
LINK_HOSTS_ENV = "JIKJI_UI__LINK_HOSTS"
TIMEZONE_ENV = "JIKJI_UI__TIMEZONE"
DEFAULT_TIMEZONE = "Asia/Seoul"


@dataclass(frozen=True, slots=True)
class UiConfig:
    """Settings of the Streamlit front end."""

    api_url: str = DEFAULT_API_URL
    """Base URL of the Jikji API (no trailing slash)."""
    link_hosts: tuple[str, ...] = ()
    """Hosts whose links in answers are clickable (``ui.link_hosts``); others are shown as text."""
    timezone: str = DEFAULT_TIMEZONE
    """Time zone of the times shown when the browser does not tell its own (``ui.timezone``)."""


def load_config(argv: Sequence[str] | None = None) -> UiConfig:
    """Read ``--api-url`` from the script arguments, else the environment, else the default."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--api-url", default=None)
    parser.add_argument("--link-hosts", default=None)
    parser.add_argument("--timezone", default=None)
    known, _unknown = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    url = known.api_url or os.environ.get(API_URL_ENV) or _legacy_url() or DEFAULT_API_URL
    hosts = known.link_hosts if known.link_hosts is not None else os.environ.get(LINK_HOSTS_ENV, "")
    timezone = known.timezone or os.environ.get(TIMEZONE_ENV) or DEFAULT_TIMEZONE
    return UiConfig(api_url=url.rstrip("/"), link_hosts=parse_hosts(hosts), timezone=timezone)


def parse_hosts(value: str) -> tuple[str, ...]:
    """Host names from ``a.com,b.com`` or the settings tree's JSON form ``["a.com", "b.com"]``."""
    value = value.strip()
    if value.startswith("["):
        try:
            items = json.loads(value)
        except ValueError:
            items = []
        names = [str(item) for item in items] if isinstance(items, list) else []
    else:
        names = value.split(",")
    return tuple(name.strip().lower() for name in names if name.strip())


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
