"""Times in the user's time zone, relative in lists, grouped by day (ui.timefmt) and the setting (ui.config)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ui.config import load_config
from ui.timefmt import absolute, day_group, parse, relative, zone

SEOUL = zone("Asia/Seoul")
NOW = datetime(2026, 12, 4, 4, 40, tzinfo=UTC)  # 13:40 in Seoul


def test_api_times_are_shown_in_the_time_zone_not_as_utc() -> None:
    assert absolute("2026-12-04T04:40:00Z", SEOUL) == "2026-12-04 13:40"
    assert absolute("2026-12-04T04:40:00", SEOUL) == "2026-12-04 13:40", "no offset: UTC"
    assert absolute("2026-12-04T04:40:00+00:00", zone("Europe/Berlin")) == "2026-12-04 05:40"
    assert absolute(None, SEOUL) == ""
    assert absolute("not a time", SEOUL) == "not a time"


def test_an_unknown_zone_falls_back_to_the_setting_then_utc() -> None:
    assert zone("Mars/Olympus", "Asia/Seoul") == SEOUL
    assert zone(None) == SEOUL
    assert zone("Mars/Olympus", "Nowhere/Else") == UTC


@pytest.mark.parametrize(
    ("when", "korean", "english"),
    [
        ("2026-12-04T04:39:30Z", "방금 전", "just now"),
        ("2026-12-04T04:37:00Z", "3분 전", "3 min ago"),
        ("2026-12-04T02:10:00Z", "2시간 전", "2 h ago"),
        ("2026-12-03T02:00:00Z", "어제", "yesterday"),
        ("2026-11-30T04:40:00Z", "4일 전", "4 days ago"),
        ("2026-11-01T04:40:00Z", "2026-11-01", "2026-11-01"),
    ],
)
def test_relative_times(when: str, korean: str, english: str) -> None:
    assert relative(when, SEOUL, "ko", NOW) == korean
    assert relative(when, SEOUL, "en", NOW) == english


def test_day_groups_follow_calendar_days_in_the_zone() -> None:
    # 15:30 UTC on the 3rd is 00:30 on the 4th in Seoul: today there, although yesterday in UTC.
    assert day_group("2026-12-03T15:30:00Z", SEOUL, NOW) == "today"
    assert day_group("2026-12-03T14:30:00Z", SEOUL, NOW) == "yesterday"
    assert day_group("2026-11-28T04:00:00Z", SEOUL, NOW) == "week"
    assert day_group("2026-11-20T04:00:00Z", SEOUL, NOW) == "older"
    assert parse("") is None


def test_the_time_zone_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JIKJI_UI__TIMEZONE", raising=False)
    assert load_config([]).timezone == "Asia/Seoul"
    monkeypatch.setenv("JIKJI_UI__TIMEZONE", "Europe/Berlin")
    assert load_config([]).timezone == "Europe/Berlin"
    assert load_config(["--timezone", "UTC"]).timezone == "UTC"
