"""Updates the webhook has handled, kept 48 hours: Telegram re-delivers an update for up
to a day while it gets no 200, and one handled already must not be handled again."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import insert_for
from storage.models import HandledUpdate

KEEP = timedelta(hours=48)


async def was_handled(session: AsyncSession, update_id: int) -> bool:
    found = await session.scalar(
        select(HandledUpdate.update_id).where(HandledUpdate.update_id == update_id)
    )
    return found is not None


async def remember(session: AsyncSession, update_id: int, *, now: datetime) -> None:
    """Note the update as handled and forget those older than ``KEEP`` (an indexed delete)."""
    insert = insert_for(session.get_bind().dialect.name)
    await session.execute(
        insert(HandledUpdate)
        .values(update_id=update_id, handled_at=now)
        .on_conflict_do_nothing(index_elements=["update_id"])
    )
    await session.execute(delete(HandledUpdate).where(HandledUpdate.handled_at < now - KEEP))
