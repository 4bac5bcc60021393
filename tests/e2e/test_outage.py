"""A database outage in polling mode: taps are answered, jobs name themselves in the log,
and the admins hear of the outage once, when the database is back."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.core import organisation
from bot.core.calendar_sync import import_calendar
from bot.simulator.api_spec import spec_unavailable_reason
from storage.db import make_engine, make_sessionmaker
from storage.models import Rsvp
from tests.core.factories import programme
from tests.core.test_calendar_sync import ics
from tests.e2e.harness import Harness, running_bot
from tests.e2e.test_webhook import unreachable_url

APOLOGY = "😕 Désolé, un problème est survenu. Réessayez dans un moment."
SUNDAY_18H = datetime(2026, 12, 6, 17, 0, tzinfo=UTC)  # the evening-before reminders are due


async def _reminded_programme(h: Harness, participants: int) -> None:
    """A group whose Monday series is imported, with the clock at Sunday 18:00."""
    prog = await programme(h.deps.sessionmaker, h.clock.now(), participants=participants)
    async with h.deps.sessionmaker() as session:
        await import_calendar(
            session, group_id=prog.group_id, data=ics(), now=h.clock.now(), tz=h.deps.settings.tz
        )
        await session.commit()
    h.clock.set(SUNDAY_18H)


class Outage:
    """The bot's database stops answering (a folder or a port that is not there)."""

    def __init__(self, h: Harness, database_url: str, tmp_path: Path) -> None:
        self.h = h
        self.working = h.deps.sessionmaker
        self.down = make_engine(unreachable_url(database_url, tmp_path))

    async def __aenter__(self) -> Outage:
        self.h.deps.sessionmaker = make_sessionmaker(self.down)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.h.deps.sessionmaker = self.working
        await self.down.dispose()


async def _logged(caplog: pytest.LogCaptureFixture, part: str) -> None:
    """Wait (in real time: the bot's jobs run on it) for a log line containing ``part``."""
    async with asyncio.timeout(10):
        # A log line sets no event to wait on.
        while not any(part in r.getMessage() for r in caplog.records):  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_a_tap_during_an_outage_gets_the_apology_and_the_buttons_stay(
    harness: Harness, database_url: str, tmp_path: Path
):
    h = harness
    await _reminded_programme(h, participants=1)
    amina = h.server.user(1000, "Amina", language_code="fr")
    await h.dispatch()
    reminder = h.last(amina)
    messages_before = h.server.bot_message_count(amina.id)

    async with Outage(h, database_url, tmp_path):
        tap = h.server.press_button(amina, reminder, text="✅ Je viens")
        answer = await h.server.wait_for_callback_answer(tap)
        await h.idle()
    assert answer.get("text") == APOLOGY, "the spinner stops, with the apology"
    assert h.server.bot_message_count(amina.id) == messages_before, "no extra chat message"
    still = h.last(amina)
    assert still["reply_markup"] == reminder["reply_markup"], "the buttons stay"

    await h.tap(amina, still, "✅ Je viens")  # the database is back: she taps again
    async with h.deps.sessionmaker() as session:
        answers = (await session.scalars(select(Rsvp.answer))).all()
    assert answers == ["yes"]


async def test_a_job_that_meets_an_outage_is_named_and_the_admins_hear_of_it_once_after(
    database_url: str, clock, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    reason = spec_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    caplog.set_level(logging.INFO)
    async with running_bot(database_url, clock, database_watch_seconds=0.1) as h:
        await _reminded_programme(h, participants=2)
        async with h.deps.sessionmaker() as session:
            await organisation.add_staff(
                session, telegram_user_id=900, name="Admin", role="admin", now=clock.now()
            )
            await session.commit()
        admin = h.server.user(900, "Admin", language_code="fr")
        h.clock.set(SUNDAY_18H + timedelta(minutes=2))  # 18:02 in Brussels
        assert h.app.job_queue is not None
        (retention,) = h.app.job_queue.get_jobs_by_name("retention")
        async with Outage(h, database_url, tmp_path):
            for _ in range(2):
                await retention.run(h.app)  # the nightly job, as its timer would run it
            h.clock.set(SUNDAY_18H + timedelta(minutes=3))
        assert sum("job retention failed" in r.getMessage() for r in caplog.records) == 2
        await _logged(caplog, "database back")
        await h.dispatch()
        alerts = [m["text"] for m in h.server.bot_messages(admin.id) if "🛠" in m["text"]]
        assert alerts == ["🛠 Base de données injoignable de 18:02 à 18:03. Messages retardés : 2."]
        await h.dispatch()
        assert len([m for m in h.server.bot_messages(admin.id) if "🛠" in m["text"]]) == 1
    errors = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name in ("bot.handlers.errors", "bot.database_outage")
    ]
    assert len(errors) == 1 and errors[0].startswith("database unreachable"), "one line"
    assert not any("update None" in r.getMessage() for r in caplog.records)
