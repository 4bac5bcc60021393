"""Read the date and time a referent types on a phone: "15/12 14:00", "15.12.2026 14h30-16h"."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_PATTERN = re.compile(
    r"^\s*(?P<day>\d{1,2})[/.\-](?P<month>\d{1,2})(?:[/.\-](?P<year>\d{2,4}))?"
    r"\s+(?P<h1>\d{1,2})(?:[:hH](?P<m1>\d{2})?)?"
    r"(?:\s*-\s*(?P<h2>\d{1,2})(?:[:hH](?P<m2>\d{2})?)?)?\s*$"
)

DEFAULT_LENGTH = timedelta(hours=2)


def parse_when(text: str, *, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    """Start and end (aware, UTC) of what was typed, or None when it cannot be read.

    Without a year, the next such date from today; without an end, two hours.
    """
    match = _PATTERN.match(text)
    if match is None:
        return None
    try:
        day, month = int(match["day"]), int(match["month"])
        local_today = now.astimezone(tz).date()
        if match["year"]:
            year = int(match["year"])
            year = year + 2000 if year < 100 else year
            the_day = date(year, month, day)
        else:
            the_day = date(local_today.year, month, day)
            if the_day < local_today:
                the_day = date(local_today.year + 1, month, day)
        start_time = time(int(match["h1"]), int(match["m1"] or 0))
        start = datetime.combine(the_day, start_time, tzinfo=tz)
        if match["h2"]:
            end = datetime.combine(
                the_day, time(int(match["h2"]), int(match["m2"] or 0)), tzinfo=tz
            )
        else:
            end = start + DEFAULT_LENGTH
    except ValueError:
        return None
    if end <= start:
        return None
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


_DAY = re.compile(r"^\s*(?P<day>\d{1,2})[/.\-](?P<month>\d{1,2})(?:[/.\-](?P<year>\d{2,4}))?\s*$")


def parse_until(text: str, *, now: datetime, tz: ZoneInfo) -> datetime | None:
    """ "Until 15/12" means to the end of that day, Brussels time (aware, UTC)."""
    match = _DAY.match(text)
    if match is None:
        return None
    try:
        day, month = int(match["day"]), int(match["month"])
        today = now.astimezone(tz).date()
        if match["year"]:
            year = int(match["year"])
            the_day = date(year + 2000 if year < 100 else year, month, day)
        else:
            the_day = date(today.year, month, day)
            if the_day < today:
                the_day = date(today.year + 1, month, day)
    except ValueError:
        return None
    end = datetime.combine(the_day + timedelta(days=1), time(0, 0), tzinfo=tz)
    return end.astimezone(ZoneInfo("UTC"))
