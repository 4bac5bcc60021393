"""Importing and exporting a group's calendar as iCalendar, with its consequences.

An import is one transaction: parse everything first (refusing malformed, huge or
hostile files before touching a row), then upsert, then notify and replan.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import outbox, schedule
from bot.core.calendars import ExportableSession, Place, export_ics, parse_ics
from bot.core.schedule import ChangeKind, ImportSummary
from storage.models import Group, Session, SessionStatus

IMPORT_HORIZON = timedelta(days=365)
IMPORT_PAST = timedelta(days=1)


async def import_calendar(
    session: AsyncSession, *, group_id: int, data: bytes, now: datetime, tz: ZoneInfo
) -> ImportSummary:
    """Raises ``CalendarError`` (bad file) or ``ScheduleError`` (bad group); caller commits."""
    window_start = now - IMPORT_PAST
    occurrences = parse_ics(
        data, window_start=window_start, window_end=now + IMPORT_HORIZON, default_tz=tz
    )
    summary = await schedule.import_occurrences(
        session, group_id=group_id, occurrences=occurrences, now=now, window_start=window_start
    )
    for change in summary.changes:
        if change.kind in (ChangeKind.MOVED, ChangeKind.CANCELLED):
            await outbox.notify_change(session, change, now=now, tz=tz)
        else:
            await outbox.plan_session(session, change.session_id, now=now, tz=tz)
    return summary


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
            # Series occurrences share a UID in the source; exported one by one they need
            # their own, stable across exports.
            uid=f"{row.uid}-{row.occurrence_key}" if row.source == "ics" else row.uid,
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
