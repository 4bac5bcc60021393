"""Importing and exporting a group's calendar as iCalendar, with its consequences.

An import is one transaction: parse everything first (refusing malformed, huge or
hostile files before touching a row), then upsert, then notify and replan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import outbox, schedule
from bot.core.calendars import AllDayEvent, ExportableSession, Place, export_ics, read_ics
from bot.core.schedule import ChangeKind, ImportSummary, SessionChange
from storage.models import Group, OutboxKind, OutboxMessage, Session, SessionStatus

IMPORT_HORIZON = timedelta(days=365)
IMPORT_PAST = timedelta(days=1)


async def import_calendar(
    session: AsyncSession, *, group_id: int, data: bytes, now: datetime, tz: ZoneInfo
) -> ImportSummary:
    """Raises ``CalendarError`` (bad file) or ``ScheduleError`` (bad group); caller commits.

    A preview is the same call rolled back: what it reports is exactly what applying it
    would do, notices counted.
    """
    window_start = now - IMPORT_PAST
    read = read_ics(data, window_start=window_start, window_end=now + IMPORT_HORIZON, default_tz=tz)
    summary = await schedule.import_occurrences(
        session,
        group_id=group_id,
        occurrences=read.occurrences,
        now=now,
        window_start=window_start,
        tz=tz,
    )
    series_moves = await _series_moves(session, summary.changes, tz)
    in_series_move = {c.session_id for changes in series_moves for c in changes}
    for changes in series_moves:
        await outbox.notify_series_move(session, changes, now=now, tz=tz)
    for change in summary.changes:
        if change.session_id in in_series_move:
            continue
        if change.kind in (ChangeKind.MOVED, ChangeKind.CANCELLED):
            await outbox.notify_change(session, change, now=now, tz=tz)
        else:
            await outbox.plan_session(session, change.session_id, now=now, tz=tz)
    told = await _told(session, summary.changes, now)
    return replace(
        summary,
        all_day=read.all_day,
        all_day_on_session_days=await _on_session_days(session, group_id, read.all_day, tz),
        merged_uids=read.merged_uids,
        told=told,
    )


async def _told(session: AsyncSession, changes: Sequence[SessionChange], now: datetime) -> int:
    """How many participants this import gives a notice to (each counted once)."""
    ids = [c.session_id for c in changes if c.kind != ChangeKind.CREATED]
    told: set[int] = set()
    for start in range(0, len(ids), 900):
        told.update(
            pid
            for pid in (
                await session.scalars(
                    select(OutboxMessage.participant_id).where(
                        OutboxMessage.kind == OutboxKind.NOTICE,
                        OutboxMessage.created_at == now,
                        OutboxMessage.session_id.in_(ids[start : start + 900]),
                    )
                )
            ).all()
            if pid is not None
        )
    return len(told)


async def _series_moves(
    session: AsyncSession, changes: Sequence[SessionChange], tz: ZoneInfo
) -> list[list[SessionChange]]:
    """Moves that are one series changing its time: same series, same shift on the clock.

    Those get one notice per participant instead of one per session.
    """
    by_series: dict[tuple[str, int, int, int], list[SessionChange]] = {}
    for change in changes:
        if change.kind != ChangeKind.MOVED or change.previous_start is None:
            continue
        row = await session.get(Session, change.session_id)
        if row is None or row.source != "ics":
            continue
        before = change.previous_start.astimezone(tz)
        after = row.starts_at.astimezone(tz)
        shift = (
            row.uid,
            (after.date() - before.date()).days,
            before.hour * 60 + before.minute,
            after.hour * 60 + after.minute,
        )
        by_series.setdefault(shift, []).append(change)
    return [moves for moves in by_series.values() if len(moves) >= 2]


async def _on_session_days(
    session: AsyncSession, group_id: int, all_day: Sequence[AllDayEvent], tz: ZoneInfo
) -> tuple[AllDayEvent, ...]:
    """The all-day events (a holiday, a school break) that fall on a day with a session."""
    if not all_day:
        return ()
    days = {
        row.astimezone(tz).date()
        for row in (
            await session.scalars(
                select(Session.starts_at).where(
                    Session.group_id == group_id, Session.status == SessionStatus.SCHEDULED
                )
            )
        ).all()
    }
    return tuple(
        event for event in all_day if any(event.first_day <= day <= event.last_day for day in days)
    )


async def export_calendar(
    session: AsyncSession, *, group_id: int, tz: ZoneInfo, since: datetime
) -> bytes:
    group = await session.get(Group, group_id)
    if group is None:
        raise schedule.ScheduleError("group_not_found")
    rows = (
        await session.scalars(
            select(Session)
            .where(Session.group_id == group_id, Session.ends_at >= since)
            .order_by(Session.starts_at)
        )
    ).all()
    exportable = [
        ExportableSession(
            # Each occurrence keeps its series' UID and its RECURRENCE-ID: a re-import into
            # the same group finds the very sessions again ("N unchanged").
            uid=row.uid,
            recurrence_id=row.occurrence_key,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            title=row.title,
            description="",
            place=Place(row.place_name or "", row.place_address, row.latitude, row.longitude)
            if (row.place_name or row.place_address)
            else None,
            cancelled=row.status == SessionStatus.CANCELLED,
            sequence=row.sequence,
            updated_at=row.updated_at,
        )
        for row in rows
    ]
    return export_ics(exportable, calendar_name=f"ACTIV'UP · {group.name}", tz=tz)
