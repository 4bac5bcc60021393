"""The participants' data rights: see everything (/mydata), erase (/forget), retention.

Erasure removes the name, the Telegram ids, every free text and recording the person gave
(feedback comments, written or spoken) and their place in groups; it keeps the records as
anonymous figures (attendance, answers, scores), so the funder's totals do not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import outbox
from bot.core.alert_kinds import AlertKind
from storage.models import (
    AbsencePeriod,
    Attendance,
    AttendanceChange,
    AuditEntry,
    FeedbackAnswer,
    FeedbackComment,
    Group,
    Invite,
    Membership,
    Module,
    OutboxMessage,
    OutboxStatus,
    Participant,
    ParticipantStatus,
    Rsvp,
    Session,
)

ERASED_NAME = "—"
AUDIT_RETENTION = timedelta(days=730)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def everything_about(session: AsyncSession, participant_id: int) -> dict[str, Any]:
    """All the bot holds about one participant, and nothing about anyone else."""
    person = await session.get(Participant, participant_id)
    if person is None:
        return {}
    groups = (
        await session.execute(
            select(Group.name, Module.name, Membership.joined_at, Membership.left_at)
            .join(Membership, Membership.group_id == Group.id)
            .join(Module, Module.id == Group.module_id)
            .where(Membership.participant_id == participant_id)
        )
    ).all()
    answers = (
        await session.execute(
            select(Session.title, Session.starts_at, Rsvp.answer, Rsvp.reason, Rsvp.answered_at)
            .join(Rsvp, Rsvp.session_id == Session.id)
            .where(Rsvp.participant_id == participant_id)
            .order_by(Session.starts_at)
        )
    ).all()
    marks = (
        await session.execute(
            select(Session.title, Session.starts_at, Attendance.mark)
            .join(Attendance, Attendance.session_id == Session.id)
            .where(Attendance.participant_id == participant_id)
            .order_by(Session.starts_at)
        )
    ).all()
    scores = (
        await session.execute(
            select(Session.title, Session.starts_at, FeedbackAnswer.question, FeedbackAnswer.score)
            .join(FeedbackAnswer, FeedbackAnswer.session_id == Session.id)
            .where(FeedbackAnswer.participant_id == participant_id)
            .order_by(Session.starts_at)
        )
    ).all()
    comments = (
        await session.execute(
            select(Session.title, FeedbackComment.text, FeedbackComment.voice_file_id)
            .join(FeedbackComment, FeedbackComment.session_id == Session.id)
            .where(FeedbackComment.participant_id == participant_id)
        )
    ).all()
    absences = (
        await session.execute(
            select(AbsencePeriod.starts_at, AbsencePeriod.ends_at, AbsencePeriod.reason).where(
                AbsencePeriod.participant_id == participant_id
            )
        )
    ).all()
    return {
        "person": {
            "first_name": person.first_name,
            "language": person.language,
            "telegram_user_id": person.telegram_user_id,
            "telegram_chat_id": person.telegram_chat_id,
            "telegram_app_language": person.telegram_language,
            "status": person.status,
            "consent_at": _iso(person.consent_at),
            "consent_version": person.consent_version,
            "consent_method": person.consent_method,
            "consent_language": person.consent_language,
            "reminders_as_voice": person.voice_only,
            "enrolled_at": _iso(person.created_at),
        },
        "groups": [
            {"group": g, "module": m, "joined_at": _iso(j), "left_at": _iso(left)}
            for g, m, j, left in groups
        ],
        "answers_to_reminders": [
            {"session": t, "date": _iso(d), "answer": a, "reason": r, "answered_at": _iso(at)}
            for t, d, a, r, at in answers
        ],
        "attendance": [{"session": t, "date": _iso(d), "mark": m} for t, d, m in marks],
        "feedback": [
            {"session": t, "date": _iso(d), "question": q, "score": s} for t, d, q, s in scores
        ],
        "comments": [
            {"session": t, "text": text, "voice_message": bool(voice)}
            for t, text, voice in comments
        ],
        "absences": [{"from": _iso(a), "until": _iso(b), "reason": r} for a, b, r in absences],
    }


@dataclass(frozen=True)
class ErasureRequest:
    participant_id: int
    referent_ids: tuple[int, ...]


async def request_erasure(
    session: AsyncSession, participant_id: int, *, now: datetime
) -> ErasureRequest:
    """/forget: noted, and each referent of the person's groups is asked to confirm."""
    person = await session.get(Participant, participant_id)
    assert person is not None
    person.erasure_requested_at = now
    referents = tuple(
        sorted(
            set(
                (
                    await session.scalars(
                        select(Group.referent_id)
                        .join(Membership, Membership.group_id == Group.id)
                        .where(Membership.participant_id == participant_id)
                    )
                ).all()
            )
        )
    )
    for referent_id in referents:
        await outbox.alert_staff(
            session,
            staff_id=referent_id,
            dedupe_key=f"forget:{participant_id}:{referent_id}:{int(now.timestamp())}",
            payload={"alert": AlertKind.ERASURE_REQUEST},
            now=now,
            participant_id=participant_id,
        )
    return ErasureRequest(participant_id, referents)


