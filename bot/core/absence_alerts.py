"""The "call NAME" alerts after an absence, decided when sent rather than at the tap.

A tap on a person cycles present → absent → excused, so "absent" is often only a step
on the way. An absent tap therefore queues the two possible alerts a little later
(``SETTLE``), and the dispatcher checks them against the marks as they are by then:
a referent who went on to "excused" alerts nobody. One statement per absent tap keeps
the tap cheap; the checks run once per alert, off the tap's path.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.alert_kinds import AlertKind
from storage.db import insert_for
from storage.models import (
    Attendance,
    Mark,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Rsvp,
    Session,
    SessionStatus,
)

SETTLE = timedelta(minutes=2)
UNANSWERED_REMINDERS = 2
TWO_ABSENCES = AlertKind.TWO_ABSENCES
UNANSWERED = AlertKind.UNANSWERED
KINDS = (TWO_ABSENCES, UNANSWERED)


def _key(alert: str, participant_id: int, session_id: int) -> str:
    prefix = "absent2" if alert == TWO_ABSENCES else "silent"
    return f"{prefix}:{participant_id}:{session_id}"


async def queue_checks(
    session: AsyncSession, *, row: Session, participant_id: int, now: datetime
) -> None:
    """Queue both alerts for the session's referent, in one statement.

    An alert already skipped (the mark had changed by then) comes back to pending, so a
    later correction to "absent" still alerts; one already sent stays sent.
    """
    rows = [
        {
            "kind": OutboxKind.STAFF_ALERT,
            "dedupe_key": _key(alert, participant_id, row.id),
            "staff_id": row.referent_id,
            "session_id": row.id,
            "participant_id": participant_id,
            "payload": json.dumps({"alert": alert}),
            "due_at": now + SETTLE,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "created_at": now,
        }
        for alert in KINDS
    ]
    insert = insert_for(session.get_bind().dialect.name)
    statement = insert(OutboxMessage).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=["dedupe_key"],
        set_={"status": OutboxStatus.PENDING, "due_at": statement.excluded.due_at},
        where=OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SKIPPED]),
    )
    await session.execute(statement)


async def still_holds(
    session: AsyncSession, *, alert: str, session_id: int, participant_id: int
) -> bool:
    """Whether the alert is still true now: absent at this session, and then either the
    session before was an absence too, or the reminders went unanswered."""
    row = await session.get(Session, session_id)
    if row is None or row.status != SessionStatus.SCHEDULED:
        return False
    recent = (
        await session.execute(
            select(Session.id, Attendance.mark)
            .join(Attendance, Attendance.session_id == Session.id)
            .where(
                Attendance.participant_id == participant_id,
                Session.starts_at <= row.starts_at,
                Session.status == SessionStatus.SCHEDULED,
            )
            .order_by(Session.starts_at.desc())
            .limit(2)
        )
    ).all()
    if not recent or recent[0][0] != row.id or Mark(recent[0][1]) != Mark.ABSENT:
        return False
    if alert == TWO_ABSENCES:
        return len(recent) == 2 and Mark(recent[1][1]) == Mark.ABSENT
    answered = await session.scalar(
        select(Rsvp.id).where(Rsvp.session_id == row.id, Rsvp.participant_id == participant_id)
    )
    if answered is not None:
        return False
    sent = await session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.session_id == row.id,
            OutboxMessage.participant_id == participant_id,
            OutboxMessage.kind == OutboxKind.REMINDER,
            OutboxMessage.status == OutboxStatus.SENT,
        )
    )
    return (sent or 0) >= UNANSWERED_REMINDERS
