"""Calendar files waiting for their referent's confirmation, kept in the database.

Sending an ``.ics`` to the bot shows a preview first; nothing is applied, and nobody is
told, until the referent taps "apply". The wait may span a restart, so the file's
Telegram ``file_id`` and the group picked are rows, not memory; the file is fetched again
on confirmation and must be the one previewed (same digest).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CalendarImport

PREVIEW_VALID = timedelta(days=2)
"""A preview older than this is stale: the group's sessions will have moved on since."""

APPLIED = "applied"
DROPPED = "dropped"
REFUSED = "refused"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def hold_file(session: AsyncSession, *, staff_id: int, file_id: str, now: datetime) -> int:
    """Remember a file sent by a staff member until they pick its group; caller commits."""
    row = CalendarImport(staff_id=staff_id, file_id=file_id[:200], created_at=now)
    session.add(row)
    await session.flush()
    return row.id


async def pending(
    session: AsyncSession, *, import_id: int, staff_id: int, now: datetime
) -> CalendarImport | None:
    """The staff member's own undecided import, if still fresh; None for anything else.

    Someone else's import, a decided one, an old one or an unknown id all read as None:
    the button that named it is no longer valid.
    """
    row = await session.get(CalendarImport, import_id)
    if row is None or row.staff_id != staff_id or row.decided_at is not None:
        return None
    if now - row.created_at > PREVIEW_VALID:
        return None
    return row


def previewed(row: CalendarImport, *, group_id: int, data: bytes) -> None:
    """The preview was shown for this group and these bytes; caller commits."""
    row.group_id = group_id
    row.digest = digest(data)


def decide(row: CalendarImport, outcome: str, *, now: datetime) -> None:
    """Close the import (applied, dropped or refused): its buttons stop working."""
    row.decided_at = now
    row.outcome = outcome
