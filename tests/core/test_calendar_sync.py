"""Importing a group's .ics: idempotent, updates by UID, notifies moves and cancellations."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.core import schedule
from bot.core.calendar_sync import export_calendar, import_calendar
from bot.core.calendars import CalendarError
from storage.models import (
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Session,
    SessionKind,
    SessionStatus,
)
from tests.core.factories import programme

BRUSSELS = ZoneInfo("Europe/Brussels")

SERIES = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN
BEGIN:VTIMEZONE
TZID:Europe/Brussels
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:fle-lundi@cpas
DTSTAMP:20261120T100000Z
SUMMARY:Atelier FLE
LOCATION:Maison des associations, Rue de Marcinelle 10, 6000 Charleroi
GEO:50.4063;4.4447
DTSTART;TZID=Europe/Brussels:20261207T093000
DTEND;TZID=Europe/Brussels:20261207T113000
RRULE:FREQ=WEEKLY;COUNT=4
%(extra)s
END:VEVENT
END:VCALENDAR
"""


def ics(extra: str = "") -> bytes:
    return SERIES.replace(b"%(extra)s", extra.encode()).replace(b"\n\n", b"\n")


async def _import(sessionmaker, group_id, data, now):
    async with sessionmaker() as session:
        summary = await import_calendar(session, group_id=group_id, data=data, now=now, tz=BRUSSELS)
        await session.commit()
        return summary


async def _sessions(sessionmaker):
    async with sessionmaker() as session:
        return list((await session.scalars(select(Session).order_by(Session.starts_at))).all())


async def test_a_weekly_series_becomes_sessions_with_reminders(sessionmaker, clock):
    prog = await programme(sessionmaker, clock.now(), participants=2)
    summary = await _import(sessionmaker, prog.group_id, ics(), clock.now())
    assert summary.created == 4
    rows = await _sessions(sessionmaker)
    assert [r.starts_at for r in rows] == [
        datetime(2026, 12, d, 8, 30, tzinfo=UTC) for d in (7, 14, 21, 28)
    ]
    assert rows[0].latitude == pytest.approx(50.4063)
    async with sessionmaker() as session:
        rows_out = (await session.scalars(select(OutboxMessage))).all()
    reminders = [r for r in rows_out if r.kind == OutboxKind.REMINDER]
    staff = [r for r in rows_out if r.kind == OutboxKind.STAFF_ALERT]
    assert len(reminders) == 4 * 2 * 2, "4 sessions, 2 participants, 2 reminders each"
    assert len([r for r in staff if r.dedupe_key.startswith("digest:")]) == 4, "a digest a day"
    assert len([r for r in staff if r.dedupe_key.startswith("nudge:")]) == 4, "a nudge a session"


async def test_reimporting_the_same_file_changes_nothing(sessionmaker, clock):
    prog = await programme(sessionmaker, clock.now(), participants=2)
    await _import(sessionmaker, prog.group_id, ics(), clock.now())
    again = await _import(sessionmaker, prog.group_id, ics(), clock.now())
    assert (again.created, again.moved, again.cancelled, again.unchanged) == (0, 0, 0, 4)
    assert len(await _sessions(sessionmaker)) == 4


async def test_an_exdate_cancels_and_a_recurrence_id_moves_with_notices(sessionmaker, clock):
    prog = await programme(sessionmaker, clock.now(), participants=2)
    await _import(sessionmaker, prog.group_id, ics(), clock.now())
    updated = ics("EXDATE;TZID=Europe/Brussels:20261214T093000").replace(
        b"END:VCALENDAR",
        b"BEGIN:VEVENT\nUID:fle-lundi@cpas\nDTSTAMP:20261121T100000Z\nSEQUENCE:1\n"
        b"RECURRENCE-ID;TZID=Europe/Brussels:20261221T093000\nSUMMARY:Atelier FLE\n"
        b"DTSTART;TZID=Europe/Brussels:20261222T140000\nDTEND;TZID=Europe/Brussels:20261222T160000\n"
        b"END:VEVENT\nEND:VCALENDAR",
    )
    summary = await _import(sessionmaker, prog.group_id, updated, clock.now())
    assert (summary.cancelled, summary.moved) == (1, 1)
    rows = await _sessions(sessionmaker)
    by_status = {r.starts_at: r.status for r in rows}
    assert by_status[datetime(2026, 12, 14, 8, 30, tzinfo=UTC)] == SessionStatus.CANCELLED
    assert datetime(2026, 12, 22, 13, 0, tzinfo=UTC) in by_status
    async with sessionmaker() as session:
        notices = (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.NOTICE)
            )
        ).all()
    assert len(notices) == 2 * 2 and all(n.status == OutboxStatus.PENDING for n in notices)


