"""Attendance rules without Telegram: marks, pre-filled excuses, permissions, audit, alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.core import absence_alerts, attendance, organisation, rsvp
from bot.core.attendance import Sheet, SheetProblem, Tapped, attendance_rate
from bot.core.people import StaffView
from storage.models import (
    AbsenceReason,
    AttendanceChange,
    DeclineReason,
    Mark,
    OutboxMessage,
    Role,
    RsvpAnswer,
)
from tests.core.factories import one_session, programme

START = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
DURING = START + timedelta(minutes=30)


def view(staff_id: int, role: Role = Role.REFERENT, tg: int = 100) -> StaffView:
    return StaffView(staff_id, tg, "Sophie M.", role, "fr")


async def _setup(sessionmaker, clock, participants=3):
    prog = await programme(sessionmaker, clock.now(), participants=participants)
    sid = await one_session(sessionmaker, prog.group_id, START, now=clock.now())
    return prog, sid


async def _tap(sessionmaker, sid, pid, staff, now=DURING, sequence=None):
    """A tap by ``staff``'s Telegram account: the new mark, or the problem."""
    async with sessionmaker() as session:
        outcome = await attendance.decide_tap(
            session,
            telegram_user_id=staff.telegram_user_id,
            session_id=sid,
            participant_id=pid,
            now=now,
            sequence=sequence,
        )
        if isinstance(outcome.result, Tapped):
            await attendance.write_tap(session, outcome.result)
        await session.commit()
    if isinstance(outcome.result, Tapped):
        assert outcome.staff is not None and outcome.staff.id == staff.id
        return outcome.result.mark
    return outcome.result


async def _sheet(sessionmaker, sid, staff) -> Sheet:
    async with sessionmaker() as session:
        sheet = await attendance.open_sheet(
            session, session_id=sid, staff=staff, now=DURING, for_change=False
        )
    assert isinstance(sheet, Sheet)
    return sheet


def test_late_counts_as_present_and_excused_is_left_out_of_the_rate():
    assert attendance_rate([Mark.PRESENT, Mark.LATE, Mark.ABSENT, Mark.EXCUSED]) == pytest.approx(
        2 / 3
    )
    assert attendance_rate([Mark.EXCUSED]) is None


async def test_a_tap_cycles_present_absent_excused_late(sessionmaker, clock):
    prog, sid = await _setup(sessionmaker, clock)
    staff = view(prog.referent_id)
    pid = prog.participant_ids[0]
    seen = []
    for _ in range(5):
        seen.append(await _tap(sessionmaker, sid, pid, staff))
        sheet = await _sheet(sessionmaker, sid, staff)
        assert next(ln.mark for ln in sheet.lines if ln.participant_id == pid) == seen[-1]
    assert seen == [Mark.PRESENT, Mark.ABSENT, Mark.EXCUSED, Mark.LATE, Mark.PRESENT]
    async with sessionmaker() as session:
        changes = (await session.scalars(select(AttendanceChange))).all()
    assert [(c.old_mark, c.new_mark) for c in changes][:2] == [
        (None, "present"),
        ("present", "absent"),
    ]
    assert all(c.changed_by_id == prog.referent_id for c in changes)


async def test_a_decline_or_an_absence_period_prefills_excused(sessionmaker, clock):
    prog, sid = await _setup(sessionmaker, clock)
    declined, away, plain = prog.participant_ids
    async with sessionmaker() as session:
        await rsvp.record_answer(
            session,
            session_id=sid,
            participant_id=declined,
            answer=RsvpAnswer.NO,
            reason=DeclineReason.ILL,
            now=clock.now(),
        )
        assert await attendance.record_absence(
            session,
            participant_id=away,
            until=START + timedelta(days=3),
            reason=AbsenceReason.TRAVEL,
            staff=view(prog.referent_id),
            now=clock.now(),
        )
        await session.commit()
    async with sessionmaker() as session:
        sheet = await attendance.open_sheet(
            session, session_id=sid, staff=view(prog.referent_id), now=DURING
        )
    assert isinstance(sheet, Sheet)
    marks = {ln.participant_id: ln.mark for ln in sheet.lines}
    assert marks == {declined: Mark.EXCUSED, away: Mark.EXCUSED, plain: None}


