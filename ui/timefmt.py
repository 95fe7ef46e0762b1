"""Times as a person reads them: in the browser's time zone, relative in lists ("3분 전"), absolute on hover.

The API sends ISO 8601 times in UTC. :func:`absolute` shows one in a time zone (the browser's, else the
``ui.timezone`` setting, Asia/Seoul by default; see :func:`ui.session.timezone`), :func:`relative`
says how long ago it was, and :func:`day_group` puts it under 오늘/어제/지난 7일/이전 for the history.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Seoul"
DAY_GROUPS = ("today", "yesterday", "week", "older")

_UNITS = {  # seconds in the unit, Korean, English
    "minute": (60, "{n}분 전", "{n} min ago"),
    "hour": (3600, "{n}시간 전", "{n} h ago"),
    "day": (86400, "{n}일 전", "{n} days ago"),
}


def zone(name: str | None, fallback: str = DEFAULT_TIMEZONE) -> tzinfo:
    """The time zone ``name`` (an IANA name such as ``Asia/Seoul``), else ``fallback``, else UTC."""
    for candidate in (name, fallback):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return UTC


def parse(value: object) -> datetime | None:
    """An aware datetime from the API's ISO text (a time without an offset is UTC); None if there is none."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def absolute(value: object, tz: tzinfo) -> str:
    """``2026-12-04 13:40`` in ``tz``; "" without a time (a bad value is shown as it came)."""
    moment = parse(value)
    if moment is None:
        return "" if value is None else str(value)
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def relative(value: object, tz: tzinfo, lang: str = "ko", now: datetime | None = None) -> str:
    """How long ago: 방금 전, 3분 전, 2시간 전, 어제, 5일 전; older than a week, the date (in ``tz``)."""
    moment = parse(value)
    if moment is None:
        return absolute(value, tz)
    now = now or datetime.now(UTC)
    seconds = max(0.0, (now - moment).total_seconds())
    if seconds < 60:
        return "방금 전" if lang == "ko" else "just now"
    if day_group(moment, tz, now) == "yesterday" and seconds >= 6 * 3600:
        return "어제" if lang == "ko" else "yesterday"
    for unit in ("day", "hour", "minute"):
        size, korean, english = _UNITS[unit]
        if seconds >= size:
            count = int(seconds // size)
            if unit == "day" and count >= 7:
                return moment.astimezone(tz).strftime("%Y-%m-%d")
            return (korean if lang == "ko" else english).format(n=count)
    return absolute(value, tz)  # pragma: no cover - seconds >= 60 always matches a unit


def day_group(value: object, tz: tzinfo, now: datetime | None = None) -> str:
    """``today``, ``yesterday``, ``week`` (the 7 days before) or ``older``, by calendar day in ``tz``."""
    moment = parse(value)
    if moment is None:
        return "older"
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    days = (today - moment.astimezone(tz).date()).days
    if days <= 0:
        return "today"
    if days == 1:
        return "yesterday"
    return "week" if days <= 7 else "older"
