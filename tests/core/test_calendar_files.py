"""Every calendar of tests/calendars, imported, matches recurring_ical_events exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from sqlalchemy import select

from bot.core.calendar_sync import IMPORT_HORIZON, IMPORT_PAST, import_calendar
from storage.models import Session, SessionStatus
from tests.core.factories import programme

BRUSSELS = ZoneInfo("Europe/Brussels")
CALENDARS = Path(__file__).parents[1] / "calendars"
REFUSED_ON_PURPOSE = {"no_uid.ics"}


def _library(data: bytes, start: datetime, end: datetime, now: datetime) -> set[tuple]:
    """The timed, non-cancelled occurrences the library finds, as the bot would store them.

    UIDs are stripped first, as the bot does: the library would take " x" and "x" for two
    series (an override that overrides nothing, beside the occurrence it moved).
    """
    calendar = icalendar.Calendar.from_ical(data)
    for event in calendar.walk("VEVENT"):
        uid = str(event["UID"]).strip()
        del event["UID"]
        event.add("UID", uid)
    found = set()
    for component in recurring_ical_events.of(calendar).between(start, end):
        begin = component["DTSTART"].dt
        if not isinstance(begin, datetime):
            continue  # all-day: left out on purpose
        if str(component.get("STATUS", "")).upper() == "CANCELLED":
            continue
        finish = component["DTEND"].dt
        starts, ends = begin.astimezone(UTC), finish.astimezone(UTC)
        if ends <= starts:  # a start in the hour skipped in spring: the bot keeps the length
            ends = starts + (finish.replace(tzinfo=None) - begin.replace(tzinfo=None))
        if ends > now:
            found.add((str(component["UID"]).strip(), starts, ends))
    return found


@pytest.mark.parametrize(
    "name", sorted(p.name for p in CALENDARS.glob("*.ics") if p.name not in REFUSED_ON_PURPOSE)
)
async def test_each_test_calendar_is_stored_as_recurring_ical_events_expands_it(
    sessionmaker, clock, name
):
    prog = await programme(sessionmaker, clock.now(), participants=0)
    data = (CALENDARS / name).read_bytes()
    now = clock.now()
    async with sessionmaker() as session:
        await import_calendar(session, group_id=prog.group_id, data=data, now=now, tz=BRUSSELS)
        await session.commit()
    async with sessionmaker() as session:
        rows = (
            await session.scalars(select(Session).where(Session.status == SessionStatus.SCHEDULED))
        ).all()
    stored = {(row.uid, row.starts_at, row.ends_at) for row in rows}

    expected = _library(data, now - IMPORT_PAST, now + IMPORT_HORIZON, now)

    assert stored == expected and len(stored) > 5
    assert all(end - start <= timedelta(hours=3) for _uid, start, end in stored)
