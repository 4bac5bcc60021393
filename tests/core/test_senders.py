"""Processes sending for one bot share Telegram's overall limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core import senders

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def _share(sessionmaker, instance: str, now: datetime = NOW) -> int:
    async with sessionmaker() as session:
        share = await senders.share_of_budget(session, instance_id=instance, now=now, total=30)
        await session.commit()
    return share


async def test_one_process_has_the_whole_budget_and_two_share_it(sessionmaker):
    assert await _share(sessionmaker, "a") == 30
    assert await _share(sessionmaker, "b") == 15
    assert await _share(sessionmaker, "a") == 15, "a sees b at its next heartbeat"


async def test_a_stopped_process_gives_its_share_back(sessionmaker):
    await _share(sessionmaker, "a")
    await _share(sessionmaker, "b")
    async with sessionmaker() as session:
        await senders.stopped(session, instance_id="b")
        await session.commit()
    assert await _share(sessionmaker, "a") == 30


async def test_a_crashed_process_ages_out(sessionmaker):
    await _share(sessionmaker, "a", NOW)
    await _share(sessionmaker, "crashed", NOW)
    later = NOW + senders.ALIVE_FOR + timedelta(seconds=1)
    assert await _share(sessionmaker, "a", later) == 30


async def test_many_processes_each_keep_at_least_one_message_a_second(sessionmaker):
    for index in range(40):
        share = await _share(sessionmaker, f"p{index}")
    assert share == 1