async def test_all_present_keeps_the_excused_and_done_summarises_and_locks(sessionmaker, clock):
    prog, sid = await _setup(sessionmaker, clock, participants=12)
    staff = view(prog.referent_id)
    async with sessionmaker() as session:
        await rsvp.record_answer(
            session,
            session_id=sid,
            participant_id=prog.participant_ids[0],
            answer=RsvpAnswer.NO,
            now=clock.now(),
        )
        await session.commit()
    async with sessionmaker() as session:
        sheet = await attendance.mark_many(
            session, session_id=sid, staff=staff, now=DURING, mark=Mark.PRESENT, only_unmarked=False
        )
        await session.commit()
    assert isinstance(sheet, Sheet) and (sheet.present, sheet.expected) == (11, 11)
    async with sessionmaker() as session:
        closed = await attendance.set_closed(
            session, session_id=sid, staff=staff, now=DURING, closed=True
        )
        await session.commit()
    assert isinstance(closed, Sheet) and closed.closed
    assert await _tap(sessionmaker, sid, prog.participant_ids[1], staff) is SheetProblem.CLOSED


async def test_only_the_referent_the_module_or_a_lead_may_mark(sessionmaker, clock):
    prog, sid = await _setup(sessionmaker, clock)
    async with sessionmaker() as session:
        other = await organisation.add_staff(
            session, telegram_user_id=200, name="Other", role="referent", now=clock.now()
        )
        lead = await organisation.add_staff(
            session, telegram_user_id=300, name="Lead", role="lead", now=clock.now()
        )
        await session.commit()
    pid = prog.participant_ids[0]
    assert await _tap(sessionmaker, sid, pid, view(other.id, tg=200)) is SheetProblem.NOT_ALLOWED
    assert await _tap(sessionmaker, sid, pid, view(lead.id, Role.LEAD, 300)) == Mark.PRESENT


async def test_a_tap_on_a_sheet_of_a_moved_session_is_stale(sessionmaker, clock):
    prog, sid = await _setup(sessionmaker, clock)
    staff = view(prog.referent_id)
    from bot.core import schedule

    async with sessionmaker() as session:
        await schedule.move_session(
            session, sid, starts_at=START + timedelta(minutes=15), now=clock.now()
        )
        await session.commit()
    result = await _tap(sessionmaker, sid, prog.participant_ids[0], staff, sequence=0)
    assert result is SheetProblem.STALE


async def _alert_holds(sessionmaker, sid, pid, alert=absence_alerts.TWO_ABSENCES) -> bool:
    async with sessionmaker() as session:
        queued = await session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == f"absent2:{pid}:{sid}")
        )
        holds = await absence_alerts.still_holds(
            session, alert=alert, session_id=sid, participant_id=pid
        )
    assert queued is not None, "an absent mark queues the check"
    return holds


async def test_two_unexcused_absences_in_a_row_alert_the_referent(sessionmaker, clock):
    prog = await programme(sessionmaker, clock.now(), participants=1)
    staff = view(prog.referent_id)
    pid = prog.participant_ids[0]
    first = await one_session(sessionmaker, prog.group_id, START, now=clock.now())
    second = await one_session(
        sessionmaker, prog.group_id, START + timedelta(days=7), now=clock.now()
    )
    await _tap(sessionmaker, first, pid, staff)  # present
    await _tap(sessionmaker, first, pid, staff)  # absent
    assert not await _alert_holds(sessionmaker, first, pid)  # only one absence so far
    later = START + timedelta(days=7, minutes=30)
    await _tap(sessionmaker, second, pid, staff, now=later)
    assert await _tap(sessionmaker, second, pid, staff, now=later) == Mark.ABSENT
    assert await _alert_holds(sessionmaker, second, pid)
    # Tapping on to "excused" before the alert goes out: nobody is called.
    assert await _tap(sessionmaker, second, pid, staff, now=later) == Mark.EXCUSED
    assert not await _alert_holds(sessionmaker, second, pid)


async def test_a_participant_sees_only_their_own_marks(sessionmaker, clock):
    prog, sid = await _setup(sessionmaker, clock)
    staff = view(prog.referent_id)
    mine, other, _ = prog.participant_ids
    await _tap(sessionmaker, sid, mine, staff)
    await _tap(sessionmaker, sid, other, staff)
    await _tap(sessionmaker, sid, other, staff)
    async with sessionmaker() as session:
        marks = await attendance.own_marks(session, mine, now=START + timedelta(days=1))
    assert [m.mark for m in marks] == [Mark.PRESENT]
