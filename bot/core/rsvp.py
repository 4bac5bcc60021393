"""Answers to reminders: "I'll come" / "I can't come", and the reason for not coming."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import outbox
from bot.core.alert_kinds import AlertKind
from bot.core.schedule import expected_participants
from storage.models import DeclineReason, Rsvp, RsvpAnswer, Session, SessionStatus

LATE_DECLINE = timedelta(hours=24)
REASON_GRACE = timedelta(minutes=2)


class RsvpProblem(StrEnum):
    NOT_EXPECTED = "not_expected"  # not (or no longer) in the session's group: forged or stale
    CANCELLED = "cancelled"
    STARTED = "started"  # answers can change until the start, not after
    UNKNOWN_SESSION = "unknown_session"


@dataclass(frozen=True)
class RsvpRecorded:
    session_id: int
    answer: RsvpAnswer
    reason: DeclineReason | None


@dataclass(frozen=True)
class RsvpCounts:
    yes: int
    no: int
    unanswered: int


async def _check(
    session: AsyncSession, session_id: int, participant_id: int, now: datetime
) -> Session | RsvpProblem:
    row = await session.get(Session, session_id)
    if row is None:
        return RsvpProblem.UNKNOWN_SESSION
    if participant_id not in {p.id for p in await expected_participants(session, row)}:
        return RsvpProblem.NOT_EXPECTED
    if row.status == SessionStatus.CANCELLED:
        return RsvpProblem.CANCELLED
    if row.starts_at <= now:
        return RsvpProblem.STARTED
    return row


async def record_answer(
    session: AsyncSession,
    *,
    session_id: int,
    participant_id: int,
    answer: RsvpAnswer,
    reason: DeclineReason | None = None,
    now: datetime,
    participant_name: str = "",
) -> RsvpRecorded | RsvpProblem:
    """Store (or change) an answer; a decline within 24 hours alerts the referent once.

    The caller commits.
    """
    checked = await _check(session, session_id, participant_id, now)
    if isinstance(checked, RsvpProblem):
        return checked
    existing = await session.scalar(
        select(Rsvp).where(Rsvp.session_id == session_id, Rsvp.participant_id == participant_id)
    )
    if existing is None:
        existing = Rsvp(session_id=session_id, participant_id=participant_id, answer=answer)
        session.add(existing)
    existing.answer = answer
    existing.reason = reason if answer == RsvpAnswer.NO else None
    existing.answered_at = now
    await session.flush()
    if answer == RsvpAnswer.NO and checked.starts_at - now < LATE_DECLINE:
        await outbox.alert_staff(
            session,
            staff_id=checked.referent_id,
            dedupe_key=f"late:{session_id}:{participant_id}",
            payload={"alert": AlertKind.LATE_DECLINE, "reason": reason},
            now=now,
            # Without a reason yet, wait a little for the tap that gives it: one message.
            due_at=now if reason else now + REASON_GRACE,
            session_id=session_id,
            participant_id=participant_id,
        )
    return RsvpRecorded(session_id, answer, reason)


async def counts(session: AsyncSession, row: Session) -> RsvpCounts:
    expected = {p.id for p in await expected_participants(session, row)}
    answers = (
        await session.execute(
            select(Rsvp.participant_id, Rsvp.answer).where(Rsvp.session_id == row.id)
        )
    ).all()
    by_person = {pid: answer for pid, answer in answers if pid in expected}
    yes = sum(1 for a in by_person.values() if a == RsvpAnswer.YES)
    no = sum(1 for a in by_person.values() if a == RsvpAnswer.NO)
    return RsvpCounts(yes=yes, no=no, unanswered=len(expected) - yes - no)


async def answers_by_participant(
    session: AsyncSession, session_id: int
) -> dict[int, tuple[RsvpAnswer, DeclineReason | None]]:
    rows = (
        await session.execute(
            select(Rsvp.participant_id, Rsvp.answer, Rsvp.reason).where(
                Rsvp.session_id == session_id
            )
        )
    ).all()
    return {
        pid: (RsvpAnswer(answer), DeclineReason(reason) if reason else None)
        for pid, answer, reason in rows
    }
