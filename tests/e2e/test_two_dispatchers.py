"""Two bot processes on one database send each reminder exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from bot.app import build_application
from bot.context import Deps
from bot.core import outbox
from bot.dispatcher import drain
from bot.settings import Settings
from bot.simulator import FakeTelegram, spec_unavailable_reason
from storage.db import make_engine, make_sessionmaker
from storage.models import OutboxMessage, OutboxStatus
from tests.core.factories import one_session, programme
from tests.e2e.harness import TOKEN

PARTICIPANTS = 500


async def test_two_dispatchers_share_a_fan_out_of_500_without_a_double(database_url, clock):
    reason = spec_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    setup_engine = make_engine(database_url)
    maker = make_sessionmaker(setup_engine)
    prog = await programme(maker, clock.now(), participants=PARTICIPANTS)
    session_id = await one_session(
        maker, prog.group_id, clock.now() + timedelta(days=2), now=clock.now()
    )
    async with maker() as session:
        await outbox.plan_session(
            session, session_id, now=clock.now(), tz=ZoneInfo("Europe/Brussels")
        )
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.rule_key.is_distinct_from("d-1@18:00"))
            .values(status=OutboxStatus.SKIPPED)
        )
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.rule_key == "d-1@18:00")
            .values(due_at=clock.now())
        )
        await session.commit()
    await setup_engine.dispose()

    async with FakeTelegram(token=TOKEN) as server:
        for index in range(PARTICIPANTS):
            server.user(1000 + index, f"P{index}")
        apps, engines = [], []
        for name in ("bot-a", "bot-b"):
            engine = make_engine(database_url)
            settings = Settings(
                telegram_token=TOKEN,
                telegram_api_url=server.base_url,
                telegram_file_url=server.base_file_url,
                database_url=database_url,
                _env_file=None,  # type: ignore[call-arg]
            )
            deps = Deps(settings, make_sessionmaker(engine), clock, instance_id=name)
            app = build_application(deps)
            await app.initialize()
            apps.append(app)
            engines.append(engine)
        try:
            stats = await asyncio.gather(*(drain(app.bot, app.bot_data["deps"]) for app in apps))
        finally:
            for app, engine in zip(apps, engines, strict=True):
                await app.shutdown()
                await engine.dispose()
        received = Counter(
            int(r.params["chat_id"])
            for r in server.requests
            if r.method == "sendMessage" and r.status == 200
        )
        assert server.violations == []
    assert len(received) == PARTICIPANTS
    assert max(received.values()) == 1
    assert all(s.sent > 0 for s in stats), "both processes took part"
    assert sum(s.sent for s in stats) == PARTICIPANTS