async def test_a_refused_file_imports_nothing(sessionmaker, clock):
    prog = await programme(sessionmaker, clock.now(), participants=1)
    with pytest.raises(CalendarError):
        await _import(sessionmaker, prog.group_id, b"BEGIN:VCALENDAR\nnonsense", clock.now())
    all_day = ics().replace(
        b"DTSTART;TZID=Europe/Brussels:20261207T093000\nDTEND;TZID=Europe/Brussels:20261207T113000",
        b"DTSTART;VALUE=DATE:20261207",
    )
    with pytest.raises(CalendarError):
        await _import(sessionmaker, prog.group_id, all_day, clock.now())
    assert await _sessions(sessionmaker) == []


async def test_an_export_reads_back_as_the_same_sessions(sessionmaker, clock):
    prog = await programme(sessionmaker, clock.now(), participants=1)
    await _import(sessionmaker, prog.group_id, ics(), clock.now())
    async with sessionmaker() as session:
        data = await export_calendar(
            session, group_id=prog.group_id, tz=BRUSSELS, since=clock.now()
        )
    assert b"BEGIN:VTIMEZONE" in data and data.count(b"BEGIN:VEVENT") == 4
    async with sessionmaker() as session:
        from bot.core import organisation

        other = await organisation.create_group(
            session, module="start", name="Autre", referent_telegram_id=100, now=clock.now()
        )
        await session.commit()
    summary = await _import(sessionmaker, other.id, data, clock.now())
    assert summary.created == 4
    rows = await _sessions(sessionmaker)
    starts = sorted(r.starts_at for r in rows)
    assert starts[0::2] == starts[1::2], "each exported session came back at the same time"


async def _notices(sessionmaker) -> list[OutboxMessage]:
    async with sessionmaker() as session:
        return list(
            (
                await session.scalars(
                    select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.NOTICE)
                )
            ).all()
        )


async def test_a_whole_series_moved_keeps_its_sessions_and_tells_each_participant_once(
    sessionmaker, clock
):
    prog = await programme(sessionmaker, clock.now(), participants=2)
    await _import(sessionmaker, prog.group_id, ics(), clock.now())
    before = {r.id for r in await _sessions(sessionmaker)}
    at_ten = ics().replace(b"T093000", b"T100000").replace(b"T113000", b"T120000")

    summary = await _import(sessionmaker, prog.group_id, at_ten, clock.now())

    assert (summary.created, summary.moved, summary.cancelled, summary.told) == (0, 4, 0, 2)
    rows = await _sessions(sessionmaker)
    assert {r.id for r in rows} == before
    assert [r.starts_at.hour for r in rows] == [9] * 4  # 10:00 in Brussels
    notices = await _notices(sessionmaker)
    assert len(notices) == 2 and all('"series_moved"' in n.payload for n in notices)
    again = await _import(sessionmaker, prog.group_id, at_ten, clock.now())
    assert (again.moved, again.unchanged) == (0, 4)


async def test_a_series_gone_from_the_file_is_cancelled_and_the_bots_own_sessions_stay(
    sessionmaker, clock
):
    prog = await programme(sessionmaker, clock.now(), participants=1)
    await _import(sessionmaker, prog.group_id, ics(), clock.now())
    async with sessionmaker() as session:
        own = await schedule.add_session(
            session,
            group_id=prog.group_id,
            kind=SessionKind.OUTING,
            title="Sortie",
            starts_at=datetime(2026, 12, 9, 13, 0, tzinfo=UTC),
            ends_at=datetime(2026, 12, 9, 15, 0, tzinfo=UTC),
            place=None,
            now=clock.now(),
        )
        await session.commit()
    other = ics().replace(b"fle-lundi@cpas", b"other@cpas").replace(b"COUNT=4", b"COUNT=1")

    summary = await _import(sessionmaker, prog.group_id, other, clock.now())

    assert (summary.created, summary.cancelled) == (1, 4)
    assert summary.removed_series == ("Atelier FLE",)
    statuses = {r.id: r.status for r in await _sessions(sessionmaker)}
    assert statuses[own.session_id] == SessionStatus.SCHEDULED


async def test_a_preview_is_the_import_rolled_back(sessionmaker, clock):
    prog = await programme(sessionmaker, clock.now(), participants=2)
    async with sessionmaker() as session:
        preview = await import_calendar(
            session, group_id=prog.group_id, data=ics(), now=clock.now(), tz=BRUSSELS
        )
    assert preview.created == 4
    assert await _sessions(sessionmaker) == [] and await _notices(sessionmaker) == []
