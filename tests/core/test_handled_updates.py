"""Handled webhook updates are remembered for 48 hours, then forgotten."""

from __future__ import annotations

from datetime import timedelta

from bot.core import handled_updates


async def test_a_handled_update_is_remembered_for_48_hours_then_pruned(sessionmaker, clock):
    start = clock.now()
    async with sessionmaker() as db:
        await handled_updates.remember(db, 10, now=start)
        await handled_updates.remember(db, 10, now=start)  # a replay: no error, one row
        await db.commit()
    async with sessionmaker() as db:
        await handled_updates.remember(db, 11, now=start + timedelta(hours=47))
        await db.commit()
        assert await handled_updates.was_handled(db, 10), "Telegram may still re-deliver it"
    async with sessionmaker() as db:
        await handled_updates.remember(db, 12, now=start + timedelta(hours=48, minutes=1))
        await db.commit()
        assert not await handled_updates.was_handled(db, 10), "pruned after 48 hours"
        assert await handled_updates.was_handled(db, 11)
        assert await handled_updates.was_handled(db, 12)
