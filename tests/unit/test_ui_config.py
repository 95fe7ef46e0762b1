"""Where the UI finds the API: ``--api-url``, then ``JIKJI_UI__API_URL``, the deprecated name, the API's address."""

from __future__ import annotations

import pytest

from core.settings import load_settings
from ui.config import load_config


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("JIKJI_UI__API_URL", "JIKJI_UI_API_URL", "JIKJI_API__PUBLIC_URL", "JIKJI_API__PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir("/")  # no .env file


def test_the_command_line_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIKJI_UI__API_URL", "http://elsewhere:1")
    assert load_config(["--api-url", "http://api:9000/"]).api_url == "http://api:9000"


def test_the_settings_tree_name(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_config([]).api_url == "http://127.0.0.1:8000"
    monkeypatch.setenv("JIKJI_UI__API_URL", "https://jikji.example/")
    assert load_config([]).api_url == "https://jikji.example"


def test_serve_passes_the_settings_trees_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIKJI_API__PORT", "8100")
    assert load_settings().ui_api_url == "http://127.0.0.1:8100"
    monkeypatch.setenv("JIKJI_UI__API_URL", "https://jikji.example/")
    assert load_settings().ui_api_url == "https://jikji.example"
    monkeypatch.delenv("JIKJI_UI__API_URL")
    monkeypatch.setenv("JIKJI_UI_API_URL", "http://old:8000")
    with pytest.warns(FutureWarning, match="JIKJI_UI__API_URL"):
        assert load_settings().ui_api_url == "http://old:8000"


def test_the_old_variable_still_works_with_a_deprecation_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIKJI_UI_API_URL", "http://old:8000")
    with pytest.warns(FutureWarning, match="JIKJI_UI__API_URL"):
        assert load_config([]).api_url == "http://old:8000"
    monkeypatch.setenv("JIKJI_UI__API_URL", "http://new:8000")
    assert load_config([]).api_url == "http://new:8000"


def test_link_hosts_from_the_command_line_or_the_settings_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JIKJI_UI__LINK_HOSTS", raising=False)
    assert load_config([]).link_hosts == ()  # default: no link from an answer is clickable
    assert load_config(["--link-hosts", "Wiki.Example.co.kr, *.intra.example"]).link_hosts == (
        "wiki.example.co.kr",
        "*.intra.example",
    )
    monkeypatch.setenv("JIKJI_UI__LINK_HOSTS", '["wiki.example.co.kr"]')  # the settings tree's JSON form
    assert load_settings().ui.link_hosts == ["wiki.example.co.kr"]
    assert load_config([]).link_hosts == ("wiki.example.co.kr",)
    assert load_config(["--link-hosts", ""]).link_hosts == ()  # jikji serve passes the tree's value
