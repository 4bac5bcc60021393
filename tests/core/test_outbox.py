"""Reminders as rows: planning, replanning, claiming, and the verdict at sending time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from bot.core import outbox, schedule, senders
from bot.core.outbox import ClaimRules, Verdict
from storage.models import (
    Membership,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Participant,
    ParticipantStatus,
    Session,
    SessionStatus,
)
from tests.core.factories import one_session, programme

BRUSSELS = ZoneInfo("Europe/Brussels")


async def _rows(sessionmaker, status=None):
    async with sessionmaker() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.due_at, OutboxMessage.id)
        if status is not None:
            query = query.where(OutboxMessage.status == status)
        return list((await session.scalars(query)).all())


async def _plan(sessionmaker, session_id, now):
    async with sessionmaker() as session:
        count = await outbox.plan_session(session, session_id, now=now, tz=BRUSSELS)
        await session.commit()
        return count


async def test_each_participant_gets_the_evening_before_and_two_hours_before(sessionmaker, clock):
    prog = await programme(sessionmaker, clock.now(), participants=3)
    # Thursday 3 December 2026, 14:00 in Brussels (13:00 UTC).
    starts = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
    sid = await one_session(sessionmaker, prog.group_id, starts, now=clock.now())
    assert await _plan(sessionmaker, sid, clock.now()) == 6
    due = sorted(
        {row.due_at for row in await _rows(sessionmaker) if row.kind == OutboxKind.REMINDER}
    )
    assert due == [
        datetime(2026, 12, 2, 17, 0, tzinfo=UTC),  # Wednesday 18:00 Brussels
        datetime(2026, 12, 3, 11, 0, tzinfo=UTC),  # Thursday 12:00 Brussels
    ]


async def test_planning_twice_adds_nothing(sessionmaker, clock):
    prog = await programme(sessionmaker, clock.now(), participants=2)
    sid = await one_session(
        sessionmaker, prog.group_id, datetime(2026, 12, 3, 13, tzinfo=UTC), now=clock.now()
    )
    await _plan(sessionmaker, sid, clock.now())
    await _plan(sessionmaker, sid, clock.now())
    # 2 reminders each, a digest, a nudge, and the trigger of the feedback question
    assert len(await _rows(sessionmaker)) == 4 + 1 + 1 + 1


async def test_a_moved_session_replaces_its_reminders_and_notifies(sessionmaker, clock):
    prog = await programme(sessionmaker, clock.now(), participants=2)
    sid = await one_session(
        sessionmaker, prog.group_id, datetime(2026, 12, 3, 13, tzinfo=UTC), now=clock.now()
    )
    await _plan(sessionmaker, sid, clock.now())
    new_start = datetime(2026, 12, 4, 13, tzinfo=UTC)
    async with sessionmaker() as session:
        change = await schedule.move_session(session, sid, starts_at=new_start, now=clock.now())
        notices = await outbox.notify_change(session, change, now=clock.now(), tz=BRUSSELS)
        await session.commit()
    assert notices == 2
    pending = await _rows(sessionmaker, OutboxStatus.PENDING)
    reminders = [r for r in pending if r.kind == OutboxKind.REMINDER]
    assert sorted({r.due_at for r in reminders}) == [
        datetime(2026, 12, 3, 17, tzinfo=UTC),
        datetime(2026, 12, 4, 11, tzinfo=UTC),
    ]
    assert len([r for r in pending if r.kind == OutboxKind.NOTICE]) == 2
    # the 4 reminders, the end-of-session nudge and the feedback trigger of the old time
    assert len(await _rows(sessionmaker, OutboxStatus.SKIPPED)) == 4 + 1 + 1


async def test_a_cancelled_session_keeps_no_pending_reminder(sessionmaker, clock):
    prog = await programme(sessionmaker, clock.now(), participants=2)
    sid = await one_session(
        sessionmaker, prog.group_id, datetime(2026, 12, 3, 13, tzinfo=UTC), now=clock.now()
    )
    await _plan(sessionmaker, sid, clock.now())
    async with sessionmaker() as session:
        change = await schedule.cancel_session(session, sid, now=clock.now())
        await outbox.notify_change(session, change, now=clock.now(), tz=BRUSSELS)
        await session.commit()
    pending = await _rows(sessionmaker, OutboxStatus.PENDING)
    assert {r.kind for r in pending if r.participant_id} == {OutboxKind.NOTICE}


async def test_claims_go_in_due_order_and_each_row_once(sessionmaker, clock):
    prog = await programme(sessionmaker, clock.now(), participants=3)
    sid = await one_session(
        sessionmaker, prog.group_id, datetime(2026, 12, 3, 13, tzinfo=UTC), now=clock.now()
    )
    await _plan(sessionmaker, sid, clock.now())
    later = datetime(2026, 12, 3, 12, tzinfo=UTC)
    claimed = []
    while True:
        async with sessionmaker() as session:
            row = await outbox.claim_next(session, now=later, instance_id="a")
        if row is None:
            break
        claimed.append(row)
        async with sessionmaker() as session:  # sent, as the dispatcher records it
            await outbox.finish(session, row.id, OutboxStatus.SENT, now=later)
    assert len(claimed) == 6 + 1 and len({c.id for c in claimed}) == 7  # and the digest
    assert [c.due_at for c in claimed] == sorted(c.due_at for c in claimed)


async def test_a_stale_claim_is_taken_again_after_its_lease(sessionmaker, clock):
    prog = await programme(sessionmaker, clock.now(), participants=1)
    sid = await one_session(
        sessionmaker, prog.group_id, datetime(2026, 12, 3, 13, tzinfo=UTC), now=clock.now()
    )
    await _plan(sessionmaker, sid, clock.now())
    at = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
    async with sessionmaker() as session:
        first = await outbox.claim_next(session, now=at, instance_id="crashed")
    assert first is not None
    async with sessionmaker() as session:  # the process died: no finish() call
        assert (
            await outbox.claim_next(session, now=at + timedelta(seconds=30), instance_id="b")
            is None
        )
    async with sessionmaker() as session:
        again = await outbox.claim_next(session, now=at + timedelta(seconds=61), instance_id="b")
    assert again is not None and again.id == first.id and again.attempts == 2


async def test_concurrent_claimers_never_share_a_row(sessionmaker, clock):
    prog = await programme(sessionmaker, clock.now(), participants=10)
    sid = await one_session(
        sessionmaker, prog.group_id, datetime(2026, 12, 3, 13, tzinfo=UTC), now=clock.now()
    )
    await _plan(sessionmaker, sid, clock.now())
    at = datetime(2026, 12, 3, 12, tzinfo=UTC)

    async def worker(name: str) -> list[int]:
        got = []
        while True:
            async with sessionmaker() as session:
                row = await outbox.claim_next(session, now=at, instance_id=name)
            if row is None:
                return got
            got.append(row.id)
            async with sessionmaker() as session:
                await outbox.finish(session, row.id, OutboxStatus.SENT, now=at)

    results = await asyncio.gather(*(worker(f"w{i}") for i in range(4)))
    flat = [i for ids in results for i in ids]
    assert len(flat) == 20 + 1 and len(set(flat)) == 21  # reminders and the digest


async def test_nobody_gets_a_reminder_after_stop_or_leaving_and_none_after_the_start(
    sessionmaker, clock
):
    prog = await programme(sessionmaker, clock.now(), participants=3)
    sid = await one_session(
        sessionmaker, prog.group_id, datetime(2026, 12, 3, 13, tzinfo=UTC), now=clock.now()
    )
    await _plan(sessionmaker, sid, clock.now())
    stopped, left, present = prog.participant_ids
    async with sessionmaker() as session:
        await session.execute(
            update(Participant)
            .where(Participant.id == stopped)
            .values(status=ParticipantStatus.STOPPED)
        )
        await session.execute(
            update(Membership).where(Membership.participant_id == left).values(left_at=clock.now())
        )
        await session.commit()
    verdicts = {}
    at = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
    while True:
        async with sessionmaker() as session:
            row = await outbox.claim_next(session, now=at, instance_id="a")
            if row is None:
                break
            verdicts[row.participant_id] = await outbox.verdict_for(session, row, now=at)
    assert verdicts == {stopped: Verdict.SKIP, left: Verdict.SKIP, present: Verdict.SEND}
    late = datetime(2026, 12, 3, 13, 5, tzinfo=UTC)  # the bot was down past the start
    late_verdicts = {}
    while True:
        async with sessionmaker() as session:
            row = await outbox.claim_next(session, now=late, instance_id="a")
            if row is None:
                break
            late_verdicts[row.participant_id] = await outbox.verdict_for(session, row, now=late)
    assert late_verdicts[present] == Verdict.EXPIRE


async def test_a_message_waiting_for_a_retry_holds_back_that_persons_later_ones(
    sessionmaker, clock
):
    prog = await programme(sessionmaker, clock.now(), participants=2)
    sid = await one_session(
        sessionmaker, prog.group_id, datetime(2026, 12, 3, 13, tzinfo=UTC), now=clock.now()
    )
    await _plan(sessionmaker, sid, clock.now())
    at = datetime(2026, 12, 3, 12, tzinfo=UTC)  # both reminders of both people are due
    async with sessionmaker() as session:
        first = await outbox.claim_next(session, now=at, instance_id="a")
    assert first is not None
    async with sessionmaker() as session:  # Telegram failed: try again in a minute
        await outbox.retry_later(session, first.id, at=at + timedelta(minutes=1), error="500")
    order = []
    while True:
        async with sessionmaker() as session:
            row = await outbox.claim_next(session, now=at, instance_id="a")
        if row is None:
            break
        if row.kind == OutboxKind.REMINDER:
            order.append(row.participant_id)
        async with sessionmaker() as session:
            await outbox.finish(session, row.id, OutboxStatus.SENT, now=at)
    other = next(p for p in prog.participant_ids if p != first.participant_id)
    assert order == [other, other], "the other person goes on; this one waits, in order"
    later = at + timedelta(minutes=1)
    async with sessionmaker() as session:
        again = await outbox.claim_next(session, now=later, instance_id="a")
    assert again is not None and again.id == first.id


async def test_a_closed_groups_sessions_remind_nobody(sessionmaker, clock):
    from bot.core import organisation

    prog = await programme(sessionmaker, clock.now(), participants=2)
    past = await one_session(
        sessionmaker, prog.group_id, clock.now() + timedelta(hours=4), now=clock.now()
    )
    sid = await one_session(
        sessionmaker, prog.group_id, datetime(2026, 12, 3, 13, tzinfo=UTC), now=clock.now()
    )
    await _plan(sessionmaker, sid, clock.now())
    closing = clock.now() + timedelta(days=1)  # after the first session, before the second
    async with sessionmaker() as session:
        await organisation.close_group(session, name="FLE lundi", now=closing)
        await session.commit()
    async with sessionmaker() as session:
        coming, held = await session.get(Session, sid), await session.get(Session, past)
        assert coming is not None and held is not None
        assert (coming.status, held.status) == (SessionStatus.CANCELLED, SessionStatus.SCHEDULED)
        kinds = (await session.scalars(select(OutboxMessage.kind))).all()
    assert OutboxKind.NOTICE not in kinds, "no cancellation notice for a finished cohort"
    at = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
    verdicts = []
    while True:
        async with sessionmaker() as session:
            row = await outbox.claim_next(session, now=at, instance_id="a")
            if row is None:
                break
            verdicts.append(await outbox.verdict_for(session, row, now=at))
            await outbox.finish(session, row.id, OutboxStatus.SKIPPED, now=at)
    assert verdicts == [Verdict.SKIP, Verdict.SKIP]


async def _one_due_reminder(sessionmaker, clock) -> datetime:
    prog = await programme(sessionmaker, clock.now(), participants=1)
    sid = await one_session(
        sessionmaker, prog.group_id, datetime(2026, 12, 3, 13, tzinfo=UTC), now=clock.now()
    )
    await _plan(sessionmaker, sid, clock.now())
    return datetime(2026, 12, 2, 17, 0, tzinfo=UTC)


async def test_a_row_whose_lease_expired_cannot_be_finished_by_its_old_claimant(
    sessionmaker, clock
):
    at = await _one_due_reminder(sessionmaker, clock)
    async with sessionmaker() as session:
        old = await outbox.claim_next(session, now=at, instance_id="a")
    async with sessionmaker() as session:  # a's lease ran out while it waited; b takes it
        new = await outbox.claim_next(session, now=at + timedelta(seconds=61), instance_id="b")
    assert old is not None and new is not None and new.id == old.id
    later = at + timedelta(seconds=62)
    async with sessionmaker() as session:
        assert not await outbox.finish(session, old.id, OutboxStatus.SENT, now=later, claim=old)
    async with sessionmaker() as session:
        assert not await outbox.retry_later(session, old.id, at=later, error="429", claim=old)
    async with sessionmaker() as session:
        assert (
            await outbox.renew_claims(session, [old], now=later, lease=timedelta(seconds=60))
            == set()
        )
    (row,) = [r for r in await _rows(sessionmaker) if r.id == old.id]
    assert (row.status, row.claimed_by) == (OutboxStatus.SENDING, "b")
    async with sessionmaker() as session:
        assert await outbox.finish(session, new.id, OutboxStatus.SENT, now=later, claim=new)
    (row,) = [r for r in await _rows(sessionmaker) if r.id == old.id]
    assert row.status == OutboxStatus.SENT


async def test_a_renewed_lease_keeps_a_waiting_claim_from_another_process(sessionmaker, clock):
    at = await _one_due_reminder(sessionmaker, clock)
    lease = timedelta(seconds=60)
    async with sessionmaker() as session:
        mine = await outbox.claim_next(session, now=at, instance_id="a", lease=lease)
    assert mine is not None
    async with sessionmaker() as session:
        renewed = await outbox.renew_claims(
            session, [mine], now=at + timedelta(seconds=50), lease=lease
        )
    assert renewed == {mine.id}
    async with sessionmaker() as session:
        assert (
            await outbox.claim_next(session, now=at + timedelta(seconds=70), instance_id="b")
            is None
        )


async def test_a_live_process_keeps_its_claims_and_takes_back_its_own_after_a_fault(
    sessionmaker, clock
):
    at = await _one_due_reminder(sessionmaker, clock)
    async with sessionmaker() as session:
        mine = await outbox.claim_next(session, now=at, instance_id="a")
    assert mine is not None
    async with sessionmaker() as session:  # "a" is alive: it said so a second ago
        await senders.share_of_budget(
            session, instance_id="a", now=datetime.now(UTC) - timedelta(seconds=1), total=30
        )
        await session.commit()
    later = at + timedelta(seconds=61)
    alive_since = datetime.now(UTC) - senders.ALIVE_FOR
    async with sessionmaker() as session:
        taken = await outbox.claim_batch(
            session, now=later, instance_id="b", rules=ClaimRules("b", alive_since=alive_since)
        )
    assert taken == []
    # "a" lost its memory of the claim in a database fault: it takes it back at once,
    # without waiting for the lease, unless it still holds it.
    soon = at + timedelta(seconds=5)
    async with sessionmaker() as session:
        held = await outbox.claim_batch(
            session,
            now=soon,
            instance_id="a",
            rules=ClaimRules(
                "a", alive_since=alive_since, resume_own=True, holding=frozenset({mine.id})
            ),
        )
    assert held == []
    async with sessionmaker() as session:
        (back,) = await outbox.claim_batch(
            session,
            now=soon,
            instance_id="a",
            rules=ClaimRules("a", alive_since=alive_since, resume_own=True),
        )
    assert back.id == mine.id and back.attempts == mine.attempts + 1
    async with sessionmaker() as session:
        assert not await outbox.finish(session, mine.id, OutboxStatus.SENT, now=soon, claim=mine)
