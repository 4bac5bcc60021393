"""Processes that send for the bot share Telegram's overall limit between them.

Telegram allows a bot about 30 messages a second in all, whatever the number of
processes sending for it; each process's rate limiter only sees its own sends. So every
process that sends says so in ``sender_heartbeats`` now and then, and takes an equal
share of the budget among the processes seen lately. A process that stops cleanly
removes its row; one that crashed ages out after ``ALIVE_FOR``, and until then the
others are merely slower than they could be, never faster than allowed. The same
heartbeat tells whether a claimant of outbox rows is alive (``bot/core/outbox.py``):
a live process's claims are its own to finish, even after a database fault.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import insert_for
from storage.models import SenderHeartbeat

# A sending process beats every second (bot/dispatcher.py): six missed beats mean it died,
# or is stalled long enough that its share and its claims go to the others.
ALIVE_FOR = timedelta(seconds=6)


async def share_of_budget(
    session: AsyncSession, *, instance_id: str, now: datetime, total: int
) -> int:
    """Record that this process sends, and return its share of ``total`` (at least 1).

    The caller commits.
    """
    connection = await session.connection()
    insert = insert_for(connection.dialect.name)
    statement = insert(SenderHeartbeat).values(instance_id=instance_id, seen_at=now)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["instance_id"], set_={"seen_at": now})
    )
    alive = await session.scalar(
        select(func.count()).where(SenderHeartbeat.seen_at > now - ALIVE_FOR)
    )
    return max(1, total // max(1, alive or 1))


async def stopped(session: AsyncSession, *, instance_id: str) -> None:
    """This process stops sending: the others get its share at their next heartbeat."""
    await session.execute(delete(SenderHeartbeat).where(SenderHeartbeat.instance_id == instance_id))
