"""Feedback rules without Telegram: who is asked, when, and how answers add up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.core import feedback, outbox
from bot.core.feedback import QuestionSummary, TriggerOutcome
from storage.models import (
    Attendance,
    Mark,
    OutboxKind,
    OutboxMessage,
    Participant,
    ParticipantStatus,
)
from tests.core.factories import one_session, programme

BRUSSELS = ZoneInfo("Europe/Brussels")


async def _trigger(sessionmaker, sid):
    async with sessionmaker() as session:
        return (
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.session_id == sid,
                    OutboxMessage.kind == OutboxKind.FEEDBACK_TRIGGER,
                )
            )
        ).one()


async def _fire(sessionmaker, trigger, now):
    async with sessionmaker() as session:
        outcome = await feedback.fire_trigger(
            session, outbox_id=trigger.id, session_id=trigger.session_id, now=now, tz=BRUSSELS
        )
        await session.commit()
        return outcome


async def _questions(sessionmaker):
    async with sessionmaker() as session:
        return (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.FEEDBACK)
            )
        ).all()


async def test_an_evening_activity_is_asked_about_after_quiet_hours_and_not_after_stop(
    sessionmaker, clock
):
    prog = await programme(sessionmaker, clock.now(), participants=3)
    # Thursday 18:30-20:30 in Brussels: 15 minutes after the end is 20:45, then 21:00 quiet.
    start = datetime(2026, 12, 3, 17, 30, tzinfo=UTC)
    sid = await one_session(sessionmaker, prog.group_id, start, now=clock.now())
    async with sessionmaker() as session:
        await outbox.plan_session(session, sid, now=clock.now(), tz=BRUSSELS)
        present, stopped, absent = prog.participant_ids
        for pid, mark in ((present, Mark.PRESENT), (stopped, Mark.LATE), (absent, Mark.ABSENT)):
            session.add(
                Attendance(session_id=sid, participant_id=pid, mark=mark, recorded_at=start)
            )
        await session.execute(
            update(Participant)
            .where(Participant.id == stopped)
            .values(status=ParticipantStatus.STOPPED)
        )
        await session.commit()
    trigger = await _trigger(sessionmaker, sid)
    assert trigger.due_at == start + timedelta(hours=2, minutes=15)
    late = datetime(2026, 12, 3, 20, 10, tzinfo=UTC)  # 21:10 in Brussels, quiet hours
    assert await _fire(sessionmaker, trigger, late) is TriggerOutcome.ASKED
    asked = await _questions(sessionmaker)
    assert [q.participant_id for q in asked] == [present]
    assert asked[0].due_at == datetime(2026, 12, 4, 7, 0, tzinfo=UTC)  # Friday 08:00


async def test_without_attendance_the_question_waits_then_gives_up_at_the_end_of_the_day(
    sessionmaker, clock
):
    prog = await programme(sessionmaker, clock.now(), participants=1)
    start = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
    sid = await one_session(sessionmaker, prog.group_id, start, now=clock.now())
    async with sessionmaker() as session:
        await outbox.plan_session(session, sid, now=clock.now(), tz=BRUSSELS)
        await session.commit()
    trigger = await _trigger(sessionmaker, sid)
    assert await _fire(sessionmaker, trigger, trigger.due_at) is TriggerOutcome.WAITING
    assert (await _trigger(sessionmaker, sid)).retry_at == trigger.due_at + feedback.RECHECK
    night = datetime(2026, 12, 3, 22, 55, tzinfo=UTC)  # 23:55 in Brussels
    assert await _fire(sessionmaker, trigger, night) is TriggerOutcome.GAVE_UP
    assert await _questions(sessionmaker) == []


def test_the_happy_index_is_the_share_of_the_two_happy_faces():
    summary = QuestionSummary("how", 4, (2, 1, 0, 1))
    assert summary.answers == 4
    assert summary.happy_share == pytest.approx(0.75)
    assert summary.average_index == 1


@pytest.mark.parametrize("text", ["", "how,how", "how,learned,welcome,again", "boredom"])
def test_a_module_has_one_to_three_known_questions(text):
    with pytest.raises(ValueError):
        feedback.parse_questions(text)
