"""Network faults: reminders and feedback questions still go out once each, in order."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from bot.core import outbox
from storage.models import Attendance, Mark
from tests.core.factories import one_session, programme
from tests.e2e.harness import Harness

START = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)


async def _sent_texts(h: Harness, people) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for person in people:
        for message in h.server.bot_messages(person.id):
            out[person.id].append(message.get("text", ""))
    return out


async def _dispatch_until_quiet(h: Harness, rounds: int) -> None:
    """Run the dispatcher, moving the clock past each back-off (seconds to minutes)."""
    for _ in range(rounds):
        await h.dispatch()
        h.clock.advance(timedelta(seconds=20))


@pytest.mark.parametrize("mode", ["500", "drop", "429", "slow"])
async def test_reminders_and_questions_survive_faults_once_each_in_order(
    harness: Harness, mode: str
):
    h = harness
    h.server.retry_after = 1
    h.server.slow_delay = 0.3  # slow, but within the bot's read timeout
    prog = await programme(h.deps.sessionmaker, h.clock.now(), participants=4)
    sid = await one_session(h.deps.sessionmaker, prog.group_id, START, now=h.clock.now())
    async with h.deps.sessionmaker() as session:
        await outbox.plan_session(session, sid, now=h.clock.now(), tz=h.deps.settings.tz)
        for pid in prog.participant_ids:
            session.add(
                Attendance(session_id=sid, participant_id=pid, mark=Mark.PRESENT, recorded_at=START)
            )
        await session.commit()
    people = [h.server.user(1000 + i, f"P{i}", language_code="fr") for i in range(4)]
    h.server.user(prog.referent_telegram_id, "Sophie")

    for moment in (
        datetime(2026, 12, 2, 17, 0, tzinfo=UTC),  # the evening before, 18:00
        START - timedelta(hours=2),  # two hours before
        START + timedelta(hours=2, minutes=15),  # after the end: the question
    ):
        h.clock.set(moment)
        h.server.fail_next(3, mode)
        await _dispatch_until_quiet(h, rounds=6)

    texts = await _sent_texts(h, people)
    for person in people:
        mine = texts[person.id]
        reminders = [t for t in mine if t.startswith("📅")]
        questions = [t for t in mine if t.startswith("💬")]
        assert len(reminders) == 2, (mode, mine)  # the evening before, and the morning one
        assert len(questions) == 1, (mode, mine)
        assert mine.index(questions[0]) > max(mine.index(r) for r in reminders)
    assert h.server.violations == []
