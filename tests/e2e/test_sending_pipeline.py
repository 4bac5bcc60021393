"""Several sends in flight: each person's messages in order, a possible double counted."""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.core import outbox
from bot.core.alert_kinds import AlertKind
from storage.models import OutboxMessage, OutboxStatus
from tests.core.factories import one_session, programme
from tests.e2e.harness import Harness

START = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
EVENING_BEFORE = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)  # 18:00 in Brussels


async def _reminders_due(h: Harness, participants: int):
    prog = await programme(h.deps.sessionmaker, h.clock.now(), participants=participants)
    sid = await one_session(h.deps.sessionmaker, prog.group_id, START, now=h.clock.now())
    async with h.deps.sessionmaker() as db:
        await outbox.plan_session(db, sid, now=h.clock.now(), tz=h.deps.settings.tz)
        await db.commit()
    people = [h.server.user(1000 + i, f"P{i}", language_code="fr") for i in range(participants)]
    referent = h.server.user(prog.referent_telegram_id, "Sophie")
    return prog, people, referent


async def test_a_referents_alerts_keep_their_order_while_others_are_sent_beside_them(
    harness: Harness,
):
    h = harness
    h.server.latency = 0.05  # Telegram takes its time to answer
    h.server.enforce_limits = True  # and refuses more than one a second to one chat
    prog, people, referent = await _reminders_due(h, participants=12)
    h.clock.set(EVENING_BEFORE)
    async with h.deps.sessionmaker() as db:
        for index, kind in enumerate(["first", "second", "third", "fourth"]):
            await outbox.alert_staff(
                db,
                staff_id=prog.referent_id,
                dedupe_key=f"order:{kind}",
                payload={"alert": AlertKind.ERROR, "kind": kind},
                now=h.clock.now(),
                due_at=h.clock.now() - timedelta(seconds=10 - index),
            )
        await db.commit()

    stats = await h.dispatch()

    texts = [m["text"] for m in h.server.bot_messages(referent.id)]
    order = [k for t in texts for k in ("first", "second", "third", "fourth") if f"({k})" in t]
    assert order == ["first", "second", "third", "fourth"], texts
    arrivals = [
        r.monotonic
        for r in h.server.requests
        if r.method == "sendMessage" and r.params.get("chat_id") == referent.id
    ]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(arrivals)), arrivals
    assert Counter(len(h.server.bot_messages(p.id)) for p in people) == {1: 12}
    assert h.server.peak_sends_in_flight > 1  # not one at a time
    assert h.server.http_429 == 0 and stats.sent == 16


async def _slow_reminder(h: Harness) -> None:
    h.server.slow_delay = 6.0  # delivered, but answered after the bot's 5 s read timeout
    h.server.fail_next(1, "slow")
    await h.dispatch()
    h.clock.advance(timedelta(seconds=5))


async def test_a_send_that_timed_out_after_leaving_is_retried_once_and_counted(
    harness: Harness, caplog: pytest.LogCaptureFixture
):
    h = harness
    _prog, (person,), _referent = await _reminders_due(h, participants=1)
    h.clock.set(EVENING_BEFORE)
    caplog.set_level(logging.WARNING, logger="bot.send_pipeline")
    await _slow_reminder(h)
    stats = await h.dispatch()
    # Telegram had it the first time: the person got it twice, and the bot knows why.
    assert len(h.server.bot_messages(person.id)) == 2
    assert any("may have delivered" in r.getMessage() for r in caplog.records)
    async with h.deps.sessionmaker() as db:
        row = await db.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.participant_id.is_not(None))
            .order_by(OutboxMessage.due_at)
        )
    assert row is not None and row.maybe_sent and row.status == OutboxStatus.SENT
    assert stats.sent == 1


async def test_a_send_that_timed_out_twice_is_not_sent_a_third_time(harness: Harness):
    h = harness
    _prog, (person,), _referent = await _reminders_due(h, participants=1)
    h.clock.set(EVENING_BEFORE)
    await _slow_reminder(h)
    stats = h.deps.extras["dispatcher"].stats
    assert stats.maybe_sent == 1
    await _slow_reminder(h)
    await h.dispatch()
    assert len(h.server.bot_messages(person.id)) == 2  # at most one double per incident
    async with h.deps.sessionmaker() as db:
        row = await db.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.participant_id.is_not(None))
            .order_by(OutboxMessage.due_at)
        )
    assert row is not None and row.status == OutboxStatus.FAILED
    assert "maybe sent twice" in (row.last_error or "")