async def erase(session: AsyncSession, participant_id: int, *, now: datetime) -> bool:
    """Remove the name, Telegram ids, comments and recordings; leave every group; keep marks
    and scores without a person behind them.

    The caller commits. Returns False when there was nothing to erase.
    """
    person = await session.get(Participant, participant_id)
    if person is None or person.status == ParticipantStatus.ERASED:
        return False
    name = person.first_name
    person.first_name = ERASED_NAME
    person.telegram_user_id = None
    person.telegram_chat_id = None
    person.telegram_language = None
    person.status = ParticipantStatus.ERASED
    person.erased_at = now
    person.voice_only = False
    await session.execute(
        update(Invite)
        .where((Invite.participant_id == participant_id) | (Invite.first_name == name))
        .values(first_name=ERASED_NAME)
    )
    # An erased person is in no group: not counted, not invited, not moved.
    await session.execute(
        update(Membership)
        .where(Membership.participant_id == participant_id, Membership.left_at.is_(None))
        .values(left_at=now)
    )
    # Scores stay, detached from the person (anonymous figures); what they wrote or said
    # may name them, so it goes.
    await session.execute(
        update(FeedbackAnswer)
        .where(FeedbackAnswer.participant_id == participant_id)
        .values(participant_id=None)
    )
    await session.execute(
        delete(FeedbackComment).where(FeedbackComment.participant_id == participant_id)
    )
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.participant_id == participant_id,
            OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
        )
        .values(status=OutboxStatus.SKIPPED, last_error="erased")
    )
    return True


async def inactive_participants(session: AsyncSession, *, now: datetime, months: int) -> list[int]:
    """Participants with no session (no mark, no answer) for ``months`` and enrolled before."""
    cutoff = now - timedelta(days=30 * months)
    last_session = (
        select(Attendance.participant_id, func.max(Session.starts_at).label("last"))
        .join(Session, Session.id == Attendance.session_id)
        .group_by(Attendance.participant_id)
        .subquery()
    )
    rows = (
        await session.execute(
            select(Participant.id, last_session.c.last)
            .outerjoin(last_session, last_session.c.participant_id == Participant.id)
            .where(Participant.status != ParticipantStatus.ERASED, Participant.created_at < cutoff)
        )
    ).all()
    return [pid for pid, last in rows if last is None or _aware(last) < cutoff]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def apply_retention(session: AsyncSession, *, now: datetime, months: int) -> int:
    """The nightly job: anonymise the inactive, drop audit lines older than 24 months."""
    erased = 0
    for participant_id in await inactive_participants(session, now=now, months=months):
        erased += await erase(session, participant_id, now=now)
    for table in (AttendanceChange, AuditEntry):
        stamp = AttendanceChange.changed_at if table is AttendanceChange else AuditEntry.at
        await session.execute(delete(table).where(stamp < now - AUDIT_RETENTION))
    return erased
